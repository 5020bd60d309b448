"""Incoming SMS: signed, stored once, keyword commands in several languages, replies queued."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.reports.models import Note, Report
from app.sms import service
from app.sms.models import Contact, InboundMessage, OutboxMessage
from tests.helpers import assert_envelope, count
from tests.sms.conftest import PUBLIC_BASE_URL
from tests.sms.twilio_stub import AUTH_TOKEN


def _replies(app, phone="+15555550123"):
    with app.app_context():
        rows = db.session.scalars(
            sa.select(OutboxMessage)
            .where(OutboxMessage.to_phone == phone)
            .order_by(OutboxMessage.id)
        )
        return [(row.template, row.language, row.body, row.status) for row in rows]


def _report(app, **where):
    with app.app_context():
        report = db.session.scalar(sa.select(Report).filter_by(**where))
        db.session.expunge(report)
        return report


def test_find_in_spanish_creates_an_unverified_report_and_replies_with_its_reference(app, sms):
    sms("BUSCAR María José Quiñones 34 Yauco")
    report = _report(app, kind="missing")
    assert report.full_name == "María José Quiñones"
    assert (report.age, report.last_known_location) == ("34", "Yauco")
    assert report.author_phone == "+15555550123" and report.language == "es"
    assert report.created_by.startswith("sms:")
    assert (report.verified, report.verified_by) == (False, None)  # from a phone: unverified
    [(template, language, body, status)] = _replies(app)
    assert (template, language, status) == ("find_received", "es", "delivered")
    assert report.reference in body and "María" not in body
    with app.app_context():
        contact = db.session.scalar(sa.select(Contact))
        assert (contact.language, contact.open_report_id) == ("es", report.id)


def test_safe_in_french_creates_a_found_report_by_the_person(app, sms):
    sms("Je vais bien Amélie Côté, École Saint-Louis, Jacmel", sender="+15555550124")
    report = _report(app, kind="found")
    assert report.full_name == "Amélie Côté"
    assert report.last_known_location == "École Saint-Louis, Jacmel"
    assert (report.status, report.contact_phone) == ("is_note_author", "+15555550124")
    [(template, language, _, _)] = _replies(app, "+15555550124")
    assert (template, language) == ("safe_received", "fr")


def test_a_repeated_message_sid_is_handled_once(app, sms):
    sms("FIND Ana Lopez 7", sid="SM" + "a" * 32)
    sms("FIND Ana Lopez 7", sid="SM" + "a" * 32)
    assert count(app, InboundMessage) == 1
    assert count(app, Report) == 1
    assert len(_replies(app)) == 1


def test_forged_or_missing_signature_is_403_and_stores_nothing(app, client, sms):
    form = {"MessageSid": "SM" + "b" * 32, "From": "+15555550123", "Body": "FIND Ana"}
    assert_envelope(client.post("/sms/inbound", data=form), 403, "bad_signature")
    forged = client.post("/sms/inbound", data=form, headers={"X-Twilio-Signature": "Zm9yZ2Vk"})
    assert_envelope(forged, 403, "bad_signature")
    assert count(app, InboundMessage) == 0 and count(app, Contact) == 0


def test_stop_opts_out_no_reply_and_nothing_more_is_sent_then_start(app, sms):
    sms("STOP")
    assert _replies(app) == []
    with app.app_context():
        assert db.session.scalar(sa.select(Contact.opted_out)) is True
        row = service.queue_message(
            to="+15555550123", template="test", language="en", params={}, dedupe_key="after-stop"
        )
        assert (row.status, row.reason) == ("failed", "opted_out")
        db.session.commit()
    sms("start")
    with app.app_context():
        assert db.session.scalar(sa.select(Contact.opted_out)) is False


def test_status_answers_the_author_only(app, sms):
    sms("FIND Ana Lopez 7 Ponce")
    reference = _report(app, kind="missing").reference
    sms(f"status {reference.lower().replace('-', ' ')}")
    template, _, body, _ = _replies(app)[-1]
    assert template == "status_reply" and reference in body and "being searched for" in body
    sms(f"STATUS {reference}", sender="+15555550999")
    assert _replies(app, "+15555550999")[-1][0] == "status_not_found"


def test_follow_ups_thread_onto_the_open_report(app, sms):
    sms("BUSCAR Pedro Pérez 80 Utuado")
    sms("Lleva una camisa azul y usa bastón")
    report = _report(app, kind="missing")
    with app.app_context():
        [note] = db.session.scalars(sa.select(Note).where(Note.report_id == report.id))
        assert note.text == "Lleva una camisa azul y usa bastón"
    assert count(app, Report) == 1
    assert _replies(app)[-1][:2] == ("note_added", "es")


@pytest.mark.parametrize("body", ["hello?", "", "🙂", "x" * 1600, "FIND"])
def test_anything_else_gets_help_in_the_senders_language(app, sms, body):
    sms(body)
    assert _replies(app)[-1][:2] == ("help", "en")
    assert count(app, Report) == 0


def test_help_follows_the_language_the_number_used_before(app, sms):
    sms("AYUDA")
    sms("???")
    assert [reply[:2] for reply in _replies(app)] == [("help", "es"), ("help", "es")]


def test_offer_replies_reach_their_handler(app, sms, monkeypatch):
    seen = []

    def handler(reply):
        seen.append((reply.command, reply.code, reply.language))
        return "reply_recorded" if reply.code == "K7Q2MX" else None

    monkeypatch.setattr(service, "OFFER_REPLY_HANDLERS", [handler])
    sms("SI K7Q2MX")
    sms("done nope")
    assert seen == [("yes", "K7Q2MX", "es"), ("done", "nope", "en")]
    assert [reply[0] for reply in _replies(app)] == ["reply_recorded", "code_unknown"]


def test_logs_carry_no_number_name_or_text(app, sms, caplog):
    caplog.set_level(logging.DEBUG)
    sms("BUSCAR Rosalía Nieves 34 Aibonito", sender="+15555550177")
    assert caplog.text
    for secret in ("5555550177", "Rosalía", "Aibonito", "BUSCAR"):
        assert secret not in caplog.text


def test_a_task_delivered_twice_files_one_report(app, sms):
    sms("FIND Ana Lopez 7")
    with app.app_context():
        inbound_id = db.session.scalar(sa.select(InboundMessage.id))
        assert service.handle_inbound(inbound_id=inbound_id) is None
        db.session.commit()
    assert count(app, Report) == 1
    assert len(_replies(app)) == 1


def test_a_malformed_sid_or_sender_is_a_422_and_stores_nothing(app, signed):
    app.config.update(TWILIO_AUTH_TOKEN=AUTH_TOKEN, PUBLIC_BASE_URL=PUBLIC_BASE_URL)
    for form in (
        {"MessageSid": "SM\x00", "From": "+15555550123", "Body": "HELP"},
        {"MessageSid": "SM" + "c" * 32, "From": "not a number", "Body": "HELP"},
    ):
        assert_envelope(signed("/sms/inbound", form), 422)
    assert count(app, InboundMessage) == 0


def test_a_new_number_starts_in_its_countrys_language(app, sms, monkeypatch):
    # Tests use +1555 numbers only; pretend their country speaks Swedish.
    seen = []
    monkeypatch.setattr(service.messages, "language_for_country", lambda c: seen.append(c) or "sv")
    sms("hej?")
    assert _replies(app)[-1][:2] == ("help", "sv")
    assert seen == [None]  # +1 555 is no real area code, so no country
