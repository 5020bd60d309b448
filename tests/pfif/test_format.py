"""The PFIF parser and writer (pure: no app, no database)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.pfif import format as pfif

# The shared PFIF 1.4 example (../shared/pfif/example-1.4.xml), kept here so CI has it.
EXAMPLE = Path(__file__).resolve().parent / "data" / "example-1.4.xml"
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def doc(body: str, version: str = "1.4") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<pfif:pfif xmlns:pfif="http://zesty.ca/pfif/{version}">{body}</pfif:pfif>'
    ).encode()


def person(**fields: str) -> str:
    inner = "".join(f"<pfif:{k}>{v}</pfif:{k}>" for k, v in fields.items())
    return f"<pfif:person>{inner}</pfif:person>"


def note(**fields: str) -> str:
    inner = "".join(f"<pfif:{k}>{v}</pfif:{k}>" for k, v in fields.items())
    return f"<pfif:note>{inner}</pfif:note>"


GOOD = dict(
    person_record_id="partner.example.net/p.1",
    source_date="2026-11-20T10:00:00Z",
    full_name="Nguyễn Thị Hoa",
)
NOTE = dict(
    note_record_id="partner.example.net/n.1",
    person_record_id="partner.example.net/p.1",
    author_name="Trần Văn Minh",
    source_date="2026-11-20T11:00:00Z",
    text="Seen at the school shelter.",
)


def test_the_specification_example_reads_whole():
    document = pfif.parse(EXAMPLE.read_bytes(), now=NOW)
    assert document.version == "1.4"
    assert document.errors == []
    assert [p["person_record_id"] for p in document.persons] == [
        "reunite.example.org/person.1001",
        "partner.example.net/p/77",
    ]
    first = document.persons[0]
    assert first["alternate_names"].splitlines() == ["Tony Lopez", "Jose Lopes"]
    assert first["family_name"] == "Lopez" and first["home_postal_code"] == "00730"
    # The nested note has its person; the top-level one named its own.
    assert [(n["note_record_id"], n["person_record_id"]) for n in document.notes] == [
        ("reunite.example.org/note.3001", "reunite.example.org/person.1001"),
        ("partner.example.net/n/501", "partner.example.net/p/77"),
    ]
    assert document.notes[1]["author_made_contact"] == "true"


def test_a_nested_note_may_leave_out_its_person_id():
    nested = {k: v for k, v in NOTE.items() if k != "person_record_id"}
    document = pfif.parse(
        doc(person(**GOOD)[: -len("</pfif:person>")] + note(**nested) + "</pfif:person>"), now=NOW
    )
    assert document.errors == []
    assert document.notes[0]["person_record_id"] == GOOD["person_record_id"]


def test_a_nested_note_naming_another_person_is_refused():
    other = {**NOTE, "person_record_id": "partner.example.net/p.2"}
    body = person(**GOOD)[: -len("</pfif:person>")] + note(**other) + "</pfif:person>"
    document = pfif.parse(doc(body), now=NOW)
    assert len(document.persons) == 1 and document.notes == []
    [error] = document.errors
    assert (error.record, error.position, error.record_id) == ("note", 1, "partner.example.net/n.1")
    assert "person_record_id" in error.errors


def test_older_versions_are_read_with_their_fields_renamed():
    old = dict(
        person_record_id="old.example.org/7",
        first_name="Ayşe",
        last_name="Yılmaz",
        home_zip="34000",
        other="Red scarf",
        home_country="tr",
    )
    old_note = note(
        note_record_id="old.example.org/n7",
        person_record_id="old.example.org/7",
        author_name="Mehmet",
        source_date="2011-03-12T00:00:00Z",
        found="true",
        text="Safe",
    )
    for version in ("1.1", "1.2"):
        document = pfif.parse(doc(person(**old) + old_note, version), now=NOW)
        assert document.version == version and document.errors == []
        [p] = document.persons
        assert p["given_name"] == "Ayşe" and p["family_name"] == "Yılmaz"
        assert p["full_name"] == "Ayşe Yılmaz"  # 1.1/1.2 had no full_name
        assert p["home_postal_code"] == "34000" and p["description"] == "Red scarf"
        assert p["home_country"] == "TR"
        assert document.notes[0]["author_made_contact"] == "true"
    # 1.3 requires full_name and source_date: the same person is refused, naming them.
    document = pfif.parse(doc(person(**old), "1.3"), now=NOW)
    assert document.persons == []
    assert set(document.errors[0].errors) == {"source_date", "full_name"}


def test_bad_records_are_listed_and_the_good_ones_kept():
    body = (
        person(**GOOD)
        + person(person_record_id="partner.example.net/p.2", full_name="No date")
        + person(**{**GOOD, "person_record_id": "partner.example.net/p.3", "sex": "unknown"})
        + person(**{**GOOD, "person_record_id": "no-domain"})
        + person(**{**GOOD, "person_record_id": "partner.example.net/p.5", "age": "40-30"})
        + note(**NOTE)
        + note(**{k: v for k, v in NOTE.items() if k != "person_record_id"})
        + note(**{**NOTE, "note_record_id": "partner.example.net/n.3", "status": "fine"})
    )
    document = pfif.parse(doc(body), now=NOW)
    assert [p["person_record_id"] for p in document.persons] == ["partner.example.net/p.1"]
    assert document.person_positions == [1]
    assert [n["note_record_id"] for n in document.notes] == ["partner.example.net/n.1"]
    assert [(e.record, e.position, list(e.errors)) for e in document.errors] == [
        ("person", 2, ["source_date"]),
        ("person", 3, ["sex"]),
        ("person", 4, ["person_record_id"]),
        ("person", 5, ["age"]),
        ("note", 2, ["person_record_id"]),
        ("note", 3, ["status"]),
    ]


def test_a_repeated_field_is_an_error():
    body = person(**GOOD)[: -len("</pfif:person>")] + "<pfif:sex>male</pfif:sex>" * 2
    document = pfif.parse(doc(body + "</pfif:person>"), now=NOW)
    assert document.persons == []
    assert document.errors[0].errors == {"sex": ["Appears more than once."]}


def test_an_expired_placeholder_needs_only_its_id_and_expiry():
    body = person(
        person_record_id="partner.example.net/p.9",
        expiry_date="2026-11-01T00:00:00Z",
        source_date="2026-11-01T00:00:00Z",
        full_name="",
    )
    document = pfif.parse(doc(body), now=NOW)
    assert document.errors == []
    assert pfif.is_placeholder(document.persons[0], NOW)
    # Not expired yet: then it needs its name like any person.
    later = pfif.parse(
        doc(body.replace("2026-11-01T00:00:00Z", "2027-01-01T00:00:00Z", 1)), now=NOW
    )
    assert list(later.errors[0].errors) == ["full_name"]


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "well-formed"),
        (b"<pfif:pfif xmlns:pfif='http://zesty.ca/pfif/1.4'><pfif:person>", "well-formed"),
        (b"not xml at all", "well-formed"),
        (b"<pfif xmlns='http://example.org/other'/>", "Not a PFIF document"),
        (b"<pfif/>", "Not a PFIF document"),
        (b"<pfif:person xmlns:pfif='http://zesty.ca/pfif/1.4'/>", "Not a PFIF document"),
    ],
)
def test_a_document_that_is_not_pfif_yields_nothing(data, message):
    with pytest.raises(pfif.PfifError, match=message):
        pfif.parse(data, now=NOW)


def test_entities_and_dtds_are_refused():
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        b'<pfif:pfif xmlns:pfif="http://zesty.ca/pfif/1.4">&lol2;</pfif:pfif>'
    )
    external = (
        b'<?xml version="1.0"?><!DOCTYPE p [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<pfif:pfif xmlns:pfif="http://zesty.ca/pfif/1.4">&x;</pfif:pfif>'
    )
    for data in (laughs, external):
        with pytest.raises(pfif.PfifError, match="DTDs and entities"):
            pfif.parse(data, now=NOW)


def test_written_documents_are_valid_and_read_back_the_same():
    records = [
        {
            "person_record_id": "reunite.invalid/person.01ABC",
            "entry_date": datetime(2026, 11, 21, 10, 0, 0, 123456, tzinfo=UTC),
            "expiry_date": datetime(2027, 2, 19, 10, 0, tzinfo=UTC),
            "source_date": datetime(2026, 11, 21, 10, 0, tzinfo=UTC),
            "full_name": "محمد الحسن <&> 👵",
            "alternate_names": ["Abu Ali", "Mohammed al-Hassan"],
            "profile_urls": [],
            "sex": "male",
            "age": "60-64",
            "home_country": "SY",
            "description": "Line one\nline two\x00 with a NUL",
            "notes": [
                {
                    "note_record_id": "reunite.invalid/note.01DEF",
                    "person_record_id": "reunite.invalid/person.01ABC",
                    "author_name": "Aid desk",
                    "source_date": datetime(2026, 11, 21, 11, 0, tzinfo=UTC),
                    "author_made_contact": False,
                    "status": "believed_alive",
                    "text": "Safe",
                }
            ],
        }
    ]
    data = pfif.write(records)
    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    document = pfif.parse(data, now=NOW)
    assert document.errors == []
    [p] = document.persons
    assert p["full_name"] == "محمد الحسن <&> 👵"
    assert p["alternate_names"].split("\n") == ["Abu Ali", "Mohammed al-Hassan"]
    assert p["entry_date"] == "2026-11-21T10:00:00Z"
    assert p["description"] == "Line one\nline two with a NUL"
    assert "profile_urls" not in p
    assert document.notes[0]["author_made_contact"] == "false"
    assert pfif.validate_person(p) == {}
    assert pfif.validate_note(document.notes[0]) == {}


def test_dates_are_read_and_written_in_utc():
    assert pfif.parse_date("2024-03-02T08:14:00Z") == datetime(2024, 3, 2, 8, 14, tzinfo=UTC)
    assert pfif.parse_date("2024-03-02T08:14:00.5Z").microsecond == 500000
    with pytest.raises(ValueError):
        pfif.parse_date("2024-03-02 08:14:00")
    assert (
        pfif.format_date(datetime(2024, 3, 2, 8, 14, 59, 999, tzinfo=UTC)) == "2024-03-02T08:14:59Z"
    )
