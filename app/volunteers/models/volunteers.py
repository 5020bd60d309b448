"""Registered volunteers: who they are, what they can do, where and when, and who vetted them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, String
from sqlalchemy.orm import Mapped, mapped_column

from app.common.ids import new_id
from app.common.time import utcnow
from app.common.types import UTCDateTime
from app.extensions import db


class Volunteer(db.Model):
    """A person who offered to help; only a coordinator may mark them vetted."""

    __tablename__ = "volunteers"

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(20), unique=True)  # E.164
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)  # taxonomy ids
    home_location: Mapped[str | None] = mapped_column(String(500))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    # [{"start": iso, "end": iso}, ...]; empty means any time (the engine's convention).
    availability: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    max_tasks: Mapped[int] = mapped_column(default=1)
    vetted: Mapped[bool] = mapped_column(default=False, index=True)
    vetted_by: Mapped[str | None] = mapped_column(String(40))
    vetted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opted_out: Mapped[bool] = mapped_column(default=False)
    created_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Indexed: the dispatcher's per-process pool is rebuilt when the latest change moves.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}
