"""Reads the pages need that the domain services do not offer yet (counts, a report's SMS, a
name search). Read-only; the writes all go through the domains' own services."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

from sqlalchemy import func, or_, select

from app.extensions import db
from app.matching.models import MatchCandidate
from app.reports.models import Report
from app.sms.models import InboundMessage, OutboxMessage

OPEN_MISSING_STATUSES = ("information_sought", "believed_missing")


def dashboard_counts(*, now: datetime) -> dict[str, int]:
    """Open missing, found, potential matches, matches confirmed since midnight (UTC)."""
    midnight = datetime.combine(now.astimezone(UTC).date(), time(), tzinfo=UTC)

    def scalar(query: Any) -> int:
        return db.session.scalar(query) or 0

    return {
        "open_missing": scalar(
            select(func.count(Report.id)).where(
                Report.kind == "missing", Report.status.in_(OPEN_MISSING_STATUSES)
            )
        ),
        "found": scalar(select(func.count(Report.id)).where(Report.kind == "found")),
        "potential_matches": scalar(
            select(func.count(MatchCandidate.id)).where(MatchCandidate.status == "potential")
        ),
        "confirmed_today": scalar(
            select(func.count(MatchCandidate.id)).where(
                MatchCandidate.status == "confirmed", MatchCandidate.decided_at >= midnight
            )
        ),
        "unverified": scalar(select(func.count(Report.id)).where(Report.verified.is_(False))),
    }


def search_reports(
    *,
    text: str | None,
    kind: str | None,
    status: str | None,
    limit: int,
    include_minors: bool = True,
) -> list[Report]:
    """Reports whose name, nickname or reference contains the text, newest first."""
    query = select(Report)
    if text:
        needle = f"%{text.strip().lower()}%"
        compact = text.strip().upper().replace("-", "").replace(" ", "")
        conditions = [
            func.lower(Report.full_name).like(needle),
            func.lower(Report.given_name).like(needle),
            func.lower(Report.family_name).like(needle),
        ]
        if 0 < len(compact) <= 7:
            conditions.append(func.replace(Report.reference, "-", "").like(f"%{compact}%"))
        query = query.where(or_(*conditions))
    if kind:
        query = query.where(Report.kind == kind)
    if status:
        query = query.where(Report.status == status)
    if not include_minors:
        query = query.where(Report.is_minor.is_(False))
    return list(db.session.scalars(query.order_by(Report.id.desc()).limit(limit)))


def messages_for_report(*, report: Report, limit: int = 50) -> list[dict[str, Any]]:
    """The SMS sent to the report's phones and received about it, oldest first."""
    phones = [p for p in {report.author_phone, report.contact_phone} if p]
    # Messages about the report carry its id in their dedupe key (a match's notice, a consent
    # request); the rest went to its phones.
    about = [OutboxMessage.dedupe_key.like(f"%{report.id}%")]
    if phones:
        about.append(OutboxMessage.to_phone.in_(phones))
    sent = db.session.scalars(
        select(OutboxMessage).where(or_(*about)).order_by(OutboxMessage.id.desc()).limit(limit)
    )
    items: list[dict[str, Any]] = [
        {
            "direction": "out",
            "at": m.created_at,
            "phone": m.to_phone,
            "body": m.body,
            "status": m.status,
            "template": m.template,
        }
        for m in sent
    ]
    received = db.session.scalars(
        select(InboundMessage)
        .where(InboundMessage.report_id == report.id)
        .order_by(InboundMessage.id.desc())
        .limit(limit)
    )
    items += [
        {"direction": "in", "at": m.received_at, "body": m.body, "command": m.command}
        for m in received
    ]
    return sorted(items, key=lambda item: item["at"])
