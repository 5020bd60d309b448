"""Background work of the volunteers domain (`huey_consumer app.worker.huey`): a task's first
round of offers (queued by tasks.request_dispatch once its transaction commits), the sweep that
expires unanswered offers and sends the next round, and the expiry of donors' offers."""

from __future__ import annotations

import logging

from huey import crontab

from app.extensions import db, huey, own_app_context
from app.volunteers.models import Task
from app.volunteers.service import dispatch, donations

log = logging.getLogger(__name__)


@huey.on_startup()
def warm_dispatch_pool() -> None:
    """Build the worker's volunteer pool before the first offer needs it (seconds at 100,000
    volunteers, better spent at start than inside a dispatch)."""
    from app import extensions

    if extensions.worker_app is None:
        return
    with extensions.worker_app.app_context():
        try:
            dispatch.warm_pool()
        except Exception:  # noqa: BLE001 - the first dispatch builds it instead
            log.exception("dispatch.warm_failed")
        finally:
            db.session.remove()


@huey.task(retries=2, retry_delay=30)
@own_app_context
def dispatch_task_job(task_id: str) -> int:
    """Send a task's next round of offers; returns how many went out."""
    task = db.session.get(Task, task_id)
    if task is None:
        return 0
    result = dispatch.dispatch_task(task=task, actor="system")
    db.session.commit()
    return len(result.offers)


@huey.periodic_task(crontab(minute="*"))
@huey.lock_task("dispatch-sweep")
@own_app_context
def sweep_offers_task() -> dict[str, int]:
    """Every minute: expire unanswered offers, re-dispatch their tasks and any open task."""
    result = dispatch.sweep_offers()
    db.session.commit()
    if result["expired"] or result["offered"]:
        log.info("dispatch.sweep expired=%d offered=%d", result["expired"], result["offered"])
    return result


@huey.periodic_task(crontab(minute="*/10"))
@own_app_context
def expire_donation_offers_task() -> int:
    """Every ten minutes: donors' offers past their expiry stop being offered (closed)."""
    expired = donations.expire_offers()
    db.session.commit()
    if expired:
        log.info("donations.expired offers=%d", expired)
    return expired
