"""PFIF exchange: records from other repositories in, this repository's records out.

Import: persons become reports (their person_record_id kept as source_record_id), through the
bulk loader (app.reports.imports) and so through the API's own validation; notes become notes.
A record another repository owns is a clone: a copy with a newer source_date replaces it, an
older or equal one changes nothing, an expired placeholder expires it. Flushes, never commits.

Export: reports in PFIF 1.4, full or redacted by the caller's scope, in entry_date order for
incremental sync, expired ones as PFIF's placeholder.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import marshmallow as ma
from flask import current_app

from app.common.time import utcnow
from app.errors import ValidationError
from app.matching import service as matching_service
from app.pfif import format as pfif
from app.reports import imports
from app.reports import service as reports_service
from app.reports.models import Note, Report, ReportTombstone
from app.reports.schemas import NoteInSchema, ReportInSchema

# Fields a partner may fill in ways we cannot store (a phone we cannot read, a bad URL): they
# are dropped with a warning and the record still comes in. Any other field error rejects it.
_DROPPABLE = frozenset(
    {"author_phone", "author_email", "photo_url", "source_url", "profile_urls", "contact_phone"}
)
_NOTE_DROPPABLE = frozenset({"author_phone", "author_email", "photo_url"})
_FOUND = ("believed_alive", "is_note_author")
# How this repository marks the note that carries a report's own status and kind.
_REPORT_NOTE = re.compile(r"^report-note\.(missing|found)\.")
_COORDINATES = re.compile(r"^\s*(-?\d{1,2}(?:\.\d+)?)\s*,\s*(-?\d{1,3}(?:\.\d+)?)\s*$")
# Person fields that are one value the report keeps as it is (the others are read apart).
_PERSON_TEXT = tuple(
    name
    for name in pfif.PERSON_FIELDS
    if name
    not in (
        "person_record_id",
        "entry_date",
        "expiry_date",
        "source_date",
        "full_name",
        "alternate_names",
        "profile_urls",
    )
)
_MAX_ALTERNATES = 20
_note_schema = NoteInSchema()
_report_schema = ReportInSchema()


@dataclass
class ImportSummary:
    """What an import did, record by record where something went wrong."""

    version: str = ""
    persons_created: int = 0
    persons_updated: int = 0
    persons_unchanged: int = 0
    persons_expired: int = 0
    notes_created: int = 0
    notes_unchanged: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    # Reports created or changed: to be matched (in the background) once committed.
    report_ids: list[str] = field(default_factory=list)
    # Reports expired by placeholders: their index entries are already removed.
    expired_ids: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "persons": {
                "created": self.persons_created,
                "updated": self.persons_updated,
                "unchanged": self.persons_unchanged,
                "expired": self.persons_expired,
            },
            "notes": {"created": self.notes_created, "unchanged": self.notes_unchanged},
            "errors": self.errors,
            "warnings": self.warnings,
        }


def domain() -> str:
    """The domain of this repository's record ids."""
    return current_app.config["PFIF_DOMAIN"]


def person_record_id(report: Report | ReportTombstone) -> str:
    """A report's PFIF id: the id it came with, else one in this repository's domain."""
    return report.source_record_id or f"{domain()}/person.{report.id}"


def _local_report_id(record_id: str) -> str | None:
    """The report id inside one of this repository's own person ids, else None."""
    prefix = f"{domain()}/person."
    return record_id[len(prefix) :] if record_id.startswith(prefix) else None


def _error(record: str, position: int, record_id: str | None, errors: Any) -> dict[str, Any]:
    return {"record": record, "position": position, "id": record_id, "errors": errors}


# --- Import ---------------------------------------------------------------------------------


def parse_document(data: bytes) -> pfif.Document:
    """Parse a PFIF document, a malformed or foreign one being a 422 that names the problem."""
    try:
        return pfif.parse(data, now=utcnow())
    except pfif.PfifError as exc:
        raise ValidationError(
            str(exc), code="pfif_invalid", errors={"document": [str(exc)]}
        ) from None


def import_pfif(*, data: bytes, created_by: str, workers: int = 0) -> ImportSummary:
    """Import a PFIF 1.1-1.4 document (see the module's docstring). Flushes; the caller commits
    once, so a failure leaves nothing behind, and then matches summary.report_ids."""
    document = parse_document(data)
    summary = ImportSummary(version=document.version)
    for error in document.errors:
        summary.errors.append(_error(error.record, error.position, error.record_id, error.errors))
    for warning in document.warnings:
        messages = _dropped(warning.errors)
        _warn(summary, warning.record, warning.position, warning.record_id, messages)
    now = utcnow()
    persons = document.persons
    person_ids = [p["person_record_id"] for p in persons]
    known = reports_service.find_by_source_ids(source_ids=person_ids)
    purged = reports_service.purged_source_ids(source_ids=person_ids)
    positions = _positions(document)

    notes_by_person: dict[str, list[dict[str, Any]]] = defaultdict(list)
    valid_notes = _valid_notes(document, positions, summary)
    for note in valid_notes:
        notes_by_person[note["_person"]].append(note)

    new_rows: list[dict[str, Any]] = []
    new_persons: list[dict[str, str]] = []
    seen: set[str] = set()
    for person in persons:
        record_id = person["person_record_id"]
        position = positions["person", id(person)]
        if record_id in seen:
            summary.errors.append(
                _error("person", position, record_id, {"person_record_id": ["Repeated."]})
            )
            continue
        seen.add(record_id)
        if _local_report_id(record_id) is not None or record_id in purged:
            # Ours (only the home repository changes a record), or deleted here for good.
            summary.persons_unchanged += 1
            continue
        report = known.get(record_id)
        if pfif.is_placeholder(person, now):
            if report is not None and report.expired_at is None:
                summary.expired_ids.append(report.id)
                summary.persons_expired += 1
            else:
                summary.persons_unchanged += 1
            continue
        row = _report_row(person, notes_by_person.get(record_id, []))
        if report is None:
            new_rows.append(row)
            new_persons.append(person)
        elif report.expired_at is None and _newer(row, report):
            _update(report, row, person, position, summary)
        else:
            summary.persons_unchanged += 1

    if summary.expired_ids:
        matching_service.unindex_reports(report_ids=summary.expired_ids)
        reports_service.expire_reports(report_ids=summary.expired_ids)
    created = _load(new_rows, new_persons, positions, created_by, workers, summary)

    # Notes go to live reports only: an expired one (or one this document expired) is gone.
    ids_by_person = {
        record_id: report.id
        for record_id, report in known.items()
        if not reports_service.is_expired(report)
    }
    ids_by_person.update(created)
    _insert_notes(valid_notes, ids_by_person, set(created.values()), created_by, positions, summary)
    return summary


def _positions(document: pfif.Document) -> dict[tuple[str, int], int]:
    """Each kept record's position among the records of its type in the document (from 1)."""
    persons = zip(document.persons, document.person_positions, strict=True)
    notes = zip(document.notes, document.note_positions, strict=True)
    found = {("person", id(record)): position for record, position in persons}
    found.update((("note", id(record)), position) for record, position in notes)
    return found


def _valid_notes(
    document: pfif.Document, positions: dict[tuple[str, int], int], summary: ImportSummary
) -> list[dict[str, Any]]:
    """Notes through the API's note schema; a field we cannot store is dropped with a warning."""
    valid: list[dict[str, Any]] = []
    seen: set[str] = set()
    stored = reports_service.existing_note_sources(
        source_ids=[n["note_record_id"] for n in document.notes]
    )
    for note in document.notes:
        position = positions["note", id(note)]
        record_id = note["note_record_id"]
        if record_id in stored or record_id in seen:
            summary.notes_unchanged += 1
            continue
        seen.add(record_id)
        raw: dict[str, Any] = {
            "text": note.get("text"),
            "status": note.get("status") or None,
            "author_name": note.get("author_name"),
            "author_email": note.get("author_email") or None,
            "author_phone": note.get("author_phone") or None,
            "last_known_location": note.get("last_known_location") or None,
            "photo_url": note.get("photo_url") or None,
            "source_record_id": record_id,
            "source_date": note.get("source_date"),
        }
        if contact := note.get("author_made_contact"):
            raw["author_made_contact"] = contact == "true"
        loaded = _load_dropping(_note_schema, raw, _NOTE_DROPPABLE, "note", position, summary)
        if loaded is None:
            continue
        loaded["_person"] = note["person_record_id"]
        loaded["_linked"] = note.get("linked_person_record_id")
        loaded["_position"] = position
        valid.append(loaded)
    return valid


def _load_dropping(
    schema: ma.Schema,
    raw: dict[str, Any],
    droppable: frozenset[str],
    record: str,
    position: int,
    summary: ImportSummary,
) -> dict[str, Any] | None:
    record_id = raw.get("source_record_id")
    try:
        return schema.load(raw)
    except ma.ValidationError as error:
        messages = error.messages if isinstance(error.messages, dict) else {}
        if not messages or not set(messages) <= droppable:
            summary.errors.append(_error(record, position, record_id, messages))
            return None
    cleaned = {k: v for k, v in raw.items() if k not in messages}
    _warn(summary, record, position, record_id, _dropped(messages))
    try:
        return schema.load(cleaned)
    except ma.ValidationError as error:
        summary.errors.append(_error(record, position, record_id, error.messages))
        return None


def _warn(
    summary: ImportSummary, record: str, position: int, record_id: str | None, messages: Any
) -> None:
    """One warning per record, however many steps left fields out."""
    for warning in summary.warnings:
        if (warning["record"], warning["position"]) == (record, position):
            warning["errors"].update(messages)
            return
    summary.warnings.append(_error(record, position, record_id, dict(messages)))


def _dropped(messages: dict[str, Any]) -> dict[str, list[str]]:
    return {name: ["Left out: " + "; ".join(map(str, m))] for name, m in messages.items()}


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _report_row(person: dict[str, str], notes: list[dict[str, Any]]) -> dict[str, Any]:
    """A person as the API's report input, its kind and state read from its notes."""
    names = _lines(person.get("full_name"))
    alternates = list(dict.fromkeys([*names[1:], *_lines(person.get("alternate_names"))]))
    row: dict[str, Any] = {name: person[name] for name in _PERSON_TEXT if person.get(name)}
    row.update(
        kind=_kind(notes),
        source_record_id=person["person_record_id"],
        source_date=person.get("source_date") or person.get("entry_date") or None,
    )
    if names:
        row["full_name"] = names[0]
    if alternates:
        row["alternate_names"] = alternates[:_MAX_ALTERNATES]
    if urls := _lines(person.get("profile_urls")):
        row["profile_urls"] = urls
    if expiry := person.get("expiry_date"):
        row["expiry_date"] = expiry
    ordered = sorted(notes, key=_note_date)
    for attribute in ("status", "last_known_location"):
        for note in reversed(ordered):
            if note.get(attribute):
                row[attribute] = note[attribute]
                break
    if match := _COORDINATES.match(row.get("last_known_location") or ""):
        lat, lon = float(match.group(1)), float(match.group(2))
        if -90 <= lat <= 90 and -180 <= lon <= 180:
            # PFIF 1.4 writes a point as "lat, lon": the report keeps it as its coordinates.
            row["lat"], row["lon"] = lat, lon
            del row["last_known_location"]
    return row


def _note_date(note: dict[str, Any]) -> datetime:
    return note.get("source_date") or utcnow()


def _kind(notes: list[dict[str, Any]]) -> str:
    """missing or found: as a Reunite repository marked it, else from how the record began
    (its earliest note with a status: safe or written by the person means found)."""
    for note in notes:
        local = (note.get("source_record_id") or "").partition("/")[2]
        if match := _REPORT_NOTE.match(local):
            return match.group(1)
    dated = sorted((n for n in notes if n.get("status")), key=_note_date)
    if dated and dated[0]["status"] in _FOUND:
        return "found"
    return "missing"


def _newer(row: dict[str, Any], report: Report) -> bool:
    incoming = row.get("source_date")
    if not incoming:
        return False
    try:
        return pfif.parse_date(incoming) > report.source_date
    except ValueError:
        return False


def _update(
    report: Report,
    row: dict[str, Any],
    person: dict[str, str],
    position: int,
    summary: ImportSummary,
) -> None:
    """A newer copy of a clone replaces it; its kind stays."""
    raw = {**row, "kind": report.kind}
    loaded = _load_dropping(_report_schema, raw, _DROPPABLE, "person", position, summary)
    if loaded is None:
        return
    reports_service.update_clone(report=report, data=loaded)
    summary.persons_updated += 1
    summary.report_ids.append(report.id)


def _load(
    rows: list[dict[str, Any]],
    persons: list[dict[str, str]],
    positions: dict[tuple[str, int], int],
    created_by: str,
    workers: int,
    summary: ImportSummary,
) -> dict[str, str]:
    """New persons through the bulk loader (validated by the API's schema, inserted and indexed
    a batch at a time); a row refused only for fields we may drop is loaded again without
    them. Returns the new report id by person_record_id."""
    created: dict[str, str] = {}
    retry_rows: list[dict[str, Any]] = []
    retry_persons: list[dict[str, str]] = []
    result = _run_loader(rows, created_by, workers)
    for index, report_id in enumerate(result.ids):
        person = persons[index]
        record_id = person["person_record_id"]
        position = positions["person", id(person)]
        if report_id:
            created[record_id] = report_id
            continue
        messages = result.errors.get(index)
        if messages and set(messages) <= _DROPPABLE:
            retry_rows.append({k: v for k, v in rows[index].items() if k not in messages})
            retry_persons.append(person)
            _warn(summary, "person", position, record_id, _dropped(messages))
        elif messages:
            summary.errors.append(_error("person", position, record_id, messages))
        else:  # loaded meanwhile under the same id: nothing to do
            summary.persons_unchanged += 1
    if retry_rows:
        again = _run_loader(retry_rows, created_by, 0)
        for index, report_id in enumerate(again.ids):
            person = retry_persons[index]
            if report_id:
                created[person["person_record_id"]] = report_id
            else:
                summary.errors.append(
                    _error(
                        "person",
                        positions["person", id(person)],
                        person["person_record_id"],
                        again.errors.get(index, {}),
                    )
                )
    summary.persons_created += len(created)
    summary.report_ids.extend(created.values())
    return created


def _run_loader(rows: list[dict[str, Any]], created_by: str, workers: int) -> imports.LoadResult:
    # Batches small enough that every worker has one while the writer writes, large enough to
    # keep the bulk loader's per-batch savings.
    batch_size = max(2_000, min(imports.BATCH_SIZE, len(rows) // max(2 * workers, 1) + 1))
    result = imports.LoadResult()
    for result in imports.load_reports(  # noqa: B007
        rows, created_by=created_by, workers=workers, batch_size=batch_size
    ):
        pass
    return result


def _insert_notes(
    notes: list[dict[str, Any]],
    ids_by_person: dict[str, str],
    new_report_ids: set[str],
    created_by: str,
    positions: dict[tuple[str, int], int],
    summary: ImportSummary,
) -> None:
    rows: list[dict[str, Any]] = []
    for note in notes:
        person = note.pop("_person")
        linked = note.pop("_linked")
        position = note.pop("_position")
        report_id = ids_by_person.get(person) or _own_report(person)
        if report_id is None:
            summary.errors.append(
                _error(
                    "note",
                    position,
                    note["source_record_id"],
                    {"person_record_id": ["No such person here, nor in this document."]},
                )
            )
            continue
        if linked:
            note["linked_report_id"] = ids_by_person.get(linked) or _own_report(linked)
        rows.append({**note, "report_id": report_id})
    if not rows:
        return
    touched = {row["report_id"] for row in rows} - set(new_report_ids)
    reports_service.insert_notes(rows=rows, created_by=created_by, refresh=touched)
    summary.notes_created += len(rows)
    summary.report_ids.extend(sorted(touched))


def _own_report(record_id: str) -> str | None:
    """One of this repository's reports named by its PFIF id, if it is live."""
    local = _local_report_id(record_id)
    if local is None:
        return None
    found = reports_service.get_reports(report_ids=[local])
    return found[0].id if found else None


# --- Export ---------------------------------------------------------------------------------

_REDACTED_PERSON = ("author_email", "author_phone", "home_street", "home_postal_code")
_REDACTED_NOTE = ("author_email", "author_phone", "last_known_location")
_AGE_BIN = 5


def widen_age(age: str | None, age_min: int | None, age_max: int | None) -> str | None:
    """An age as a five-year range ("34" -> "30-34"; "33-36" -> "30-39"), as redacted views give
    it: enough to match on, not enough to single someone out with the other fields."""
    if age_min is None or age_max is None:
        return None
    low = age_min // _AGE_BIN * _AGE_BIN
    high = age_max // _AGE_BIN * _AGE_BIN + _AGE_BIN - 1
    return f"{low}-{high}"


def _placeholder(row: Report | ReportTombstone) -> dict[str, Any]:
    """PFIF's expired placeholder: the id, the expiry date, and when the placeholder was made
    (a report past its date that the hourly sweep has not marked yet keeps its place in the
    entry_date order until it does)."""
    made = (row.expired_at if isinstance(row, Report) else None) or row.entry_date
    expiry = row.expiry_date if row.expiry_date and row.expiry_date <= made else made
    if isinstance(row, Report) and row.expired_at is None:
        expiry = row.expiry_date  # already past: that is why it is a placeholder
    return {
        "person_record_id": person_record_id(row),
        "entry_date": made,
        "expiry_date": expiry,
        "source_date": made,
        "full_name": "",
    }


def _note_record(note: Note, person_id: str, full: bool) -> dict[str, Any]:
    record: dict[str, Any] = {
        "note_record_id": note.source_record_id or f"{domain()}/note.{note.id}",
        "person_record_id": person_id,
        "linked_person_record_id": (
            f"{domain()}/person.{note.linked_report_id}" if note.linked_report_id else None
        ),
        "entry_date": note.entry_date,
        # Required by PFIF; a note written here without one is the repository's own.
        "author_name": note.author_name or current_app.config["PFIF_SOURCE_NAME"],
        "author_email": note.author_email,
        "author_phone": note.author_phone,
        "source_date": note.source_date,
        "author_made_contact": note.author_made_contact,
        "status": note.status,
        "last_known_location": note.last_known_location,
        "text": note.text,
        "photo_url": note.photo_url,
    }
    if not full:
        for name in _REDACTED_NOTE:
            record[name] = None
    return record


def _report_note(report: Report, person_id: str, full: bool) -> dict[str, Any]:
    """The note that carries the report's own state (its kind, status, last known place), which
    PFIF keeps in notes; its id tells a Reunite repository the kind."""
    location = report.last_known_location
    if location is None and report.lat is not None and report.lon is not None:
        location = f"{report.lat}, {report.lon}"
    words = "Missing person report." if report.kind == "missing" else "Found person report."
    return {
        "note_record_id": f"{domain()}/report-note.{report.kind}.{report.id}",
        "person_record_id": person_id,
        "entry_date": report.entry_date,
        "author_name": report.author_name
        or report.source_name
        or current_app.config["PFIF_SOURCE_NAME"],
        "author_email": report.author_email if full else None,
        "author_phone": report.author_phone if full else None,
        "source_date": report.source_date,
        "status": report.status,
        "last_known_location": location if full else None,
        "text": words,
    }


def person_record(report: Report, *, full: bool) -> dict[str, Any]:
    """A live report as a PFIF 1.4 person with its notes nested (the report's own first)."""
    person_id = person_record_id(report)
    names = report.display_name
    record: dict[str, Any] = {
        "person_record_id": person_id,
        "entry_date": report.entry_date,
        "expiry_date": report.expiry_date,
        "author_name": report.author_name,
        "author_email": report.author_email,
        "author_phone": report.author_phone,
        "source_name": report.source_name or current_app.config["PFIF_SOURCE_NAME"],
        "source_date": report.source_date,
        "source_url": report.source_url,
        # Required: a report without a name (an unconscious patient) has its description.
        "full_name": report.full_name or names or "",
        "given_name": report.given_name,
        "family_name": report.family_name,
        "alternate_names": report.alternate_names,
        "description": report.description,
        "sex": report.sex,
        "date_of_birth": report.date_of_birth,
        "age": report.age,
        "home_street": report.home_street,
        "home_neighborhood": report.home_neighborhood,
        "home_city": report.home_city,
        "home_state": report.home_state,
        "home_postal_code": report.home_postal_code,
        "home_country": report.home_country,
        "photo_url": report.photo_url,
        "profile_urls": report.profile_urls,
    }
    if not full:
        for name in _REDACTED_PERSON:
            record[name] = None
        record["date_of_birth"] = None
        record["age"] = widen_age(report.age, report.age_min, report.age_max)
    notes = [_report_note(report, person_id, full)]
    notes.extend(_note_record(note, person_id, full) for note in report.notes)
    record["notes"] = notes
    return record


def export_records(
    *,
    since: datetime | None,
    skip: int,
    limit: int,
    full: bool,
    after: tuple[datetime, str] | None = None,
) -> tuple[list[dict[str, Any]], list[str], tuple[datetime, str] | None]:
    """A page of PFIF person records for partners (minors never), in entry_date order; the ids
    of the live reports whose personal data it carries (for the audit log); and the position of
    its last record, to continue from (`after`)."""
    now = utcnow()
    rows = reports_service.export_page(
        since=since, skip=skip, limit=limit, include_minors=False, after=after
    )
    last = (rows[-1].entry_date, rows[-1].id) if rows else None
    records: list[dict[str, Any]] = []
    read: list[str] = []
    for row in rows:
        if isinstance(row, ReportTombstone) or reports_service.is_expired(row, now):
            records.append(_placeholder(row))
            continue
        records.append(person_record(row, full=full))
        read.append(row.id)
    return records, read, last


def export_document(records: Iterable[dict[str, Any]]) -> bytes:
    """PFIF 1.4 bytes for records from export_records()."""
    return pfif.write(records)
