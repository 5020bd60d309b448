"""PFIF data expiry: expiry dates, the hourly expiry and daily purge, families' deletion by SMS
code, closing reunifications."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.auth.models import AuditEvent
from app.config import ConfigError, lifecycle_config
from app.extensions import db
from app.matching.models import MatchCandidate, MatchProfile
from app.reports import service
from app.reports.models import DeletionRequest, Note, Report, ReportTombstone
from app.reports.tasks import close_reunifications_task, expire_reports_task, purge_reports_task
from app.sms.models import OutboxMessage
from tests.conftest import bearer
from tests.helpers import assert_envelope, count

PHONE = "+15555550123"  # report_payload's author_phone


def set_expiry(app, report_id: str, when: datetime) -> None:
    with app.app_context():
        db.session.execute(sa.update(Report).where(Report.id == report_id).values(expiry_date=when))
        db.session.commit()


def stored(app, report_id: str) -> Report | None:
    with app.app_context():
        report = db.session.get(Report, report_id)
        if report is not None:
            db.session.expunge(report)
        return report


def test_a_report_expires_after_the_configured_days(app, make_report, client, coordinator):
    app.config["REPORT_EXPIRY_DAYS"] = 30
    report = make_report()
    expiry = stored(app, report["id"]).expiry_date
    expected = datetime.now(UTC) + timedelta(days=30)
    assert abs((expiry - expected).total_seconds()) < 60
    body = client.get(f"/api/v1/reports/{report['id']}", headers=bearer(coordinator["token"]))
    assert body.get_json()["expiry_date"].startswith(expiry.date().isoformat())


def test_a_submitter_may_choose_an_earlier_expiry_but_not_a_past_one(client, make_report, app):
    soon = (datetime.now(UTC) + timedelta(days=7)).replace(microsecond=0)
    report = make_report(expiry_date=soon.isoformat())
    assert stored(app, report["id"]).expiry_date == soon
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    from tests.conftest import report_payload

    response = client.post("/api/v1/reports", json=report_payload(expiry_date=past))
    assert list(assert_envelope(response, 422)["errors"]) == ["expiry_date"]


def test_past_its_expiry_a_report_is_gone_for_every_reader(app, client, coordinator, make_report):
    report = make_report()
    other = make_report(full_name="Otra Persona")
    set_expiry(app, report["id"], datetime.now(UTC) - timedelta(minutes=1))
    token = bearer(coordinator["token"])
    assert_envelope(client.get(f"/api/v1/reports/{report['id']}", headers=token), 404)
    assert_envelope(client.get(f"/api/v1/reports/{report['id']}/notes", headers=token), 404)
    listed = client.get("/api/v1/reports", headers=token).get_json()["items"]
    assert [r["id"] for r in listed] == [other["id"]]
    status = client.post(
        "/api/v1/reports/status", json={"reference": report["reference"], "phone": PHONE}
    )
    assert_envelope(status, 404)


def test_a_coordinator_extends_the_expiry(app, client, coordinator, make_report, make_key):
    report = make_report()
    later = (datetime.now(UTC) + timedelta(days=200)).replace(microsecond=0)
    before = stored(app, report["id"])
    url = f"/api/v1/reports/{report['id']}/expiry"
    response = client.post(
        url, json={"expiry_date": later.isoformat()}, headers=bearer(coordinator["token"])
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["expiry_date"] == later.isoformat()
    after = stored(app, report["id"])
    assert after.expiry_date == later
    assert after.entry_date > before.entry_date  # partners see the change
    assert count(app, AuditEvent, AuditEvent.action == "report.expiry") == 1
    key = make_key("write", "full_read")
    denied = client.post(url, json={"expiry_date": later.isoformat()}, headers=bearer(key["token"]))
    assert_envelope(denied, 403)
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    refused = client.post(url, json={"expiry_date": past}, headers=bearer(coordinator["token"]))
    assert list(assert_envelope(refused, 422)["errors"]) == ["expiry_date"]
    assert_envelope(client.post(url, json={}, headers=bearer(coordinator["token"])), 422)


def test_the_sweep_expires_then_the_purge_deletes_for_good(app, make_report, client, coordinator):
    missing = make_report(kind="missing", full_name="Giulia Romano", home_city="Napoli")
    found = make_report(kind="found", full_name="Giulia Romano", home_city="Napoli")
    client.post(
        f"/api/v1/reports/{missing['id']}/notes",
        json={"text": "Called the hospital"},
        headers=bearer(coordinator["token"]),
    )
    assert count(app, MatchCandidate) >= 1
    assert count(app, MatchProfile) == 2
    set_expiry(app, missing["id"], datetime.now(UTC) - timedelta(hours=2))
    with app.app_context():
        assert expire_reports_task.call_local() == 1
        assert expire_reports_task.call_local() == 0  # nothing twice
    expired = stored(app, missing["id"])
    assert expired.expired_at is not None and expired.entry_date == expired.expired_at
    assert count(app, MatchProfile) == 1  # out of the matching index at once

    # Within a grace period nothing is purged (by default there is none).
    app.config["REPORT_PURGE_AFTER_DAYS"] = 30
    with app.app_context():
        assert purge_reports_task.call_local() == 0
    app.config["REPORT_PURGE_AFTER_DAYS"] = 0
    with app.app_context():
        assert purge_reports_task.call_local() == 1
    assert stored(app, missing["id"]) is None
    assert count(app, Note, Note.report_id == missing["id"]) == 0
    assert count(app, MatchCandidate) == 0
    assert count(app, ReportTombstone, ReportTombstone.id == missing["id"]) == 1
    assert stored(app, found["id"]) is not None
    # The registry's index still finds the other report's words, and only once.
    with app.app_context():
        profile = db.session.scalar(sa.select(MatchProfile))
        assert profile.report_id == found["id"]


def test_a_family_deletes_their_report_with_the_texted_code(app, client, make_report, make_key):
    report = make_report(language="es")
    reference = report["reference"]
    wrong_phone = client.post(
        "/api/v1/reports/deletion-requests", json={"reference": reference, "phone": "+15555550999"}
    )
    assert wrong_phone.status_code == 202
    assert count(app, OutboxMessage, OutboxMessage.template == "deletion_code") == 0

    asked = client.post(
        "/api/v1/reports/deletion-requests", json={"reference": reference, "phone": PHONE}
    )
    assert asked.status_code == 202
    assert asked.get_json() == wrong_phone.get_json()  # one answer: nothing to probe
    with app.app_context():
        message = db.session.scalar(
            sa.select(OutboxMessage).where(OutboxMessage.template == "deletion_code")
        )
        assert message.to_phone == PHONE and message.language == "es"
        code = re.search(r"\b(\d{6})\b", message.body).group(1)
        assert db.session.scalar(sa.select(DeletionRequest.code_hash)) != code  # only a digest

    confirm = "/api/v1/reports/deletion-requests/confirm"
    wrong = "000000" if code != "000000" else "111111"
    assert_envelope(client.post(confirm, json={"reference": reference, "code": wrong}), 404)
    assert_envelope(client.post(confirm, json={"reference": reference, "code": "12ab"}), 422)
    done = client.post(confirm, json={"reference": reference, "code": code})
    assert done.status_code == 200, done.get_json()
    assert done.get_json() == {"reference": reference, "deleted": True}
    assert stored(app, report["id"]).expired_at is not None
    assert count(app, MatchProfile) == 0
    # Gone for readers; partners get the placeholder.
    assert_envelope(client.post(confirm, json={"reference": reference, "code": code}), 404)
    export = client.get("/api/v1/pfif", headers=bearer(make_key("full_read")["token"]))
    assert f"person.{report['id']}</pfif:person_record_id>" in export.get_data(as_text=True)
    assert "Quiñones" not in export.get_data(as_text=True)


def test_five_wrong_codes_void_a_deletion_request(app, client, make_report):
    report = make_report()
    client.post(
        "/api/v1/reports/deletion-requests",
        json={"reference": report["reference"], "phone": PHONE},
    )
    with app.app_context():
        body = db.session.scalar(sa.select(OutboxMessage.body))
    code = re.search(r"\b(\d{6})\b", body).group(1)
    wrong = "000000" if code != "000000" else "111111"
    confirm = "/api/v1/reports/deletion-requests/confirm"
    for _ in range(service.DELETION_CODE_ATTEMPTS):
        assert_envelope(
            client.post(confirm, json={"reference": report["reference"], "code": wrong}), 404
        )
    late = client.post(confirm, json={"reference": report["reference"], "code": code})
    assert_envelope(late, 404)
    assert stored(app, report["id"]).expired_at is None


def test_confirmed_reunifications_are_closed_on_schedule(app, make_report):
    missing = make_report(kind="missing")
    found = make_report(kind="found")
    loner = make_report(kind="missing", full_name="Sin Pareja")
    with app.app_context():
        for this, other in ((missing, found), (found, missing)):
            report = db.session.get(Report, this["id"])
            service.add_note(
                report=report,
                data={"text": "Reunited", "linked_report_id": other["id"]},
                created_by="test",
            )
        db.session.commit()
    app.config["REUNIFIED_CLOSE_AFTER_DAYS"] = 0
    with app.app_context():
        assert close_reunifications_task.call_local() == 0  # 0 turns it off
    app.config["REUNIFIED_CLOSE_AFTER_DAYS"] = 30
    with app.app_context():
        assert close_reunifications_task.call_local() == 0  # too recent
        db.session.execute(
            sa.update(Note).values(entry_date=datetime.now(UTC) - timedelta(days=31))
        )
        db.session.commit()
        assert close_reunifications_task.call_local() == 2
    assert stored(app, missing["id"]).expired_at is not None
    assert stored(app, found["id"]).expired_at is not None
    assert stored(app, loner["id"]).expired_at is None


@pytest.mark.parametrize(
    "env, message",
    [
        ({"REPORT_PURGE_AFTER_DAYS": "60"}, "60 days"),
        ({"REPORT_EXPIRY_DAYS": "0"}, "REPORT_EXPIRY_DAYS"),
        ({"REUNIFIED_CLOSE_AFTER_DAYS": "-1"}, "REUNIFIED_CLOSE_AFTER_DAYS"),
        ({"REPORT_EXPIRY_DAYS": "ninety"}, "integer"),
    ],
)
def test_settings_that_break_pfif_expiry_are_refused(env, message):
    with pytest.raises(ConfigError, match=message):
        lifecycle_config(env)


def test_lifecycle_defaults():
    settings = lifecycle_config({"PUBLIC_BASE_URL": "https://reunite.example.org"})
    assert settings["REPORT_EXPIRY_DAYS"] == 90
    assert settings["REPORT_PURGE_AFTER_DAYS"] == 0
    assert settings["PFIF_DOMAIN"] == "reunite.example.org"
    assert lifecycle_config({})["PFIF_DOMAIN"] == "reunite.invalid"
