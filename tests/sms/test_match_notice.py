"""A confirmed match: the family hears a coordinator will call; the found person is asked."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.reports import service as reports_service
from app.sms import service
from app.sms.models import ConsentRequest, OutboxMessage
from tests.helpers import count

MATCH_ID = "01m7z9b3ebmd9rcp1ganzam372"


def _notify(app, missing_id, found_id):
    with app.app_context():
        service.notify_match_confirmed(
            match_id=MATCH_ID,
            missing_report=reports_service.get_report(report_id=missing_id),
            found_report=reports_service.get_report(report_id=found_id),
        )
        db.session.commit()


def _rows(app):
    with app.app_context():
        rows = db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id))
        return {
            row.to_phone: (row.template, row.language, row.body, row.validity_s) for row in rows
        }


def test_family_and_found_person_are_told_once_and_consent_is_recorded(app, make_report, sms):
    missing = make_report()  # es, author +15555550123
    found = make_report(
        kind="found",
        full_name="Marisol Quiñones",
        author_phone="+15555550151",
        contact_phone="+15555550150",
        language="fr",
        last_known_location="Refuge de Jacmel",
    )
    _notify(app, missing["id"], found["id"])
    _notify(app, missing["id"], found["id"])  # a repeated hook queues nothing more
    rows = _rows(app)
    assert set(rows) == {"+15555550123", "+15555550150"}
    template, language, body, _ = rows["+15555550123"]
    assert (template, language) == ("match_confirmed", "es")
    assert missing["reference"] in body
    assert "Jacmel" not in body and "Marisol" not in body  # never where the person is
    template, language, body, validity = rows["+15555550150"]
    assert (template, language, validity) == ("consent_request", "fr", 36_000)
    with app.app_context():
        consent = db.session.scalar(sa.select(ConsentRequest))
        code = consent.code
    assert f"OUI {code}" in body

    sms(f"oui {code.lower()}", sender="+15555550199")  # someone else's number: not theirs
    sms(f"oui {code.lower()}", sender="+15555550150")
    with app.app_context():
        [consent] = service.list_consent_requests(match_id=MATCH_ID)
        assert consent.status == "granted" and consent.decided_at is not None
    assert _rows(app)["+15555550199"][0] == "code_unknown"
    assert _rows(app)["+15555550150"][0] == "reply_recorded"


def test_a_found_report_without_a_phone_asks_nobody(app, make_report):
    missing = make_report()
    found = make_report(kind="found", full_name="Marisol Quiñones", author_phone=None)
    _notify(app, missing["id"], found["id"])
    assert set(_rows(app)) == {"+15555550123"}
    assert count(app, ConsentRequest) == 0
