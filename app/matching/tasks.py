"""Background matching for reports loaded in bulk (PFIF and roster imports)."""

from __future__ import annotations

from typing import Any

from huey import crontab

from app.common.bulk import chunked
from app.common.jobs import after_commit
from app.extensions import db, huey, in_app_context, own_app_context
from app.matching import service
from app.reports import service as reports_service

BATCH_SIZE = 200


@huey.task()
@own_app_context
def match_reports_task(report_ids: list[str]) -> int:
    """Index, then match, reports by id; returns how many were matched.

    Every report is indexed before any is matched, so the reports of one load find each other.
    Each batch is committed on its own: the shared count rows stay locked only while a batch is
    indexed, never while it is matched, so the web requests that submit reports do not wait.
    """
    batches = list(chunked(report_ids, BATCH_SIZE))
    for ids in batches:
        service.index_reports(reports=reports_service.get_reports(report_ids=ids))
        db.session.commit()
    matched = 0
    for ids in batches:
        matched += service.match_reports(reports=reports_service.get_reports(report_ids=ids))
        db.session.commit()
    return matched


@huey.task(retries=2, retry_delay=60)
@own_app_context
def geocode_online_task(report_id: str) -> bool:
    """Ask the online geocoder for a report's places the gazetteer did not know (see
    service.geocode_online); a report deleted meanwhile is nothing to do."""
    reports = reports_service.get_reports(report_ids=[report_id])
    if not reports:
        return False
    found = service.geocode_online(report=reports[0])
    db.session.commit()
    return found


@huey.periodic_task(crontab(minute="*/10"))
@huey.lock_task("compact-postings")
@in_app_context
def compact_postings_task() -> int:
    """Every ten minutes: merge the small posting chunks that single reports leave (see
    service.compact_postings), a few thousand keys a commit until none is left."""
    compacted = 0
    while True:
        done = service.compact_postings()
        db.session.commit()
        compacted += done
        if done < service.COMPACT_KEYS:
            return compacted


def geocode_online_after_commit(report: Any) -> None:
    """Queue the online geocoder for places the gazetteer did not know, once the request has
    committed (never inside it: the geocoder is rate-limited and may take seconds)."""
    if service.wants_online_geocoding(report=report):
        after_commit(geocode_online_task, report.id)
