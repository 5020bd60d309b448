"""A `sent` row whose delivery report never came is checked with Twilio before it is closed."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.common.time import utcnow
from app.extensions import db
from app.sms import service, tasks
from app.sms.models import OutboxMessage
from tests.sms.twilio_stub import Reply

TIMEOUT_H = 72  # SMS_DELIVERY_TIMEOUT_HOURS' default


def _age(app, outbox_id, hours, **values):
    """Let the clock run: the row was sent `hours` ago and no receipt has come since."""
    with app.app_context():
        update = sa.update(OutboxMessage).where(OutboxMessage.id == outbox_id)
        db.session.execute(update.values(sent_at=utcnow() - timedelta(hours=hours), **values))
        db.session.commit()


def _sweep(app):
    with app.app_context():
        return tasks.sweep_outbox_task.call_local()


def _sent(app, twilio, queue, outbox, hours=TIMEOUT_H + 1, **fields):
    """A message Twilio accepted `hours` ago; returns (outbox id, sid)."""
    outbox_id = queue(**fields)
    row = outbox(outbox_id)
    assert row.status == "sent" and row.provider_sid
    _age(app, outbox_id, hours)
    return outbox_id, row.provider_sid


def test_delivered_but_the_receipt_was_lost_ends_delivered(app, twilio, queue, outbox, caplog):
    caplog.set_level(logging.DEBUG)
    outbox_id, sid = _sent(app, twilio, queue, outbox, to="+15555550201")
    twilio.set_status(sid, "delivered")
    result = _sweep(app)
    assert (result["silent"], result["timed_out"]) == (1, 0)
    row = outbox(outbox_id)
    assert (row.status, row.reason, row.error_code) == ("delivered", None, None)
    assert row.provider_sid == sid and row.finished_at is not None
    assert twilio.fetched == [sid]
    assert "silent=1" in caplog.text and outbox_id in caplog.text
    body = row.body
    assert "5555550201" not in caplog.text and body not in caplog.text


@pytest.mark.parametrize(
    ("status", "code"), [("failed", 30007), ("undelivered", 30005), ("failed", 21610)]
)
def test_failed_at_twilio_ends_with_its_code(app, twilio, queue, outbox, status, code):
    outbox_id, sid = _sent(app, twilio, queue, outbox)
    twilio.set_status(sid, status, error_code=code)
    _sweep(app)
    row = outbox(outbox_id)
    assert (row.status, row.error_code, row.reason) == (status, code, f"twilio:{code}")
    if code == 21610:  # Twilio's opt-out: nothing more goes to the number
        assert outbox(queue(dedupe_key="after-stop")).reason == "opted_out"


def test_a_transient_carrier_code_sends_it_again(app, twilio, queue, outbox):
    outbox_id, sid = _sent(app, twilio, queue, outbox)
    twilio.set_status(sid, "undelivered", error_code=30003)
    _sweep(app)
    row = outbox(outbox_id)
    assert (row.status, row.provider_sid, row.reason) == ("queued", None, "twilio:30003")
    _age(app, outbox_id, TIMEOUT_H + 1, next_attempt_at=utcnow() - timedelta(seconds=1))
    with app.app_context():  # the backoff has passed
        assert service.send_message(outbox_id=outbox_id, sleep=lambda s: None).status == "sent"
    assert len(twilio.accepted) == 2 and outbox(outbox_id).provider_sid == twilio.accepted[1].sid


@pytest.mark.parametrize("status", ["sent", "sending", "queued", "accepted"])
def test_still_in_flight_at_twilio_ends_undelivered(app, twilio, queue, outbox, status):
    outbox_id, sid = _sent(app, twilio, queue, outbox)
    if status != "sent":
        twilio.set_status(sid, status)
    _sweep(app)
    row = outbox(outbox_id)
    assert (row.status, row.reason) == ("undelivered", "no_delivery_report")
    assert twilio.fetched == [sid]


def test_a_sid_twilio_does_not_know_ends_undelivered(app, twilio, queue, outbox):
    outbox_id, _ = _sent(app, twilio, queue, outbox)
    _age(app, outbox_id, TIMEOUT_H + 1, provider_sid="SM" + "f" * 32)
    _sweep(app)
    assert (outbox(outbox_id).status, outbox(outbox_id).reason) == (
        "undelivered",
        "no_delivery_report",
    )
    assert twilio.fetched == ["SM" + "f" * 32]  # 404


def test_a_row_not_silent_long_enough_is_left_alone(app, twilio, queue, outbox):
    outbox_id, sid = _sent(app, twilio, queue, outbox, hours=TIMEOUT_H - 1)
    assert _sweep(app)["silent"] == 0
    with app.app_context():  # a check that comes too early does nothing either
        assert service.check_delivery(outbox_id=outbox_id).status == "skipped"
    assert outbox(outbox_id).status == "sent" and twilio.fetched == []


def test_the_console_backend_closes_as_before(app, queue, outbox):
    outbox_id = queue(dedupe_key="console")
    no_sid = queue(dedupe_key="console-no-sid", to="+15555550202")
    assert outbox(outbox_id).status == "delivered"  # the console has no receipts to lose
    _age(app, outbox_id, TIMEOUT_H + 1, status="sent", finished_at=None)
    _age(app, no_sid, TIMEOUT_H + 1, status="sent", finished_at=None, provider_sid=None)
    result = _sweep(app)
    assert (result["timed_out"], result["silent"]) == (1, 1)  # no sid: nothing to ask about
    for closed in (outbox(outbox_id), outbox(no_sid)):
        assert (closed.status, closed.reason) == ("undelivered", "no_delivery_report")


@pytest.mark.parametrize("failure", [Reply(503), Reply(401, 20003), Reply(delay=0.5)])
def test_a_provider_error_waits_for_a_later_sweep_until_the_hard_limit(
    app, twilio, queue, outbox, failure
):
    outbox_id, sid = _sent(app, twilio, queue, outbox)
    twilio.will_fetch(failure)
    assert _sweep(app)["silent"] == 1
    row = outbox(outbox_id)
    assert (row.status, row.reason, row.finished_at) == ("sent", None, None)
    # Not asked again at once: once per interval, so a down provider is not hammered.
    assert _sweep(app)["silent"] == 0
    assert twilio.fetched == [sid]

    # Later, still failing, and now silent for twice the timeout: closed all the same.
    past = utcnow() - timedelta(seconds=1)
    _age(app, outbox_id, TIMEOUT_H * 2 + 1, next_attempt_at=past)
    twilio.will_fetch(failure)
    assert _sweep(app)["silent"] == 1
    row = outbox(outbox_id)
    assert (row.status, row.reason) == ("undelivered", "no_delivery_report")
    assert twilio.fetched == [sid, sid]


def test_an_answer_past_the_hard_limit_still_counts(app, twilio, queue, outbox):
    outbox_id, sid = _sent(app, twilio, queue, outbox, hours=TIMEOUT_H * 3)
    twilio.set_status(sid, "delivered")
    _sweep(app)
    assert outbox(outbox_id).status == "delivered"


def test_the_sweep_lists_the_oldest_silent_rows_up_to_its_limit(app, twilio, queue, outbox):
    newer, _ = _sent(app, twilio, queue, outbox, dedupe_key="newer", hours=TIMEOUT_H + 1)
    older, _ = _sent(app, twilio, queue, outbox, dedupe_key="older", hours=TIMEOUT_H + 5)
    with app.app_context():
        assert service.sweep_outbox(limit=1).silent == [older]
        db.session.commit()
        assert service.sweep_outbox(limit=1).silent == [newer]
        db.session.commit()
    assert twilio.fetched == []  # the service lists; the task asks


def test_twilio_is_asked_with_no_database_transaction_open(app, twilio, queue, outbox):
    outbox_id, _ = _sent(app, twilio, queue, outbox)
    held = [0]  # connections out of the pool (whatever the pool class)
    seen = []
    with app.app_context():
        backend = service.gateway()
        fetch = backend.fetch_status

        def watched(**kwargs):
            seen.append((db.session().in_transaction(), held[0]))
            return fetch(**kwargs)

        backend.fetch_status = watched
        sa.event.listen(db.engine, "checkout", lambda *a: held.__setitem__(0, held[0] + 1))
        sa.event.listen(db.engine, "checkin", lambda *a: held.__setitem__(0, held[0] - 1))
        assert service.check_delivery(outbox_id=outbox_id).status == "undelivered"
    assert seen == [(False, 0)]
