"""The pure supply ranking: categories, hard filters, cost, one covering offer or a split (no app,
no database)."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import pytest

from app.geo.distance import distance_km
from app.volunteers.assign import Window
from app.volunteers.assign.supply import (
    DATA,
    MAX_PARTS,
    W_DISTANCE,
    W_SHORTFALL,
    Need,
    Offer,
    load_categories,
    propose,
    rank_offers,
)

SHELTER = (18.0114, -66.6141)  # Ponce
NEAR = (18.0200, -66.6141)  # about 1 km north
FAR = (18.1800, -66.6141)  # about 19 km north
BEYOND = (18.4000, -66.6141)  # about 43 km north
T0 = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def need(**overrides) -> Need:
    values = dict(id="need", category="water", quantity=100, point=SHELTER, radius_km=25.0)
    values.update(overrides)
    return Need(**values)


def test_the_taxonomy_lists_every_kind_of_offer_with_a_unit():
    categories = load_categories()
    assert {"water", "food", "hygiene", "blankets", "clothing", "medical_supplies"} <= (
        categories.names
    )
    assert {"baby_supplies", "tools", "fuel", "shelter_beds", "transport_seats", "money"} <= (
        categories.names
    )
    assert categories.unit("water") == "litre"
    assert categories.unit("shelter_beds") == "bed"
    assert categories.unit("transport_seats") == "seat"
    assert categories.is_remote("money") and not categories.is_remote("water")
    raw = json.loads(DATA.read_text(encoding="utf-8"))["categories"]
    assert all(entry["unit"] and entry["label"] and entry["description"] for entry in raw.values())


def test_unknown_names_are_reported_sorted_and_once():
    categories = load_categories()
    assert categories.unknown(["water", "Water", "gold", "gold", "", "💧"]) == [
        "",
        "Water",
        "gold",
        "💧",
    ]
    assert categories.unknown([]) == []


def test_a_need_is_served_only_by_its_own_category_with_something_left():
    offers = [
        Offer("food", "food", 500, NEAR),
        Offer("empty", "water", 0, NEAR),
        Offer("negative", "water", -5, NEAR),
        Offer("water", "water", 10, NEAR),
    ]
    assert [r.offer_id for r in rank_offers(need(), offers)] == ["water"]


def test_offers_beyond_the_radius_or_without_a_place_are_left_out():
    offers = [
        Offer("far", "water", 100, FAR),
        Offer("beyond", "water", 100, BEYOND),
        Offer("nowhere", "water", 100, None),
        Offer("bad", "water", 100, (float("nan"), 0.0)),
    ]
    ranked = rank_offers(need(), offers)
    assert [r.offer_id for r in ranked] == ["far"]
    assert ranked[0].distance_km == pytest.approx(distance_km(SHELTER, FAR))
    assert rank_offers(need(radius_km=50), offers)[1].offer_id == "beyond"
    # A radius of zero or below serves only offers at the very place.
    assert rank_offers(need(radius_km=-3), [Offer("here", "water", 5, SHELTER)])[0].give == 5


def test_money_and_needs_without_a_place_ignore_distance():
    pledges = [
        Offer("abroad", "money", 500, (48.85, 2.35), currency="EUR"),
        Offer("x", "money", 50),
    ]
    ranked = rank_offers(need(category="money", quantity=200), pledges)
    assert {r.offer_id for r in ranked} == {"abroad", "x"}
    assert all(r.distance_km is None for r in ranked)
    anywhere = rank_offers(need(point=None), [Offer("beyond", "water", 100, BEYOND)])
    assert [r.offer_id for r in anywhere] == ["beyond"]
    # A need whose point is not on Earth is not "anywhere": nothing is within its reach.
    assert rank_offers(need(point=(91.0, 0.0)), [Offer("near", "water", 100, NEAR)]) == []


def test_a_currency_on_the_need_filters_money_pledges():
    pledges = [
        Offer("usd", "money", 500, currency="USD"),
        Offer("eur", "money", 500, currency="EUR"),
    ]
    ranked = rank_offers(need(category="money", quantity=100, currency="USD"), pledges)
    assert [r.offer_id for r in ranked] == ["usd"]


def test_an_offer_must_be_available_in_the_needs_window():
    window = Window(T0, T0 + timedelta(hours=8))
    offers = [
        Offer("before", "water", 100, NEAR, window=Window(T0 - timedelta(days=1), T0)),
        Offer(
            "during",
            "water",
            100,
            NEAR,
            window=Window(T0 + timedelta(hours=7), T0 + timedelta(days=2)),
        ),
        Offer("always", "water", 100, FAR),
    ]
    assert [r.offer_id for r in rank_offers(need(window=window), offers)] == ["during", "always"]
    # A need without a window takes offers whenever they are available.
    assert len(rank_offers(need(), offers)) == 3


def test_the_cost_is_distance_over_radius_plus_the_weighted_shortfall():
    ranked = rank_offers(need(), [Offer("half", "water", 50, FAR)])
    km = distance_km(SHELTER, FAR)
    assert ranked[0].cost == pytest.approx(W_DISTANCE * km / 25.0 + W_SHORTFALL * 0.5)
    assert ranked[0].give == 50
    codes = [r.code for r in ranked[0].reasons]
    assert codes == ["distance", "partial", "cost"]


def test_an_offer_that_covers_the_need_beats_a_nearer_partial_one():
    offers = [Offer("near_half", "water", 60, NEAR), Offer("far_all", "water", 500, FAR)]
    ranked = rank_offers(need(), offers)
    assert [r.offer_id for r in ranked] == ["far_all", "near_half"]
    assert ranked[0].give == 100 and ranked[0].reasons[1].code == "covers"


def test_propose_takes_the_best_single_covering_offer():
    offers = [
        Offer("near_half", "water", 60, NEAR),
        Offer("far_all", "water", 500, FAR),
        Offer("near_all", "water", 100, NEAR),
    ]
    proposal = propose(need(), offers)
    assert [(p.offer_id, p.give) for p in proposal.parts] == [("near_all", 100)]
    assert (proposal.covered, proposal.missing) == (100, 0)
    assert proposal.reasons[0].code == "single"


def test_propose_splits_a_need_no_single_offer_covers():
    offers = [
        Offer("a", "water", 60, NEAR),
        Offer("b", "water", 30, FAR),
        Offer("c", "water", 30, FAR),
    ]
    proposal = propose(need(), offers)
    gives = [(p.offer_id, p.give) for p in proposal.parts]
    assert gives == [("a", 60), ("b", 30), ("c", 10)]
    assert sum(g for _, g in gives) == 100
    assert (proposal.covered, proposal.missing) == (100, 0)
    assert proposal.reasons[0].code == "split"
    # The last part gives only what is still missing, never more than its offer has.
    assert all(p.give <= o.remaining for p, o in zip(proposal.parts, offers, strict=True))


def test_propose_says_what_stays_missing():
    proposal = propose(need(), [Offer("a", "water", 30, NEAR)])
    assert (proposal.covered, proposal.missing) == (30, 70)
    assert [r.code for r in proposal.reasons] == ["split", "missing"]
    nothing = propose(need(), [Offer("food", "food", 300, NEAR)])
    assert nothing.parts == () and nothing.missing == 100
    assert nothing.reasons[0].code == "no_offers"


def test_a_split_uses_at_most_max_parts_offers():
    offers = [Offer(f"o{i:02}", "water", 1, NEAR) for i in range(20)]
    proposal = propose(need(quantity=20), offers)
    assert len(proposal.parts) == MAX_PARTS
    assert proposal.missing == 20 - MAX_PARTS
    assert len(propose(need(quantity=20), offers, max_parts=20).parts) == 20


def test_a_need_of_nothing_ranks_nothing():
    offers = [Offer("a", "water", 30, NEAR)]
    assert rank_offers(need(quantity=0), offers) == []
    assert rank_offers(need(), offers, limit=0) == []
    assert propose(need(quantity=0), offers).parts == ()


def test_ranking_is_deterministic_whatever_the_order_of_the_offers():
    rng = random.Random(5)
    offers = [
        Offer(f"o{i:03}", "water", rng.choice([10, 50, 100, 200]), rng.choice([NEAR, FAR, SHELTER]))
        for i in range(60)
    ]
    first = rank_offers(need(), offers)
    for _ in range(5):
        shuffled = offers[:]
        rng.shuffle(shuffled)
        assert rank_offers(need(), shuffled) == first
        assert propose(need(), shuffled) == propose(need(), offers)
    # Equal costs: the larger gift first, then the smaller id.
    keys = [(r.cost, -r.give, r.offer_id) for r in first]
    assert keys == sorted(keys)
