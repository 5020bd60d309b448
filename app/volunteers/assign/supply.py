"""Donors' offers for a need: the categories taxonomy, hard filters, a cost, a covering set.

Pure (no Flask, no SQLAlchemy, no configuration). The categories live in
app/volunteers/data/categories.json. `rank_offers` orders the offers that may serve a need, best
first; `propose` picks the set a coordinator is asked to accept: the best single offer that covers
the whole quantity when there is one, else the need split across several offers. See
docs/volunteers.md ("Donors and offers").
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from app.geo.distance import distance_km
from app.volunteers.assign.model import Reason, Window

DATA = Path(__file__).resolve().parent.parent / "data" / "categories.json"
KINDS = ("goods", "shelter", "transport", "money")

# The cost of an offer for a need, lower is better, in [0, W_DISTANCE + W_SHORTFALL]:
#   W_DISTANCE * km / radius      0 at the need's door, 1 at the edge of its radius;
#   W_SHORTFALL * (1 - give / q)  0 when the offer covers the whole quantity q alone.
# A shortfall weighs more than distance: a coordinator would rather arrange one pickup a little
# further away than several, and every extra donor is another phone call and another delivery.
W_DISTANCE = 1.0
W_SHORTFALL = 2.0
# Split a need across at most this many offers: beyond that the coordinator's phone calls cost
# more than the missing goods; what is left is reported as missing.
MAX_PARTS = 5


@dataclass(frozen=True, slots=True)
class Categories:
    """Category ids with their kind, unit and labels (app/volunteers/data/categories.json)."""

    kinds: dict[str, str]
    units: dict[str, str]
    labels: dict[str, str]
    descriptions: dict[str, str]
    remote: frozenset[str]

    @property
    def names(self) -> frozenset[str]:
        """Every valid category id."""
        return frozenset(self.kinds)

    def unknown(self, names: Iterable[str]) -> list[str]:
        """The given category ids the taxonomy does not know, sorted (for a 422)."""
        return sorted({n for n in names if n not in self.kinds})

    def unit(self, category: str) -> str:
        """The unit quantities of the category are counted in ("litre", "bed", "currency")."""
        return self.units[category]

    def label(self, category: str) -> str:
        """A readable name for forms and coordinators."""
        return self.labels.get(category, category)

    def is_remote(self, category: str) -> bool:
        """True when offers of the category are not delivered from a place (money)."""
        return category in self.remote


@cache
def load_categories(path: Path = DATA) -> Categories:
    """Read the categories once per process."""
    raw = json.loads(path.read_text(encoding="utf-8"))["categories"]
    for name, entry in raw.items():
        if entry["kind"] not in KINDS:
            raise ValueError(f"category {name}: unknown kind {entry['kind']!r}")
    return Categories(
        kinds={k: v["kind"] for k, v in raw.items()},
        units={k: v["unit"] for k, v in raw.items()},
        labels={k: v["label"] for k, v in raw.items()},
        descriptions={k: v["description"] for k, v in raw.items()},
        remote=frozenset(k for k, v in raw.items() if v.get("remote")),
    )


@dataclass(frozen=True, slots=True)
class Offer:
    """A donor's open offer as the ranking sees one.

    `remaining` is what is left to give after accepted pairings. `window` is when the goods can
    be collected or delivered (None: any time; the service ends it at the offer's expiry).
    `currency` is set for money only.
    """

    id: str
    category: str
    remaining: int
    point: tuple[float, float] | None = None
    window: Window | None = None
    currency: str | None = None


@dataclass(frozen=True, slots=True)
class Need:
    """A need for goods (a task with a supply category): what, how much, where, when.

    A need without a point is served from anywhere; `currency`, when given, restricts money
    offers to pledges in that currency.
    """

    id: str
    category: str
    quantity: int
    point: tuple[float, float] | None = None
    window: Window | None = None
    radius_km: float = 25.0
    currency: str | None = None


@dataclass(frozen=True, slots=True)
class RankedOffer:
    """A feasible offer for a need: what it would give, its cost (lower is better), why."""

    offer_id: str
    give: int
    cost: float
    distance_km: float | None
    reasons: tuple[Reason, ...]


@dataclass(frozen=True, slots=True)
class Proposal:
    """The offers proposed to serve a need (one, or a split), and what stays missing."""

    need_id: str
    quantity: int
    parts: tuple[RankedOffer, ...]
    covered: int
    missing: int
    reasons: tuple[Reason, ...]


def _point(point: tuple[float, float] | None) -> tuple[float, float] | None:
    if point is None:
        return None
    lat, lon = point
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return (float(lat), float(lon))


def _radius(need: Need) -> float:
    r = float(need.radius_km)
    return r if r > 0 else 0.0


def _distance(need: Need, offer: Offer, categories: Categories) -> tuple[bool, float | None]:
    """Whether the offer is within reach, and the km (None when distance does not count)."""
    if categories.is_remote(need.category):
        return True, None
    here = _point(need.point)
    if here is None:
        return need.point is None, None  # no point: served from anywhere; a bad one: no one
    there = _point(offer.point)
    if there is None:
        return False, None  # the donor gave no place, so no one can say how far it is
    km = distance_km(here, there)
    return km <= _radius(need), km


def _feasible(need: Need, offer: Offer, categories: Categories) -> tuple[bool, float | None]:
    if offer.category != need.category or offer.remaining <= 0:
        return False, None
    if need.currency is not None and offer.currency != need.currency:
        return False, None
    if need.window is not None and offer.window is not None:
        if not offer.window.overlaps(need.window):
            return False, None
    return _distance(need, offer, categories)


def _reasons(
    need: Need, offer: Offer, give: int, km: float | None, cost: float, unit: str
) -> tuple[Reason, ...]:
    reasons = []
    if km is None:
        reasons.append(Reason("distance", "Distance does not count", {"km": None}))
    else:
        reasons.append(
            Reason(
                "distance",
                f"{km:.1f} km away (limit {_radius(need):g} km)",
                {"km": round(km, 2), "radius_km": _radius(need)},
            )
        )
    if give >= need.quantity:
        reasons.append(
            Reason(
                "covers",
                f"Covers all {need.quantity} {unit} ({offer.remaining} left on offer)",
                {"give": give, "quantity": need.quantity, "remaining": offer.remaining},
            )
        )
    else:
        reasons.append(
            Reason(
                "partial",
                f"Gives {give} of {need.quantity} {unit}",
                {"give": give, "quantity": need.quantity, "remaining": offer.remaining},
            )
        )
    reasons.append(Reason("cost", f"Cost {cost:.3f} (lower is better)", {"cost": round(cost, 6)}))
    return tuple(reasons)


def rank_offers(
    need: Need,
    offers: Sequence[Offer],
    *,
    limit: int | None = None,
    categories: Categories | None = None,
) -> list[RankedOffer]:
    """The offers that may serve the need, best first (ties by larger gift, then offer id)."""
    if need.quantity <= 0 or (limit is not None and limit <= 0):
        return []
    categories = categories or load_categories()
    unit = categories.units.get(need.category, "")
    radius = _radius(need)
    ranked = []
    for offer in offers:
        ok, km = _feasible(need, offer, categories)
        if not ok:
            continue
        give = min(offer.remaining, need.quantity)
        distance_part = 0.0 if km is None else (km / radius if radius > 0 else 0.0)
        cost = W_DISTANCE * distance_part + W_SHORTFALL * (1.0 - give / need.quantity)
        ranked.append(
            RankedOffer(offer.id, give, cost, km, _reasons(need, offer, give, km, cost, unit))
        )
    ranked.sort(key=lambda r: (r.cost, -r.give, r.offer_id))
    return ranked if limit is None else ranked[:limit]


def propose(
    need: Need,
    offers: Sequence[Offer],
    *,
    max_parts: int = MAX_PARTS,
    categories: Categories | None = None,
) -> Proposal:
    """The offers to pair with the need: the best one that covers it, else a split.

    A split takes the ranked offers in order (nearest and largest first), each giving what it
    has up to what is still needed, until the need is covered or `max_parts` offers are used.
    Greedy, not the fewest offers in theory, but predictable and explained.
    """
    categories = categories or load_categories()
    unit = categories.units.get(need.category, "")
    ranked = rank_offers(need, offers, categories=categories)
    if not ranked:
        return Proposal(
            need.id,
            need.quantity,
            (),
            0,
            max(need.quantity, 0),
            (Reason("no_offers", "No open offer of this category within reach", {}),),
        )
    whole = [r for r in ranked if r.give >= need.quantity]
    if whole:
        best = whole[0]
        return Proposal(
            need.id,
            need.quantity,
            (best,),
            need.quantity,
            0,
            (Reason("single", "One offer covers the whole need", {"offers": 1}),),
        )
    by_id = {o.id: o for o in offers}
    parts = []
    left = need.quantity
    for r in ranked:
        if left <= 0 or len(parts) >= max(max_parts, 1):
            break
        give = min(r.give, left)
        offer = by_id[r.offer_id]
        parts.append(
            RankedOffer(
                r.offer_id,
                give,
                r.cost,
                r.distance_km,
                _reasons(need, offer, give, r.distance_km, r.cost, unit),
            )
        )
        left -= give
    covered = need.quantity - left
    reasons = [
        Reason(
            "split",
            f"No single offer covers {need.quantity} {unit}: split across {len(parts)} offers",
            {"offers": len(parts)},
        )
    ]
    if left > 0:
        reasons.append(
            Reason(
                "missing",
                f"{left} {unit} still missing",
                {"missing": left, "max_parts": max_parts, "feasible": len(ranked)},
            )
        )
    return Proposal(need.id, need.quantity, tuple(parts), covered, left, tuple(reasons))
