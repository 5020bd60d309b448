"""Periodic data expiry (PFIF): expire what is past its date, purge what expired long enough ago,
close confirmed reunifications. Run by the worker (`huey_consumer app.worker.huey`)."""

from __future__ import annotations

from huey import crontab

from app.extensions import db, huey, in_app_context, own_app_context
from app.matching import service as matching_service
from app.matching.tasks import match_reports_task
from app.reports import roster, service

BATCH = 1000


@huey.periodic_task(crontab(minute="23"))
@huey.lock_task("expire-reports")
@in_app_context
def expire_reports_task() -> int:
    """Hourly (PFIF asks for within a day): reports past their expiry date become expired
    placeholders and leave the matching index. Reads treat them as gone from the moment the
    date passes; this makes it so for exports and matching too."""
    total = 0
    while ids := service.due_for_expiry(limit=BATCH):
        matching_service.unindex_reports(report_ids=ids)
        total += len(service.expire_reports(report_ids=ids))
        db.session.commit()
    return total


@huey.periodic_task(crontab(minute="53"))
@huey.lock_task("purge-reports")
@in_app_context
def purge_reports_task() -> int:
    """Hourly: reports expired more than REPORT_PURGE_AFTER_DAYS ago are deleted for good, with
    their notes and match candidates (a tombstone with ids and dates stays for PFIF exports)."""
    total = 0
    while ids := service.due_for_purge(limit=BATCH):
        matching_service.unindex_reports(report_ids=ids)  # normally done at expiry already
        total += service.purge_reports(report_ids=ids)
        db.session.commit()
    return total


@huey.periodic_task(crontab(hour="3", minute="11"))
@huey.lock_task("close-reunifications")
@in_app_context
def close_reunifications_task() -> int:
    """Daily: reports of a confirmed reunification older than REUNIFIED_CLOSE_AFTER_DAYS expire
    now, and are purged (anonymised) with the others."""
    total = 0
    while ids := service.due_reunifications(limit=BATCH):
        matching_service.unindex_reports(report_ids=ids)
        total += len(service.expire_reports(report_ids=ids, expiry_date=service.utcnow()))
        db.session.commit()
    return total


@huey.task()
@own_app_context
def import_roster_task(job_id: str) -> int:
    """Load a queued roster a batch at a time (each committed, with the job's progress), then
    queue the matching of what it loaded. Returns how many reports were loaded."""
    job = service.get_import_job(job_id=job_id)
    if job.status != "queued" or job.content is None:
        return 0
    processed, loaded, bad = 0, 0, {}
    loaded_ids: list[str] = []
    try:
        table = roster.read_table(job.content, job.format)
        service.record_import_progress(job=job, processed=0, loaded=0, errors={})
        db.session.commit()
        for result, bad in roster.load_roster(
            table, job.mapping, kind=job.kind, defaults=job.defaults, created_by=job.created_by
        ):
            processed, loaded = len(result.ids), result.loaded
            service.record_import_progress(job=job, processed=processed, loaded=loaded, errors=bad)
            db.session.commit()
            loaded_ids = [report_id for report_id in result.ids if report_id]
        service.record_import_progress(
            job=job, processed=processed, loaded=loaded, errors=bad, done=True
        )
        db.session.commit()
    except Exception:
        # What was committed stays (whole batches); the job says where it stopped.
        db.session.rollback()
        job = service.get_import_job(job_id=job_id)
        service.record_import_progress(
            job=job, processed=processed, loaded=loaded, errors=bad, failed=True
        )
        db.session.commit()
        if loaded_ids:
            match_reports_task(loaded_ids)
        raise
    if loaded_ids:
        match_reports_task(loaded_ids)
    return len(loaded_ids)
