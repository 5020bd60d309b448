"""The offers API: public registration; coordinators read, correct, rank for a need and pair."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from app.auth.models import AuditEvent
from app.extensions import db
from app.sms.models import OutboxMessage
from app.volunteers.models import DonationOffer, Pairing
from tests.conftest import bearer
from tests.helpers import assert_envelope, count, post_all_at_once

URL = "/api/v1/offers"
PONCE = (18.01031, -66.62398)


def payload(**overrides: Any) -> dict[str, Any]:
    """A synthetic offer; overrides replace or add fields (None removes)."""
    data: dict[str, Any] = {
        "donor": {
            "name": "Colmado Rivera",
            "phone": "+1 555 555 0111",
            "organization": "Colmado Rivera e Hijos",
            "language": "es",
            "location": "Ponce",
        },
        "category": "water",
        "quantity": 100,
        "description": "Botellas de 1,5 l en paquetes de 6 💧",
        "available_from": "2026-11-22T08:00:00-04:00",
        "available_until": "2026-11-30T18:00:00-04:00",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def make_offer(client):
    """Register an offer through the public API; returns its id."""

    def make(**overrides: Any) -> str:
        response = client.post(URL, json=payload(**overrides))
        assert response.status_code == 201, response.get_json()
        return response.get_json()["id"]

    return make


def audited(app, action: str) -> list[str]:
    """The subject ids of the audit events of this action, in the order they were written."""
    with app.app_context():
        query = sa.select(AuditEvent.subject_id).where(AuditEvent.action == action)
        return list(db.session.scalars(query.order_by(AuditEvent.id)))


def test_register_answers_only_the_id(app, client):
    response = client.post(URL, json=payload())
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {"id", "created_at"}
    assert response.headers["Location"].endswith(f"{URL}/{body['id']}")
    with app.app_context():
        offer = db.session.get(DonationOffer, body["id"])
        assert (offer.remaining, offer.unit, offer.donor.phone) == (100, "litre", "+15555550111")
        assert offer.description.endswith("💧")
    assert audited(app, "offer.create") == [body["id"]]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"category": "gold"}, "category"),
        ({"category": None}, "category"),
        ({"quantity": -5}, "quantity"),
        ({"quantity": 0}, "quantity"),
        ({"quantity": 2.5}, "quantity"),
        ({"quantity": "12"}, "quantity"),
        ({"quantity": 10**12}, "quantity"),
        ({"category": "money", "quantity": 50}, "currency"),
        ({"currency": "USD"}, "currency"),
        ({"category": "money", "currency": "dollars"}, "currency"),
        ({"available_until": "2026-11-21T08:00:00-04:00"}, "available_until"),
        ({"lat": 18.0}, "lat"),
        ({"colour": "blue"}, "colour"),
        ({"donor": None}, "donor"),
        ({"donor": {"name": "X", "phone": "not a phone"}}, "donor"),
        ({"donor": {"name": "  ", "phone": "+15555550111"}}, "donor"),
    ],
)
def test_bad_offers_are_422_naming_the_field(app, client, overrides, field):
    body = assert_envelope(client.post(URL, json=payload(**overrides)), 422)
    assert field in body["errors"], body
    assert count(app, DonationOffer) == 0


def test_a_money_pledge_is_registered_with_its_currency(app, client, make_offer, coordinator):
    offer_id = make_offer(category="money", quantity=500, currency="usd")
    body = client.get(f"{URL}/{offer_id}", headers=bearer(coordinator["token"])).get_json()
    assert (body["category"], body["currency"], body["unit"]) == ("money", "USD", "currency")


def test_only_coordinators_read_correct_rank_and_pair(client, make_offer, make_key, make_need):
    offer_id = make_offer()
    need_id = make_need()
    key = make_key("read", "full_read", "write")
    for headers, status in (({}, 401), (bearer(key["token"]), 403)):
        assert_envelope(client.get(URL, headers=headers), status)
        assert_envelope(client.get(f"{URL}/{offer_id}", headers=headers), status)
        assert_envelope(client.patch(f"{URL}/{offer_id}", json={}, headers=headers), status)
        assert_envelope(client.post(f"{URL}/{offer_id}/withdraw", json={}, headers=headers), status)
        assert_envelope(client.get(f"{URL}/candidates?task_id={need_id}", headers=headers), status)
        assert_envelope(
            client.post(f"{URL}/pairings", json={"task_id": need_id}, headers=headers), status
        )


def test_list_paginates_filters_and_audits(app, client, make_offer, coordinator):
    ids = [make_offer(donor={"name": f"Donor {i}", "phone": f"+1555555020{i}"}) for i in range(3)]
    food = make_offer(category="food", quantity=40)
    headers = bearer(coordinator["token"])
    first = client.get(f"{URL}?limit=2", headers=headers).get_json()
    assert [o["id"] for o in first["items"]] == [food, ids[2]]
    second = client.get(f"{URL}?limit=2&cursor={first['next_cursor']}", headers=headers).get_json()
    assert [o["id"] for o in second["items"]] == [ids[1], ids[0]]
    assert second["next_cursor"] is None
    assert second["items"][0]["donor"]["phone"] == "+15555550201"
    water = client.get(f"{URL}?category=water&status=open", headers=headers).get_json()
    assert len(water["items"]) == 3
    assert_envelope(client.get(f"{URL}?status=lost", headers=headers), 422)
    assert_envelope(client.get(f"{URL}?cursor=%%%", headers=headers), 422)
    assert audited(app, "offer.list")[:2] == [food, ids[2]]


def test_read_is_audited_and_unknown_is_404(app, client, make_offer, coordinator):
    offer_id = make_offer()
    headers = bearer(coordinator["token"])
    body = client.get(f"{URL}/{offer_id}", headers=headers).get_json()
    assert body["donor"]["name"] == "Colmado Rivera"
    assert (body["lat"], body["lon"]) == pytest.approx(PONCE)
    assert audited(app, "offer.read") == [offer_id]
    assert_envelope(client.get(f"{URL}/01m7zh2bwgaah56pv560gjspgz", headers=headers), 404)
    assert_envelope(client.get(f"{URL}/nope", headers=headers), 404, "offer_not_found")


def test_patch_checks_the_version_and_audits_changed_fields(app, client, make_offer, coordinator):
    offer_id = make_offer()
    headers = bearer(coordinator["token"])
    url = f"{URL}/{offer_id}"
    response = client.patch(url, json={"quantity": 80, "version": 1}, headers=headers)
    assert response.status_code == 200, response.get_json()
    assert (response.get_json()["remaining"], response.get_json()["version"]) == (80, 2)
    assert_envelope(client.patch(url, json={"quantity": 70, "version": 1}, headers=headers), 409)
    assert_envelope(client.patch(url, json={"quantity": -1}, headers=headers), 422)
    assert_envelope(client.patch(url, json={"category": "food"}, headers=headers), 422)
    with app.app_context():
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "offer.update"))
        assert event.details == {"fields": ["quantity"]}


def test_withdraw(client, make_offer, coordinator):
    offer_id = make_offer()
    headers = bearer(coordinator["token"])
    response = client.post(f"{URL}/{offer_id}/withdraw", json={"reason": "sold"}, headers=headers)
    assert response.get_json()["status"] == "withdrawn"


def test_candidates_for_a_need(app, client, make_offer, make_need, coordinator):
    near = make_offer(quantity=60)
    yauco = make_offer(
        donor={"name": "Ferretería Yauco", "phone": "+15555550112", "location": "Yauco"},
        quantity=500,
    )
    need_id = make_need()
    headers = bearer(coordinator["token"])
    response = client.get(f"{URL}/candidates?task_id={need_id}", headers=headers)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["category"], body["unit"], body["quantity"], body["outstanding"]) == (
        "water",
        "litre",
        100,
        100,
    )
    assert [c["offer"]["id"] for c in body["candidates"]] == [near, yauco]
    assert body["candidates"][0]["reasons"][0]["code"] == "distance"
    assert [(p["offer_id"], p["give"]) for p in body["proposal"]["parts"]] == [(yauco, 100)]
    assert audited(app, "offer.list") == [near, yauco]
    plain = make_need(supply_category=None, supply_quantity=None)
    assert_envelope(
        client.get(f"{URL}/candidates?task_id={plain}", headers=headers), 409, "task_not_a_need"
    )
    assert_envelope(client.get(f"{URL}/candidates?task_id=nope", headers=headers), 404)
    assert_envelope(client.get(f"{URL}/candidates", headers=headers), 422)


def test_propose_accept_and_both_sides_are_told(app, client, make_offer, make_need, coordinator):
    offer_id = make_offer(quantity=100)
    need_id = make_need(supply_quantity=40)
    headers = bearer(coordinator["token"])
    response = client.post(f"{URL}/pairings", json={"task_id": need_id}, headers=headers)
    assert response.status_code == 201, response.get_json()
    (pairing,) = response.get_json()["items"]
    assert (pairing["offer_id"], pairing["quantity"], pairing["status"]) == (
        offer_id,
        40,
        "proposed",
    )
    url = f"{URL}/pairings/{pairing['id']}"
    accepted = client.post(f"{url}/accept", json={}, headers=headers)
    assert accepted.status_code == 200, accepted.get_json()
    assert accepted.get_json()["status"] == "accepted"
    assert_envelope(client.post(f"{url}/accept", json={}, headers=headers), 409, "pairing_decided")
    with app.app_context():
        assert db.session.get(DonationOffer, offer_id).remaining == 60
        keys = set(db.session.scalars(sa.select(OutboxMessage.dedupe_key)))
        assert keys == {f"pairing:{pairing['id']}:donor", f"pairing:{pairing['id']}:need"}
    listed = client.get(f"{URL}/pairings?task_id={need_id}", headers=headers).get_json()
    assert [p["status"] for p in listed["items"]] == ["accepted"]
    assert_envelope(client.get(f"{URL}/pairings", headers=headers), 422)
    done = client.post(f"{url}/fulfil", json={}, headers=headers)
    assert done.get_json()["status"] == "fulfilled"
    assert audited(app, "pairing.accept") == [pairing["id"]]


def test_reject_and_cancel_need_a_reason(app, client, make_offer, make_need, coordinator):
    offer_id = make_offer(quantity=100)
    need_id = make_need(supply_quantity=30)
    headers = bearer(coordinator["token"])
    response = client.post(
        f"{URL}/pairings",
        json={"task_id": need_id, "offer_id": offer_id, "quantity": 30},
        headers=headers,
    )
    (pairing,) = response.get_json()["items"]
    url = f"{URL}/pairings/{pairing['id']}"
    assert_envelope(client.post(f"{url}/reject", json={}, headers=headers), 422)
    assert_envelope(client.post(f"{url}/cancel", json={"reason": " "}, headers=headers), 422)
    rejected = client.post(f"{url}/reject", json={"reason": "demasiado lejos"}, headers=headers)
    assert rejected.get_json()["status"] == "rejected"
    assert rejected.get_json()["reason"] == "demasiado lejos"
    assert_envelope(client.post(f"{URL}/pairings/nope/accept", json={}, headers=headers), 404)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"quantity": 10}, 422),  # a quantity needs its offer
        ({"offer_id": "OFFER", "quantity": -3}, 422),
        ({"offer_id": "OFFER", "quantity": 101}, 409),
        ({"task_id": "nope"}, 404),
    ],
)
def test_bad_pairings(client, make_offer, make_need, coordinator, body, status):
    offer_id = make_offer(quantity=100)
    need_id = make_need(supply_quantity=500)
    body = {"task_id": need_id, **body}
    if body.get("offer_id") == "OFFER":
        body["offer_id"] = offer_id
    assert_envelope(
        client.post(f"{URL}/pairings", json=body, headers=bearer(coordinator["token"])), status
    )


def test_two_coordinators_accepting_at_once(app, client, make_offer, make_need, make_user):
    """One offer of 10; two needs each paired for 6; two coordinators accept at the same
    moment: one 200, one 409, and the offer keeps 4."""
    offer_id = make_offer(quantity=10)
    first, second = make_user(), make_user()
    pairings = []
    for need_id in (make_need(supply_quantity=6), make_need(supply_quantity=6)):
        response = client.post(
            f"{URL}/pairings",
            json={"task_id": need_id, "offer_id": offer_id, "quantity": 6},
            headers=bearer(first["token"]),
        )
        pairings.append(response.get_json()["items"][0]["id"])
    results = post_all_at_once(
        app,
        [
            (f"{URL}/pairings/{pairings[0]}/accept", {}, bearer(first["token"])),
            (f"{URL}/pairings/{pairings[1]}/accept", {}, bearer(second["token"])),
        ],
    )
    assert sorted(status for status, _ in results) == [200, 409]
    assert [body["code"] for status, body in results if status == 409] == ["offer_insufficient"]
    with app.app_context():
        assert db.session.get(DonationOffer, offer_id).remaining == 4
    assert count(app, Pairing, Pairing.status == "accepted") == 1


@pytest.mark.parametrize(
    ("name", "organization", "language", "stored_language"),
    [
        ("محمد الأحمد", "جمعية الهلال", "ar", "ar"),
        ("Nguyễn Thị Hoa", None, "vi", "vi"),
        ("Jean-Baptiste Désir", "Koperativ Lakay 🏠", "HT", "ht"),
        ("Conceição Araújo", "Mercado São João", "pt_BR", "pt-br"),
    ],
)
def test_donors_from_many_languages(app, client, name, organization, language, stored_language):
    donor = {"name": name, "phone": "+15555550130", "language": language}
    if organization:
        donor["organization"] = organization
    response = client.post(URL, json=payload(donor=donor))
    assert response.status_code == 201, response.get_json()
    with app.app_context():
        offer = db.session.get(DonationOffer, response.get_json()["id"])
        assert (offer.donor.name, offer.donor.organization) == (name, organization)
        assert offer.donor.language == stored_language


def test_huge_or_broken_text_is_422(app, client):
    for overrides in (
        {"description": "x" * 2001},
        {"location": "Ponce\x00"},
        {"donor": {"name": "A" * 201, "phone": "+15555550111"}},
    ):
        assert_envelope(client.post(URL, json=payload(**overrides)), 422)
    assert count(app, DonationOffer) == 0


def test_a_retried_registration_creates_one_offer(app, client):
    headers = {"Idempotency-Key": "5b0e4a8e-2c1d-4f7e-9f0a-3c6d2e1b7a90"}
    first = client.post(URL, json=payload(), headers=headers)
    again = client.post(URL, json=payload(), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert count(app, DonationOffer) == 1
