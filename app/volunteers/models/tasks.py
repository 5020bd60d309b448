"""Tasks (needs), their history, and the SMS offers (dispatches) that send volunteers to them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.common.ids import new_id
from app.common.time import utcnow
from app.common.types import UTCDateTime
from app.extensions import db

# open → offered → assigned → in_progress → done; any state but done → cancelled.
TASK_STATUSES = ("open", "offered", "assigned", "in_progress", "done", "cancelled")
TASK_CLOSED = frozenset({"done", "cancelled"})
TASK_SOURCES = ("coordinator", "match", "shelter")

# offered → accepted → started → done; offered → declined | expired | released | withdrawn;
# accepted | started → cancelled (the coordinator took the volunteer off, or the task ended).
DISPATCH_STATUSES = (
    "offered",
    "accepted",
    "started",
    "done",
    "declined",
    "expired",
    "released",
    "withdrawn",
    "cancelled",
)
# A dispatch that holds one of the task's places.
DISPATCH_HOLDING = frozenset({"accepted", "started", "done"})
# A dispatch the volunteer still has in hand (counts against their max_tasks).
DISPATCH_IN_HAND = frozenset({"offered", "accepted", "started"})


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Task(db.Model):
    """A need for volunteers (and, optionally, for goods that donors offer).

    `status` is settled by the task service from the dispatches after every change; the
    history of every transition is in `task_events`.
    """

    __tablename__ = "tasks"
    __table_args__ = (
        CheckConstraint(_in("status", TASK_STATUSES), name="status"),
        CheckConstraint(_in("source", TASK_SOURCES), name="source"),
        CheckConstraint("people >= 1", name="people"),
        CheckConstraint("priority BETWEEN 1 AND 5", name="priority"),
        CheckConstraint("supply_quantity IS NULL OR supply_quantity > 0", name="supply_quantity"),
        # The coordinators' queue and the dispatch sweep: unfinished tasks by status.
        Index("ix_tasks_status_priority", "status", "priority"),
    )

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(12), default="coordinator")
    # A task created by a confirmed match (one per match) and the report it concerns.
    match_id: Mapped[str | None] = mapped_column(String(26), unique=True)
    report_id: Mapped[str | None] = mapped_column(
        ForeignKey("reports.id", ondelete="SET NULL"), index=True
    )
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    preferred_skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    location: Mapped[str | None] = mapped_column(String(500))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    radius_km: Mapped[float] = mapped_column(Float, default=25.0)
    window_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    window_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    people: Mapped[int] = mapped_column(SmallInteger, default=1)
    priority: Mapped[int] = mapped_column(SmallInteger, default=3)
    involves_minor: Mapped[bool] = mapped_column(default=False)
    # Goods the need asks of donors (a category of app/volunteers/data/categories.json).
    supply_category: Mapped[str | None] = mapped_column(String(40), index=True)
    supply_quantity: Mapped[int | None]
    # Who asked (a shelter's desk): told when a donor's offer is paired with the need.
    contact_name: Mapped[str | None] = mapped_column(String(200))
    contact_phone: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(12), default="open")
    # Saved without offers (`dispatch: false`): the sweep leaves it until a coordinator sends it.
    on_hold: Mapped[bool] = mapped_column(default=False, server_default=false())
    rounds: Mapped[int] = mapped_column(SmallInteger, default=0)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    escalation: Mapped[str | None] = mapped_column(String(60))
    created_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class TaskEvent(db.Model):
    """One line of a task's history: what happened, who did it, the status before and after."""

    __tablename__ = "task_events"

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(40))
    event: Mapped[str] = mapped_column(String(30))
    from_status: Mapped[str | None] = mapped_column(String(12))
    to_status: Mapped[str | None] = mapped_column(String(12))
    volunteer_id: Mapped[str | None] = mapped_column(
        ForeignKey("volunteers.id", ondelete="SET NULL")
    )
    dispatch_id: Mapped[str | None] = mapped_column(String(26))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Dispatch(db.Model):
    """A task offered to one volunteer by SMS, with the reply code that answers it.

    The code is four digits, unique per volunteer (so a volunteer with several offers is never
    confused, and a late answer still finds its offer and hears it has expired).
    """

    __tablename__ = "dispatches"
    __table_args__ = (
        CheckConstraint(_in("status", DISPATCH_STATUSES), name="status"),
        UniqueConstraint("volunteer_id", "code", name="uq_dispatches_volunteer_code"),
        Index("ix_dispatches_task_status", "task_id", "status"),
        # The timeout sweep, and each volunteer's load: offers still in hand, by expiry.
        Index("ix_dispatches_status_expires_at", "status", "expires_at"),
    )

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    volunteer_id: Mapped[str] = mapped_column(
        ForeignKey("volunteers.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(10), default="offered")
    round: Mapped[int] = mapped_column(SmallInteger, default=1)
    cost: Mapped[float | None] = mapped_column(Float)
    distance_km: Mapped[float | None] = mapped_column(Float)
    # Why this volunteer: the engine's reasons ({code, text, data}).
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    outbox_id: Mapped[str | None] = mapped_column(String(26))
    reason: Mapped[str | None] = mapped_column(String(60))  # why it ended
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
