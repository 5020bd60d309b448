"""The tasks API: coordinators create, read, correct and close tasks; bad input changes nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from app.auth.models import AuditEvent
from app.common.time import utcnow
from app.extensions import db
from app.volunteers.models import Dispatch, Task, TaskEvent
from tests.conftest import bearer
from tests.helpers import assert_envelope, count
from tests.volunteers.conftest import YAUCO

URL = "/api/v1/tasks"


def payload(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": "Interpreter at the school shelter",
        "skills": ["interpretation:ar"],
        "languages": ["ar"],
        "location": "Yauco",
        "people": 1,
        "priority": 4,
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def headers(coordinator):
    return bearer(coordinator["token"])


def test_a_coordinator_creates_a_task_and_its_offers_go_out_after_commit(
    app, client, headers, place_volunteer, sent
):
    interpreter = place_volunteer(2, languages=["ar", "es"], skills=["interpretation:ar"])
    place_volunteer(1)  # no Arabic
    response = client.post(URL, json=payload(), headers=headers)
    assert response.status_code == 201, response.get_json()
    task = response.get_json()
    assert response.headers["Location"].endswith(task["id"])
    assert task["source"] == "coordinator" and task["lat"] == pytest.approx(YAUCO[0], abs=0.1)
    assert [m.template for m in sent(to=interpreter["phone"])] == ["task_offer"]
    assert sent(to=interpreter["phone"])[0].language == "ar"
    read = client.get(f"{URL}/{task['id']}", headers=headers).get_json()
    assert read["status"] == "offered" and read["rounds"] == 1
    dispatches = client.get(f"{URL}/{task['id']}/dispatches", headers=headers).get_json()
    [offer] = dispatches["items"]
    assert offer["volunteer_id"] == interpreter["id"]
    assert any("Arabic" in r["text"] or "ar" in r["text"] for r in offer["reasons"])
    history = client.get(f"{URL}/{task['id']}/history", headers=headers).get_json()["items"]
    assert [(e["event"], e["from_status"], e["to_status"]) for e in history] == [
        ("created", None, "open"),
        ("offered", "open", "offered"),
    ]


def test_dispatch_false_saves_without_offers(client, headers, place_volunteer, app):
    place_volunteer(1, skills=["interpretation:ar"], languages=["ar"])
    task = client.post(URL, json=payload(dispatch=False), headers=headers).get_json()
    assert task["status"] == "open"
    assert count(app, Dispatch) == 0


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"skills": ["juggling"]}, "skills"),
        ({"preferred_skills": ["interpretation:xx"]}, "preferred_skills"),
        (
            {"window_start": "2026-12-01T10:00:00Z", "window_end": "2026-12-01T09:00:00Z"},
            "window_end",
        ),
        ({"window_end": "2020-01-01T00:00:00Z"}, "window_end"),
        ({"supply_category": "water", "supply_quantity": -5}, "supply_quantity"),
        ({"supply_category": "unicorns", "supply_quantity": 5}, "supply_category"),
        ({"supply_category": "water"}, "supply_quantity"),
        ({"people": 0}, "people"),
        ({"priority": 9}, "priority"),
        ({"lat": 18.0}, "lat"),
        ({"title": None}, "title"),
        ({"contact_phone": "not a phone"}, "contact_phone"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_bad_tasks_are_422_and_write_nothing(app, client, headers, overrides, field):
    body = assert_envelope(
        client.post(URL, json=payload(**overrides), headers=headers), 422, "validation_error"
    )
    assert field in body["errors"]["json"] if "json" in body["errors"] else field in body["errors"]
    assert count(app, Task) == 0


def test_only_coordinators_and_shelter_keys_create_and_only_coordinators_read(
    client, make_key, headers
):
    assert_envelope(client.post(URL, json=payload()), 401)
    reader = make_key("read")
    assert_envelope(client.post(URL, json=payload(), headers=bearer(reader["token"])), 403)
    shelter = make_key("tasks", organization="School shelter")
    response = client.post(URL, json=payload(), headers=bearer(shelter["token"]))
    assert response.status_code == 201
    task = response.get_json()
    assert task["source"] == "shelter"
    assert_envelope(client.get(f"{URL}/{task['id']}", headers=bearer(shelter["token"])), 403)
    assert_envelope(client.get(URL, headers=bearer(reader["token"])), 403)
    assert client.get(f"{URL}/{task['id']}", headers=headers).status_code == 200


def test_reads_are_audited(app, client, headers):
    task = client.post(URL, json=payload(dispatch=False), headers=headers).get_json()
    client.get(f"{URL}/{task['id']}", headers=headers)
    client.get(URL, headers=headers)
    with app.app_context():
        actions = set(db.session.scalars(sa.select(AuditEvent.action)))
    assert {"task.create", "task.read", "task.list"} <= actions


def test_patch_checks_the_version_and_a_closed_task_cannot_change(client, headers):
    task = client.post(URL, json=payload(dispatch=False), headers=headers).get_json()
    response = client.patch(
        f"{URL}/{task['id']}", json={"people": 2, "version": task["version"]}, headers=headers
    )
    assert response.status_code == 200 and response.get_json()["people"] == 2
    assert_envelope(
        client.patch(
            f"{URL}/{task['id']}", json={"people": 3, "version": task["version"]}, headers=headers
        ),
        409,
        "version_conflict",
    )
    assert_envelope(
        client.patch(f"{URL}/{task['id']}", json={"skills": ["juggling"]}, headers=headers), 422
    )
    client.post(f"{URL}/{task['id']}/cancel", json={"reason": "duplicate"}, headers=headers)
    assert_envelope(
        client.patch(f"{URL}/{task['id']}", json={"people": 1}, headers=headers), 409, "task_closed"
    )


def test_candidates_explain_who_would_be_asked_without_sending(
    app, client, headers, place_volunteer
):
    near = place_volunteer(1, skills=["interpretation:ar"], languages=["ar"])
    task = client.post(URL, json=payload(dispatch=False), headers=headers).get_json()
    body = client.get(f"{URL}/{task['id']}/candidates", headers=headers).get_json()
    assert [c["volunteer_id"] for c in body["items"]] == [near["id"]]
    assert body["items"][0]["reasons"] and body["reasons"] == []
    assert count(app, Dispatch) == 0
    other = client.post(
        URL, json=payload(skills=["medical"], dispatch=False), headers=headers
    ).get_json()
    nobody = client.get(f"{URL}/{other['id']}/candidates", headers=headers).get_json()
    assert nobody["items"] == [] and nobody["reasons"]


def test_start_and_complete_follow_the_states_and_keep_history(
    app, client, headers, place_volunteer
):
    volunteer = place_volunteer(1, skills=["interpretation:ar"], languages=["ar"])
    task = client.post(URL, json=payload(), headers=headers).get_json()
    assert_envelope(
        client.post(f"{URL}/{task['id']}/start", headers=headers), 409, "task_not_assigned"
    )
    [offer] = client.get(f"{URL}/{task['id']}/dispatches", headers=headers).get_json()["items"]
    answered = client.post(
        f"{URL}/{task['id']}/dispatches/{offer['id']}/answer",
        json={"answer": "yes"},
        headers=headers,
    ).get_json()
    assert answered["outcome"] == "offer_accepted"
    assert answered["dispatch"]["volunteer_id"] == volunteer["id"]
    started = client.post(f"{URL}/{task['id']}/start", headers=headers).get_json()
    assert started["status"] == "in_progress"
    done = client.post(f"{URL}/{task['id']}/complete", headers=headers).get_json()
    assert done["status"] == "done" and done["closed_at"]
    assert_envelope(client.post(f"{URL}/{task['id']}/cancel", json={}, headers=headers), 409)
    with app.app_context():
        events = db.session.scalars(
            sa.select(TaskEvent.event).where(TaskEvent.task_id == task["id"]).order_by(TaskEvent.at)
        )
        assert list(events) == ["created", "offered", "accepted", "started", "completed"]


def test_escalated_tasks_can_be_dispatched_again(app, client, headers, place_volunteer):
    task = client.post(URL, json=payload(skills=["medical"]), headers=headers).get_json()
    read = client.get(f"{URL}/{task['id']}", headers=headers).get_json()
    assert read["escalated_at"] and read["status"] == "open"
    place_volunteer(1, skills=["medical"], languages=["ar"])
    result = client.post(f"{URL}/{task['id']}/dispatch", headers=headers).get_json()
    assert len(result["offers"]) == 1 and not result["escalated"]
    read = client.get(f"{URL}/{task['id']}", headers=headers).get_json()
    assert read["escalated_at"] is None and read["status"] == "offered"


def test_unknown_tasks_are_404(client, headers):
    assert_envelope(client.get(f"{URL}/nope", headers=headers), 404, "task_not_found")
    assert_envelope(
        client.post(f"{URL}/01j00000000000000000000000/dispatch", headers=headers),
        404,
        "task_not_found",
    )


def test_a_confirmed_match_creates_one_escort_task_offered_at_once(
    app, client, headers, make_report, place_volunteer, sent
):
    """Confirming Pepe's match creates the verification / escort task; its offer goes to a
    volunteer near the shelter, and the family's SMS still says nothing of where he is."""
    from tests.matching.test_routes import JOSE_AT_SHELTER, MATCHES, PEPE, match_between

    guanica = (17.972, -66.908)
    volunteer = place_volunteer(0, lat=guanica[0], lon=guanica[1])
    found = make_report(**JOSE_AT_SHELTER)
    missing = make_report(**PEPE)
    match = match_between(client, headers["Authorization"][7:], missing["id"], found["id"])
    response = client.post(f"{MATCHES}/{match['id']}/confirm", headers=headers)
    assert response.status_code == 200, response.get_json()
    with app.app_context():
        [task] = db.session.scalars(sa.select(Task))
        assert (task.source, task.match_id, task.report_id) == ("match", match["id"], found["id"])
        assert not task.involves_minor and task.languages == ["es"]
        offered = list(db.session.scalars(sa.select(Dispatch.volunteer_id)))
    assert offered == [volunteer["id"]]
    [offer] = sent(to=volunteer["phone"])
    assert offer.template == "task_offer" and "Escuela" in offer.body
    assert "Visita de reunificación" in offer.body  # the volunteer speaks Spanish
    [family] = sent(to="+15555550123")
    assert "Guánica" not in family.body and "Escuela" not in family.body
    # Confirming is once; a second confirmation creates no second task.
    client.post(f"{MATCHES}/{match['id']}/confirm", headers=headers)
    assert count(app, Task) == 1


def test_a_match_about_a_child_needs_a_vetted_volunteer(app, make_report, place_volunteer):
    from app.reports import service as reports_service
    from app.volunteers.service import tasks as task_service

    vetted = place_volunteer(2, vetted=True)
    place_volunteer(1)  # nearer, not vetted
    missing = make_report(full_name="Tomás Rivera Soto", age="9")
    found = make_report(
        kind="found", full_name="Tomas Rivera", age="9", last_known_location="Yauco"
    )
    with app.app_context():
        left = reports_service.get_report(report_id=missing["id"])
        right = reports_service.get_report(report_id=found["id"])
        task = task_service.create_task_for_match(
            match_id="01m7z9b3ebmd9rcp1ganzam372", missing_report=left, found_report=right
        )
        assert (
            task_service.create_task_for_match(
                match_id="01m7z9b3ebmd9rcp1ganzam372", missing_report=left, found_report=right
            ).id
            == task.id
        )
        task_id = task.id
        db.session.commit()  # the first round goes out after this commit
    with app.app_context():
        task = db.session.get(Task, task_id)
        assert task.involves_minor and task.priority == 4
        offered = list(
            db.session.scalars(sa.select(Dispatch.volunteer_id).where(Dispatch.task_id == task_id))
        )
    assert offered == [vetted["id"]]


def test_an_offer_window_in_the_future_is_kept(client, headers):
    start = (utcnow() + timedelta(hours=2)).isoformat()
    end = (utcnow() + timedelta(hours=5)).isoformat()
    task = client.post(
        URL, json=payload(window_start=start, window_end=end, dispatch=False), headers=headers
    ).get_json()
    assert task["window_start"] and task["window_end"]


def test_the_plan_assigns_every_open_place_at_least_cost_and_can_send_it(
    app, client, headers, place_volunteer, sent
):
    # Two tasks, two drivers: the nearer driver of each town goes to that town's task.
    ponce = (18.011, -66.614)
    yauco_driver = place_volunteer(1, skills=["driving"], languages=["es"], max_tasks=1)
    ponce_driver = place_volunteer(
        0, skills=["driving"], languages=["es"], lat=ponce[0] + 0.01, lon=ponce[1], max_tasks=1
    )
    base = {"skills": ["driving"], "languages": ["es"], "dispatch": False}
    in_yauco = client.post(
        URL, json=payload(title="Yauco run", location="Yauco", **base), headers=headers
    ).get_json()
    in_ponce = client.post(
        URL,
        json=payload(title="Ponce run", location=None, lat=ponce[0], lon=ponce[1], **base),
        headers=headers,
    ).get_json()
    preview = client.post(f"{URL}/plan", json={}, headers=headers).get_json()
    pairs = {(a["task_id"], a["volunteer_id"]) for a in preview["assignments"]}
    assert pairs == {
        (in_yauco["id"], yauco_driver["id"]),
        (in_ponce["id"], ponce_driver["id"]),
    }
    assert preview["offers"] == [] and preview["unassigned"] == []
    assert count(app, Dispatch) == 0
    sent_plan = client.post(f"{URL}/plan", json={"send": True}, headers=headers).get_json()
    assert len(sent_plan["offers"]) == 2
    assert [m.template for m in sent(to=ponce_driver["phone"])] == ["task_offer"]
    read = client.get(f"{URL}/{in_ponce['id']}", headers=headers).get_json()
    assert read["status"] == "offered" and read["rounds"] == 1
    # Every place is offered now: a second plan has nothing to assign.
    again = client.post(f"{URL}/plan", json={"send": True}, headers=headers).get_json()
    assert again["assignments"] == [] and again["offers"] == []


def test_the_cli_creates_lists_and_dispatches(app, place_volunteer):
    place_volunteer(1)
    runner = app.test_cli_runner()
    created = runner.invoke(
        args=["tasks", "create", "Drive to Yauco", "--skill", "driving", "--location", "Yauco"]
    )
    assert created.exit_code == 0, created.output
    task_id = created.output.split()[0]
    assert "offers sent: 1" in created.output
    assert task_id in runner.invoke(args=["tasks", "list"]).output
    shown = runner.invoke(args=["tasks", "show", task_id]).output
    assert "offered" in shown and "created" in shown
    bad = runner.invoke(args=["tasks", "create", "Juggle", "--skill", "juggling"])
    assert bad.exit_code != 0 and "Unknown skills" in bad.output
    assert "places planned" in runner.invoke(args=["tasks", "plan"]).output
    assert "expired: 0" in runner.invoke(args=["tasks", "sweep"]).output
    assert "cancelled" in runner.invoke(args=["tasks", "cancel", task_id]).output
