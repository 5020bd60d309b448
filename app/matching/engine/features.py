"""The comparison of two profiles as named numbers, and its explanation."""

from __future__ import annotations

import math
from typing import Any

from app.geo import distance_km
from app.matching.engine.compare import NameComparison, TokenStats, best_name_comparison
from app.matching.engine.records import Geocoder, Profile


def age_tolerance(age: int) -> float:
    """Years of disagreement that are still the same person: tight for children."""
    if age < 5:
        return 1.0
    if age < 16:
        return 1.5
    return 2.0 + 0.06 * age


def _point(
    profile: Profile, other: Profile, geocode: Geocoder | None
) -> tuple[float, float] | None:
    """The profile's point, or its place text resolved in the other side's country."""
    if profile.point or geocode is None or not other.country:
        return profile.point
    for text in profile.places:
        point = geocode(text, other.country)
        if point:
            return point
    return None


# Distance bins (km): displaced people are often tens of kilometres away, rarely hundreds.
_DISTANCE_BINS = ((5, "loc_le5"), (25, "loc_le25"), (75, "loc_le75"), (200, "loc_le200"))


def compare(
    left: Profile, right: Profile, stats: TokenStats, geocode: Geocoder | None = None
) -> tuple[dict[str, float], dict[str, Any]]:
    """Features for the model and a per-field explanation for people."""
    cmp, feats = best_name_comparison(left.names, right.names, stats)
    f = dict(feats) if feats else {}
    f["name_missing"] = float(not left.names or not right.names)
    explain: dict[str, Any] = {"name": _explain_name(cmp)}

    if left.age and right.age:
        (a1, a2), (b1, b2) = left.age, right.age
        gap = max(0, max(a1, b1) - min(a2, b2))
        tolerance = age_tolerance(min(a2, b2))
        f["age_known"] = 1.0
        f["age_gap"] = min(gap / tolerance, 6.0)
        f["age_gap_years"] = min(float(gap), 15.0)
        f["age_overlap"] = float(gap == 0)
        f["age_exact_equal"] = float(left.age_exact and right.age_exact and left.age == right.age)
        f["dob_equal"] = float(left.dob is not None and left.dob == right.dob)
        explain["age"] = (
            {"verdict": "compatible", "gap_years": gap}
            if gap <= tolerance
            else {"verdict": "conflict", "gap_years": gap}
        )
    if left.sex and right.sex:
        same = left.sex == right.sex
        f["sex_same"] = float(same)
        f["sex_diff"] = float(not same)
        explain["sex"] = "same" if same else "different"
    left_point, right_point = _point(left, right, geocode), _point(right, left, geocode)
    if left_point and right_point:
        # The nearest of last-seen and home places on either side: a shelter near the home
        # town is as telling as one near where the person was last seen.
        pairs = [
            (a, b)
            for a in (left_point, left.home_point)
            for b in (right_point, right.home_point)
            if a and b
        ]
        km = min(distance_km(a, b) for a, b in pairs)
        f["loc_known"] = 1.0
        f["loc_log_km"] = math.log1p(km)
        for limit, name in _DISTANCE_BINS:
            if km <= limit:
                f[name] = 1.0
                break
        else:
            f["loc_far"] = 1.0
        explain["location"] = {"km": round(km, 1)} if km > 2 else {"km": 0, "same_place": True}
    if left.city and right.city:
        f["city_same"] = float(left.city == right.city)
    return f, explain


def _explain_name(cmp: NameComparison | None) -> dict[str, Any]:
    if cmp is None:
        return {"verdict": "no name to compare"}
    return {
        "aligned": [
            {"query": m.left, "candidate": m.right, "kind": m.kind, "score": round(m.score, 2)}
            for m in cmp.matches
        ],
        "unmatched_query": [t.text for t in cmp.left_unmatched],
        "unmatched_candidate": [t.text for t in cmp.right_unmatched],
    }
