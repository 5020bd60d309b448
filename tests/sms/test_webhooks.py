"""Status callbacks: signed, forward only, idempotent, reconciling an ambiguous send."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from app.common import jobs
from app.extensions import db
from app.sms import service
from app.sms.models import Contact, OutboxMessage
from tests.helpers import assert_envelope
from tests.sms.twilio_stub import Reply


def _callback(signed, outbox_id, sid, status, code=None):
    form = {"MessageSid": sid, "MessageStatus": status, "AccountSid": "AC" + "0" * 32}
    if code:
        form["ErrorCode"] = str(code)
    return signed(f"/sms/status/{outbox_id}", form)


@pytest.fixture
def sent(twilio, queue, outbox):
    """An outbox row Twilio (the stub) accepted: (id, sid)."""
    outbox_id = queue()
    return outbox_id, outbox(outbox_id).provider_sid


def test_callbacks_arrive_out_of_order_and_repeat(signed, outbox, sent):
    outbox_id, sid = sent
    for status in ("delivered", "sent", "queued", "delivered", "undelivered"):
        assert _callback(signed, outbox_id, sid, status).status_code == 204
    row = outbox(outbox_id)
    assert row.status == "delivered" and row.finished_at is not None


def test_callbacks_move_forward(signed, outbox, sent):
    outbox_id, sid = sent
    _callback(signed, outbox_id, sid, "sending")
    assert outbox(outbox_id).status == "sent"
    _callback(signed, outbox_id, sid, "undelivered", 30007)
    row = outbox(outbox_id)
    assert (row.status, row.error_code, row.reason) == ("undelivered", 30007, "twilio:30007")


def test_a_transient_carrier_failure_is_queued_again(signed, outbox, sent):
    outbox_id, sid = sent
    _callback(signed, outbox_id, sid, "undelivered", 30003)
    row = outbox(outbox_id)
    assert (row.status, row.error_code, row.provider_sid) == ("queued", 30003, None)
    # A late receipt of the first attempt cannot move the new attempt.
    _callback(signed, outbox_id, sid, "delivered")
    assert outbox(outbox_id).status == "queued"


def test_a_receipt_for_another_sid_is_ignored(signed, outbox, sent):
    outbox_id, _ = sent
    _callback(signed, outbox_id, "SM" + "f" * 32, "failed", 30005)
    assert outbox(outbox_id).status == "sent"


def test_21610_in_a_receipt_opts_the_contact_out(app, signed, outbox, sent):
    outbox_id, sid = sent
    _callback(signed, outbox_id, sid, "failed", 21610)
    assert outbox(outbox_id).status == "failed"
    with app.app_context():
        assert db.session.scalar(sa.select(Contact.opted_out)) is True


def test_a_receipt_reconciles_a_send_whose_answer_never_came(app, twilio, signed, queue, outbox):
    twilio.will(Reply(delay=0.5))  # times out: we do not know Twilio has it
    outbox_id = queue()
    assert outbox(outbox_id).status == "queued"
    [accepted] = twilio.accepted
    _callback(signed, outbox_id, accepted.sid, "sent")  # the outbox id is in the URL
    row = outbox(outbox_id)
    assert (row.status, row.provider_sid, row.unconfirmed_since) == ("sent", accepted.sid, None)


def test_forged_missing_or_wrongly_keyed_signatures_are_refused(client, signed, outbox, sent):
    outbox_id, sid = sent
    form = {"MessageSid": sid, "MessageStatus": "delivered"}
    assert_envelope(client.post(f"/sms/status/{outbox_id}", data=form), 403, "bad_signature")
    forged = client.post(
        f"/sms/status/{outbox_id}", data=form, headers={"X-Twilio-Signature": "bm90IGl0"}
    )
    assert_envelope(forged, 403)
    assert_envelope(signed(f"/sms/status/{outbox_id}", form, token="another-token"), 403)
    # Signed for another message's URL: the outbox id is covered by the signature.
    assert outbox(outbox_id).status == "sent"


def test_unknown_outbox_id_is_accepted_and_changes_nothing(app, signed, sent):
    assert _callback(signed, "01m7z9b3ebmd9rcp1ganzam372", "SMx", "delivered").status_code == 204
    with app.app_context():
        assert db.session.scalar(sa.select(OutboxMessage.status)) == "sent"


def test_webhooks_refuse_everything_without_an_auth_token(app, client):
    app.config.update(TWILIO_AUTH_TOKEN=None)
    response = client.post(
        "/sms/inbound", data={"From": "+15555550101"}, headers={"X-Twilio-Signature": "x"}
    )
    assert_envelope(response, 403)


def test_an_outbox_id_that_is_no_id_changes_nothing(signed, outbox, sent):
    outbox_id, sid = sent
    assert _callback(signed, "x\x00' OR 1=1", sid, "delivered").status_code == 204
    assert outbox(outbox_id).status == "sent"


def test_repeated_form_fields_are_signed_too(app, client, sent):
    from twilio.request_validator import RequestValidator
    from werkzeug.datastructures import MultiDict

    from tests.sms.conftest import PUBLIC_BASE_URL
    from tests.sms.twilio_stub import AUTH_TOKEN

    outbox_id, sid = sent
    path = f"/sms/status/{outbox_id}"
    form = MultiDict([("MessageSid", sid), ("MessageStatus", "delivered"), ("X", "1"), ("X", "2")])
    signature = RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC_BASE_URL + path, form)
    response = client.post(path, data=form, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 204


def test_a_receipt_that_beats_twilios_answer_is_kept(app, twilio, signed, outbox):
    app.config["SMS_SEND_TIMEOUT_S"] = 5.0
    twilio.will(Reply(delay=0.3))
    with app.app_context():
        outbox_id = service.queue_message(
            to="+15555550110", template="test", language="en", params={}, dedupe_key="fast"
        ).id
        db.session.info.pop(jobs.PENDING)
        db.session.commit()

    def send():
        with app.app_context():
            service.send_message(outbox_id=outbox_id)

    sender = threading.Thread(target=send)
    sender.start()
    deadline = time.monotonic() + 5
    while not twilio.received and time.monotonic() < deadline:
        time.sleep(0.01)
    [request] = twilio.received  # Twilio has it and reports before its answer reaches us
    assert _callback(signed, outbox_id, request.sid, "delivered").status_code == 204
    sender.join()
    row = outbox(outbox_id)
    assert (row.status, row.provider_sid) == ("delivered", request.sid)
