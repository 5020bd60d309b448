"""PFIF 1.1-1.4 documents: a safe parser and a PFIF 1.4 writer. Pure: no Flask, no database.

Reading: every version's namespace, fields renamed across versions brought to their 1.4 names,
persons and notes nested or at the top level. The XML is parsed with defusedxml (no DTD, no
entities, no external references: no billion laughs, no file or network reads), a record at a
time, so a large file never sits in memory as one tree. A document that is not well-formed, or
not PFIF, is a `PfifError` and yields nothing; a record with a missing or malformed field is a
`RecordError` while the other records are kept.

Writing: PFIF 1.4, fields in the specification's order, multi-valued fields one per line.
`validate_person` and `validate_note` check a record against the 1.4 rules field by field
(the tests run every export through them).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from xml.etree.ElementTree import Element, ParseError
from xml.sax.saxutils import escape

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

NAMESPACES = {
    "http://zesty.ca/pfif/1.1": "1.1",
    "http://zesty.ca/pfif/1.2": "1.2",
    "http://zesty.ca/pfif/1.3": "1.3",
    "http://zesty.ca/pfif/1.4": "1.4",
}
NAMESPACE_14 = "http://zesty.ca/pfif/1.4"
MIME_TYPE = "application/pfif+xml"

# The 1.4 fields, in the specification's order (the writer keeps it).
PERSON_FIELDS = (
    "person_record_id",
    "entry_date",
    "expiry_date",
    "author_name",
    "author_email",
    "author_phone",
    "source_name",
    "source_date",
    "source_url",
    "full_name",
    "given_name",
    "family_name",
    "alternate_names",
    "description",
    "sex",
    "date_of_birth",
    "age",
    "home_street",
    "home_neighborhood",
    "home_city",
    "home_state",
    "home_postal_code",
    "home_country",
    "photo_url",
    "profile_urls",
)
NOTE_FIELDS = (
    "note_record_id",
    "person_record_id",
    "linked_person_record_id",
    "entry_date",
    "author_name",
    "author_email",
    "author_phone",
    "source_date",
    "author_made_contact",
    "status",
    "email_of_found_person",
    "phone_of_found_person",
    "last_known_location",
    "text",
    "photo_url",
)
MULTILINE = frozenset({"full_name", "alternate_names", "profile_urls", "description", "text"})
# Older names -> 1.4 names.
RENAMES = {
    "home_zip": "home_postal_code",
    "first_name": "given_name",
    "last_name": "family_name",
    "other": "description",
    "found": "author_made_contact",
}
REQUIRED = {
    "1.1": ("person_record_id", "given_name", "family_name"),
    "1.2": ("person_record_id", "given_name", "family_name"),
    "1.3": ("person_record_id", "source_date", "full_name"),
    "1.4": ("person_record_id", "source_date", "full_name"),
}
NOTE_REQUIRED = ("note_record_id", "author_name", "source_date", "text")
STATUSES = (
    "information_sought",
    "is_note_author",
    "believed_alive",
    "believed_missing",
    "believed_dead",
)
SEXES = ("female", "male", "other")

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z$")
_DOB = re.compile(r"^\d{4}(?:-\d{2}(?:-\d{2})?)?$")
_AGE = re.compile(r"^\d+(?:-\d+)?$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_EMAIL = re.compile(r"^.+@.+$")
_PHONE = re.compile(r"^[-+()\d ]+$")
_RECORD_ID = re.compile(r"^[\x21-\x7e]+/[\x21-\x7e]+$")
# Characters XML 1.0 cannot carry at all; dropped on output.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class PfifError(ValueError):
    """The document as a whole cannot be read: not XML, not PFIF, or a forbidden construct."""


@dataclass
class RecordError:
    """Why one record was left out: its type, its position among records of that type in the
    document (from 1), its id if it had one, and the field errors."""

    record: str  # "person" | "note"
    position: int
    record_id: str | None
    errors: dict[str, list[str]]


@dataclass
class Document:
    """A parsed PFIF document: persons and notes as {1.4 field: text}, and the records left out.

    Nested notes are in `notes` with their person's id filled in.
    """

    version: str
    persons: list[dict[str, str]] = field(default_factory=list)
    notes: list[dict[str, str]] = field(default_factory=list)
    errors: list[RecordError] = field(default_factory=list)
    # Contact fields of kept records that were malformed and left out (the record still counts).
    warnings: list[RecordError] = field(default_factory=list)
    # Each kept record's position among the records of its type in the document (from 1).
    person_positions: list[int] = field(default_factory=list)
    note_positions: list[int] = field(default_factory=list)


def parse_date(text: str) -> datetime:
    """A PFIF UTC datetime (yyyy-mm-ddThh:mm:ss[.fff]Z) as an aware datetime."""
    if not _DATE.match(text):
        raise ValueError("not a PFIF date")
    return datetime.fromisoformat(text[:-1]).replace(tzinfo=UTC)


def format_date(value: datetime) -> str:
    """An aware datetime as PFIF writes it: UTC, whole seconds, Z."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _local(tag: str) -> tuple[str | None, str]:
    if tag.startswith("{"):
        namespace, _, name = tag[1:].partition("}")
        return namespace, name
    return None, tag


def parse(data: bytes | str, *, now: datetime | None = None) -> Document:
    """Read a PFIF 1.1-1.4 document. Raises PfifError when the document as a whole is unusable.

    `now` decides which persons are expired placeholders (deletions): those whose expiry_date
    has passed need only their id and expiry_date.
    """
    now = now or datetime.now(UTC)
    source = io.BytesIO(data.encode() if isinstance(data, str) else data)
    document: Document | None = None
    namespace: str | None = None
    depth = 0
    counts = {"person": 0, "note": 0}
    root: Element | None = None
    try:
        for event, element in iterparse(
            source, events=("start", "end"), forbid_dtd=True, forbid_entities=True
        ):
            if event == "start":
                depth += 1
                if depth == 1:
                    namespace, name = _local(element.tag)
                    if name != "pfif" or namespace not in NAMESPACES:
                        raise PfifError(
                            "Not a PFIF document: the root must be pfif in the namespace "
                            "http://zesty.ca/pfif/1.1 to 1.4."
                        )
                    document = Document(version=NAMESPACES[namespace])
                    root = element
                continue
            depth -= 1
            if depth != 1 or document is None or root is None:
                continue
            element_ns, name = _local(element.tag)
            if element_ns == namespace and name in counts:
                counts[name] += 1
                if name == "person":
                    _read_person(element, namespace, document, counts, now)
                else:
                    _read_note(element, namespace, document, counts["note"], None)
            # Records are handled as they end: let go of them.
            root.clear()
    except ParseError as exc:
        line, column = getattr(exc, "position", (0, 0))
        raise PfifError(f"Not well-formed XML (line {line}, column {column}).") from None
    except DefusedXmlException:
        raise PfifError("DTDs and entities are not allowed in a PFIF document.") from None
    if document is None:
        raise PfifError("Empty document.")
    return document


def _fields(
    element: Element, namespace: str, skip: str | None = None
) -> tuple[dict[str, str], dict[str, list[str]]]:
    """A record's children as {1.4 name: text}; a repeated field is an error."""
    values: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    prefix = f"{{{namespace}}}"
    cut = len(prefix)
    for child in element:
        tag = child.tag
        if not isinstance(tag, str) or not tag.startswith(prefix):
            continue  # other namespaces may extend PFIF
        name = tag[cut:]
        if name == skip:
            continue
        name = RENAMES.get(name, name)
        text = child.text or ""
        if len(child):
            errors.setdefault(name, []).append("Must hold text, not elements.")
        if name in values:
            errors.setdefault(name, []).append("Appears more than once.")
        values[name] = text if name in MULTILINE else text.strip()
    return values, errors


def _read_person(
    element: Element,
    namespace: str,
    document: Document,
    counts: dict[str, int],
    now: datetime,
) -> None:
    values, errors = _fields(element, namespace, skip="note")
    version = document.version
    if version in ("1.1", "1.2") and not values.get("full_name"):
        given, family = values.get("given_name", ""), values.get("family_name", "")
        if given or family:
            values["full_name"] = " ".join(p for p in (given, family) if p)
    values = {k: v for k, v in values.items() if k in PERSON_FIELDS}
    if "home_country" in values:
        values["home_country"] = values["home_country"].upper()
    errors.update(validate_person(values, version=version, now=now))
    record_id = values.get("person_record_id") or None
    _leave_out(values, errors, document, "person", counts["person"], record_id)
    if errors:
        document.errors.append(RecordError("person", counts["person"], record_id, errors))
    else:
        document.persons.append(values)
        document.person_positions.append(counts["person"])
    for child in element:
        child_ns, name = _local(child.tag)
        if child_ns == namespace and name == "note":
            counts["note"] += 1
            # A nested note of a rejected person has no person to attach to.
            _read_note(child, namespace, document, counts["note"], record_id, errors != {})


def _read_note(
    element: Element,
    namespace: str,
    document: Document,
    position: int,
    person_id: str | None,
    person_rejected: bool = False,
) -> None:
    values, errors = _fields(element, namespace)
    values = {k: v for k, v in values.items() if k in NOTE_FIELDS}
    if person_id is not None:
        stated = values.get("person_record_id")
        if stated and stated != person_id:
            errors.setdefault("person_record_id", []).append(
                "Differs from the id of the person the note is nested in."
            )
        values["person_record_id"] = person_id
    errors.update(validate_note(values))
    if person_rejected and not errors:
        errors["person_record_id"] = ["The person this note is nested in was left out."]
    record_id = values.get("note_record_id") or None
    _leave_out(values, errors, document, "note", position, record_id)
    if errors:
        document.errors.append(RecordError("note", position, record_id, errors))
    else:
        document.notes.append(values)
        document.note_positions.append(position)


# Contact fields partners fill in free form: a malformed one is left out, not the record.
LENIENT = frozenset(
    {"author_email", "author_phone", "email_of_found_person", "phone_of_found_person"}
)


def _leave_out(
    values: dict[str, str],
    errors: dict[str, list[str]],
    document: Document,
    record: str,
    position: int,
    record_id: str | None,
) -> None:
    """Drop malformed contact fields from a record that is otherwise sound, with a warning."""
    lenient = {name: errors[name] for name in errors if name in LENIENT}
    if not lenient or len(lenient) < len(errors):
        return
    for name in lenient:
        del errors[name]
        values.pop(name, None)
    document.warnings.append(RecordError(record, position, record_id, lenient))


def _check(errors: dict[str, list[str]], name: str, ok: bool, message: str) -> None:
    if not ok:
        errors.setdefault(name, []).append(message)


def is_placeholder(values: Mapping[str, str], now: datetime) -> bool:
    """A person whose expiry_date has passed: PFIF's expired placeholder, a deletion."""
    expiry = values.get("expiry_date")
    if not expiry or not _DATE.match(expiry):
        return False
    return parse_date(expiry) <= now


def validate_person(
    values: Mapping[str, str], *, version: str = "1.4", now: datetime | None = None
) -> dict[str, list[str]]:
    """Field errors of a person record (1.4 field names) by the rules of its version."""
    errors: dict[str, list[str]] = {}
    placeholder = now is not None and is_placeholder(values, now)
    required = ("person_record_id", "expiry_date") if placeholder else REQUIRED[version]
    for name in required:
        present = bool(values.get(name, "").strip())
        if name == "full_name" and not present and "full_name" in values:
            # Present but empty: a person nobody could name (an unconscious patient) is still
            # a record when it describes them.
            present = bool(values.get("description", "").strip())
        _check(errors, name, present, "Required.")
    _common(errors, values, "person_record_id")
    if sex := values.get("sex"):
        _check(errors, "sex", sex in SEXES, "Use female, male or other.")
    if dob := values.get("date_of_birth"):
        _check(errors, "date_of_birth", bool(_DOB.match(dob)), "Use yyyy, yyyy-mm or yyyy-mm-dd.")
    if age := values.get("age"):
        ok = bool(_AGE.match(age))
        if ok and "-" in age:
            low, high = age.split("-")
            ok = int(low) <= int(high)
        _check(errors, "age", ok, 'Use a number such as "34" or a range such as "30-40".')
    if country := values.get("home_country"):
        _check(errors, "home_country", bool(_COUNTRY.match(country)), "Use ISO 3166-1 alpha-2.")
    return errors


def validate_note(values: Mapping[str, str]) -> dict[str, list[str]]:
    """Field errors of a note record (1.4 field names); a note must name its person."""
    errors: dict[str, list[str]] = {}
    for name in (*NOTE_REQUIRED, "person_record_id"):
        # Not stripped: a note's text may be all line breaks, but not absent.
        _check(errors, name, bool(values.get(name)), "Required.")
    _common(errors, values, "note_record_id")
    for name in ("person_record_id", "linked_person_record_id"):
        if value := values.get(name):
            _check(errors, name, bool(_RECORD_ID.match(value)), "Use domain/local-id.")
    if status := values.get("status"):
        _check(errors, "status", status in STATUSES, f"Use one of {', '.join(STATUSES)}.")
    if contact := values.get("author_made_contact"):
        _check(errors, "author_made_contact", contact in ("true", "false"), "Use true or false.")
    for name in ("email_of_found_person",):
        if value := values.get(name):
            _check(errors, name, bool(_EMAIL.match(value)), "Not an e-mail address.")
    if value := values.get("phone_of_found_person"):
        _check(errors, "phone_of_found_person", bool(_PHONE.match(value)), "Not a phone number.")
    return errors


def _common(errors: dict[str, list[str]], values: Mapping[str, str], id_field: str) -> None:
    if record_id := values.get(id_field):
        _check(errors, id_field, bool(_RECORD_ID.match(record_id)), "Use domain/local-id.")
    for name in ("entry_date", "expiry_date", "source_date"):
        if value := values.get(name):
            _check(errors, name, bool(_DATE.match(value)), "Use yyyy-mm-ddThh:mm:ssZ (UTC).")
    if value := values.get("author_email"):
        _check(errors, "author_email", bool(_EMAIL.match(value)), "Not an e-mail address.")
    if value := values.get("author_phone"):
        _check(errors, "author_phone", bool(_PHONE.match(value)), "Not a phone number.")


# --- Writing ------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if isinstance(value, list | tuple):
        value = "\n".join(str(v) for v in value)
    elif isinstance(value, datetime):
        value = format_date(value)
    elif isinstance(value, bool):
        value = "true" if value else "false"
    return escape(_NOT_XML.sub("", str(value)))


def _record(tag: str, order: tuple[str, ...], values: Mapping[str, Any], indent: str) -> list[str]:
    lines = [f"{indent}<pfif:{tag}>"]
    for name in order:
        value = values.get(name)
        if value is None or (isinstance(value, list | tuple) and not value):
            continue
        lines.append(f"{indent}  <pfif:{name}>{_text(value)}</pfif:{name}>")
    return lines


def iter_document(
    persons: Iterable[Mapping[str, Any]], notes: Iterable[Mapping[str, Any]] = ()
) -> Iterator[str]:
    """PFIF 1.4 text, a record at a time. A person's nested notes are in its "notes" key.

    None and empty lists are left out; "" is written as an empty element (the expired
    placeholder's full_name); lists are written one value per line; datetimes in UTC.
    """
    yield '<?xml version="1.0" encoding="UTF-8"?>\n'
    yield f'<pfif:pfif xmlns:pfif="{NAMESPACE_14}">\n'
    for person in persons:
        lines = _record("person", PERSON_FIELDS, person, "  ")
        for note in person.get("notes") or ():
            lines.extend(_record("note", NOTE_FIELDS, note, "    "))
            lines.append("    </pfif:note>")
        lines.append("  </pfif:person>")
        yield "\n".join(lines) + "\n"
    for note in notes:
        lines = _record("note", NOTE_FIELDS, note, "  ")
        lines.append("  </pfif:note>")
        yield "\n".join(lines) + "\n"
    yield "</pfif:pfif>\n"


def write(persons: Iterable[Mapping[str, Any]], notes: Iterable[Mapping[str, Any]] = ()) -> bytes:
    """A whole PFIF 1.4 document as UTF-8 bytes (see iter_document)."""
    return "".join(iter_document(persons, notes)).encode("utf-8")
