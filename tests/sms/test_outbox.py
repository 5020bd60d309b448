"""The outbox against the local Twilio stub: sent after commit, retried, never lost or doubled."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.common import jobs
from app.common.time import utcnow
from app.extensions import db
from app.sms import pacing, service
from app.sms.models import Contact, OutboxMessage
from tests.helpers import count
from tests.sms.conftest import PUBLIC_BASE_URL, SENDER
from tests.sms.twilio_stub import Reply


def _make_due(app, outbox_id):
    """Let the clock run to the row's next attempt (the retry delay has 'passed')."""
    with app.app_context():
        db.session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.id == outbox_id)
            .values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()


def _send(app, outbox_id):
    with app.app_context():
        return service.send_message(outbox_id=outbox_id, sleep=lambda s: None)


def test_sent_only_after_commit_with_callback_url_and_sender(app, twilio, outbox):
    with app.app_context():
        row = service.queue_message(
            to="+1 555 555 0101",
            template="match_confirmed",
            language="es",
            params={"reference": "RX7-K2M"},
            dedupe_key="match-confirmed:m1:r1",
        )
        outbox_id = row.id
        db.session.flush()
        assert twilio.received == []  # nothing leaves before the commit
        db.session.commit()
    [request] = twilio.received
    assert request.params["To"] == "+15555550101"
    assert request.params["From"] == SENDER
    assert "RX7-K2M" in request.params["Body"] and "coordinador" in request.params["Body"]
    assert request.params["StatusCallback"] == f"{PUBLIC_BASE_URL}/sms/status/{outbox_id}"
    assert "ValidityPeriod" not in request.params
    row = outbox(outbox_id)
    assert (row.status, row.provider_sid, row.attempts) == ("sent", request.sid, 1)
    assert row.language == "es" and row.encoding == "UCS-2" and row.segments <= 2


def test_a_rolled_back_transaction_queues_and_sends_nothing(app, twilio):
    with app.app_context():
        service.queue_message(
            to="+15555550102", template="test", language="en", params={}, dedupe_key="t:1"
        )
        db.session.rollback()
    assert twilio.received == []
    assert count(app, OutboxMessage) == 0


def test_the_same_dedupe_key_queues_one_message(app, twilio, queue):
    first = queue(dedupe_key="match-confirmed:m1:r1")
    second = queue(dedupe_key="match-confirmed:m1:r1", template="test", params={})
    assert first == second
    assert len(twilio.received) == 1
    assert count(app, OutboxMessage) == 1


def test_console_backend_stores_and_logs_without_number_or_text(app, queue, outbox, caplog):
    caplog.set_level(logging.DEBUG)
    outbox_id = queue(to="+15555550103", template="find_received", params={"reference": "ABC-DEF"})
    row = outbox(outbox_id)
    assert row.status == "delivered" and row.provider_sid.startswith("console-")
    assert "ABC-DEF" in row.body
    assert outbox_id in caplog.text
    assert "5555550103" not in caplog.text and "ABC-DEF" not in caplog.text


def test_throttled_then_sent(app, twilio, queue, outbox):
    twilio.will(Reply(429, 20429))
    outbox_id = queue()
    row = outbox(outbox_id)
    assert (row.status, row.error_code, row.reason) == ("queued", 20429, "twilio:20429")
    assert row.next_attempt_at > utcnow()  # backoff: 1 s base, with jitter
    assert _send(app, outbox_id).status == "skipped"  # not due yet
    _make_due(app, outbox_id)
    assert _send(app, outbox_id).status == "sent"
    row = outbox(outbox_id)
    assert (row.status, row.attempts, row.error_code) == ("sent", 2, None)
    assert [r.status for r in twilio.received] == [429, 201]


def test_server_errors_until_giving_up(app, twilio, queue, outbox):
    app.config["SMS_MAX_ATTEMPTS"] = 3
    twilio.will(Reply(500), Reply(503), Reply(500))
    outbox_id = queue()
    for _ in range(2):
        assert outbox(outbox_id).status == "queued"
        _make_due(app, outbox_id)
        _send(app, outbox_id)
    row = outbox(outbox_id)
    assert (row.status, row.reason, row.attempts) == ("failed", "gave_up:http:500", 3)
    assert row.finished_at is not None
    assert len(twilio.received) == 3


def test_backoff_grows_exponentially_with_jitter(app):
    with app.app_context():
        app.config.update(SMS_RETRY_BASE_S=10, SMS_RETRY_MAX_S=100)
        delays = [service.backoff_s(attempt) for attempt in (1, 2, 3, 4, 5)]
    assert 5 <= delays[0] <= 10 and 10 <= delays[1] <= 20 and 20 <= delays[2] <= 40
    assert 50 <= delays[4] <= 100  # capped


@pytest.mark.parametrize("code", [21211, 21408, 21612, 21614, 21606, 21212])
def test_permanent_errors_fail_at_once_with_their_code(app, twilio, queue, outbox, code):
    twilio.will(Reply(400, code))
    row = outbox(queue())
    assert (row.status, row.error_code, row.reason) == ("failed", code, f"twilio:{code}")
    assert len(twilio.received) == 1


@pytest.mark.parametrize("code", [21611, 30001, 30003, 30008])
def test_transient_codes_are_retried(app, twilio, queue, outbox, code):
    twilio.will(Reply(400, code))
    row = outbox(queue())
    assert (row.status, row.error_code) == ("queued", code)


def test_21610_opts_the_number_out_and_nothing_more_is_sent_to_it(app, twilio, queue, outbox):
    twilio.will(Reply(400, 21610))
    first = outbox(queue(to="+15555550104", dedupe_key="a"))
    assert (first.status, first.error_code) == ("failed", 21610)
    with app.app_context():
        contact = db.session.scalar(sa.select(Contact).where(Contact.phone == "+15555550104"))
        assert contact.opted_out and contact.opted_out_at is not None
    second = outbox(queue(to="+15555550104", dedupe_key="b"))
    assert (second.status, second.reason) == ("failed", "opted_out")
    assert len(twilio.received) == 1


def test_a_timeout_after_twilio_accepted_is_reconciled_not_sent_twice(app, twilio, queue, outbox):
    twilio.will(Reply(delay=0.5))  # longer than SMS_SEND_TIMEOUT_S: the answer never arrives
    outbox_id = queue()
    row = outbox(outbox_id)
    assert (row.status, row.reason) == ("queued", "timeout")
    assert row.unconfirmed_since is not None
    _make_due(app, outbox_id)
    assert _send(app, outbox_id).status == "sent"
    row = outbox(outbox_id)
    [accepted] = twilio.accepted
    assert row.provider_sid == accepted.sid
    assert len(twilio.received) == 1


def test_a_timeout_before_twilio_had_it_is_sent_again(app, twilio, queue, outbox):
    twilio.will(Reply(delay=0.5))
    outbox_id = queue()
    with app.app_context():  # as if the stub had lost the first request
        twilio.received.clear()
    _make_due(app, outbox_id)
    _send(app, outbox_id)
    assert outbox(outbox_id).status == "sent"
    assert len(twilio.accepted) == 1


def test_offers_carry_a_validity_period_and_expire_when_stale(app, twilio, queue, outbox):
    params = {"reference": "RX7-K2M", "code": "K7Q2MX"}
    outbox_id = queue(validity_s=600, template="consent_request", params=params)
    [request] = twilio.received
    assert 590 <= int(request.params["ValidityPeriod"]) <= 600
    assert outbox(outbox_id).status == "sent"

    twilio.will(Reply(503))
    app.config["SMS_RETRY_BASE_S"] = 5
    stale = queue(validity_s=2, dedupe_key="offer:2")
    assert outbox(stale).status == "expired"  # the retry would come after the validity
    assert outbox(stale).reason == "validity_elapsed:http:503"


def test_the_sweep_expires_requeues_and_reclaims(app, twilio, queue, outbox):
    twilio.will(Reply(503), Reply(503))
    due = queue(dedupe_key="due")
    stale = queue(dedupe_key="stale")
    now = utcnow()
    with app.app_context():
        db.session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.id == due)
            .values(next_attempt_at=now - timedelta(seconds=1))
        )
        db.session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.id == stale)
            .values(expires_at=now - timedelta(seconds=1))
        )
        # A worker that died holding a claim: its lease ran out.
        dead = service.queue_message(
            to="+15555550105", template="test", language="en", params={}, dedupe_key="dead"
        )
        dead.status, dead.lease_until, dead.claimed_at = "sending", now - timedelta(seconds=1), now
        db.session.info.pop(jobs.PENDING)  # the enqueue was lost with the crash
        dead_id = dead.id
        db.session.commit()
        result = service.sweep_outbox()
        db.session.commit()
    assert (result.reclaimed, result.expired) == (1, 1)
    assert set(result.due) == {due, dead_id}
    assert outbox(stale).status == "expired"
    reclaimed = outbox(dead_id)
    assert reclaimed.status == "queued" and reclaimed.unconfirmed_since is not None


def test_a_row_is_sent_once_however_many_workers_try(app, twilio, outbox):
    app.config["SMS_SEND_TIMEOUT_S"] = 5.0  # the delay is a slow answer, not a timeout
    twilio.will(Reply(delay=0.15))
    with app.app_context():
        row = service.queue_message(
            to="+15555550106", template="test", language="en", params={}, dedupe_key="race"
        )
        outbox_id = row.id
        db.session.info.pop(jobs.PENDING)  # the workers below are the only senders
        db.session.commit()
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def worker():
        barrier.wait()
        outcomes.append(_send(app, outbox_id).status)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["sent", "skipped", "skipped", "skipped"]
    assert len(twilio.received) == 1
    assert outbox(outbox_id).status == "sent"


def test_sends_are_paced_per_sender(app, twilio, monkeypatch):
    app.config["SMS_SEGMENTS_PER_SECOND"] = 2.0
    monkeypatch.setattr(pacing.time, "monotonic", lambda: 1000.0)  # the clock stands still
    with app.app_context():
        ids = [
            service.queue_message(
                to=f"+1555555030{i}", template="test", language="en", params={}, dedupe_key=str(i)
            ).id
            for i in range(5)
        ]
        db.session.info.pop(jobs.PENDING)
        db.session.commit()
        waits: list[float] = []
        for outbox_id in ids:
            assert service.send_message(outbox_id=outbox_id, sleep=waits.append).status == "sent"
    # The first second's worth (two segments and the one due at its end) goes at once; then
    # one every half second.
    assert waits == [0.5, 1.0]


def test_a_crash_in_the_gateway_leaves_the_row_retryable_then_failed(app, twilio, outbox):
    app.config["SMS_MAX_ATTEMPTS"] = 2
    with app.app_context():
        gateway = service.gateway()

        def broken(**kwargs):
            raise RuntimeError("a bug, not Twilio")

        gateway.send = broken
        outbox_id = service.queue_message(
            to="+15555550107", template="test", language="en", params={}, dedupe_key="bug"
        ).id
        db.session.commit()
    row = outbox(outbox_id)
    assert (row.status, row.reason) == ("queued", "connection")
    assert row.unconfirmed_since is not None  # it may have left: the next attempt asks first
    _make_due(app, outbox_id)
    _send(app, outbox_id)
    assert (outbox(outbox_id).status, outbox(outbox_id).reason) == ("failed", "gave_up:connection")


def test_a_message_that_keeps_killing_its_worker_is_given_up(app, outbox):
    app.config["SMS_MAX_ATTEMPTS"] = 3
    with app.app_context():
        row = service.queue_message(
            to="+15555550108", template="test", language="en", params={}, dedupe_key="poison"
        )
        db.session.info.pop(jobs.PENDING)
        row.status, row.attempts = "sending", 3
        row.lease_until = utcnow() - timedelta(seconds=1)
        outbox_id = row.id
        db.session.commit()
        result = service.sweep_outbox()
        db.session.commit()
    assert (result.abandoned, result.reclaimed) == (1, 0)
    assert (outbox(outbox_id).status, outbox(outbox_id).reason) == (
        "failed",
        "gave_up:lease_expired",
    )


def test_an_unreachable_token_bucket_defers_the_send(app, twilio, outbox, monkeypatch):
    class Down:
        def reserve(self, *args):
            raise ConnectionError("redis is down")

    monkeypatch.setattr(service, "pacer", lambda: Down())
    with app.app_context():
        outbox_id = service.queue_message(
            to="+15555550109", template="test", language="en", params={}, dedupe_key="no-redis"
        ).id
        db.session.commit()
    row = outbox(outbox_id)
    assert (row.status, row.attempts, row.reason) == ("queued", 0, "pacing_unavailable")
    assert twilio.received == []
