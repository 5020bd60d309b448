"""The coordinators' pages: session login with lockout, review queue, decisions, audit."""

from __future__ import annotations

import re

import sqlalchemy as sa

from app.auth.models import ApiToken, AuditEvent
from app.extensions import db
from app.matching.models import MatchCandidate
from app.reports.models import Report
from app.sms.models import OutboxMessage
from tests.conftest import PASSWORD
from tests.helpers import count
from tests.web.conftest import csrf_token, page_text


def _audited(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)))


def test_pages_need_a_login(client):
    for path in ("/coordinator/", "/coordinator/matches", "/coordinator/sms", "/coordinator/map"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/coordinator/login?next=")


def test_a_bearer_token_is_not_a_session(client, coordinator):
    headers = {"Authorization": f"Bearer {coordinator['token']}"}
    assert client.get("/coordinator/", headers=headers).status_code == 302


def test_login_goes_back_where_the_coordinator_was(client, coordinator, post_form):
    response = post_form(
        "/coordinator/login?next=/coordinator/sms",
        {"email": coordinator["email"].upper(), "password": PASSWORD},
    )
    assert response.status_code == 303 and response.headers["Location"] == "/coordinator/sms"
    assert client.get("/coordinator/sms").status_code == 200


def test_login_never_sends_the_coordinator_elsewhere(client, coordinator, post_form):
    response = post_form(
        "/coordinator/login?next=https://evil.example/",
        {"email": coordinator["email"], "password": PASSWORD},
    )
    assert response.headers["Location"] == "/coordinator/"


def test_a_wrong_password_then_lockout(app, coordinator, post_form):
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        response = post_form(
            "/coordinator/login", {"email": coordinator["email"], "password": "wrong password"}
        )
        assert response.status_code == 401
        assert "The e-mail or the password is wrong." in page_text(response)
    response = post_form(
        "/coordinator/login", {"email": coordinator["email"], "password": PASSWORD}
    )
    assert response.status_code == 429
    assert "locked" in page_text(response)


def test_login_needs_the_csrf_token(client, coordinator):
    response = client.post(
        "/coordinator/login", data={"email": coordinator["email"], "password": PASSWORD}
    )
    assert response.status_code == 400


def test_dashboard_counts(client, logged_in, pair):
    page = page_text(client.get("/coordinator/"))
    counts = dict(
        (label.strip(), int(number))
        for number, label in re.findall(r"<strong>(\d+)</strong> ([^<]+)<", page)
    )
    assert counts["people still missing"] == 1
    assert counts["people found"] == 1
    assert counts["possible matches to review"] >= 1
    assert counts["matches confirmed today"] == 0
    assert pair["missing"]["reference"] in page


def test_the_queue_and_the_side_by_side_are_audited(app, client, logged_in, pair):
    queue = page_text(client.get("/coordinator/matches"))
    assert f"/coordinator/matches/{pair['match_id']}" in queue
    page = page_text(client.get(f"/coordinator/matches/{pair['match_id']}"))
    assert "Pepe García" in page and "GARCIA LOPEZ, JOSE" in page
    # The explanation per field: the aligned name words, the ages, the sexes.
    assert "Garcia" in page or "garcia" in page
    assert "Compatible" in page and "Same" in page
    # A coordinator may see where the found person is.
    assert "Escuela Luis Muñoz Rivera" in page
    # One event per report read, as the API records it.
    reads = _audited(app, "match.read")
    assert {e.subject_id for e in reads} == {pair["missing"]["id"], pair["found"]["id"]}
    assert all(e.details == {"match_id": pair["match_id"]} for e in reads)
    assert all(e.actor == f"user:{logged_in['id']}" for e in reads)
    listed = {e.subject_id for e in _audited(app, "match.list")}
    assert {pair["missing"]["id"], pair["found"]["id"]} <= listed


def test_confirming_queues_the_familys_sms(app, client, logged_in, pair):
    path = f"/coordinator/matches/{pair['match_id']}"
    token = csrf_token(client, path)
    response = client.post(f"{path}/confirm", data={"csrf_token": token, "reason": "Misma foto"})
    assert response.status_code == 303
    assert "Match confirmed." in page_text(client.get(response.headers["Location"]))
    with app.app_context():
        match = db.session.get(MatchCandidate, pair["match_id"])
        assert (match.status, match.reason) == ("confirmed", "Misma foto")
        assert match.decided_by == f"user:{logged_in['id']}"
        family = db.session.scalar(
            sa.select(OutboxMessage).where(OutboxMessage.template == "match_confirmed")
        )
        assert family.to_phone == "+15555550123"
        assert "Guánica" not in family.body and "Escuela" not in family.body
    assert count(app, AuditEvent, AuditEvent.action == "match.confirm") == 2
    outbox = page_text(client.get("/coordinator/sms"))
    assert pair["missing"]["reference"] in outbox and "+15555550123" in outbox


def test_a_decision_needs_the_csrf_token(app, client, logged_in, pair):
    response = client.post(f"/coordinator/matches/{pair['match_id']}/confirm")
    assert response.status_code == 400
    with app.app_context():
        assert db.session.get(MatchCandidate, pair["match_id"]).status == "potential"


def test_rejecting_needs_a_reason(app, client, logged_in, pair):
    path = f"/coordinator/matches/{pair['match_id']}"
    response = client.post(f"{path}/reject", data={"csrf_token": csrf_token(client, path)})
    assert response.status_code == 303
    assert "Say why" in page_text(client.get(path))
    with app.app_context():
        assert db.session.get(MatchCandidate, pair["match_id"]).status == "potential"
    response = client.post(
        f"{path}/reject",
        data={"csrf_token": csrf_token(client, path), "reason": "Otra persona"},
    )
    with app.app_context():
        assert db.session.get(MatchCandidate, pair["match_id"]).status == "rejected"
    # Deciding twice is refused politely.
    client.post(f"{path}/confirm", data={"csrf_token": csrf_token(client, path)})
    assert "already decided" in page_text(client.get(path))


def test_an_unverified_report_cannot_be_confirmed_until_verified(app, client, logged_in, pair):
    with app.app_context():
        report = db.session.get(Report, pair["found"]["id"])
        report.verified = False
        db.session.commit()
    path = f"/coordinator/matches/{pair['match_id']}"
    client.post(f"{path}/confirm", data={"csrf_token": csrf_token(client, path)})
    assert "Verify the report" in page_text(client.get(path))
    case = f"/coordinator/reports/{pair['found']['id']}"
    assert "not verified yet" in page_text(client.get(case))
    client.post(f"{case}/verify", data={"csrf_token": csrf_token(client, case)})
    client.post(f"{path}/confirm", data={"csrf_token": csrf_token(client, path)})
    with app.app_context():
        assert db.session.get(MatchCandidate, pair["match_id"]).status == "confirmed"
    assert count(app, AuditEvent, AuditEvent.action == "report.verify") == 1


def test_case_page_shows_notes_messages_and_matches(app, client, logged_in, pair):
    path = f"/coordinator/matches/{pair['match_id']}"
    client.post(f"{path}/confirm", data={"csrf_token": csrf_token(client, path)})
    page = page_text(client.get(f"/coordinator/reports/{pair['missing']['id']}"))
    assert "Confirmed as the same person as report" in page
    assert "Sent to +15555550123" in page
    assert pair["found"]["reference"] in page
    assert {e.subject_id for e in _audited(app, "report.read")} == {pair["missing"]["id"]}


def test_search_by_name_and_by_reference(app, client, logged_in, pair):
    page = page_text(client.get("/coordinator/reports", query_string={"q": "garcía"}))
    assert pair["missing"]["reference"] in page
    reference = pair["found"]["reference"].lower().replace("-", "")
    page = page_text(client.get("/coordinator/reports", query_string={"q": reference}))
    assert pair["found"]["reference"] in page and pair["missing"]["reference"] not in page
    page = page_text(client.get("/coordinator/reports", query_string={"kind": "found"}))
    assert pair["missing"]["reference"] not in page
    assert _audited(app, "report.list")


def test_the_map_is_a_list_without_tiles_and_leaflet_with_them(app, client, logged_in, pair):
    page = page_text(client.get("/coordinator/map"))
    assert "leaflet" not in page and pair["found"]["reference"] in page
    app.config["MAP_TILE_URL"] = "http://tiles.invalid/{z}/{x}/{y}.png"
    page = page_text(client.get("/coordinator/map"))
    assert "vendor/leaflet/leaflet.js" in page and 'data-tiles="http://tiles.invalid/' in page
    assert client.get("/assets/vendor/leaflet/leaflet.js").status_code == 200


def test_logout_revokes_the_sessions_token(app, client, logged_in):
    token = csrf_token(client, "/coordinator/")
    response = client.post("/coordinator/logout", data={"csrf_token": token})
    assert response.status_code == 303
    with app.app_context():
        tokens = db.session.scalars(sa.select(ApiToken).where(ApiToken.name == "login"))
        assert all(t.revoked_at is not None for t in tokens)
    assert client.get("/coordinator/").status_code == 302


def test_pages_with_personal_data_are_not_cached(client, logged_in, pair):
    response = client.get(f"/coordinator/reports/{pair['missing']['id']}")
    assert response.headers["Cache-Control"] == "no-store"


def test_an_unknown_report_is_an_html_404(client, logged_in):
    response = client.get("/coordinator/reports/01m7zzzzzzzzzzzzzzzzzzzzzz")
    assert response.status_code == 404 and "This page does not exist." in page_text(response)


def test_a_coordinator_adds_a_note_with_a_status(app, client, logged_in, pair):
    case = f"/coordinator/reports/{pair['missing']['id']}"
    response = client.post(
        f"{case}/notes",
        data={
            "csrf_token": csrf_token(client, case),
            "text": "La hermana llamó: sigue sin noticias.",
            "status": "believed_missing",
        },
    )
    assert response.status_code == 303
    page = page_text(client.get(case))
    assert "The note is added." in page and "sigue sin noticias" in page
    with app.app_context():
        assert db.session.get(Report, pair["missing"]["id"]).status == "believed_missing"
    assert count(app, AuditEvent, AuditEvent.action == "note.create") == 1
    empty = client.post(f"{case}/notes", data={"csrf_token": csrf_token(client, case)})
    assert empty.status_code == 303
    assert "Write the note." in page_text(client.get(case))


def test_coordinators_read_believed_dead_families_do_not(app, client, logged_in, post_form, pair):
    with app.app_context():
        report = db.session.get(Report, pair["found"]["id"])
        report.status = "believed_dead"
        db.session.commit()
    case = page_text(client.get(f"/coordinator/reports/{pair['found']['id']}"))
    assert "Believed dead" in case
    family = app.test_client()
    check = "/check"
    token = csrf_token(family, check)
    answer = family.post(
        check,
        data={
            "csrf_token": token,
            "reference": pair["found"]["reference"],
            "phone": "+15555550188",
        },
    )
    assert "Please speak with a coordinator" in page_text(answer)
    assert "dead" not in page_text(answer).lower()
