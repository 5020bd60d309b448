"""Background jobs handed to the queue when, and only when, the transaction asking for them
commits: a job never looks for rows that might still be rolled back, and a rolled-back change
queues nothing. One mechanism for every domain (SMS sends, dispatch rounds, imports, geocoding).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from app.extensions import db

log = logging.getLogger(__name__)

# session.info key of the jobs waiting for this session's commit: [(job, args), ...].
PENDING = "jobs_after_commit"


def after_commit(job: Callable[..., Any], *args: Any) -> None:
    """Call `job(*args)` (a Huey task: this enqueues it) once this session's transaction has
    committed. Jobs run inline in tests (HUEY_IMMEDIATE) are called from inside the commit, so
    they must take an application context of their own (`app.extensions.own_app_context`)."""
    db.session.info.setdefault(PENDING, []).append((job, args))


@event.listens_for(Session, "after_commit")
def _enqueue(session: Session) -> None:
    for job, args in session.info.pop(PENDING, ()):
        try:
            job(*args)
        except Exception:  # noqa: BLE001 - the change is committed: the periodic sweeps catch up
            log.exception("jobs.enqueue_failed job=%s", getattr(job, "name", type(job).__name__))


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(PENDING, None)
