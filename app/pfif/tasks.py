"""PFIF documents too large to import within a web request, imported by the worker."""

from __future__ import annotations

from app.errors import AppError
from app.extensions import db, huey, own_app_context
from app.matching.tasks import match_reports_task
from app.pfif import service
from app.reports import service as reports_service

# Records listed in a finished job's summary; the counts are always complete.
MAX_LISTED = 2000


@huey.task()
@own_app_context
def import_pfif_task(job_id: str) -> int:
    """Import a queued PFIF document in one transaction, record its summary on the job, then
    queue the matching of what it created or changed. Returns how many persons it created."""
    job = reports_service.get_import_job(job_id=job_id)
    if job.status != "queued" or job.content is None:
        return 0
    reports_service.record_import_progress(job=job, processed=0, loaded=0, errors={})
    db.session.commit()
    try:
        summary = service.import_pfif(data=job.content, created_by=job.created_by)
    except AppError as error:  # not PFIF at all: nothing was imported
        db.session.rollback()
        job = reports_service.get_import_job(job_id=job_id)
        reports_service.record_import_progress(
            job=job,
            processed=0,
            loaded=0,
            errors={"document": error.errors.get("document") or [error.message]},
            failed=True,
        )
        db.session.commit()
        return 0
    counts = summary.as_dict()
    reports_service.record_import_progress(
        job=job,
        processed=sum(counts["persons"].values())
        + len([e for e in summary.errors if e["record"] == "person"]),
        loaded=summary.persons_created + summary.persons_updated,
        errors={
            **counts,
            "errors": summary.errors[:MAX_LISTED],
            "warnings": summary.warnings[:MAX_LISTED],
        },
        error_count=len(summary.errors),
        done=True,
    )
    db.session.commit()
    if summary.report_ids:
        match_reports_task(summary.report_ids)
    return summary.persons_created
