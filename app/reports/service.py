"""Submitting, reading, correcting and following up person reports. Flushes, never commits."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import and_, case, delete, func, or_, select, update
from sqlalchemy.orm import selectinload

from app.common.bulk import BoundRows, bind_rows, chunked, existing, insert_bound, insert_rows
from app.common.fields import point_errors
from app.common.ids import is_id, new_id, new_reference, normalize_reference
from app.common.time import utcnow
from app.errors import Conflict, NotFound, ValidationError
from app.extensions import db
from app.reports.models import DeletionRequest, ImportJob, Note, Report, ReportTombstone
from app.reports.schemas import IDENTITY_FIELDS, NO_IDENTITY, has_name_or_description, parse_age

ADULT_AGE = 18
_DEFAULT_STATUS = {"missing": "information_sought", "found": "believed_alive"}
_REFERENCE_ATTEMPTS = 8


def _age_bounds(age: str | None, date_of_birth: str | None, on: datetime) -> tuple[int, int] | None:
    """(youngest, oldest) from the stated age, else from the date of birth as of `on`."""
    bounds = parse_age(age)
    if bounds is None and date_of_birth:
        bounds = _age_from_birth(date_of_birth, on)
    return bounds


def _derive(report: Report, *, age_corrected: bool = False) -> None:
    """Keep age bounds and the minor flag in step with age and date of birth.

    A known child age always sets the flag. A corrected adult age clears it (age_corrected), unless
    the same correction sets is_minor itself; an unknown age leaves the flag as it was, since it
    may have been set by hand for a child of unknown age.
    """
    bounds = _age_bounds(report.age, report.date_of_birth, report.source_date or utcnow())
    report.age_min, report.age_max = bounds if bounds else (None, None)
    if report.age_min is None:
        return
    # Safeguarding errs towards the child: a range that reaches below 18 ("16-20") counts.
    if report.age_min < ADULT_AGE:
        report.is_minor = True
    elif age_corrected:
        report.is_minor = False


def _age_from_birth(date_of_birth: str, on: datetime) -> tuple[int, int]:
    parts = [int(p) for p in date_of_birth.split("-")]
    year = parts[0]
    # A partial date spans a range of birthdays, so the age is a range too.
    earliest = date(year, parts[1] if len(parts) > 1 else 1, parts[2] if len(parts) > 2 else 1)
    latest = date(year, parts[1] if len(parts) > 1 else 12, parts[2] if len(parts) > 2 else 28)

    def age_of(born: date) -> int:
        today = on.date()
        return today.year - born.year - ((today.month, today.day) < (born.month, born.day))

    return max(age_of(latest), 0), max(age_of(earliest), 0)


def _check_source_record_unique(model: type[Report] | type[Note], source_id: str | None) -> None:
    if source_id and db.session.scalar(select(model.id).where(model.source_record_id == source_id)):
        raise Conflict(
            "A record with this source_record_id already exists.",
            code="duplicate_source_record",
            errors={"source_record_id": ["Already imported."]},
        )


def submit_report(*, data: dict[str, Any], created_by: str, verified: bool = True) -> Report:
    """Create a missing or found report from validated input (unverified when it arrived by a
    channel nobody has checked yet, such as SMS: see verify_report)."""
    _check_source_record_unique(Report, data.get("source_record_id"))
    now = utcnow()
    fields = dict(data)
    fields.setdefault("status", None)
    if fields["status"] is None:
        fields["status"] = _DEFAULT_STATUS[fields["kind"]]
    fields["source_date"] = fields.get("source_date") or now
    fields["is_minor"] = bool(fields.get("is_minor"))
    fields["expiry_date"] = fields.get("expiry_date") or default_expiry(now)
    report = Report(
        **fields,
        reference=_unused_references(1)[0],
        created_by=created_by,
        verified=verified,
        created_at=now,
        updated_at=now,
        entry_date=now,
    )
    _derive(report)
    db.session.add(report)
    db.session.flush()
    return report


def import_reports(
    *, rows: Sequence[dict[str, Any]], created_by: str
) -> tuple[list[str | None], list[int]]:
    """Create many reports from validated input at once: one INSERT for the whole batch.

    For imports (PFIF, shelter rosters, benchmarks), where one ORM object and two uniqueness
    queries per report would cost more than everything else. prepare_imports() then
    insert_imports(); a bulk load runs the first in worker processes. Returns the new id of each
    row (None where skipped), and the positions of the rows skipped.
    """
    prepared = prepare_imports(rows=rows, created_by=created_by)
    return insert_imports(rows=bind_rows(Report.__table__, prepared))


def prepare_imports(*, rows: Sequence[dict[str, Any]], created_by: str) -> list[dict[str, Any]]:
    """Every column of new reports from validated input, derived exactly as submit_report derives
    them (status, age bounds, minor flag, dates), with a new id and a reference to be checked by
    insert_imports(). Needs no database, so it can run in an import's worker processes."""
    now = utcnow()
    expiry = default_expiry(now)
    prepared: list[dict[str, Any]] = []
    for row in rows:
        fields = {**_IMPORT_DEFAULTS, **row}
        fields["status"] = fields["status"] or _DEFAULT_STATUS[fields["kind"]]
        fields["source_date"] = fields["source_date"] or now
        fields["expiry_date"] = fields["expiry_date"] or expiry
        fields["is_minor"] = bool(fields["is_minor"])
        bounds = _age_bounds(fields["age"], fields["date_of_birth"], fields["source_date"])
        fields["age_min"], fields["age_max"] = bounds if bounds else (None, None)
        if fields["age_min"] is not None and fields["age_min"] < ADULT_AGE:
            fields["is_minor"] = True
        fields.update(
            id=new_id(),
            reference=new_reference(),
            created_by=created_by,
            created_at=now,
            updated_at=now,
            entry_date=now,
            version=1,
        )
        prepared.append(fields)
    return prepared


def insert_imports(*, rows: BoundRows) -> tuple[list[str | None], list[int]]:
    """Insert reports from prepare_imports() (bound): a row whose source_record_id is already
    stored, or repeated earlier in the batch, is skipped, and a reference already in use is
    replaced. Returns each row's id (None where skipped) and the positions skipped."""
    if not rows.values:
        return [], []
    at_id, at_source, at_reference = (
        rows.names.index(name) for name in ("id", "source_record_id", "reference")
    )
    sources = [value[at_source] for value in rows.values]
    known = existing(Report.__table__.c.source_record_id, [s for s in sources if s])
    seen: set[str] = set()
    ids: list[str | None] = []
    skipped: list[int] = []
    kept: list[tuple[Any, ...]] = []
    for position, (value, source) in enumerate(zip(rows.values, sources, strict=True)):
        if source and (source in known or source in seen):
            skipped.append(position)
            ids.append(None)
            continue
        if source:
            seen.add(source)
        kept.append(value)
        ids.append(value[at_id])
    references = _unique_references([value[at_reference] for value in kept])
    kept = [
        (*value[:at_reference], reference, *value[at_reference + 1 :])
        if reference != value[at_reference]
        else value
        for value, reference in zip(kept, references, strict=True)
    ]
    insert_bound(Report.__table__, BoundRows(rows.names, kept))
    return ids, skipped


# Every column an imported row may leave out, so one INSERT serves rows of different shapes.
_IMPORT_DEFAULTS: dict[str, Any] = {
    column.key: None
    for column in Report.__table__.columns
    if column.key
    not in ("id", "reference", "created_by", "created_at", "updated_at", "version", "expired_at")
} | {"alternate_names": [], "profile_urls": [], "is_minor": False, "verified": True}


def _unique_references(offered: list[str]) -> list[str]:
    """The offered references, each one already in use or repeated replaced by an unused one."""
    taken = existing(Report.__table__.c.reference, list(set(offered)))
    used: set[str] = set()
    clashes: list[int] = []
    for position, reference in enumerate(offered):
        if reference in taken or reference in used:
            clashes.append(position)
        else:
            used.add(reference)
    if not clashes:
        return offered
    unique = list(offered)
    for position, reference in zip(clashes, _unused_references(len(clashes), used), strict=True):
        unique[position] = reference
    return unique


def _unused_references(count: int, avoid: Collection[str] = ()) -> list[str]:
    """`count` distinct references that no report has yet, nor are in `avoid` (checked a batch at
    a time)."""
    chosen: list[str] = []
    for _ in range(_REFERENCE_ATTEMPTS):
        wanted = count - len(chosen)
        if not wanted:
            return chosen
        fresh = list({new_reference() for _ in range(wanted)} - set(chosen) - set(avoid))
        taken = existing(Report.__table__.c.reference, fresh)
        chosen.extend(r for r in fresh if r not in taken)
    if len(chosen) < count:
        raise Conflict("Could not allocate references; retry.", code="reference_exhausted")
    return chosen[:count]


def get_report(*, report_id: str, include_minors: bool = True) -> Report:
    """A report by id; a minor's report is 'not found' to whoever may not see minors."""
    # An id from the URL may hold anything, NUL included, which PostgreSQL refuses to compare.
    report = db.session.get(Report, report_id) if is_id(report_id) else None
    if report is None or (report.is_minor and not include_minors) or is_expired(report):
        raise NotFound("No report with this id.", code="report_not_found")
    return report


def get_reports(*, report_ids: Collection[str]) -> list[Report]:
    """The reports with these ids that exist, in no particular order (for bulk jobs)."""
    ids = [report_id for report_id in dict.fromkeys(report_ids) if is_id(report_id)]
    if not ids:
        return []
    query = select(Report).where(Report.id.in_(ids), _live(utcnow()))
    return list(db.session.scalars(query))


def count_reports(*, kind: str | None = None) -> int:
    """How many reports there are (of a kind)."""
    query = select(func.count(Report.id))
    if kind:
        query = query.where(Report.kind == kind)
    return db.session.scalar(query) or 0


def list_reports(
    *,
    limit: int,
    after_id: str | None = None,
    kind: str | None = None,
    status: str | None = None,
    country: str | None = None,
    since: datetime | None = None,
    reference: str | None = None,
    include_minors: bool = True,
) -> list[Report]:
    """Reports newest first, filtered; returns limit + 1 rows so the caller can paginate."""
    query = select(Report).where(_live(utcnow()))
    if kind:
        query = query.where(Report.kind == kind)
    if status:
        query = query.where(Report.status == status)
    if country:
        query = query.where(Report.home_country == country.upper())
    if since:
        query = query.where(Report.created_at >= since.astimezone(UTC))
    if reference:
        query = query.where(Report.reference == normalize_reference(reference))
    if not include_minors:
        query = query.where(Report.is_minor.is_(False))
    if after_id:
        query = query.where(Report.id < after_id)
    return list(db.session.scalars(query.order_by(Report.id.desc()).limit(limit + 1)))


def update_report(*, report: Report, changes: dict[str, Any]) -> list[str]:
    """Apply corrections; returns the names of the fields that really changed."""
    changed = [name for name, value in changes.items() if getattr(report, name) != value]
    for name in changed:
        setattr(report, name, changes[name])
    if not has_name_or_description({f: getattr(report, f) for f in IDENTITY_FIELDS}):
        raise ValidationError(errors={"_schema": [NO_IDENTITY]})
    if errors := point_errors({"lat": report.lat, "lon": report.lon}):
        raise ValidationError(errors=errors)
    if changed:
        now = utcnow()
        report.updated_at = now
        report.source_date = now
        report.entry_date = now
        age_corrected = "is_minor" not in changes and bool({"age", "date_of_birth"} & set(changed))
        _derive(report, age_corrected=age_corrected)
    db.session.flush()
    return changed


def verify_report(*, report: Report, actor: str) -> bool:
    """A coordinator has checked a report that arrived unverified; returns whether it changed."""
    if report.verified:
        return False
    report.verified = True
    report.verified_by = actor
    report.verified_at = report.updated_at = utcnow()
    db.session.flush()
    return True


def add_note(*, report: Report, data: dict[str, Any], created_by: str) -> Note:
    """Add a PFIF-style note; the report takes the status of its latest note that has one."""
    _check_source_record_unique(Note, data.get("source_record_id"))
    now = utcnow()
    fields = dict(data)
    fields["source_date"] = fields.get("source_date") or now
    note = Note(**fields, report=report, entry_date=now, created_by=created_by)
    db.session.add(note)
    db.session.flush()
    _apply_latest_notes(report)
    # A new note is news for partners that sync by entry_date: the person comes round again.
    report.updated_at = report.entry_date = now
    db.session.flush()
    return note


def _apply_latest_notes(report: Report) -> None:
    """Status and last known location are changing state: the latest note that sets one wins."""
    notes = sorted(report.notes, key=lambda n: (n.source_date, n.id))
    for attribute in ("status", "last_known_location"):
        for note in reversed(notes):
            value = getattr(note, attribute)
            if value:
                setattr(report, attribute, value)
                break


def list_notes(*, report: Report, limit: int, after_id: str | None = None) -> list[Note]:
    """A report's notes, oldest first; returns limit + 1 rows for pagination."""
    # Ordered by source_date, as PFIF orders notes and as the report's detail shows them; an
    # imported note may be older than one entered before it. The cursor is the last note's id.
    query = select(Note).where(Note.report_id == report.id)
    if after_id:
        anchor = db.session.get(Note, after_id) if is_id(after_id) else None
        if anchor is None or anchor.report_id != report.id:
            raise ValidationError(errors={"cursor": ["Not a valid cursor."]})
        query = query.where(
            or_(
                Note.source_date > anchor.source_date,
                and_(Note.source_date == anchor.source_date, Note.id > anchor.id),
            )
        )
    return list(db.session.scalars(query.order_by(Note.source_date, Note.id).limit(limit + 1)))


def check_status(*, reference: str, phone: str) -> Report:
    """The report whose reference and reporter's phone both match, else not found.

    One answer for a wrong reference and a wrong phone, so neither can be probed alone.
    """
    normalized = normalize_reference(reference)
    report = (
        db.session.scalar(select(Report).where(Report.reference == normalized))
        if normalized
        else None
    )
    if (
        report is None
        or is_expired(report)
        or not phone
        or phone not in (report.author_phone, report.contact_phone)
    ):
        raise NotFound(
            "No report matches this reference and phone number.", code="report_not_found"
        )
    return report


# --- Expiry and deletion (PFIF data expiry) ---------------------------------------------------


def default_expiry(now: datetime) -> datetime:
    """When a new report expires unless someone says otherwise (REPORT_EXPIRY_DAYS)."""
    return now + timedelta(days=current_app.config["REPORT_EXPIRY_DAYS"])


def is_expired(report: Report, now: datetime | None = None) -> bool:
    """Past its expiry date (even before the sweep has marked it): gone for every reader."""
    if report.expired_at is not None:
        return True
    return report.expiry_date is not None and report.expiry_date <= (now or utcnow())


def _live(now: datetime) -> Any:
    return and_(
        Report.expired_at.is_(None), or_(Report.expiry_date.is_(None), Report.expiry_date > now)
    )


def extend_expiry(*, report: Report, expiry_date: datetime) -> bool:
    """A coordinator moves a report's expiry date (later, or sooner); returns whether it changed.

    A report that has expired but is not yet purged cannot come back this way: expiry has
    already been announced to partners as a deletion.
    """
    if report.expired_at is not None:
        raise Conflict("This report has expired.", code="report_expired")
    if expiry_date <= utcnow():
        raise ValidationError(
            errors={"expiry_date": ["Must be in the future; to delete, ask for deletion."]}
        )
    if report.expiry_date == expiry_date:
        return False
    now = utcnow()
    report.expiry_date = expiry_date
    # A new expiry date is a change partners must see (PFIF: source_date and entry_date move).
    report.source_date = report.entry_date = report.updated_at = now
    db.session.flush()
    return True


def expire_reports(*, report_ids: Iterable[str], expiry_date: datetime | None = None) -> list[str]:
    """Make reports inaccessible now (expired placeholders from here on); returns the ids that
    were live. Their matching index entries are the caller's to remove (the matching service)."""
    now = utcnow()
    expired: list[str] = []
    for chunk in chunked(list(dict.fromkeys(report_ids))):
        ids = list(
            db.session.scalars(
                select(Report.id).where(Report.id.in_(chunk), Report.expired_at.is_(None))
            )
        )
        if not ids:
            continue
        values: dict[str, Any] = {"expired_at": now, "entry_date": now, "updated_at": now}
        if expiry_date is not None:
            values["expiry_date"] = expiry_date
        # Core: the placeholder is a change of state, not a correction; no version bump needed.
        db.session.execute(
            update(Report).where(Report.id.in_(ids)).values(**values),
            execution_options={"synchronize_session": False},
        )
        expired.extend(ids)
    db.session.expire_all()
    return expired


def due_for_expiry(*, limit: int) -> list[str]:
    """Ids of reports past their expiry date that are not marked expired yet."""
    query = (
        select(Report.id)
        .where(Report.expired_at.is_(None), Report.expiry_date <= utcnow())
        .order_by(Report.expiry_date)
        .limit(limit)
    )
    return list(db.session.scalars(query))


def due_for_purge(*, limit: int) -> list[str]:
    """Ids of expired reports whose grace period (REPORT_PURGE_AFTER_DAYS) is over."""
    before = utcnow() - timedelta(days=current_app.config["REPORT_PURGE_AFTER_DAYS"])
    query = (
        select(Report.id)
        .where(Report.expired_at.is_not(None), Report.expired_at <= before)
        .order_by(Report.expired_at)
        .limit(limit)
    )
    return list(db.session.scalars(query))


def purge_reports(*, report_ids: Sequence[str]) -> int:
    """Delete expired reports for good: the report, its notes, its deletion requests and its
    match candidates (by the database's cascades), leaving a tombstone with ids and dates only.
    The matching index entries must be removed first (matching service)."""
    purged = 0
    now = utcnow()
    for chunk in chunked(list(report_ids)):
        rows = db.session.execute(
            select(
                Report.id,
                Report.kind,
                Report.source_record_id,
                Report.is_minor,
                Report.expiry_date,
                Report.expired_at,
            ).where(Report.id.in_(chunk), Report.expired_at.is_not(None))
        ).all()
        if not rows:
            continue
        ids = [row.id for row in rows]
        insert_rows(
            ReportTombstone.__table__,
            [
                {
                    "id": row.id,
                    "kind": row.kind,
                    "source_record_id": row.source_record_id,
                    "is_minor": row.is_minor,
                    # A deletion's placeholder says it expired then, not at a later date.
                    "expiry_date": min(row.expiry_date or row.expired_at, row.expired_at),
                    "entry_date": row.expired_at,
                    "purged_at": now,
                }
                for row in rows
            ],
        )
        # Notes first: a note of another report may link here (SET NULL by the database).
        db.session.execute(delete(Note).where(Note.report_id.in_(ids)))
        db.session.execute(delete(Report).where(Report.id.in_(ids)))
        purged += len(ids)
    db.session.expire_all()
    return purged


def due_reunifications(*, limit: int) -> list[str]:
    """Ids of live reports linked to another by a confirmed match (a note with a linked report)
    longer ago than REUNIFIED_CLOSE_AFTER_DAYS; none when that setting is 0."""
    days = current_app.config["REUNIFIED_CLOSE_AFTER_DAYS"]
    if days <= 0:
        return []
    before = utcnow() - timedelta(days=days)
    query = (
        select(Note.report_id)
        .join(Report, Report.id == Note.report_id)
        .where(Note.linked_report_id.is_not(None), Note.entry_date <= before, _live(utcnow()))
        .distinct()
        .limit(limit)
    )
    return list(db.session.scalars(query))


def _code_digest(request_id: str, code: str) -> str:
    return hashlib.sha256(f"{request_id}:{code}".encode()).hexdigest()


DELETION_CODE_ATTEMPTS = 5


def request_deletion(*, reference: str, phone: str) -> tuple[Report, DeletionRequest, str] | None:
    """A family asks to delete their report: the reference and the reporter's phone must match.

    Returns the report, the request and the code to text to that phone, or None when they do
    not match (the caller answers the same either way, so neither can be probed).
    """
    try:
        report = check_status(reference=reference, phone=phone)
    except NotFound:
        return None
    now = utcnow()
    code = f"{secrets.randbelow(10**6):06d}"
    request = DeletionRequest(
        id=new_id(),
        report_id=report.id,
        created_at=now,
        expires_at=now + timedelta(minutes=current_app.config["DELETION_CODE_TTL_MINUTES"]),
    )
    request.code_hash = _code_digest(request.id, code)
    db.session.add(request)
    db.session.flush()
    return report, request, code


def confirm_deletion(*, reference: str, code: str) -> Report | None:
    """The SMS code confirms the family's deletion request: the report expires now.

    Returns None for a wrong code, a wrong reference or no open request. A wrong code counts
    against every open request of the report (the caller commits that too); after five
    attempts they are void.
    """
    normalized = normalize_reference(reference)
    report = (
        db.session.scalar(select(Report).where(Report.reference == normalized))
        if normalized
        else None
    )
    if report is None or is_expired(report):
        return None
    now = utcnow()
    requests = list(
        db.session.scalars(
            select(DeletionRequest).where(
                DeletionRequest.report_id == report.id,
                DeletionRequest.confirmed_at.is_(None),
                DeletionRequest.expires_at > now,
                DeletionRequest.attempts < DELETION_CODE_ATTEMPTS,
            )
        )
    )
    for request in requests:
        if hmac.compare_digest(request.code_hash, _code_digest(request.id, code.strip())):
            request.confirmed_at = now
            expire_reports(report_ids=[report.id], expiry_date=now)
            db.session.flush()
            return report
    for request in requests:
        request.attempts += 1
    db.session.flush()
    return None


# --- Clones and notes from other repositories (PFIF) --------------------------------------------


def find_by_source_ids(*, source_ids: Sequence[str]) -> dict[str, Report]:
    """Reports (live or expired, not purged) by their source_record_id."""
    found: dict[str, Report] = {}
    for chunk in chunked(list(dict.fromkeys(source_ids))):
        for report in db.session.scalars(select(Report).where(Report.source_record_id.in_(chunk))):
            found[report.source_record_id] = report  # type: ignore[index]
    return found


def purged_source_ids(*, source_ids: Sequence[str]) -> set[str]:
    """Which of these source ids belong to reports purged here (they must not come back)."""
    return existing(ReportTombstone.__table__.c.source_record_id, list(source_ids))


def existing_note_sources(*, source_ids: Sequence[str]) -> set[str]:
    """Which of these note source ids are already stored."""
    return existing(Note.__table__.c.source_record_id, list(source_ids))


def update_clone(*, report: Report, data: dict[str, Any]) -> None:
    """Replace a clone's fields with a newer copy from its home repository (validated input).

    Fields the copy leaves out become empty; the copy's source_date is kept, entry_date is now.
    """
    now = utcnow()
    for name in _CLONE_FIELDS:
        if name in ("status", "last_known_location") and not data.get(name):
            continue  # changing state from notes: kept unless the copy says otherwise
        setattr(report, name, data.get(name, [] if name in _LIST_FIELDS else None))
    report.expiry_date = data.get("expiry_date") or report.expiry_date
    report.entry_date = report.updated_at = now
    _derive(report, age_corrected=True)
    db.session.flush()


_LIST_FIELDS = ("alternate_names", "profile_urls")
_CLONE_FIELDS = (
    "full_name",
    "given_name",
    "family_name",
    "alternate_names",
    "sex",
    "date_of_birth",
    "age",
    "home_street",
    "home_neighborhood",
    "home_city",
    "home_state",
    "home_postal_code",
    "home_country",
    "description",
    "photo_url",
    "profile_urls",
    "author_name",
    "author_email",
    "author_phone",
    "source_name",
    "source_url",
    "source_date",
    "status",
    "last_known_location",
    "lat",
    "lon",
)


def insert_notes(
    *, rows: Sequence[dict[str, Any]], created_by: str, refresh: Collection[str] = ()
) -> list[str]:
    """Insert many notes from validated input with report_id set (and linked_report_id when
    known), in one statement; then the reports in `refresh` take the state of their latest
    notes (a new import sets its reports' state from their notes before inserting them)."""
    if not rows:
        return []
    now = utcnow()
    full = [
        {
            **{column.key: None for column in Note.__table__.columns},
            **row,
            "id": new_id(),
            "created_by": created_by,
            "entry_date": now,
            "source_date": row.get("source_date") or now,
        }
        for row in rows
    ]
    insert_rows(Note.__table__, full)
    for report in get_reports(report_ids=list(refresh)):
        db.session.refresh(report, ["notes"])
        _apply_latest_notes(report)
        report.updated_at = report.entry_date = now
    db.session.flush()
    return [row["id"] for row in full]


def export_page(
    *,
    since: datetime | None,
    skip: int,
    limit: int,
    include_minors: bool,
    after: tuple[datetime, str] | None = None,
) -> list[Report | ReportTombstone]:
    """Reports (expired ones included, as placeholders) and tombstones of purged ones, by
    entry_date then id, from `since` on (or after the (entry_date, id) of the last one seen):
    PFIF's incremental sync order. Reports come with their notes."""
    wanted = skip + limit

    def ordered(model: Any) -> Any:
        query = select(model)
        if since is not None:
            query = query.where(model.entry_date >= since)
        if after is not None:
            query = query.where(
                or_(
                    model.entry_date > after[0],
                    and_(model.entry_date == after[0], model.id > after[1]),
                )
            )
        if not include_minors:
            query = query.where(model.is_minor.is_(False))
        return query.order_by(model.entry_date, model.id).limit(wanted)

    rows: list[Report | ReportTombstone] = [
        *db.session.scalars(ordered(Report).options(selectinload(Report.notes))),
        *db.session.scalars(ordered(ReportTombstone)),
    ]
    rows.sort(key=lambda row: (row.entry_date, row.id))
    return rows[skip:wanted]


# --- Roster import jobs ------------------------------------------------------------------------

MAX_JOB_ERRORS = 2000


def create_import_job(
    *,
    content: bytes,
    fmt: str,
    kind: str,
    mapping: dict[str, str | None],
    defaults: dict[str, Any],
    total_rows: int,
    created_by: str,
) -> ImportJob:
    """Keep an uploaded roster for its preview and import (the file is dropped once imported)."""
    now = utcnow()
    job = ImportJob(
        id=new_id(),
        format=fmt,
        kind=kind,
        status="previewed",
        content=content,
        mapping=mapping,
        defaults=defaults,
        total_rows=total_rows,
        processed_rows=0,
        loaded_rows=0,
        errors={},
        error_count=0,
        created_by=created_by,
        created_at=now,
        updated_at=now,
    )
    db.session.add(job)
    db.session.flush()
    return job


def get_import_job(*, job_id: str) -> ImportJob:
    """An import job by id."""
    job = db.session.get(ImportJob, job_id) if is_id(job_id) else None
    if job is None:
        raise NotFound("No import with this id.", code="import_not_found")
    return job


def set_import_mapping(*, job: ImportJob, mapping: dict[str, str | None], kind: str) -> None:
    """A coordinator corrects the column mapping (or the kind) before importing."""
    if job.status != "previewed":
        raise Conflict("This import has started already.", code="import_started")
    job.mapping = mapping
    job.kind = kind
    job.updated_at = utcnow()
    db.session.flush()


def queue_import_job(*, job: ImportJob) -> None:
    """Mark a previewed import as queued for the worker; twice is a 409."""
    if job.status != "previewed":
        raise Conflict("This import has started already.", code="import_started")
    job.status = "queued"
    job.updated_at = utcnow()
    db.session.flush()


def record_import_progress(
    *,
    job: ImportJob,
    processed: int,
    loaded: int,
    errors: dict[Any, Any],
    done: bool = False,
    failed: bool = False,
    error_count: int | None = None,
) -> None:
    """Progress of a running import: rows read and loaded, bad rows (by row number) with
    their field errors, the first MAX_JOB_ERRORS of them kept (or, for a PFIF document, its
    import summary, with error_count saying how many records were left out)."""
    now = utcnow()
    job.status = "failed" if failed else "done" if done else "running"
    job.processed_rows = processed
    job.loaded_rows = loaded
    job.error_count = len(errors) if error_count is None else error_count
    job.errors = {str(k): v for k, v in sorted(errors.items())[:MAX_JOB_ERRORS]}
    job.updated_at = now
    if done or failed:
        job.finished_at = now
        job.content = None  # personal data: not kept past the import
    db.session.flush()


# Missing people still being searched for (the dashboard's "people still missing").
OPEN_MISSING_STATUSES = ("information_sought", "believed_missing")


def report_counts() -> dict[str, int]:
    """People still missing, people found, and reports by SMS still to verify."""

    def count(*conditions: Any) -> int:
        return db.session.scalar(select(func.count(Report.id)).where(*conditions)) or 0

    return {
        "open_missing": count(Report.kind == "missing", Report.status.in_(OPEN_MISSING_STATUSES)),
        "found": count(Report.kind == "found"),
        "unverified": count(Report.verified.is_(False)),
    }


def search_reports(
    *,
    text: str | None,
    kind: str | None = None,
    status: str | None = None,
    limit: int,
    include_minors: bool = True,
) -> list[Report]:
    """Reports whose name or reference contains the text, newest first (a LIKE over the name
    columns: enough for a coordinator's search box, not for a million reports)."""
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


@dataclass(frozen=True)
class ShelterPlace:
    """Where found people are: a place, how many people (children among them), never who."""

    place: str
    people: int
    minors: int
    lat: float | None
    lon: float | None
    shelters: tuple[str, ...] = ()


def shelter_places(*, limit: int, include_minors: bool = True) -> list[ShelterPlace]:
    """The distinct last known places of live found reports (the same text, ignoring case and
    spaces at the ends), most people first, with the mean of their reports' coordinates when
    some have them, and the names of the shelter rosters imported for that place. Read-only."""
    key = func.lower(func.trim(Report.last_known_location))
    query = (
        select(
            func.min(Report.last_known_location),
            func.count(Report.id),
            func.sum(case((Report.is_minor.is_(True), 1), else_=0)),
            func.avg(Report.lat),
            func.avg(Report.lon),
        )
        .where(
            _live(utcnow()),
            Report.kind == "found",
            Report.last_known_location.is_not(None),
            func.trim(Report.last_known_location) != "",
        )
        .group_by(key)
        .order_by(func.count(Report.id).desc(), key)
        .limit(limit)
    )
    if not include_minors:
        query = query.where(Report.is_minor.is_(False))
    rosters: dict[str, set[str]] = {}
    for defaults in db.session.scalars(
        select(ImportJob.defaults).where(ImportJob.format.in_(("csv", "xlsx")))
    ):
        place, name = (
            (defaults or {}).get("last_known_location"),
            (defaults or {}).get("source_name"),
        )
        if place and name:
            rosters.setdefault(place.strip().lower(), set()).add(name)
    return [
        ShelterPlace(
            place=place.strip(),
            people=people,
            minors=int(minors or 0),
            lat=None if lat is None else round(float(lat), 4),
            lon=None if lon is None else round(float(lon), 4),
            shelters=tuple(sorted(rosters.get(place.strip().lower(), ()))),
        )
        for place, people, minors, lat, lon in db.session.execute(query)
    ]
