"""The SMS queue: send outbox rows after commit, handle incoming messages, sweep periodically.

Work is handed to Huey only once the transaction that wrote it has committed (a session
listener reads what the service noted in `session.info`); the periodic sweep catches whatever a
crash between commit and enqueue left behind.
"""

from __future__ import annotations

import logging

from huey import crontab

from app.extensions import db, huey, own_app_context
from app.sms import service

log = logging.getLogger(__name__)


@huey.task()
@own_app_context
def send_outbox_task(outbox_id: str) -> str:
    """Send one outbox row; a retryable failure schedules the next attempt."""
    outcome = service.send_message(outbox_id=outbox_id)
    if outcome.retry_in is not None:
        send_outbox_task.schedule((outbox_id,), delay=outcome.retry_in)
    return outcome.status


@huey.task(retries=3, retry_delay=30)
@own_app_context
def handle_inbound_task(inbound_id: str) -> str | None:
    """Act on one incoming message (idempotent: a handled message is skipped)."""
    command = service.handle_inbound(inbound_id=inbound_id)
    db.session.commit()
    return command


@huey.task()
@own_app_context
def check_delivery_task(outbox_id: str) -> str:
    """Ask the provider how a message without a delivery report ended; close or resend it."""
    outcome = service.check_delivery(outbox_id=outbox_id)
    if outcome.retry_in is not None:
        send_outbox_task.schedule((outbox_id,), delay=outcome.retry_in)
    return outcome.status


@huey.periodic_task(crontab(minute="*"))
@own_app_context
def sweep_outbox_task() -> dict[str, int]:
    """Every minute: reclaim dead workers' rows, expire stale ones, enqueue what is due, and
    check silent rows with the provider."""
    result = service.sweep_outbox()
    db.session.commit()
    for outbox_id in result.due:
        send_outbox_task(outbox_id)
    for outbox_id in result.silent:
        check_delivery_task(outbox_id)
    if result.abandoned or result.reclaimed or result.expired or result.timed_out or result.silent:
        log.info(
            "sms.sweep abandoned=%d reclaimed=%d expired=%d timed_out=%d due=%d silent=%d",
            result.abandoned,
            result.reclaimed,
            result.expired,
            result.timed_out,
            len(result.due),
            len(result.silent),
        )
    return {
        "abandoned": result.abandoned,
        "reclaimed": result.reclaimed,
        "expired": result.expired,
        "timed_out": result.timed_out,
        "due": len(result.due),
        "silent": len(result.silent),
    }
