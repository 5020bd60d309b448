"""The volunteers API: public self-registration; coordinators read, correct and vet."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from app.auth.models import AuditEvent
from app.extensions import db
from app.sms.models import OutboxMessage
from app.volunteers import service
from app.volunteers.models import Volunteer
from tests.conftest import bearer
from tests.helpers import assert_envelope, count

URL = "/api/v1/volunteers"


def payload(**overrides: Any) -> dict[str, Any]:
    """A synthetic volunteer; overrides replace or add fields (None removes)."""
    data: dict[str, Any] = {
        "name": "Marisol Quiñones Vega",
        "phone": "+15555550101",
        "languages": ["es", "en"],
        "skills": ["first_aid", "driving"],
        "home_location": "Guánica",
        "availability": [
            {"start": "2026-11-22T08:00:00-04:00", "end": "2026-11-22T16:00:00-04:00"}
        ],
        "max_tasks": 2,
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def make_volunteer(client, coordinator):
    """Register a volunteer through the API as a coordinator; returns the 201 body."""

    def make(**overrides: Any) -> dict[str, Any]:
        response = client.post(URL, json=payload(**overrides), headers=bearer(coordinator["token"]))
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    return make


def public_volunteer(app, phone: str) -> Volunteer:
    """The volunteer a public registration created (the public answer carries no id)."""
    with app.app_context():
        row = db.session.scalar(sa.select(Volunteer).where(Volunteer.phone == phone))
        db.session.expunge_all()
        return row


def audit_events(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)))


@pytest.mark.parametrize(
    ("name", "languages", "skills"),
    [
        ("Marisol Quiñones Vega", ["es"], ["first_aid", "interpretation:en"]),
        ("Jean-Baptiste Désir", ["ht", "fr"], ["psychosocial"]),
        ("محمد الأحمد", ["ar", "en"], ["interpretation:ar", "medical"]),
        ("Nguyễn Thị Hoa", ["vi"], []),
        ("Maria dela Cruz", ["tl", "en"], ["shelter_ops", "logistics"]),
    ],
)
def test_register_in_many_languages_answers_the_same_to_everyone(
    app, client, name, languages, skills
):
    response = client.post(
        URL, json=payload(name=name, languages=languages, skills=skills, phone="+15555550142")
    )

    assert response.status_code == 202, response.get_json()
    assert response.get_json() == {"status": "received"}
    row = public_volunteer(app, "+15555550142")
    assert (row.name, row.languages, row.skills) == (name, languages, skills)
    assert (row.phone, row.vetted, row.opted_out, row.version) == (
        "+15555550142",
        False,
        False,
        1,
    )
    assert row.created_by == "anonymous"
    with app.app_context():
        [welcome] = db.session.scalars(sa.select(OutboxMessage))
        assert welcome.to_phone == "+15555550142" and welcome.template == "join_received"


def test_register_geocodes_a_known_town_offline(app, make_volunteer):
    guanica = make_volunteer(home_location="Guánica", phone="+15555550102")
    ponce = make_volunteer(home_location="Ponce, PR", phone="+15555550103")
    nowhere = make_volunteer(home_location="Xqzzvv Mountain Camp 7", phone="+15555550104")

    with app.app_context():
        g = db.session.get(Volunteer, guanica["id"])
        p = db.session.get(Volunteer, ponce["id"])
        n = db.session.get(Volunteer, nowhere["id"])
        assert g.lat == pytest.approx(17.97, abs=0.05) and g.lon == pytest.approx(-66.91, abs=0.05)
        assert p.lat == pytest.approx(18.01, abs=0.05) and p.lon == pytest.approx(-66.62, abs=0.05)
        assert (n.lat, n.lon) == (None, None)


def test_explicit_lat_lon_win_over_geocoding(app, make_volunteer):
    body = make_volunteer(home_location="Guánica", lat=18.2, lon=-66.0)
    with app.app_context():
        row = db.session.get(Volunteer, body["id"])
        assert (row.lat, row.lon) == (18.2, -66.0)


def test_register_normalizes_phone_and_languages(app, client):
    response = client.post(URL, json=payload(phone="+1 (555) 555-0177", languages=["ES", "es"]))
    assert response.status_code == 202
    row = public_volunteer(app, "+15555550177")
    assert (row.phone, row.languages) == ("+15555550177", ["es"])


def test_an_emoji_in_a_name_is_kept(app, make_volunteer):
    body = make_volunteer(name="Luz 🌟 Rivera")
    with app.app_context():
        assert db.session.get(Volunteer, body["id"]).name == "Luz 🌟 Rivera"


@pytest.mark.parametrize(
    ("overrides", "field", "fragment"),
    [
        ({"skills": ["first_aid", "juggling"]}, "skills", "juggling"),
        ({"skills": ["🚑"]}, "skills", "🚑"),
        ({"skills": ["interpretation:xx"]}, "skills", "interpretation:xx"),
        ({"phone": "12"}, "phone", ""),
        ({"phone": "call me 🙂"}, "phone", ""),
        ({"phone": None}, "phone", ""),
        ({"lat": 18.0}, "lat", "together"),
        ({"lat": 18.0, "lon": None}, "lat", "together"),
        ({"name": "x" * 10_000}, "name", "200"),
        ({"name": "   "}, "name", ""),
        ({"name": "Ana\x00"}, "name", "control"),
        ({"languages": ["español!"]}, "languages", ""),
        ({"max_tasks": 0}, "max_tasks", ""),
        (
            {"availability": [{"start": "2026-11-22T16:00:00Z", "end": "2026-11-22T08:00:00Z"}]},
            "availability",
            "",
        ),
        ({"vetted": True}, "vetted", ""),
    ],
)
def test_bad_registrations_are_422_naming_the_field(client, overrides, field, fragment):
    body = assert_envelope(client.post(URL, json=payload(**overrides)), 422, "validation_error")
    assert field in body["errors"]
    assert fragment in str(body["errors"][field])


def test_a_duplicate_phone_is_409_for_coordinators_only(app, client, make_volunteer):
    make_volunteer(phone="+15555550150")
    response = client.post(URL, json=payload(phone="+1 555 555 0150", name="Otra Persona"))
    # The public answer is the same as for a new number: nobody learns who volunteers.
    assert response.status_code == 202 and response.get_json() == {"status": "received"}
    client.post(URL, json=payload(phone="+1 555 555 0150", name="Otra Persona"))
    with app.app_context():
        notes = list(db.session.scalars(sa.select(OutboxMessage)))
        assert [(m.to_phone, m.template) for m in notes] == [("+15555550150", "join_already")]
    assert count(app, Volunteer) == 1


def test_a_coordinator_registering_a_known_phone_gets_409(client, make_volunteer, coordinator):
    make_volunteer(phone="+15555550151")
    response = client.post(
        URL,
        json=payload(phone="+1 555 555 0151", name="Otra Persona"),
        headers=bearer(coordinator["token"]),
    )
    body = assert_envelope(response, 409, "duplicate_phone")
    assert "Marisol" not in response.get_data(as_text=True)
    assert body["errors"] == {"phone": ["Already registered."]}


def test_only_coordinators_read_patch_and_vet(client, make_volunteer, make_key, coordinator):
    volunteer = make_volunteer()
    item = f"{URL}/{volunteer['id']}"
    key = make_key("read", "full_read", "write")
    for headers, status in (({}, 401), (bearer(key["token"]), 403)):
        assert_envelope(client.get(URL, headers=headers), status)
        assert_envelope(client.get(item, headers=headers), status)
        assert_envelope(client.patch(item, json={"max_tasks": 3}, headers=headers), status)
        assert_envelope(client.post(f"{item}/vet", json={}, headers=headers), status)
    assert client.get(item, headers=bearer(coordinator["token"])).status_code == 200


def test_coordinator_reads_one_and_the_read_is_audited(app, client, make_volunteer, coordinator):
    volunteer = make_volunteer()

    response = client.get(f"{URL}/{volunteer['id']}", headers=bearer(coordinator["token"]))

    assert response.status_code == 200
    body = response.get_json()
    assert (body["name"], body["phone"], body["skills"]) == (
        "Marisol Quiñones Vega",
        "+15555550101",
        ["first_aid", "driving"],
    )
    assert body["availability"] == [
        {"start": "2026-11-22T12:00:00+00:00", "end": "2026-11-22T20:00:00+00:00"}
    ]
    (event,) = audit_events(app, "volunteer.read")
    assert (event.subject_type, event.subject_id) == ("volunteer", volunteer["id"])
    assert event.actor == f"user:{coordinator['id']}"


def test_unknown_id_is_404(client, coordinator):
    response = client.get(f"{URL}/nope", headers=bearer(coordinator["token"]))
    assert_envelope(response, 404, "volunteer_not_found")


def test_list_paginates_filters_and_audits(app, client, make_volunteer, coordinator):
    ids = [make_volunteer(phone=f"+1555555020{i}")["id"] for i in range(3)]
    token = coordinator["token"]
    client.post(f"{URL}/{ids[0]}/vet", json={}, headers=bearer(token))

    first = client.get(f"{URL}?limit=2", headers=bearer(token)).get_json()
    second = client.get(
        f"{URL}?limit=2&cursor={first['next_cursor']}", headers=bearer(token)
    ).get_json()
    vetted = client.get(f"{URL}?vetted=true", headers=bearer(token)).get_json()

    assert [v["id"] for v in first["items"] + second["items"]] == sorted(ids, reverse=True)
    assert second["next_cursor"] is None
    assert [v["id"] for v in vetted["items"]] == [ids[0]]
    listed = {e.subject_id for e in audit_events(app, "volunteer.list")}
    assert listed == set(ids)


def test_patch_changes_fields_regeocodes_and_increments_version(
    app, client, make_volunteer, coordinator
):
    volunteer = make_volunteer(home_location="Guánica")

    response = client.patch(
        f"{URL}/{volunteer['id']}",
        json={"home_location": "Ponce, PR", "skills": ["search_rescue"], "version": 1},
        headers=bearer(coordinator["token"]),
    )

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["skills"], body["version"]) == (["search_rescue"], 2)
    assert body["lat"] == pytest.approx(18.01, abs=0.05)
    (event,) = audit_events(app, "volunteer.update")
    assert event.details == {"fields": ["home_location", "lat", "lon", "skills"]}


def test_patch_with_a_stale_version_is_409(app, client, make_volunteer, coordinator):
    volunteer = make_volunteer()
    item = f"{URL}/{volunteer['id']}"
    headers = bearer(coordinator["token"])
    assert (
        client.patch(item, json={"max_tasks": 3, "version": 1}, headers=headers).status_code == 200
    )

    response = client.patch(item, json={"max_tasks": 5, "version": 1}, headers=headers)

    assert_envelope(response, 409, "version_conflict")
    with app.app_context():
        assert db.session.get(Volunteer, volunteer["id"]).max_tasks == 3


def test_concurrent_correction_is_409_not_500(
    app, client, make_volunteer, coordinator, monkeypatch
):
    volunteer = make_volunteer()
    token = coordinator["token"]
    client.get(f"{URL}/{volunteer['id']}", headers=bearer(token))  # token's last use saved now
    real_get = service.get_volunteer

    def get_then_someone_else_saves(**kwargs):
        found = real_get(**kwargs)
        table = Volunteer.__table__
        with db.engine.begin() as conn:
            conn.execute(
                sa.update(table)
                .where(table.c.id == found.id)
                .values(max_tasks=4, version=table.c.version + 1)
            )
        return found

    monkeypatch.setattr(service, "get_volunteer", get_then_someone_else_saves)

    response = client.patch(
        f"{URL}/{volunteer['id']}", json={"max_tasks": 2 + 7}, headers=bearer(token)
    )

    assert_envelope(response, 409, "concurrent_change")
    with app.app_context():
        assert db.session.get(Volunteer, volunteer["id"]).max_tasks == 4


def test_patch_to_a_phone_already_registered_is_409(client, make_volunteer, coordinator):
    make_volunteer(phone="+15555550160")
    other = make_volunteer(phone="+15555550161")
    response = client.patch(
        f"{URL}/{other['id']}", json={"phone": "+15555550160"}, headers=bearer(coordinator["token"])
    )
    assert_envelope(response, 409, "duplicate_phone")


def test_patch_cannot_set_vetted(client, make_volunteer, coordinator):
    volunteer = make_volunteer()
    response = client.patch(
        f"{URL}/{volunteer['id']}", json={"vetted": True}, headers=bearer(coordinator["token"])
    )
    assert_envelope(response, 422, "validation_error")


def test_vetting_records_who_and_when_and_is_audited(app, client, make_volunteer, coordinator):
    volunteer = make_volunteer()
    item = f"{URL}/{volunteer['id']}"
    headers = bearer(coordinator["token"])

    body = client.post(f"{item}/vet", json={}, headers=headers).get_json()
    again = client.post(f"{item}/vet", json={"vetted": True}, headers=headers).get_json()

    assert body["vetted"] is True
    assert body["vetted_by"] == f"user:{coordinator['id']}"
    assert body["vetted_at"] is not None
    assert again["vetted_at"] == body["vetted_at"]  # vetting twice changes nothing
    (event,) = audit_events(app, "volunteer.vet")
    assert (event.subject_id, event.details) == (volunteer["id"], {"vetted": True})

    withdrawn = client.post(f"{item}/vet", json={"vetted": False}, headers=headers).get_json()
    assert (withdrawn["vetted"], withdrawn["vetted_by"], withdrawn["vetted_at"]) == (
        False,
        None,
        None,
    )


def test_cli_lists_with_masked_phones_and_vets(app, make_volunteer):
    volunteer = make_volunteer(phone="+15555550199")
    runner = app.test_cli_runner()

    listed = runner.invoke(args=["volunteers", "list"])
    vetted = runner.invoke(args=["volunteers", "vet", volunteer["id"]])
    missing = runner.invoke(args=["volunteers", "vet", "01NOPE"])

    assert listed.exit_code == 0
    assert volunteer["id"] in listed.output and "+15…99" in listed.output
    assert "5555550199" not in listed.output
    assert vetted.exit_code == 0 and "vetted" in vetted.output
    assert missing.exit_code != 0
    with app.app_context():
        row = db.session.get(Volunteer, volunteer["id"])
        assert (row.vetted, row.vetted_by) == (True, "cli")


def test_the_demo_loads_volunteers_and_tasks_once(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["volunteers", "demo", "--if-empty"])
    again = runner.invoke(args=["volunteers", "demo", "--if-empty"])
    assert first.exit_code == 0 and "loaded 10 volunteers and 3 tasks" in first.output
    assert "nothing loaded" in again.output
    assert count(app, Volunteer) == 10
    with app.app_context():
        phones = list(db.session.scalars(sa.select(Volunteer.phone)))
    assert all(phone.startswith("+1555") for phone in phones)  # synthetic numbers only
    plan = runner.invoke(args=["tasks", "plan"])
    assert plan.exit_code == 0 and "places planned" in plan.output
