"""Submitting, reading, correcting and following up person reports. Flushes, never commits."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import and_, func, or_, select

from app.common.bulk import BoundRows, bind_rows, existing, insert_bound
from app.common.fields import point_errors
from app.common.ids import is_id, new_id, new_reference, normalize_reference
from app.common.time import utcnow
from app.errors import Conflict, NotFound, ValidationError
from app.extensions import db
from app.reports.models import Note, Report
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
    prepared: list[dict[str, Any]] = []
    for row in rows:
        fields = {**_IMPORT_DEFAULTS, **row}
        fields["status"] = fields["status"] or _DEFAULT_STATUS[fields["kind"]]
        fields["source_date"] = fields["source_date"] or now
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
    if column.key not in ("id", "reference", "created_by", "created_at", "updated_at", "version")
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
    if report is None or (report.is_minor and not include_minors):
        raise NotFound("No report with this id.", code="report_not_found")
    return report


def get_reports(*, report_ids: Collection[str]) -> list[Report]:
    """The reports with these ids that exist, in no particular order (for bulk jobs)."""
    ids = [report_id for report_id in dict.fromkeys(report_ids) if is_id(report_id)]
    if not ids:
        return []
    return list(db.session.scalars(select(Report).where(Report.id.in_(ids))))


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
    query = select(Report)
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
    report.updated_at = now
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
    if report is None or not phone or phone not in (report.author_phone, report.contact_phone):
        raise NotFound(
            "No report matches this reference and phone number.", code="report_not_found"
        )
    return report
