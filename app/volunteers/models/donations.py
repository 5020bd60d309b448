"""Donors, their offers (goods, shelter beds, transport seats, money), offers paired with needs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.common.ids import new_id, new_reference
from app.common.time import utcnow
from app.common.types import UTCDateTime
from app.extensions import db

# open → exhausted (nothing left) | withdrawn (by the donor or a coordinator) | expired.
OFFER_STATUSES = ("open", "exhausted", "withdrawn", "expired")
# proposed → accepted | rejected | cancelled; accepted → fulfilled | cancelled.
PAIRING_STATUSES = ("proposed", "accepted", "rejected", "fulfilled", "cancelled")
# A pairing that holds part of its offer (and covers part of its need).
PAIRING_HOLDING = frozenset({"accepted", "fulfilled"})


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Donor(db.Model):
    """A person or organization who offers something; one row per phone number."""

    __tablename__ = "donors"

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(20), unique=True)  # E.164
    organization: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(35))
    location: Mapped[str | None] = mapped_column(String(500))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    created_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DonationOffer(db.Model):
    """What a donor offers: a category of app/volunteers/data/categories.json and a quantity.

    `remaining` is the quantity not yet taken by accepted pairings; it never goes below zero
    (a check constraint, and accepting locks the row). `version` guards coordinators' edits.
    """

    __tablename__ = "donation_offers"
    __table_args__ = (
        CheckConstraint(_in("status", OFFER_STATUSES), name="status"),
        CheckConstraint("quantity > 0", name="quantity"),
        CheckConstraint("remaining >= 0 AND remaining <= quantity", name="remaining"),
        # The ranking's query: open offers of a category.
        Index("ix_donation_offers_status_category", "status", "category"),
    )

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    donor_id: Mapped[str] = mapped_column(ForeignKey("donors.id", ondelete="CASCADE"), index=True)
    category: Mapped[str] = mapped_column(String(40))
    quantity: Mapped[int]
    remaining: Mapped[int]
    unit: Mapped[str] = mapped_column(String(20))
    currency: Mapped[str | None] = mapped_column(String(3))  # ISO 4217, money only
    description: Mapped[str | None] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(String(500))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    available_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    available_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    status: Mapped[str] = mapped_column(String(10), default="open")
    created_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(default=1)

    donor: Mapped[Donor] = relationship(lazy="joined")

    __mapper_args__ = {"version_id_col": version}


class Pairing(db.Model):
    """Part (or all) of an offer proposed for a need (a task with a supply category).

    Only an accepted pairing takes its quantity from the offer. `reference` is what the donor
    and the shelter quote to a coordinator (in the SMS, never the other side's name or place).
    """

    __tablename__ = "pairings"
    __table_args__ = (
        CheckConstraint(_in("status", PAIRING_STATUSES), name="status"),
        CheckConstraint("quantity > 0", name="quantity"),
        Index("ix_pairings_task_status", "task_id", "status"),
    )

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    reference: Mapped[str] = mapped_column(String(7), unique=True, default=new_reference)
    offer_id: Mapped[str] = mapped_column(
        ForeignKey("donation_offers.id", ondelete="CASCADE"), index=True
    )
    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    quantity: Mapped[int]
    status: Mapped[str] = mapped_column(String(10), default="proposed")
    cost: Mapped[float | None] = mapped_column(Float)
    distance_km: Mapped[float | None] = mapped_column(Float)
    # Why this offer: the ranking's reasons ({code, text, data}).
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    proposed_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(40))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(String(500))
    version: Mapped[int] = mapped_column(default=1)

    offer: Mapped[DonationOffer] = relationship(lazy="joined")

    __mapper_args__ = {"version_id_col": version}
