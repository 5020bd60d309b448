"""Idempotency-Key: a retried request returns the first answer and creates nothing twice."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from app.auth.models import AuditEvent
from app.common.idempotency import IdempotencyRecord, purge_expired
from app.common.time import utcnow
from app.extensions import db
from app.reports.models import Note, Report
from tests.conftest import PASSWORD, bearer, report_payload
from tests.helpers import assert_envelope, count, database_text, post_all_at_once

REPORTS = "/api/v1/reports"


def keyed(key: str, **headers: str) -> dict[str, str]:
    return {"Idempotency-Key": key, **headers}


def test_same_post_twice_returns_the_first_answer_and_creates_one_report(app, client):
    payload = report_payload()

    first = client.post(REPORTS, json=payload, headers=keyed("8c1f6a0e-retry"))
    second = client.post(REPORTS, json=payload, headers=keyed("8c1f6a0e-retry"))

    assert first.status_code == second.status_code == 201
    assert second.get_data() == first.get_data()
    assert second.headers["Location"] == first.headers["Location"]
    assert "Idempotent-Replayed" not in first.headers
    assert second.headers["Idempotent-Replayed"] == "true"
    assert count(app, Report) == 1
    assert count(app, AuditEvent, AuditEvent.action == "report.create") == 1


def test_same_key_with_a_different_body_is_rejected(app, client):
    client.post(REPORTS, json=report_payload(), headers=keyed("k-1"))

    response = client.post(
        REPORTS, json=report_payload(full_name="Rosa Elena Cruz"), headers=keyed("k-1")
    )

    body = assert_envelope(response, 422, "idempotency_key_reused")
    assert "Idempotency-Key" in body["errors"]
    assert count(app, Report) == 1


def test_different_keys_create_different_reports(app, client):
    payload = report_payload()

    first = client.post(REPORTS, json=payload, headers=keyed("k-1")).get_json()
    second = client.post(REPORTS, json=payload, headers=keyed("k-2")).get_json()

    assert first["id"] != second["id"]
    assert count(app, Report) == 2


def test_requests_without_a_key_are_not_deduplicated(app, client):
    client.post(REPORTS, json=report_payload())
    client.post(REPORTS, json=report_payload())

    assert count(app, Report) == 2
    assert count(app, IdempotencyRecord) == 0


def test_failed_request_stores_nothing_and_a_corrected_retry_succeeds(app, client):
    bad = client.post(REPORTS, json=report_payload(age="200"), headers=keyed("k-fix"))
    assert_envelope(bad, 422)
    assert count(app, IdempotencyRecord) == 0

    # A retry of the same bad request is validated again, not replayed.
    assert_envelope(
        client.post(REPORTS, json=report_payload(age="200"), headers=keyed("k-fix")), 422
    )

    fixed = client.post(REPORTS, json=report_payload(age="34"), headers=keyed("k-fix"))
    assert fixed.status_code == 201
    assert "Idempotent-Replayed" not in fixed.headers

    again = client.post(REPORTS, json=report_payload(age="34"), headers=keyed("k-fix"))
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == fixed.get_json()
    assert count(app, Report) == 1


def test_conflict_is_not_stored_either(app, client):
    source = {"source_record_id": "personfinder.example.org/person.1"}
    client.post(REPORTS, json=report_payload(**source))

    first = client.post(REPORTS, json=report_payload(**source), headers=keyed("k-dup"))
    second = client.post(REPORTS, json=report_payload(**source), headers=keyed("k-dup"))

    assert first.status_code == second.status_code == 409
    assert "Idempotent-Replayed" not in second.headers
    assert count(app, IdempotencyRecord) == 0


def test_keys_are_scoped_to_the_caller(app, client, coordinator, make_key):
    payload = report_payload()
    key = make_key("write")

    anonymous = client.post(REPORTS, json=payload, headers=keyed("shared"))
    as_user = client.post(
        REPORTS, json=payload, headers=keyed("shared", **bearer(coordinator["token"]))
    )
    as_key = client.post(REPORTS, json=payload, headers=keyed("shared", **bearer(key["token"])))

    ids = {r.get_json()["id"] for r in (anonymous, as_user, as_key)}
    assert len(ids) == 3
    assert not any("Idempotent-Replayed" in r.headers for r in (anonymous, as_user, as_key))
    assert count(app, Report) == 3


def test_keys_are_scoped_to_the_endpoint(app, client, coordinator):
    token = coordinator["token"]
    first = client.post(REPORTS, json=report_payload(), headers=keyed("shared", **bearer(token)))
    report_id = first.get_json()["id"]

    note = client.post(
        f"{REPORTS}/{report_id}/notes",
        json={"text": "Seen at the church."},
        headers=keyed("shared", **bearer(token)),
    )

    assert note.status_code == 201
    assert "Idempotent-Replayed" not in note.headers
    assert count(app, Note) == 1


def test_retried_note_is_added_once(app, client, coordinator, make_report):
    report = make_report()
    url = f"{REPORTS}/{report['id']}/notes"
    headers = keyed("note-1", **bearer(coordinator["token"]))
    body = {"text": "Está en el refugio de Guánica.", "status": "believed_alive"}

    first = client.post(url, json=body, headers=headers)
    second = client.post(url, json=body, headers=headers)

    assert first.status_code == second.status_code == 201
    assert second.get_json()["id"] == first.get_json()["id"]
    assert count(app, Note) == 1


def test_retried_patch_is_not_stored_but_changes_nothing_twice(
    app, client, coordinator, make_report
):
    # Only POST responses are stored: a PATCH is repeatable as it is, and its response holds
    # personal data that should not sit in a second table.
    report = make_report()
    url = f"{REPORTS}/{report['id']}"
    headers = keyed("patch-1", **bearer(coordinator["token"]))

    first = client.patch(url, json={"home_city": "Ponce"}, headers=headers)
    second = client.patch(url, json={"home_city": "Ponce"}, headers=headers)

    assert "Idempotent-Replayed" not in second.headers
    assert first.get_json()["version"] == second.get_json()["version"] == 2
    with app.app_context():
        assert db.session.get(Report, report["id"]).version == 2
        assert count(app, IdempotencyRecord) == 0
        fields = [
            e.details["fields"]
            for e in db.session.scalars(
                db.select(AuditEvent)
                .where(AuditEvent.action == "report.update")
                .order_by(AuditEvent.id)
            )
        ]
    assert fields == [["home_city"], []]


def test_malformed_keys_are_422(app, client, subtests):
    for key in ("", "k" * 256, "clé", "tab\there", "bell\x07"):
        with subtests.test(key=repr(key)[:30]):
            response = client.post(REPORTS, json=report_payload(), headers={"Idempotency-Key": key})

            assert list(assert_envelope(response, 422)["errors"]) == ["Idempotency-Key"]
    assert count(app, Report) == 0


def test_longest_key_is_accepted(client):
    response = client.post(REPORTS, json=report_payload(), headers=keyed("k" * 255))

    assert response.status_code == 201


def test_an_expired_key_may_be_used_again(app, client):
    first = client.post(REPORTS, json=report_payload(), headers=keyed("old-key")).get_json()
    with app.app_context():
        record = db.session.scalar(sa.select(IdempotencyRecord))
        record.created_at = utcnow() - timedelta(hours=25)
        db.session.commit()

    second = client.post(
        REPORTS, json=report_payload(full_name="Rosa Cruz"), headers=keyed("old-key")
    )

    assert second.status_code == 201
    assert "Idempotent-Replayed" not in second.headers
    assert second.get_json()["id"] != first["id"]
    assert count(app, IdempotencyRecord) == 1
    third = client.post(
        REPORTS, json=report_payload(full_name="Rosa Cruz"), headers=keyed("old-key")
    )
    assert third.get_json()["id"] == second.get_json()["id"]


def test_too_large_body_with_a_key_is_413_and_stores_nothing(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 256

    response = client.post(
        REPORTS, json=report_payload(description="x" * 1000), headers=keyed("big")
    )

    assert_envelope(response, 413, "payload_too_large")
    assert count(app, IdempotencyRecord) == 0
    assert count(app, Report) == 0


def test_purge_expired_deletes_only_old_records(app, client):
    client.post(REPORTS, json=report_payload(), headers=keyed("fresh"))
    client.post(REPORTS, json=report_payload(), headers=keyed("stale"))
    with app.app_context():
        stale = db.session.scalar(
            sa.select(IdempotencyRecord).where(IdempotencyRecord.key == "stale")
        )
        stale.created_at = utcnow() - timedelta(hours=30)
        db.session.commit()

        assert purge_expired(older_than=timedelta(hours=24)) == 1
        db.session.commit()
        assert db.session.scalars(sa.select(IdempotencyRecord.key)).all() == ["fresh"]


def test_purge_command(app, client):
    client.post(REPORTS, json=report_payload(), headers=keyed("stale"))
    with app.app_context():
        db.session.scalar(sa.select(IdempotencyRecord)).created_at = utcnow() - timedelta(days=2)
        db.session.commit()

    # The `flask` command pushes the app context itself; the group is a plain click.Group, so
    # under the test runner the test pushes it (else the task would build an app of its own).
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["maintenance", "purge-idempotency"])

    assert result.exit_code == 0, result.output
    assert result.output.strip() == "purged 1"
    assert count(app, IdempotencyRecord) == 0


def test_login_with_a_key_never_stores_the_token(app, client, coordinator):
    body = {"email": coordinator["email"], "password": PASSWORD}

    first = client.post("/api/v1/tokens", json=body, headers=keyed("login-1"))
    second = client.post("/api/v1/tokens", json=body, headers=keyed("login-1"))

    assert first.status_code == second.status_code == 201
    assert "Idempotent-Replayed" not in second.headers
    assert first.get_json()["token"] != second.get_json()["token"]
    assert count(app, IdempotencyRecord) == 0
    stored = database_text(app)
    assert first.get_json()["token"] not in stored
    assert second.get_json()["token"] not in stored


# --- Concurrency: both databases ---------------------------------------------------------------


def post_at_once(app, n, path, payload, headers=None):
    """n threads, each with its own test client, POST at the same moment; returns (status, body)."""
    return post_all_at_once(app, [(path, payload, headers or {})] * n)


def test_concurrent_posts_with_the_same_key_create_one_report(app):
    results = post_at_once(app, 8, REPORTS, report_payload(), headers=keyed("storm"))

    assert [status for status, _ in results] == [201] * 8, results
    assert len({body["id"] for _, body in results}) == 1
    assert count(app, Report) == 1
    assert count(app, IdempotencyRecord) == 1
    assert count(app, AuditEvent, AuditEvent.action == "report.create") == 1


def test_concurrent_imports_of_one_source_record_create_one_report(app):
    payload = report_payload(source_record_id="personfinder.example.org/person.777")

    results = post_at_once(app, 6, REPORTS, payload)

    statuses = sorted(status for status, _ in results)
    assert statuses == [201] + [409] * 5, results
    for status, body in results:
        if status == 409:
            assert set(body) == {"code", "message", "errors"}
            assert body["code"] in ("duplicate_source_record", "concurrent_change")
    assert count(app, Report) == 1
