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
_DISTANCE_BINS = (
    (1, "loc_le1"),
    (5, "loc_le5"),
    (25, "loc_le25"),
    (50, "loc_le50"),
    (75, "loc_le75"),
    (200, "loc_le200"),
)
_NEAR_KM = 25.0
_REGION_KM = 75.0
# Two names agree as well as namesakes do when each covers this much of the other's weight.
_NAMESAKE_COVERAGE = 0.9


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
        # The gap in tolerances, binned: within it, within twice it, beyond (a bend the
        # linear terms cannot draw: a clerk's estimate is often a little off, rarely far).
        ratio = gap / tolerance
        f["age_within"] = float(0 < ratio <= 1)
        f["age_2tol"] = float(1 < ratio <= 2)
        f["age_beyond"] = float(ratio > 2)
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
    km = None
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
    if left.towns and right.towns:
        # The same town named on both sides (last seen, home, the shelter's town): evidence
        # of place even when neither side has a country to resolve it in.
        same_town = float(bool(left.towns & right.towns))
        f["place_text_same"] = same_town
        if km is None:
            f["place_text_same_noloc"] = same_town
    # Agreement on every field at once is rarer by chance than the sum of its parts says:
    # namesakes share a name, relatives share a name and a place, rarely age as well.
    perfect = f.get("name_perfect", 0.0)
    age_close = float(f.get("age_gap", 9.0) <= 1.0)
    f["name_perfect_age"] = perfect * age_close
    f["name_perfect_near"] = perfect * float(km is not None and km <= _REGION_KM)
    f["name_perfect_age_near"] = (
        perfect * f.get("age_overlap", 0.0) * float(km is not None and km <= _NEAR_KM)
    )
    return f, explain


def add_namesake_features(candidates: list[dict[str, float]]) -> None:
    """How many of a query's candidates share its name about equally well (in place).

    The conditional logit shares the probability among namesakes, but it also lets several of
    them push 'not registered' down; a name that several registered people carry is more
    likely to be carried by one more who is not registered, which these counts let it learn.
    """
    strong = [
        f.get("name_cov_left", 0.0) >= _NAMESAKE_COVERAGE
        and f.get("name_cov_right", 0.0) >= _NAMESAKE_COVERAGE
        for f in candidates
    ]
    total = sum(strong)
    for features, is_strong in zip(candidates, strong, strict=True):
        others = total - int(is_strong)
        features["name_namesakes_any"] = math.log1p(others)
        if is_strong:
            features["name_namesakes"] = math.log1p(others)


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
