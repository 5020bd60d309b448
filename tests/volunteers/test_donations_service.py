"""Donors' offers and pairings with needs: the service, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from app.common.time import utcnow
from app.errors import AppError, Conflict, NotFound, ValidationError
from app.extensions import db
from app.sms.models import OutboxMessage
from app.volunteers.models import DonationOffer, Donor, Pairing, Task, TaskEvent
from app.volunteers.service import donations as service

PONCE = (18.01031, -66.62398)


def donor(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Colmado Rivera",
        "phone": "+15555550111",
        "organization": "Colmado Rivera e Hijos",
        "language": "es",
        "location": "Ponce",
    }
    data.update(overrides)
    return data


def offer(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"category": "water", "quantity": 100}
    data.update(overrides)
    return data


@pytest.fixture
def make_offer(app):
    """Register an offer through the service; returns its id."""

    def make(donor_overrides: dict[str, Any] | None = None, **overrides: Any) -> str:
        with app.app_context():
            row = service.register_offer(
                donor=donor(**(donor_overrides or {})), offer=offer(**overrides), created_by="test"
            )
            db.session.commit()
            return row.id

    return make


def get(app, model, row_id):
    with app.app_context():
        row = db.session.get(model, row_id)
        db.session.expunge(row)
        return row


def outbox(app) -> dict[str, OutboxMessage]:
    with app.app_context():
        rows = db.session.scalars(sa.select(OutboxMessage)).all()
        for row in rows:
            db.session.expunge(row)
        return {row.dedupe_key: row for row in rows}


# ---- offers ---------------------------------------------------------------------------------


def test_registering_an_offer_creates_the_donor_and_places_the_offer(app, make_offer):
    offer_id = make_offer()
    row = get(app, DonationOffer, offer_id)
    assert (row.category, row.quantity, row.remaining, row.unit, row.status) == (
        "water",
        100,
        100,
        "litre",
        "open",
    )
    # No location of its own: the donor's place, geocoded offline.
    assert (row.lat, row.lon) == pytest.approx(PONCE)
    assert row.location == "Ponce"
    own = get(app, DonationOffer, make_offer(location="Mayagüez", category="food", quantity=7))
    assert own.lat == pytest.approx(18.20107, abs=0.01)


def test_a_second_offer_from_the_same_phone_keeps_the_donor_unchanged(app, make_offer):
    first = get(app, DonationOffer, make_offer())
    second = get(app, DonationOffer, make_offer({"name": "Someone Else", "organization": None}))
    assert first.donor_id == second.donor_id
    with app.app_context():
        donors = db.session.scalars(sa.select(Donor)).all()
        assert [(d.name, d.organization) for d in donors] == [
            ("Colmado Rivera", "Colmado Rivera e Hijos")
        ]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"category": "gold"}, "category"),
        ({"quantity": 0}, "quantity"),
        ({"quantity": -5}, "quantity"),
        ({"category": "money", "quantity": 500}, "currency"),
        ({"currency": "USD"}, "currency"),
        ({"lat": 18.0}, "lat"),
    ],
)
def test_bad_offers_are_field_errors(app, overrides, field):
    with app.app_context(), pytest.raises(ValidationError) as raised:
        service.register_offer(donor=donor(), offer=offer(**overrides), created_by="test")
    assert field in raised.value.errors
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(DonationOffer)) == 0


def test_a_money_pledge_has_a_currency_and_no_unit_of_goods(app, make_offer):
    row = get(app, DonationOffer, make_offer(category="money", quantity=250, currency="USD"))
    assert (row.unit, row.currency, row.remaining) == ("currency", "USD", 250)


def test_update_moves_remaining_with_quantity_and_checks_the_version(app, make_offer, make_need):
    offer_id = make_offer()
    need_id = make_need(supply_quantity=30)
    with app.app_context():
        (pairing,) = service.propose_pairings(task_id=need_id, offer_id=offer_id, actor="c")
        service.accept_pairing(pairing_id=pairing.id, actor="c")
        db.session.commit()
    with app.app_context():
        row = service.get_offer(offer_id=offer_id)
        with pytest.raises(Conflict) as stale:
            service.update_offer(offer=row, changes={"quantity": 90}, expected_version=1)
        assert stale.value.code == "version_conflict"
        with pytest.raises(Conflict) as taken:
            service.update_offer(offer=row, changes={"quantity": 20})
        assert taken.value.code == "offer_quantity_taken"
        changed = service.update_offer(
            offer=row, changes={"quantity": 30}, expected_version=row.version
        )
        assert changed == ["quantity"]
        assert (row.remaining, row.status) == (0, "exhausted")
        service.update_offer(offer=row, changes={"quantity": 50, "location": "Yauco"})
        assert (row.remaining, row.status) == (20, "open")
        assert row.lon == pytest.approx(-66.8499, abs=0.01)
        with pytest.raises(ValidationError):
            service.update_offer(offer=row, changes={"category": "food"})


def test_withdrawing_cancels_proposed_pairings_but_keeps_accepted_ones(app, make_offer, make_need):
    offer_id = make_offer(quantity=100)
    first, second = make_need(supply_quantity=40), make_need(supply_quantity=40)
    with app.app_context():
        (kept,) = service.propose_pairings(task_id=first, offer_id=offer_id, actor="c")
        service.accept_pairing(pairing_id=kept.id, actor="c")
        (dropped,) = service.propose_pairings(task_id=second, offer_id=offer_id, actor="c")
        cancelled = service.withdraw_offer(offer=service.get_offer(offer_id=offer_id), actor="c")
        assert [p.id for p in cancelled] == [dropped.id]
        assert service.withdraw_offer(offer=service.get_offer(offer_id=offer_id), actor="c") == []
        db.session.commit()
        kept_id, dropped_id = kept.id, dropped.id
    assert get(app, Pairing, kept_id).status == "accepted"
    assert get(app, Pairing, dropped_id).status == "cancelled"
    assert get(app, DonationOffer, offer_id).status == "withdrawn"
    with app.app_context(), pytest.raises(Conflict) as closed:
        service.propose_pairings(task_id=second, offer_id=offer_id, actor="c")
    assert closed.value.code == "offer_closed"


def test_offers_past_their_expiry_expire_and_are_not_candidates(app, make_offer, make_need):
    old = make_offer(expires_at=utcnow() - timedelta(minutes=1))
    fresh = make_offer(expires_at=utcnow() + timedelta(days=1))
    make_offer(
        available_from=utcnow() - timedelta(days=2), available_until=utcnow() - timedelta(days=1)
    )
    need_id = make_need()
    with app.app_context():
        found = service.offer_candidates(task_id=need_id)
        assert [o.id for o, _ in found.ranked] == [fresh]
        assert service.expire_offers() == 1
        db.session.commit()
    assert get(app, DonationOffer, old).status == "expired"
    assert get(app, DonationOffer, fresh).status == "open"


# ---- ranking and proposals ------------------------------------------------------------------


def test_candidates_rank_open_offers_within_reach_for_what_is_missing(app, make_offer, make_need):
    near_half = make_offer(quantity=60)
    far_all = make_offer({"phone": "+15555550112"}, quantity=500, location="Yauco")
    make_offer({"phone": "+15555550113"}, quantity=500, location="Mayagüez")  # 58 km away
    make_offer({"phone": "+15555550114"}, category="food", quantity=500)
    need_id = make_need()
    with app.app_context():
        found = service.offer_candidates(task_id=need_id)
        assert found.outstanding == 100
        # Next door with 60 ranks above 24 km away with all 100 (cost 0.8 against 0.96), but
        # the proposal prefers the one offer that covers the whole need.
        assert [o.id for o, _ in found.ranked] == [near_half, far_all]
        assert [(p.offer_id, p.give) for p in found.proposal.parts] == [(far_all, 100)]


def test_a_task_that_asks_for_no_goods_has_no_candidates(app, make_need):
    plain = make_need(supply_category=None, supply_quantity=None)
    with app.app_context():
        with pytest.raises(Conflict) as no_goods:
            service.offer_candidates(task_id=plain)
        assert no_goods.value.code == "task_not_a_need"
        with pytest.raises(NotFound):
            service.offer_candidates(task_id="nope")


def test_proposing_splits_the_need_and_proposing_again_adds_nothing(app, make_offer, make_need):
    a = make_offer(quantity=60)
    b = make_offer({"phone": "+15555550112"}, quantity=70)
    need_id = make_need()
    with app.app_context():
        pairings = service.propose_pairings(task_id=need_id, actor="c")
        assert [(p.offer_id, p.quantity, p.status) for p in pairings] == [
            (b, 70, "proposed"),
            (a, 30, "proposed"),
        ]
        assert pairings[0].reasons[0]["code"] == "distance"
        again = service.propose_pairings(task_id=need_id, actor="c")
        assert [p.id for p in again] == [p.id for p in pairings]
        db.session.commit()
    # Proposals take nothing from the offers.
    assert get(app, DonationOffer, a).remaining == 60


def test_a_proposal_for_one_offer_checks_category_and_quantity(app, make_offer, make_need):
    food = make_offer(category="food", quantity=10)
    water = make_offer({"phone": "+15555550112"}, quantity=10)
    need_id = make_need(supply_quantity=50)
    with app.app_context():
        with pytest.raises(Conflict) as mismatch:
            service.propose_pairings(task_id=need_id, offer_id=food, actor="c")
        assert mismatch.value.code == "category_mismatch"
        with pytest.raises(Conflict) as too_much:
            service.propose_pairings(task_id=need_id, offer_id=water, quantity=11, actor="c")
        assert too_much.value.code == "offer_insufficient"
        with pytest.raises(ValidationError):
            service.propose_pairings(task_id=need_id, offer_id=water, quantity=-1, actor="c")
        (pairing,) = service.propose_pairings(task_id=need_id, offer_id=water, actor="c")
        assert pairing.quantity == 10


# ---- decisions ------------------------------------------------------------------------------


def test_accepting_takes_the_quantity_and_tells_both_sides(app, make_offer, make_need):
    offer_id = make_offer(quantity=100)
    need_id = make_need(supply_quantity=100)
    with app.app_context():
        (pairing,) = service.propose_pairings(task_id=need_id, offer_id=offer_id, actor="c")
        service.accept_pairing(pairing_id=pairing.id, actor="coordinator:1", reason="ok")
        db.session.commit()
        pairing_id, reference = pairing.id, pairing.reference
    row = get(app, DonationOffer, offer_id)
    assert (row.remaining, row.status) == (0, "exhausted")
    decided = get(app, Pairing, pairing_id)
    assert (decided.status, decided.decided_by, decided.reason) == (
        "accepted",
        "coordinator:1",
        "ok",
    )
    messages = outbox(app)
    donor_sms = messages[f"pairing:{pairing_id}:donor"]
    need_sms = messages[f"pairing:{pairing_id}:need"]
    assert (donor_sms.to_phone, donor_sms.language) == ("+15555550111", "es")
    assert need_sms.to_phone == "+15555550199"
    for sms in (donor_sms, need_sms):
        assert reference in sms.body
        # Neither side learns who or where the other is.
        assert "Ponce" not in sms.body and "Rivera" not in sms.body and "Shelter" not in sms.body
    with app.app_context():
        events = db.session.scalars(
            sa.select(TaskEvent.event).where(TaskEvent.task_id == need_id).order_by(TaskEvent.id)
        ).all()
        assert events == ["created", "pairing_proposed", "pairing_accepted"]
        assert service.covered(need_id) == 100


def test_a_pairing_is_decided_once(app, make_offer, make_need):
    offer_id, need_id = make_offer(), make_need()
    with app.app_context():
        (pairing,) = service.propose_pairings(task_id=need_id, offer_id=offer_id, actor="c")
        service.reject_pairing(pairing_id=pairing.id, actor="c", reason="too far")
        for decide in (
            lambda: service.accept_pairing(pairing_id=pairing.id, actor="c"),
            lambda: service.reject_pairing(pairing_id=pairing.id, actor="c", reason="again"),
            lambda: service.fulfil_pairing(pairing_id=pairing.id, actor="c"),
        ):
            with pytest.raises(Conflict):
                decide()
        assert service.get_offer(offer_id=offer_id).remaining == 100
        assert outbox(app) == {}


def test_accepting_more_than_is_left_is_refused_and_takes_nothing(app, make_offer, make_need):
    offer_id = make_offer(quantity=50)
    first, second = make_need(supply_quantity=40), make_need(supply_quantity=40)
    with app.app_context():
        (p1,) = service.propose_pairings(task_id=first, offer_id=offer_id, actor="c")
        (p2,) = service.propose_pairings(task_id=second, offer_id=offer_id, actor="c")
        service.accept_pairing(pairing_id=p1.id, actor="c")
        with pytest.raises(Conflict) as short:
            service.accept_pairing(pairing_id=p2.id, actor="c")
        assert short.value.code == "offer_insufficient"
        assert service.get_offer(offer_id=offer_id).remaining == 10


def test_a_need_is_not_covered_twice(app, make_offer, make_need):
    a = make_offer(quantity=100)
    b = make_offer({"phone": "+15555550112"}, quantity=100)
    need_id = make_need(supply_quantity=80)
    with app.app_context():
        (pa,) = service.propose_pairings(task_id=need_id, offer_id=a, actor="c")
        (pb,) = service.propose_pairings(task_id=need_id, offer_id=b, actor="c")
        service.accept_pairing(pairing_id=pa.id, actor="c")
        with pytest.raises(Conflict) as covered:
            service.accept_pairing(pairing_id=pb.id, actor="c")
        assert covered.value.code == "need_covered"
        with pytest.raises(Conflict):
            service.propose_pairings(task_id=need_id, actor="c")


def test_cancelling_an_accepted_pairing_gives_the_quantity_back(app, make_offer, make_need):
    offer_id, need_id = make_offer(quantity=100), make_need(supply_quantity=100)
    with app.app_context():
        (pairing,) = service.propose_pairings(task_id=need_id, offer_id=offer_id, actor="c")
        service.accept_pairing(pairing_id=pairing.id, actor="c")
        assert service.get_offer(offer_id=offer_id).status == "exhausted"
        service.cancel_pairing(pairing_id=pairing.id, actor="c", reason="truck broke down")
        row = service.get_offer(offer_id=offer_id)
        assert (row.remaining, row.status) == (100, "open")
        assert service.covered(need_id) == 0
        with pytest.raises(Conflict):
            service.cancel_pairing(pairing_id=pairing.id, actor="c", reason="again")


def test_fulfilling_an_accepted_pairing_keeps_it_counted(app, make_offer, make_need):
    offer_id, need_id = make_offer(quantity=100), make_need(supply_quantity=60)
    with app.app_context():
        (pairing,) = service.propose_pairings(task_id=need_id, offer_id=offer_id, actor="c")
        with pytest.raises(Conflict):
            service.fulfil_pairing(pairing_id=pairing.id, actor="c")
        service.accept_pairing(pairing_id=pairing.id, actor="c")
        assert service.fulfil_pairing(pairing_id=pairing.id, actor="c").status == "fulfilled"
        assert service.covered(need_id) == 60
        assert service.get_offer(offer_id=offer_id).remaining == 40


def test_two_coordinators_accepting_at_once_never_overdraw_the_offer(app, make_offer, make_need):
    """Two needs, one offer of 10, each pairing asks 6: exactly one acceptance wins, whatever
    the database (row lock on PostgreSQL, the write lock on SQLite)."""
    offer_id = make_offer(quantity=10)
    needs = [make_need(supply_quantity=6), make_need(supply_quantity=6)]
    with app.app_context():
        pairings = [
            service.propose_pairings(task_id=n, offer_id=offer_id, actor="c")[0].id for n in needs
        ]
        db.session.commit()
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def accept(pairing_id: str) -> None:
        with app.app_context():
            barrier.wait(timeout=30)
            try:
                service.accept_pairing(pairing_id=pairing_id, actor="c")
                db.session.commit()
                outcomes.append("accepted")
            except AppError as exc:
                db.session.rollback()
                outcomes.append(exc.code)

    threads = [threading.Thread(target=accept, args=(p,)) for p in pairings]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["accepted", "offer_insufficient"]
    assert get(app, DonationOffer, offer_id).remaining == 4
    statuses = sorted(get(app, Pairing, p).status for p in pairings)
    assert statuses == ["accepted", "proposed"]
    assert len(outbox(app)) == 2  # the winner's two messages, nothing from the loser


def test_a_closed_task_or_a_need_nobody_can_serve_gets_no_pairing(app, make_offer, make_need):
    offer_id = make_offer(quantity=100)
    open_need = make_need()
    with app.app_context():
        (pairing,) = service.propose_pairings(task_id=open_need, offer_id=offer_id, actor="c")
        db.session.get(Task, open_need).status = "cancelled"
        db.session.flush()
        with pytest.raises(Conflict) as closed:
            service.accept_pairing(pairing_id=pairing.id, actor="c")
        assert closed.value.code == "task_closed"
        with pytest.raises(Conflict):
            service.offer_candidates(task_id=open_need)
        db.session.rollback()
    with app.app_context(), pytest.raises(Conflict) as none:
        service.propose_pairings(task_id=make_need(supply_category="fuel"), actor="c")
    assert none.value.code == "no_offers"


# ---- command line ---------------------------------------------------------------------------


def test_cli_lists_ranks_and_pairs(app, make_offer, make_need):
    offer_id = make_offer(quantity=100)
    need_id = make_need(supply_quantity=40)
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["offers", "list"])
    assert listed.exit_code == 0, listed.output
    assert offer_id in listed.output and "100/100 litre" in listed.output
    assert "+15555550111" not in listed.output  # phones are masked
    ranked = runner.invoke(args=["offers", "candidates", need_id])
    assert ranked.exit_code == 0, ranked.output
    assert "40 missing" in ranked.output and f"{offer_id} x 40" in ranked.output
    paired = runner.invoke(args=["offers", "pair", offer_id, need_id, "40", "--by", "ops"])
    assert paired.exit_code == 0, paired.output
    assert "40 accepted" in paired.output
    assert get(app, DonationOffer, offer_id).remaining == 60
    assert len(outbox(app)) == 2
    again = runner.invoke(args=["offers", "pair", offer_id, need_id, "1"])
    assert again.exit_code != 0 and "cover this need already" in again.output
    assert runner.invoke(args=["offers", "pair", offer_id, need_id, "-3"]).exit_code != 0
    unknown = runner.invoke(args=["offers", "candidates", "nope"])
    assert unknown.exit_code != 0 and "No task" in unknown.output
    assert runner.invoke(args=["offers", "expire"]).output.strip() == "0 offers expired"
