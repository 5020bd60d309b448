"""Periodic housekeeping run by the background worker (`huey_consumer app.worker.huey`)."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from huey import crontab

from app.common.idempotency import purge_expired
from app.extensions import db, huey, in_app_context


@huey.periodic_task(crontab(minute="17"))
@in_app_context
def purge_idempotency_records() -> int:
    """Hourly: forget stored Idempotency-Key responses past IDEMPOTENCY_TTL_HOURS."""
    count = purge_expired(older_than=timedelta(hours=current_app.config["IDEMPOTENCY_TTL_HOURS"]))
    db.session.commit()
    return count
