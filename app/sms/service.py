"""The SMS outbox, delivery receipts, contacts and incoming commands. Flushes, never commits,
except where calling the provider needs it (a send, a delivery check): what it needs is read
and committed before the provider is called, with the session closed, and the result is
recorded in a transaction of its own."""

from __future__ import annotations

import logging
import random
import secrets
import threading
import time
import unicodedata
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import phonenumbers
from flask import current_app
from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from app.common.bulk import chunked
from app.common.ids import REFERENCE_ALPHABET, is_id
from app.common.jobs import after_commit
from app.common.phones import PhoneError, normalize_phone
from app.common.time import utcnow
from app.errors import NotFound, ValidationError
from app.extensions import db
from app.matching import service as matching_service
from app.reports import service as reports_service
from app.sms import commands, messages
from app.sms.gateway import Gateway, GatewayError, Sent, make_gateway
from app.sms.models import TERMINAL, ConsentRequest, Contact, InboundMessage, OutboxMessage
from app.sms.pacing import Pacer, make_pacer

log = logging.getLogger(__name__)

# Twilio error codes (https://www.twilio.com/docs/api/errors).
RETRY_CODES = frozenset({20429, 21611, 30001, 30003, 30008})
PERMANENT_CODES = frozenset({21211, 21408, 21610, 21612, 21614, 21606, 21212})
OPTED_OUT_CODE = 21610
# Follow-up texts from a number thread onto its latest FIND or SAFE report for this long.
CONVERSATION = timedelta(days=7)
# A found person may answer a consent request for this long; the SMS itself must arrive within
# Twilio's longest validity period (10 hours) or not at all.
CONSENT_ANSWER = timedelta(days=3)
CONSENT_SMS_VALIDITY_S = 36_000
# When the shared token bucket cannot be reached, try again this much later.
PACING_RETRY_S = 30.0
# A `sent` row without a receipt past SMS_DELIVERY_TIMEOUT_HOURS is checked with the provider at
# most this often (its next_attempt_at says when), and closed unasked once it has been silent
# this many times the timeout, so nothing stays open for ever while the provider cannot answer.
DELIVERY_CHECK_INTERVAL = timedelta(minutes=10)
DELIVERY_HARD_LIMIT = 2
# Forward-only: a status moves to a higher rank, never back (callbacks repeat, reorder).
_RANK = {"queued": 0, "sending": 1, "sent": 2}
_RANK.update({status: 3 for status in TERMINAL})
# Twilio's MessageStatus values, read as outbox statuses.
_PROVIDER_STATUS = {
    "accepted": "sent",
    "scheduled": "sent",
    "queued": "sent",
    "sending": "sent",
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "undelivered": "undelivered",
    "failed": "failed",
    "canceled": "failed",
}
_lock = threading.Lock()


# ---- contacts -------------------------------------------------------------------------------


def _insert_or_get(model: Any, values: dict[str, Any], unique: str) -> tuple[Any, bool]:
    """The row with values[unique], inserted if there is none; and whether it is new.

    INSERT … ON CONFLICT DO NOTHING: a concurrent insert of the same unique value waits and is
    ignored, without a SAVEPOINT (which on SQLite, opened before the transaction's first write,
    would commit on its own).
    """
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(model)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[unique])
        .returning(model)
    )
    # RETURNING the row, not rowcount (through the ORM, psycopg reports -1 for this statement):
    # a new row comes back at once; only a conflict needs reading the row that was there.
    row = db.session.scalars(statement).one_or_none()
    if row is not None:
        return row, True
    column = getattr(model, unique)
    return db.session.scalar(select(model).where(column == values[unique])), False


def get_or_create_contact(*, phone: str) -> Contact:
    """The one contact of an E.164 number (created if new; safe against a concurrent insert)."""
    contact = db.session.scalar(select(Contact).where(Contact.phone == phone))
    if contact is None:
        # Until the number uses a keyword, its country's language (+52 Spanish, +509 French).
        language = messages.language_for_country(
            phonenumbers.region_code_for_number(phonenumbers.parse(phone))
        )
        contact, _ = _insert_or_get(Contact, {"phone": phone, "language": language}, "phone")
    return contact


def set_opt_out(*, contact: Contact, opted_out: bool) -> None:
    """Mirror STOP / START (Twilio enforces them; we never queue for an opted-out number)."""
    if contact.opted_out != opted_out:
        contact.opted_out = opted_out
        contact.opted_out_at = utcnow() if opted_out else None
        contact.updated_at = utcnow()
    db.session.flush()


# ---- outbox ---------------------------------------------------------------------------------


def _after_commit(kind: str, item_id: str) -> None:
    """Send the outbox row, or handle the inbound message, once this transaction commits."""
    from app.sms import tasks  # the tasks module imports this one

    job = tasks.send_outbox_task if kind == "send" else tasks.handle_inbound_task
    after_commit(job, item_id)


def task_title(kind: str, language: str | None) -> str | None:
    """The words for a task the system creates (kind "match"), in the recipient's language."""
    return messages.task_title(kind, messages.pick_language(language))


def opted_out_phones(*, phones: Collection[str]) -> set[str]:
    """Which of these E.164 numbers have opted out of our messages (STOP, or Twilio's 21610)."""
    found: set[str] = set()
    for chunk in chunked(list(dict.fromkeys(phones))):
        found.update(
            db.session.scalars(
                select(Contact.phone).where(Contact.phone.in_(chunk), Contact.opted_out.is_(True))
            )
        )
    return found


def queue_message(
    *,
    to: str,
    template: str,
    language: str | None,
    params: dict[str, Any] | None,
    dedupe_key: str,
    validity_s: int | None = None,
) -> OutboxMessage:
    """Write the outbox row for one intended message in the caller's transaction (flush only).

    The same dedupe_key returns the row queued before and queues nothing. The message is
    rendered now, in the recipient's language, within two segments; it is sent after commit.
    A number that opted out gets a row that is already `failed` (reason `opted_out`), so the
    decision not to send is recorded too. `validity_s` makes a stale message expire instead of
    arriving late (offers).
    """
    existing = db.session.scalar(
        select(OutboxMessage).where(OutboxMessage.dedupe_key == dedupe_key)
    )
    if existing is not None:
        return existing
    try:
        phone = normalize_phone(to)
    except PhoneError:
        raise ValidationError(errors={"to": ["Not a phone number."]}) from None
    if validity_s is not None and validity_s < 1:
        raise ValidationError(errors={"validity_s": ["Must be at least one second."]})
    contact = get_or_create_contact(phone=phone)
    rendered = messages.render(template, messages.pick_language(language, contact.language), params)
    now = utcnow()
    ttl = timedelta(hours=current_app.config["SMS_TTL_HOURS"])
    values: dict[str, Any] = dict(
        dedupe_key=dedupe_key,
        contact_id=contact.id,
        to_phone=phone,
        template=template,
        language=rendered.language,
        body=rendered.body,
        encoding=rendered.encoding,
        segments=rendered.segments,
        status="queued",
        attempts=0,
        next_attempt_at=now,
        validity_s=validity_s,
        expires_at=now + (timedelta(seconds=validity_s) if validity_s else ttl),
        created_at=now,
        updated_at=now,
    )
    if contact.opted_out:
        values.update(status="failed", reason="opted_out", finished_at=now)
    # A concurrent transaction may queue the same message first: its row is the one.
    row, new = _insert_or_get(OutboxMessage, values, "dedupe_key")
    if new and row.status == "queued":
        _after_commit("send", row.id)
    return row


@dataclass(frozen=True)
class Claim:
    """What a worker needs to send a claimed row, detached from any session."""

    id: str
    to: str
    body: str
    segments: int
    attempt: int
    expires_at: datetime
    validity_s: int | None
    unconfirmed_since: datetime | None
    opted_out: bool


@dataclass
class Outcome:
    """How one send ended: the row's status, and when to try again (None: no retry)."""

    status: str
    retry_in: float | None = None
    reason: str | None = None


@dataclass
class SweepResult:
    abandoned: int = 0
    reclaimed: int = 0
    expired: int = 0
    timed_out: int = 0
    due: list[str] = field(default_factory=list)
    # `sent` rows past the delivery timeout, to ask the provider about (check_delivery).
    silent: list[str] = field(default_factory=list)


def gateway() -> Gateway:
    """This application's SMS backend (one per process: the HTTP client keeps connections)."""
    return _per_app("sms_gateway", lambda: make_gateway(current_app.config))


def pacer() -> Pacer:
    """This application's token bucket per sender."""
    return _per_app(
        "sms_pacer",
        lambda: make_pacer(
            rate=current_app.config["SMS_SEGMENTS_PER_SECOND"],
            redis_url=current_app.config.get("REDIS_URL"),
        ),
    )


def _per_app(name: str, build: Callable[[], Any]) -> Any:
    extensions = current_app.extensions
    if name not in extensions:
        with _lock:
            extensions.setdefault(name, build())
    return extensions[name]


def _claim(outbox_id: str, now: datetime) -> Claim | None:
    """Take a due row for this worker under a lease, and commit: no other worker sends it.

    PostgreSQL skips a row another transaction is claiming (FOR UPDATE SKIP LOCKED); on SQLite
    writers are serialized and the status condition decides. Either way the UPDATE claims only
    a row that is still queued.
    """
    lease = timedelta(seconds=current_app.config["SMS_LEASE_S"])
    due = (
        select(OutboxMessage.id)
        .where(
            OutboxMessage.id == outbox_id,
            OutboxMessage.status == "queued",
            OutboxMessage.next_attempt_at <= now,
        )
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    claimed = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == due, OutboxMessage.status == "queued")
        .values(
            status="sending",
            attempts=OutboxMessage.attempts + 1,
            lease_until=now + lease,
            claimed_at=now,
            updated_at=now,
        )
        .returning(
            OutboxMessage.id,
            OutboxMessage.to_phone,
            OutboxMessage.body,
            OutboxMessage.segments,
            OutboxMessage.attempts,
            OutboxMessage.expires_at,
            OutboxMessage.validity_s,
            OutboxMessage.unconfirmed_since,
            OutboxMessage.contact_id,
        )
    ).one_or_none()
    if claimed is None:
        db.session.rollback()
        return None
    opted_out = bool(
        db.session.scalar(select(Contact.opted_out).where(Contact.id == claimed.contact_id))
    )
    db.session.commit()
    return Claim(
        id=claimed.id,
        to=claimed.to_phone,
        body=claimed.body,
        segments=claimed.segments,
        attempt=claimed.attempts,
        expires_at=claimed.expires_at,
        validity_s=claimed.validity_s,
        unconfirmed_since=claimed.unconfirmed_since,
        opted_out=opted_out,
    )


def _mine(claim: Claim) -> Any:
    """The row, if this worker's claim on it still stands."""
    return (
        update(OutboxMessage)
        .where(
            OutboxMessage.id == claim.id,
            OutboxMessage.status == "sending",
            OutboxMessage.attempts == claim.attempt,
        )
        .execution_options(synchronize_session=False)
    )


def _finish(claim: Claim, status: str, *, reason: str, code: int | None = None) -> Outcome:
    now = utcnow()
    db.session.execute(
        _mine(claim).values(
            status=status,
            reason=reason,
            error_code=code,
            lease_until=None,
            finished_at=now,
            updated_at=now,
        )
    )
    db.session.commit()
    return Outcome(status, reason=reason)


def _record_sent(claim: Claim, sent: Sent) -> Outcome:
    """The provider has the message: whatever else happened meanwhile, keep its sid."""
    now = utcnow()
    done = now if sent.status in TERMINAL else None
    changed = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == claim.id, OutboxMessage.status.in_(("queued", "sending")))
        .values(
            status=sent.status,
            provider_sid=sent.sid,
            sent_at=now,
            finished_at=done,
            lease_until=None,
            unconfirmed_since=None,
            reason=None,
            error_code=None,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if not changed:
        # A status callback got here first and moved the row on; it only lacks the sid.
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == claim.id, OutboxMessage.provider_sid.is_(None))
            .values(provider_sid=sent.sid, sent_at=func.coalesce(OutboxMessage.sent_at, now))
            .execution_options(synchronize_session=False)
        )
    db.session.commit()
    return Outcome(sent.status)


def backoff_s(attempt: int) -> float:
    """Exponential backoff with jitter: base · 2^(attempt-1), capped, times 0.5–1."""
    config = current_app.config
    ceiling = min(config["SMS_RETRY_MAX_S"], config["SMS_RETRY_BASE_S"] * 2 ** (attempt - 1))
    return ceiling * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not a secret


def is_retryable(error: GatewayError) -> bool:
    """Throttling, provider faults, timeouts and the transient carrier codes are retried."""
    if error.code in PERMANENT_CODES:
        return False
    if error.code in RETRY_CODES or error.timeout or error.http_status is None:
        return True
    # 401: our credentials are wrong, which an operator fixes; the messages must not be lost.
    return error.http_status in (401, 429) or error.http_status >= 500


def _record_error(claim: Claim, error: GatewayError) -> Outcome:
    code = error.code
    reason = _error_reason(error)
    if not is_retryable(error):
        if code == OPTED_OUT_CODE:
            contact = get_or_create_contact(phone=claim.to)
            set_opt_out(contact=contact, opted_out=True)
        return _finish(claim, "failed", reason=reason, code=code)
    now = utcnow()
    if claim.attempt >= current_app.config["SMS_MAX_ATTEMPTS"]:
        return _finish(claim, "failed", reason=f"gave_up:{reason}", code=code)
    delay = backoff_s(claim.attempt)
    if now + timedelta(seconds=delay) >= claim.expires_at:
        return _finish(claim, "expired", reason=f"validity_elapsed:{reason}", code=code)
    db.session.execute(
        _mine(claim).values(
            status="queued",
            next_attempt_at=now + timedelta(seconds=delay),
            lease_until=None,
            error_code=code,
            reason=reason,
            # After an ambiguous attempt, the next one first asks whether the provider has it.
            unconfirmed_since=(claim.unconfirmed_since or now) if error.ambiguous else None,
            updated_at=now,
        )
    )
    db.session.commit()
    return Outcome("queued", retry_in=delay, reason=reason)


def _error_reason(error: GatewayError) -> str:
    if error.code:
        return f"twilio:{error.code}"
    if error.timeout:
        return "timeout"
    if error.http_status:
        return f"http:{error.http_status}"
    return "connection"


def _release(claim: Claim, wait: float, reason: str) -> Outcome:
    """Give a claim back without counting an attempt (pacing: the sender's bucket is booked
    further ahead than the lease allows, or cannot be reached)."""
    now = utcnow()
    db.session.execute(
        _mine(claim).values(
            status="queued",
            attempts=OutboxMessage.attempts - 1,
            next_attempt_at=now + timedelta(seconds=wait),
            lease_until=None,
            reason=reason,
            updated_at=now,
        )
    )
    db.session.commit()
    return Outcome("queued", retry_in=wait, reason=reason)


def status_callback_url(outbox_id: str) -> str | None:
    """Where Twilio reports this message's status: the outbox id is in the URL."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    return f"{base}/sms/status/{outbox_id}" if base else None


def send_message(*, outbox_id: str, sleep: Callable[[float], None] | None = None) -> Outcome:
    """Send one outbox row if it is due and nobody else holds it; returns how it ended.

    Commits the claim, closes the session while the provider is called, then records the
    result in a new transaction, and only if the claim still stands.
    """
    sleep = sleep or time.sleep
    now = utcnow()
    claim = _claim(outbox_id, now)
    if claim is None:
        return Outcome("skipped")
    if claim.opted_out:
        return _finish(claim, "failed", reason="opted_out")
    if claim.expires_at <= now:
        return _finish(claim, "expired", reason="validity_elapsed")
    config = current_app.config
    backend = gateway()
    db.session.close()  # no connection held while the provider takes its time

    if backend.name != "console":  # no carrier to overrun
        max_wait = max(config["SMS_LEASE_S"] - config["SMS_SEND_TIMEOUT_S"] * 2, 0.0)
        try:
            wait = pacer().reserve(backend.sender, claim.segments, max_wait)
        except Exception:  # noqa: BLE001 - Redis unreachable: wait rather than overrun
            log.warning("sms.pacing_unavailable outbox=%s", claim.id)
            return _release(claim, PACING_RETRY_S, "pacing_unavailable")
        if wait < 0:
            return _release(claim, -wait, "paced")
        if wait:
            sleep(wait)
    try:
        sent = None
        if claim.unconfirmed_since is not None:
            sent = backend.find_sent(to=claim.to, body=claim.body, since=claim.unconfirmed_since)
            if sent is not None:
                log.info("sms.reconciled outbox=%s", claim.id)
        if sent is None:
            remaining = int((claim.expires_at - utcnow()).total_seconds())
            sent = backend.send(
                outbox_id=claim.id,
                to=claim.to,
                body=claim.body,
                status_callback=status_callback_url(claim.id),
                validity_s=max(remaining, 1) if claim.validity_s else None,
            )
    except Exception as exc:  # noqa: BLE001 - whatever broke, the row must not stay claimed
        error = exc if isinstance(exc, GatewayError) else GatewayError(ambiguous=True)
        if error is not exc:
            log.error("sms.send_crashed outbox=%s error=%s", claim.id, type(exc).__name__)
        outcome = _record_error(claim, error)
        log.warning(
            "sms.send_failed outbox=%s attempt=%d reason=%s next=%s",
            claim.id,
            claim.attempt,
            outcome.reason,
            outcome.status,
        )
        return outcome
    return _record_sent(claim, sent)


def sweep_outbox(*, limit: int = 1000) -> SweepResult:
    """What the periodic task does: take back claims whose worker died, expire stale rows,
    list the rows due for sending and the silent ones to check with the provider."""
    config = current_app.config
    now = utcnow()
    result = SweepResult()
    lost = (OutboxMessage.status == "sending", OutboxMessage.lease_until < now)
    # A message whose every attempt killed its worker is not tried for ever.
    result.abandoned = db.session.execute(
        update(OutboxMessage)
        .where(*lost, OutboxMessage.attempts >= config["SMS_MAX_ATTEMPTS"])
        .values(
            status="failed",
            reason="gave_up:lease_expired",
            lease_until=None,
            finished_at=now,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    # A worker that died mid-send may have reached the provider: the next attempt checks first.
    result.reclaimed = db.session.execute(
        update(OutboxMessage)
        .where(*lost)
        .values(
            status="queued",
            lease_until=None,
            next_attempt_at=now,
            unconfirmed_since=func.coalesce(
                OutboxMessage.unconfirmed_since, OutboxMessage.claimed_at
            ),
            reason="lease_expired",
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    result.expired = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == "queued", OutboxMessage.expires_at <= now)
        .values(status="expired", reason="validity_elapsed", finished_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    silent = now - timedelta(hours=config["SMS_DELIVERY_TIMEOUT_HOURS"])
    # Without a sid there is nothing to ask the provider about.
    result.timed_out = db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.status == "sent",
            OutboxMessage.sent_at < silent,
            OutboxMessage.provider_sid.is_(None),
        )
        .values(status="undelivered", reason="no_delivery_report", finished_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    # The receipt may have been lost: the provider is asked (check_delivery), once per interval,
    # so a slow or unreachable provider does not get the same rows every minute.
    result.silent = list(
        db.session.scalars(
            select(OutboxMessage.id)
            .where(
                OutboxMessage.status == "sent",
                OutboxMessage.sent_at < silent,
                OutboxMessage.provider_sid.is_not(None),
                OutboxMessage.next_attempt_at <= now,
            )
            .order_by(OutboxMessage.sent_at)
            .limit(limit)
        )
    )
    for chunk in chunked(result.silent):
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(chunk), OutboxMessage.status == "sent")
            .values(next_attempt_at=now + DELIVERY_CHECK_INTERVAL)
            .execution_options(synchronize_session=False)
        )
    result.due = list(
        db.session.scalars(
            select(OutboxMessage.id)
            .where(OutboxMessage.status == "queued", OutboxMessage.next_attempt_at <= now)
            .order_by(OutboxMessage.next_attempt_at)
            .limit(limit)
        )
    )
    db.session.flush()
    return result


def _close_silent(outbox_id: str, sid: str, now: datetime) -> bool:
    """Close a row still `sent` with this sid as `undelivered` / `no_delivery_report`."""
    closed = db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == outbox_id,
            OutboxMessage.status == "sent",
            OutboxMessage.provider_sid == sid,
        )
        .values(
            status="undelivered",
            reason="no_delivery_report",
            finished_at=now,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    return bool(closed)


def check_delivery(*, outbox_id: str) -> Outcome:
    """Ask the provider how a message whose delivery report never came ended, and close its row.

    Only a row still `sent`, past SMS_DELIVERY_TIMEOUT_HOURS, with a sid, is checked. The read is
    committed and the session closed before the provider is called. The provider's answer goes
    through apply_status_callback (forward only; a transient carrier code queues it again); a
    message the provider still has in flight, or cannot find, ends `undelivered` with reason
    `no_delivery_report`. If the provider cannot be asked, the row waits for a later sweep, unless
    it has been silent DELIVERY_HARD_LIMIT times the timeout: then it is closed all the same.
    Commits.
    """
    if not is_id(outbox_id):
        return Outcome("skipped")
    timeout = timedelta(hours=current_app.config["SMS_DELIVERY_TIMEOUT_HOURS"])
    silent = db.session.execute(
        select(OutboxMessage.provider_sid, OutboxMessage.sent_at).where(
            OutboxMessage.id == outbox_id,
            OutboxMessage.status == "sent",
            OutboxMessage.sent_at < utcnow() - timeout,
            OutboxMessage.provider_sid.is_not(None),
        )
    ).one_or_none()
    if silent is None:
        db.session.rollback()
        return Outcome("skipped")
    sid, sent_at = silent.provider_sid, silent.sent_at
    backend = gateway()
    db.session.close()  # no connection held while the provider takes its time

    try:
        answer = backend.fetch_status(sid=sid)
    except Exception as exc:  # noqa: BLE001 - whatever broke, the row must not stay open for ever
        error = exc if isinstance(exc, GatewayError) else GatewayError()
        if error is not exc:
            log.error("sms.check_crashed outbox=%s error=%s", outbox_id, type(exc).__name__)
        now = utcnow()
        if sent_at < now - timeout * DELIVERY_HARD_LIMIT and _close_silent(outbox_id, sid, now):
            db.session.commit()
            log.warning(
                "sms.check_failed outbox=%s reason=%s closed=no_delivery_report",
                outbox_id,
                _error_reason(error),
            )
            return Outcome("undelivered", reason="no_delivery_report")
        db.session.rollback()
        log.warning("sms.check_failed outbox=%s reason=%s", outbox_id, _error_reason(error))
        return Outcome("sent", reason=_error_reason(error))

    status = None
    if answer is not None:
        provider_status, code = answer
        status = apply_status_callback(
            outbox_id=outbox_id, message_sid=sid, message_status=provider_status, error_code=code
        )
    now = utcnow()
    if status in (None, "sent"):  # still in flight at the provider, or unknown to it
        _close_silent(outbox_id, sid, now)
    row = db.session.get(OutboxMessage, outbox_id, populate_existing=True)
    if row is None:  # deleted meanwhile
        db.session.rollback()
        return Outcome("skipped")
    outcome = Outcome(row.status, reason=row.reason)
    if row.status == "queued":  # a transient carrier code: sent again after the backoff
        outcome.retry_in = max((row.next_attempt_at - now).total_seconds(), 0.0)
    db.session.commit()
    log.info("sms.checked outbox=%s status=%s reason=%s", outbox_id, outcome.status, outcome.reason)
    return outcome


def apply_status_callback(
    *, outbox_id: str, message_sid: str, message_status: str, error_code: int | None
) -> str | None:
    """A delivery receipt: moves the row forward only; returns its status after (None: unknown
    row). An undelivered message with a transient carrier code is queued again."""
    if not is_id(outbox_id):  # anything may stand in a URL, NUL included
        return None
    row = db.session.scalar(
        select(OutboxMessage).where(OutboxMessage.id == outbox_id).with_for_update()
    )
    if row is None:
        return None
    new = _PROVIDER_STATUS.get(message_status)
    if row.provider_sid:
        ours = row.provider_sid == message_sid  # else an earlier attempt's late receipt
    else:
        # No sid yet: the receipt may be of the attempt in flight, or of one whose answer was
        # lost; not of an attempt that failed for sure (its sid was known and dropped).
        ours = row.status == "sending" or row.unconfirmed_since is not None
    if new is None or not ours:
        return row.status
    if row.status in TERMINAL:
        return row.status
    now = utcnow()
    config = current_app.config
    if (
        new in ("undelivered", "failed")
        and error_code in RETRY_CODES
        and row.attempts < config["SMS_MAX_ATTEMPTS"]
    ):
        delay = backoff_s(row.attempts)
        if now + timedelta(seconds=delay) < row.expires_at:
            row.status, row.provider_sid = "queued", None
            row.next_attempt_at = now + timedelta(seconds=delay)
            row.error_code, row.reason = error_code, f"twilio:{error_code}"
            row.updated_at = now
            db.session.flush()
            return row.status
    if _RANK[new] <= _RANK[row.status]:
        return row.status
    row.status = new
    row.provider_sid = message_sid
    row.lease_until = None
    row.unconfirmed_since = None
    row.sent_at = row.sent_at or now
    if new in TERMINAL:
        row.finished_at = now
        if error_code:
            row.error_code, row.reason = error_code, f"twilio:{error_code}"
        if error_code == OPTED_OUT_CODE:
            set_opt_out(contact=db.session.get(Contact, row.contact_id), opted_out=True)
    row.updated_at = now
    db.session.flush()
    return row.status


def get_outbox_message(*, outbox_id: str) -> OutboxMessage:
    """An outbox row by id."""
    row = db.session.get(OutboxMessage, outbox_id)
    if row is None:
        raise NotFound("No outbox message with this id.", code="outbox_message_not_found")
    return row


def list_outbox(*, status: str | None = None, limit: int = 50) -> list[OutboxMessage]:
    """Outbox rows, newest first; `status="stuck"` is every row not yet in a terminal state."""
    query = select(OutboxMessage)
    if status == "stuck":
        query = query.where(OutboxMessage.status.not_in(tuple(TERMINAL)))
    elif status:
        query = query.where(OutboxMessage.status == status)
    return list(db.session.scalars(query.order_by(OutboxMessage.id.desc()).limit(limit)))


def count_outbox() -> dict[str, int]:
    """How many rows are in each status."""
    rows = db.session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    )
    return {status: count for status, count in rows}


# ---- inbound --------------------------------------------------------------------------------


def receive_message(*, message_sid: str, from_phone: str, body: str) -> InboundMessage | None:
    """Store an incoming message once per MessageSid (None for a repeat); handled after commit."""
    if not (message_sid.isascii() and message_sid.isalnum()):  # Twilio's are SM + 32 hex
        raise ValidationError(errors={"MessageSid": ["Not a message SID."]})
    if db.session.scalar(
        select(InboundMessage.id).where(InboundMessage.message_sid == message_sid)
    ):
        return None
    try:
        phone = normalize_phone(from_phone)
    except PhoneError:
        raise ValidationError(errors={"From": ["Not a phone number."]}) from None
    contact = get_or_create_contact(phone=phone)
    text = "".join(
        ch for ch in unicodedata.normalize("NFC", body) if ch.isprintable() or ch == "\n"
    )
    values = {"message_sid": message_sid, "contact_id": contact.id, "body": text[:2000]}
    row, new = _insert_or_get(InboundMessage, values, "message_sid")
    if not new:
        return None  # the same MessageSid, delivered twice at once
    _after_commit("inbound", row.id)
    return row


@dataclass(frozen=True)
class OfferReply:
    """YES / NO / DONE <code> from a number: for the volunteer offers (issue 5)."""

    contact_id: str
    phone: str
    command: str  # "yes", "no" or "done"
    code: str
    language: str


def notify_match_confirmed(
    *, match_id: str, missing_report: Any, found_report: Any
) -> list[OutboxMessage]:
    """Queue, in the caller's transaction, what a confirmed match sends by SMS.

    The family who reported the person missing hears that a coordinator will contact them,
    with their own reference, never where the person is. The found person, if their report
    has a contact phone, is asked whether a coordinator may share it (YES or NO <code>).
    Calling it again for the same match queues nothing more.
    """
    queued: list[OutboxMessage] = []
    family = missing_report.author_phone or missing_report.contact_phone
    if family:
        queued.append(
            queue_message(
                to=family,
                template="match_confirmed",
                language=missing_report.language,
                params={"reference": missing_report.reference},
                dedupe_key=f"match-confirmed:{match_id}:{missing_report.id}",
            )
        )
    if found_report.contact_phone:
        dedupe_key = f"consent:{match_id}:{found_report.id}"
        existing = db.session.scalar(
            select(OutboxMessage).where(OutboxMessage.dedupe_key == dedupe_key)
        )
        if existing is None:
            consent = _ask_consent(match_id, found_report)
            existing = queue_message(
                to=found_report.contact_phone,
                template="consent_request",
                language=found_report.language,
                params={"reference": found_report.reference, "code": consent.code},
                dedupe_key=dedupe_key,
                validity_s=CONSENT_SMS_VALIDITY_S,
            )
        queued.append(existing)
    return queued


def _ask_consent(match_id: str, report: Any) -> ConsentRequest:
    contact = get_or_create_contact(phone=normalize_phone(report.contact_phone))
    now = utcnow()
    while True:
        code = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))
        consent, new = _insert_or_get(
            ConsentRequest,
            {
                "code": code,
                "match_id": match_id,
                "report_id": report.id,
                "contact_id": contact.id,
                "status": "pending",
                "created_at": now,
                "expires_at": now + CONSENT_ANSWER,
            },
            "code",
        )
        if new:
            return consent


def _answer_consent(reply: OfferReply) -> str | None:
    """YES or NO <code> to a pending consent request of the same number."""
    if reply.command not in ("yes", "no"):
        return None
    consent = db.session.scalar(
        select(ConsentRequest).where(
            ConsentRequest.code == reply.code.upper(),
            ConsentRequest.contact_id == reply.contact_id,
        )
    )
    if consent is None or consent.status != "pending" or consent.expires_at <= utcnow():
        return None
    consent.status = "granted" if reply.command == "yes" else "refused"
    consent.decided_at = utcnow()
    db.session.flush()
    return "reply_recorded"


def list_consent_requests(*, match_id: str) -> list[ConsentRequest]:
    """The consent requests a confirmed match sent, and their answers (for coordinators)."""
    query = select(ConsentRequest).where(ConsentRequest.match_id == match_id)
    return list(db.session.scalars(query.order_by(ConsentRequest.id)))


# Handlers return the template to answer with, or None when the code is not theirs.
OFFER_REPLY_HANDLERS: list[Callable[[OfferReply], str | None]] = [_answer_consent]


def on_offer_reply(
    handler: Callable[[OfferReply], str | None],
) -> Callable[[OfferReply], str | None]:
    """Register a handler for YES / NO / DONE <code> (used as a decorator)."""
    OFFER_REPLY_HANDLERS.append(handler)
    return handler


# Keyword commands another domain answers (JOIN: volunteers). A handler gets the contact, the
# argument and the reply language, and returns (template, params) to answer with.
COMMAND_HANDLERS: dict[str, Callable[[Contact, str, str], tuple[str, dict[str, Any]]]] = {}


def on_command(
    name: str,
) -> Callable[
    [Callable[[Contact, str, str], tuple[str, dict[str, Any]]]],
    Callable[[Contact, str, str], tuple[str, dict[str, Any]]],
]:
    """Register the handler of a keyword command listed in commands.COMMANDS (a decorator)."""
    if name not in commands.COMMANDS:
        raise ValueError(f"unknown SMS command {name!r}")

    def register(
        handler: Callable[[Contact, str, str], tuple[str, dict[str, Any]]],
    ) -> Callable[[Contact, str, str], tuple[str, dict[str, Any]]]:
        COMMAND_HANDLERS[name] = handler
        return handler

    return register


def _reply_language(command: commands.Command, contact: Contact) -> str:
    if contact.language in command.languages:
        return contact.language
    if command.languages:
        return command.languages[0]
    return messages.pick_language(contact.language)


def handle_inbound(*, inbound_id: str) -> str | None:
    """Act on a stored incoming message (once) and queue the reply; returns the command.

    The message is taken by a conditional UPDATE first, so a task delivered twice cannot file
    two reports; if the caller's transaction rolls back, the message is untaken again.
    """
    taken = db.session.execute(
        update(InboundMessage)
        .where(InboundMessage.id == inbound_id, InboundMessage.processed_at.is_(None))
        .values(processed_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if taken != 1:
        return None
    inbound = db.session.get(InboundMessage, inbound_id)
    contact = db.session.get(Contact, inbound.contact_id)
    command = commands.parse(inbound.body)
    language = _reply_language(command, contact)
    if command.languages and contact.language != language:
        contact.language = language
    name = command.name
    reply: tuple[str, dict[str, Any]] | None
    if name == "stop":
        set_opt_out(contact=contact, opted_out=True)
        reply = None  # Twilio answers STOP itself, and would refuse our message anyway
    elif name == "start" or (name == "yes" and not command.argument):
        set_opt_out(contact=contact, opted_out=False)
        name, reply = "start", None  # Twilio confirms the opt-in itself
    elif name in ("find", "safe") and command.argument:
        reply = _report_from_sms(inbound, contact, name, command.argument, language)
    elif name == "status" and command.argument:
        reply = _status_reply(contact, command.argument, language)
    elif name in ("yes", "no", "done") and command.argument:
        reply = _offer_reply(contact, name, command.argument, language)
    elif name in COMMAND_HANDLERS:
        reply = COMMAND_HANDLERS[name](contact, command.argument, language)
    elif name == "text" and _open_report(contact) is not None:
        name, reply = "note", _follow_up(inbound, contact)
    else:
        name, reply = ("help" if name != "text" else "unknown"), ("help", {})
    inbound.command = name
    if reply is not None:
        template, params = reply
        queue_message(
            to=contact.phone,
            template=template,
            language=language,
            params=params,
            dedupe_key=f"reply:{inbound.id}",  # find_reply() reads this key
        )
    db.session.flush()
    log.info("sms.inbound inbound=%s contact=%s command=%s", inbound.id, contact.id, name)
    return name


def find_reply(*, inbound_id: str) -> OutboxMessage | None:
    """The reply queued for an incoming message, if it got one."""
    key = f"reply:{inbound_id}"
    return db.session.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == key))


def _created_by(contact: Contact) -> str:
    # Reports from SMS are unverified: their author is the number, not a coordinator or partner.
    return f"sms:{contact.id}"


def _report_from_sms(
    inbound: InboundMessage, contact: Contact, name: str, argument: str, language: str
) -> tuple[str, dict[str, Any]]:
    person = commands.parse_person(argument)
    data: dict[str, Any] = {
        "kind": "missing" if name == "find" else "found",
        "full_name": person.name[:500] or None,
        "age": person.age,
        "last_known_location": (person.place or "")[:500] or None,
        "author_phone": contact.phone,
        "language": language,
    }
    if name == "safe":
        # The sender is the person who is safe (PFIF: the note's author is the person).
        data["contact_phone"] = contact.phone
        data["status"] = "is_note_author"
    if not data["full_name"]:
        data["description"] = argument[:5000]
    report = reports_service.submit_report(
        data=data, created_by=_created_by(contact), verified=False
    )
    # Matched at once, like every report, so coordinators see its candidates; nothing is
    # disclosed on the strength of it until a coordinator has looked.
    matching_service.refresh_matches(report=report)
    inbound.report_id = report.id
    contact.open_report_id = report.id
    contact.open_until = utcnow() + CONVERSATION
    return f"{name}_received", {"reference": report.reference}


def _status_reply(contact: Contact, argument: str, language: str) -> tuple[str, dict[str, Any]]:
    """The status and date of the sender's own report (the public status check's rule)."""
    words = argument.split()
    # "RX7-K2M", "rx7 k2m", "RX7K2M please": the whole argument, then its first one or two words.
    for candidate in (argument, " ".join(words[:2]), words[0]):
        try:
            report = reports_service.check_status(reference=candidate, phone=contact.phone)
            break
        except NotFound:
            continue
    else:
        return "status_not_found", {}
    return "status_reply", {
        "reference": report.reference,
        "status": messages.status_label(report.status, language),
        "date": report.updated_at.date().isoformat(),
    }


def _offer_reply(
    contact: Contact, name: str, argument: str, language: str
) -> tuple[str, dict[str, Any]]:
    code = argument.split()[0][:20]
    reply = OfferReply(contact.id, contact.phone, name, code, language)
    for handler in OFFER_REPLY_HANDLERS:
        template = handler(reply)
        if template:
            return template, {"code": code}
    return "code_unknown", {"code": code}


def _open_report(contact: Contact) -> str | None:
    if contact.open_report_id and contact.open_until and contact.open_until > utcnow():
        return contact.open_report_id
    return None


def _follow_up(inbound: InboundMessage, contact: Contact) -> tuple[str, dict[str, Any]]:
    report = reports_service.get_report(report_id=contact.open_report_id)
    reports_service.add_note(
        report=report,
        data={"text": inbound.body[:5000], "author_phone": contact.phone},
        created_by=_created_by(contact),
    )
    inbound.report_id = report.id
    return "note_added", {"reference": report.reference}


def messages_about_report(
    *, report_id: str, phones: Collection[str], limit: int = 50
) -> list[dict[str, Any]]:
    """The SMS sent to a report's phones or about it, and those received about it, oldest
    first (a coordinator's case page)."""
    # Messages about a report carry its id in their dedupe key (a match's notice, a consent
    # request); the rest went to its phones.
    about = [OutboxMessage.dedupe_key.like(f"%{report_id}%")]
    if phones:
        about.append(OutboxMessage.to_phone.in_(list(phones)))
    sent = db.session.scalars(
        select(OutboxMessage).where(or_(*about)).order_by(OutboxMessage.id.desc()).limit(limit)
    )
    items: list[dict[str, Any]] = [
        {
            "direction": "out",
            "at": m.created_at,
            "phone": m.to_phone,
            "body": m.body,
            "status": m.status,
            "template": m.template,
        }
        for m in sent
    ]
    received = db.session.scalars(
        select(InboundMessage)
        .where(InboundMessage.report_id == report_id)
        .order_by(InboundMessage.id.desc())
        .limit(limit)
    )
    items += [
        {"direction": "in", "at": m.received_at, "body": m.body, "command": m.command}
        for m in received
    ]
    return sorted(items, key=lambda item: item["at"])
