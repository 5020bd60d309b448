"""Person reports and notes, with PFIF 1.4 field names wherever PFIF has one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.common.ids import new_id
from app.common.time import utcnow
from app.common.types import UTCDateTime
from app.extensions import db

KINDS = ("missing", "found")
SEXES = ("female", "male", "other")
# PFIF 1.4 note statuses; "" (unspecified) is stored as NULL.
STATUSES = (
    "information_sought",
    "is_note_author",
    "believed_alive",
    "believed_missing",
    "believed_dead",
)


class Report(db.Model):
    """A person someone is looking for (missing) or who is safe at a shelter or hospital (found)."""

    __tablename__ = "reports"
    __table_args__ = (
        CheckConstraint("kind IN ('missing', 'found')", name="kind"),
        Index("ix_reports_kind_id", "kind", "id"),
    )

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    reference: Mapped[str] = mapped_column(String(7), unique=True)
    kind: Mapped[str] = mapped_column(String(10))

    full_name: Mapped[str | None] = mapped_column(String(500))
    given_name: Mapped[str | None] = mapped_column(String(200))
    family_name: Mapped[str | None] = mapped_column(String(200))
    alternate_names: Mapped[list[str]] = mapped_column(JSON, default=list)
    sex: Mapped[str | None] = mapped_column(String(10))
    date_of_birth: Mapped[str | None] = mapped_column(String(10))
    age: Mapped[str | None] = mapped_column(String(7))
    # Derived from age / date_of_birth so matching and filters need not parse text.
    age_min: Mapped[int | None]
    age_max: Mapped[int | None]
    is_minor: Mapped[bool] = mapped_column(default=False, index=True)

    home_street: Mapped[str | None] = mapped_column(String(200))
    home_neighborhood: Mapped[str | None] = mapped_column(String(200))
    home_city: Mapped[str | None] = mapped_column(String(200))
    home_state: Mapped[str | None] = mapped_column(String(100))
    home_postal_code: Mapped[str | None] = mapped_column(String(20))
    home_country: Mapped[str | None] = mapped_column(String(2), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    photo_url: Mapped[str | None] = mapped_column(String(1000))
    profile_urls: Mapped[list[str]] = mapped_column(JSON, default=list)
    last_known_location: Mapped[str | None] = mapped_column(String(500))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)

    # Current status: that of the latest note (by source_date) that has one.
    status: Mapped[str | None] = mapped_column(String(20), index=True)
    author_name: Mapped[str | None] = mapped_column(String(200))
    author_phone: Mapped[str | None] = mapped_column(String(20))
    author_email: Mapped[str | None] = mapped_column(String(254))
    contact_phone: Mapped[str | None] = mapped_column(String(20))
    language: Mapped[str | None] = mapped_column(String(35))

    # PFIF provenance: a partner's person_record_id, its home repository and change date.
    source_record_id: Mapped[str | None] = mapped_column(String(500), unique=True)
    source_name: Mapped[str | None] = mapped_column(String(200))
    source_url: Mapped[str | None] = mapped_column(String(1000))
    source_date: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    entry_date: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    created_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(default=1)
    # A report that arrived by SMS is unverified until a coordinator has checked it: it is matched
    # like any other, so its candidates show at once, but none of its matches may be confirmed
    # (and so nothing is sent to anyone) on the strength of an unchecked text message.
    verified: Mapped[bool] = mapped_column(default=True, server_default=true())
    verified_by: Mapped[str | None] = mapped_column(String(40))
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # PFIF data expiry: past expiry_date the report and its notes are gone for every reader
    # (expired_at says since when: the placeholder's date), and it is purged some days later.
    expiry_date: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    expired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    notes: Mapped[list[Note]] = relationship(
        back_populates="report",
        foreign_keys="Note.report_id",
        order_by="(Note.source_date, Note.id)",
        cascade="all, delete-orphan",
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def display_name(self) -> str | None:
        """The name to show: full_name, else given and family name, else a nickname."""
        if self.full_name:
            return self.full_name
        parts = [p for p in (self.given_name, self.family_name) if p]
        if parts:
            return " ".join(parts)
        return self.alternate_names[0] if self.alternate_names else None


class Note(db.Model):
    """A PFIF-style update about a report: a status, a message, a last known location."""

    __tablename__ = "notes"

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    report_id: Mapped[str] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    status: Mapped[str | None] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    author_name: Mapped[str | None] = mapped_column(String(200))
    author_phone: Mapped[str | None] = mapped_column(String(20))
    author_email: Mapped[str | None] = mapped_column(String(254))
    author_made_contact: Mapped[bool | None]
    last_known_location: Mapped[str | None] = mapped_column(String(500))
    photo_url: Mapped[str | None] = mapped_column(String(1000))
    source_record_id: Mapped[str | None] = mapped_column(String(500), unique=True)
    source_date: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    entry_date: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(40))
    # PFIF linked_person_record_id: the report a coordinator confirmed as the same person.
    linked_report_id: Mapped[str | None] = mapped_column(
        ForeignKey("reports.id", ondelete="SET NULL"), index=True
    )

    report: Mapped[Report] = relationship(back_populates="notes", foreign_keys=[report_id])


class ReportTombstone(db.Model):
    """What is left of a purged report: PFIF's expired placeholder (ids and dates only), so that
    partners who hold a clone learn it is gone."""

    __tablename__ = "report_tombstones"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    source_record_id: Mapped[str | None] = mapped_column(String(500), unique=True)
    is_minor: Mapped[bool] = mapped_column(default=False)
    expiry_date: Mapped[datetime] = mapped_column(UTCDateTime)
    # When the placeholder was made (the report's expired_at): its PFIF source and entry date.
    entry_date: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    purged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DeletionRequest(db.Model):
    """A family asked to delete their report; an SMS code to the report's phone confirms it.
    Only a digest of the code is kept."""

    __tablename__ = "report_deletion_requests"

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    report_id: Mapped[str] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ImportJob(db.Model):
    """A shelter roster (CSV or XLSX) uploaded for preview, then imported in the background.

    The file is kept until the import is done (then dropped): it holds personal data.
    """

    __tablename__ = "import_jobs"
    __table_args__ = (
        CheckConstraint(
            "status IN ('previewed', 'queued', 'running', 'done', 'failed')", name="status"
        ),
    )

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    format: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10), default="previewed")
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Column of the file -> report field, as detected or as the coordinator corrected it.
    mapping: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    defaults: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    processed_rows: Mapped[int] = mapped_column(Integer, default=0)
    loaded_rows: Mapped[int] = mapped_column(Integer, default=0)
    # Row number (as in the file) -> field errors; at most a few thousand are kept.
    errors: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
