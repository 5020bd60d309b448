"""SMS contacts, the outbox (the source of truth for every message sent) and inbound messages."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.common.ids import new_id
from app.common.time import utcnow
from app.common.types import UTCDateTime
from app.extensions import db

# queued → sending → sent → delivered | undelivered | failed; queued → expired | failed.
STATUSES = ("queued", "sending", "sent", "delivered", "undelivered", "failed", "expired")
TERMINAL = frozenset({"delivered", "undelivered", "failed", "expired"})


class Contact(db.Model):
    """One phone number (E.164) we exchange messages with: its language and opt-out state."""

    __tablename__ = "sms_contacts"

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    phone: Mapped[str] = mapped_column(String(20), unique=True)
    language: Mapped[str | None] = mapped_column(String(8))
    opted_out: Mapped[bool] = mapped_column(default=False)
    opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The report this number's follow-up messages thread onto (its latest FIND or SAFE).
    open_report_id: Mapped[str | None] = mapped_column(
        ForeignKey("reports.id", ondelete="SET NULL"), index=True
    )
    open_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxMessage(db.Model):
    """A message to send: written in the transaction that causes it, sent after commit."""

    __tablename__ = "sms_outbox"
    __table_args__ = (
        CheckConstraint(
            "status IN ('queued', 'sending', 'sent', 'delivered', 'undelivered', 'failed', "
            "'expired')",
            name="status",
        ),
        # The sweep's and the dispatcher's one lookup: what is due, oldest first.
        Index("ix_sms_outbox_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    # One row per intended message, e.g. "match-confirmed:<match id>:<report id>".
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    contact_id: Mapped[str] = mapped_column(ForeignKey("sms_contacts.id"), index=True)
    to_phone: Mapped[str] = mapped_column(String(20))
    template: Mapped[str] = mapped_column(String(60))
    language: Mapped[str] = mapped_column(String(8))
    body: Mapped[str] = mapped_column(Text)
    encoding: Mapped[str] = mapped_column(String(5))
    segments: Mapped[int] = mapped_column(SmallInteger)
    status: Mapped[str] = mapped_column(String(12), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A claimed row belongs to one worker until its lease ends.
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when an attempt may have reached the provider without our knowing (timeout, crash):
    # the next attempt first asks the provider whether it did.
    unconfirmed_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Offers go stale: Twilio drops the message when this many seconds have passed.
    validity_s: Mapped[int | None]
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    provider_sid: Mapped[str | None] = mapped_column(String(64), index=True)
    error_code: Mapped[int | None]
    reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class InboundMessage(db.Model):
    """A message received through /sms/inbound, stored once per MessageSid, handled in the queue."""

    __tablename__ = "sms_inbound"

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    message_sid: Mapped[str] = mapped_column(String(64), unique=True)
    contact_id: Mapped[str] = mapped_column(ForeignKey("sms_contacts.id"), index=True)
    body: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What it was read as (find, safe, status, help, stop, start, yes, no, done, note, unknown).
    command: Mapped[str | None] = mapped_column(String(20))
    report_id: Mapped[str | None] = mapped_column(
        ForeignKey("reports.id", ondelete="SET NULL"), index=True
    )


class ConsentRequest(db.Model):
    """A found person asked by SMS whether a coordinator may share their contact (YES/NO code)."""

    __tablename__ = "sms_consent_requests"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'granted', 'refused')", name="status"),
    )

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(8), unique=True)
    # The confirmed match that prompted the question (an id of matching's candidates).
    match_id: Mapped[str] = mapped_column(String(26), index=True)
    report_id: Mapped[str | None] = mapped_column(
        ForeignKey("reports.id", ondelete="SET NULL"), index=True
    )
    contact_id: Mapped[str] = mapped_column(ForeignKey("sms_contacts.id"), index=True)
    status: Mapped[str] = mapped_column(String(8), default="pending")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
