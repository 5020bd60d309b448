"""GET /api/v1/pfif: valid PFIF 1.4 for partner keys, full or redacted, in sync order; a round trip
into a fresh repository reproduces the records."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.etree import ElementTree

import pytest
import sqlalchemy as sa

from app.auth.models import AuditEvent
from app.extensions import db
from app.reports import service as reports_service
from app.reports.models import Note, Report
from tests.conftest import bearer
from tests.helpers import assert_envelope, count

NS = "http://zesty.ca/pfif/1.4"
PFIF = "/api/v1/pfif"

# --- PFIF 1.4, written out from the specification (not from app.pfif.format) ---------------------

_UTC = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z"
_RECORD_ID = r"[^\s/]+/\S+"
PERSON_RULES: dict[str, str | None] = {
    "person_record_id": _RECORD_ID,
    "entry_date": _UTC,
    "expiry_date": _UTC,
    "author_name": None,
    "author_email": r".+@.+",
    "author_phone": r"[-+()\d ]+",
    "source_name": None,
    "source_date": _UTC,
    "source_url": r"https?://\S+",
    "full_name": None,
    "given_name": None,
    "family_name": None,
    "alternate_names": None,
    "description": None,
    "sex": r"female|male|other",
    "date_of_birth": r"\d{4}(-\d\d(-\d\d)?)?",
    "age": r"\d+(-\d+)?",
    "home_street": None,
    "home_neighborhood": None,
    "home_city": None,
    "home_state": None,
    "home_postal_code": None,
    "home_country": r"[A-Z]{2}",
    "photo_url": r"https?://\S+",
    "profile_urls": r"(https?://\S+)(\nhttps?://\S+)*",
}
NOTE_RULES: dict[str, str | None] = {
    "note_record_id": _RECORD_ID,
    "person_record_id": _RECORD_ID,
    "linked_person_record_id": _RECORD_ID,
    "entry_date": _UTC,
    "author_name": None,
    "author_email": r".+@.+",
    "author_phone": r"[-+()\d ]+",
    "source_date": _UTC,
    "author_made_contact": r"true|false",
    "status": r"|information_sought|is_note_author|believed_alive|believed_missing|believed_dead",
    "email_of_found_person": r".+@.+",
    "phone_of_found_person": r"[-+()\d ]+",
    "last_known_location": None,
    "text": None,
    "photo_url": r"https?://\S+",
}
PERSON_REQUIRED = ("person_record_id", "source_date", "full_name")
NOTE_REQUIRED = ("note_record_id", "author_name", "source_date", "text")


def _children(element: ElementTree.Element, rules: dict[str, str | None], where: str) -> dict:
    fields: dict[str, str] = {}
    for child in element:
        assert child.tag.startswith(f"{{{NS}}}"), f"{where}: {child.tag} outside the namespace"
        name = child.tag[len(NS) + 2 :]
        if name == "note":
            continue
        assert name in rules, f"{where}: unknown field {name}"
        assert name not in fields, f"{where}: {name} twice"
        assert len(child) == 0, f"{where}: {name} holds elements"
        fields[name] = child.text or ""
        pattern = rules[name]
        if pattern is not None and fields[name]:
            assert re.fullmatch(pattern, fields[name]), f"{where}: {name}={fields[name]!r}"
    return fields


def validate_pfif_14(data: bytes) -> list[dict[str, Any]]:
    """Check a document against PFIF 1.4 field by field; return its persons (notes nested)."""
    root = ElementTree.fromstring(data)
    assert root.tag == f"{{{NS}}}pfif"
    persons = []
    for index, element in enumerate(root):
        assert element.tag in (f"{{{NS}}}person", f"{{{NS}}}note")
        where = f"record {index + 1}"
        if element.tag.endswith("}note"):
            fields = _children(element, NOTE_RULES, where)
            for name in (*NOTE_REQUIRED, "person_record_id"):
                assert fields.get(name), f"{where}: {name} required at the top level"
            continue
        fields = _children(element, PERSON_RULES, where)
        expired = bool(fields.get("expiry_date")) and fields["expiry_date"] <= datetime.now(
            UTC
        ).strftime("%Y-%m-%dT%H:%M:%SZ")
        for name in PERSON_REQUIRED:
            assert name in fields, f"{where}: {name} required"
        assert fields["person_record_id"] and fields["source_date"]
        notes = []
        for child in element.findall(f"{{{NS}}}note"):
            note = _children(child, NOTE_RULES, f"{where} note")
            for name in NOTE_REQUIRED:
                assert note.get(name), f"{where} note: {name} required"
            assert note.get("person_record_id") in (None, fields["person_record_id"])
            notes.append(note)
        if expired:
            # The placeholder: the id, the expiry and the placeholder's dates, nothing else.
            assert set(k for k, v in fields.items() if v) <= {
                "person_record_id",
                "expiry_date",
                "source_date",
                "entry_date",
            }, fields
            assert notes == []
        else:
            assert fields["full_name"] or fields.get("description"), f"{where}: who?"
        persons.append({**fields, "notes": notes})
    return persons


# --- Fixtures -----------------------------------------------------------------------------------


def add_note(client, token: str, report_id: str, **fields: Any) -> dict:
    response = client.post(f"/api/v1/reports/{report_id}/notes", json=fields, headers=bearer(token))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.fixture
def registry(client, coordinator, make_report):
    """Reports of several shapes: notes, a place as coordinates, a nameless patient, a minor."""
    ana = make_report(
        kind="missing",
        full_name="Ana Lucía Torres",
        given_name="Ana Lucía",
        family_name="Torres",
        alternate_names=["Lucy"],
        date_of_birth="1988-04",
        age=None,
        home_street="Calle Sol 12",
        home_postal_code="00698",
        author_email="familia.torres@example.org",
        profile_urls=["https://social.example.com/ana"],
    )
    add_note(
        client,
        coordinator["token"],
        ana["id"],
        text="Her brother saw her at the bridge 🙏",
        status="believed_alive",
        last_known_location="Puente de Yauco",
        author_name="Luis Torres",
        author_phone="+15555550188",
    )
    kenji = make_report(
        kind="found",
        full_name="佐藤 健二",
        given_name=None,
        family_name=None,
        sex="male",
        age="70-75",
        lat=38.2682,
        lon=140.8694,
        home_country="JP",
        language="ja",
    )
    patient = make_report(
        kind="found",
        full_name=None,
        given_name=None,
        family_name=None,
        description="Woman about 40, unconscious, red coat",
        age="35-45",
        sex="female",
    )
    child = make_report(kind="found", full_name="Emma Lind", age="7", home_country="SE")
    return {"ana": ana, "kenji": kenji, "patient": patient, "child": child}


def export(client, token: str, **query: Any):
    return client.get(PFIF, query_string=query, headers=bearer(token))


def by_id(persons: list[dict]) -> dict[str, dict]:
    return {p["person_record_id"].rpartition(".")[2]: p for p in persons}


# --- Tests --------------------------------------------------------------------------------------


def test_a_full_read_export_is_valid_pfif_with_everything(app, client, registry, make_key):
    response = export(client, make_key("full_read")["token"])
    assert response.status_code == 200
    assert response.mimetype == "application/pfif+xml"
    persons = by_id(validate_pfif_14(response.data))
    # Minors never leave through the partner export.
    assert registry["child"]["id"] not in persons
    assert len(persons) == 3
    ana = persons[registry["ana"]["id"]]
    assert ana["person_record_id"] == f"reunite.invalid/person.{registry['ana']['id']}"
    assert ana["full_name"] == "Ana Lucía Torres" and ana["alternate_names"] == "Lucy"
    assert ana["home_street"] == "Calle Sol 12" and ana["author_phone"] == "+15555550123"
    assert ana["date_of_birth"] == "1988-04" and ana["source_name"] == "Reunite"
    assert ana["expiry_date"] > ana["entry_date"]
    report_note, real = ana["notes"]
    assert report_note["note_record_id"].startswith("reunite.invalid/report-note.missing.")
    assert real["text"] == "Her brother saw her at the bridge 🙏"
    assert real["status"] == "believed_alive" and real["author_phone"] == "+15555550188"
    assert real["last_known_location"] == "Puente de Yauco"
    kenji = persons[registry["kenji"]["id"]]
    assert kenji["notes"][0]["last_known_location"] == "38.2682, 140.8694"
    patient = persons[registry["patient"]["id"]]
    assert patient["full_name"] == "" and patient["description"].startswith("Woman about 40")


def test_a_read_key_gets_the_redacted_view(client, registry, make_key):
    persons = by_id(validate_pfif_14(export(client, make_key("read")["token"]).data))
    ana = persons[registry["ana"]["id"]]
    for name in ("author_phone", "author_email", "home_street", "home_postal_code"):
        assert name not in ana
    assert "date_of_birth" not in ana
    assert re.fullmatch(r"\d+-\d+", ana["age"])  # a range from the date of birth
    low, high = map(int, ana["age"].split("-"))
    assert low % 5 == 0 and high - low == 4
    for note in ana["notes"]:
        assert not {"author_phone", "author_email", "last_known_location"} & set(note)
    assert persons[registry["kenji"]["id"]]["age"] == "70-79"  # "70-75" widened
    assert "last_known_location" not in persons[registry["kenji"]["id"]]["notes"][0]


def test_only_partner_keys_export(client, coordinator, make_key):
    assert_envelope(client.get(PFIF), 401)
    assert_envelope(export(client, coordinator["token"]), 403)
    assert_envelope(export(client, make_key("write")["token"]), 403)
    assert_envelope(export(client, make_key("read")["token"], max_results=0), 422)
    assert_envelope(export(client, make_key("read")["token"], min_entry_date="yesterday"), 422)


def test_every_exported_report_is_audited(app, client, registry, make_key):
    key = make_key("read")
    export(client, key["token"])
    with app.app_context():
        rows = db.session.execute(
            sa.select(AuditEvent.actor, AuditEvent.subject_id).where(
                AuditEvent.action == "report.export"
            )
        ).all()
    assert {actor for actor, _ in rows} == {f"key:{key['id']}"}
    assert {subject for _, subject in rows} == {
        registry[name]["id"] for name in ("ana", "kenji", "patient")
    }


def test_incremental_sync_by_entry_date(app, client, registry, make_key, make_report, coordinator):
    token = make_key("full_read")["token"]
    everything = validate_pfif_14(export(client, token).data)
    dates = [p["entry_date"] for p in everything]
    assert dates == sorted(dates)
    first_two = validate_pfif_14(export(client, token, max_results=2).data)
    rest = validate_pfif_14(export(client, token, max_results=2, skip=2).data)
    assert [p["person_record_id"] for p in first_two + rest] == [
        p["person_record_id"] for p in everything
    ]
    # A partner resumes from the last entry_date it saw: a correction moves a record to the end.
    last = everything[-1]["entry_date"]
    response = client.patch(
        f"/api/v1/reports/{registry['ana']['id']}",
        json={"home_city": "Guánica"},
        headers=bearer(make_key("write")["token"]),
    )
    assert response.status_code == 403  # a key corrects only its own reports: use a coordinator
    with app.app_context():
        report = db.session.get(Report, registry["ana"]["id"])
        reports_service.update_report(report=report, changes={"home_city": "Guánica"})
        db.session.commit()
    newer = make_report(full_name="Olena Kovalenko", home_country="UA")
    since = validate_pfif_14(export(client, token, min_entry_date=last).data)
    ids = [p["person_record_id"].rpartition(".")[2] for p in since]
    assert ids[-2:] == [registry["ana"]["id"], newer["id"]]
    # A new note brings its person round again, with the note.
    last = since[-1]["entry_date"]
    add_note(client, coordinator["token"], registry["kenji"]["id"], text="Moved to Sendai")
    since = validate_pfif_14(export(client, token, min_entry_date=last).data)
    kenji = [p for p in since if p["person_record_id"].endswith(registry["kenji"]["id"])]
    assert kenji and kenji[0]["notes"][-1]["text"] == "Moved to Sendai"


def test_expired_and_purged_reports_are_placeholders(app, client, registry, make_key):
    token = make_key("full_read")["token"]
    ana_id = registry["ana"]["id"]
    with app.app_context():
        db.session.execute(
            sa.update(Report)
            .where(Report.id == ana_id)
            .values(expiry_date=datetime.now(UTC) - timedelta(hours=1))
        )
        db.session.commit()
    # Gone for readers at once, before any sweep.
    persons = by_id(validate_pfif_14(export(client, token).data))
    assert persons[ana_id]["full_name"] == "" and persons[ana_id]["notes"] == []
    with app.app_context():
        reports_service.expire_reports(report_ids=[ana_id])
        reports_service.purge_reports(report_ids=[ana_id])
        db.session.commit()
    assert count(app, Report, Report.id == ana_id) == 0
    assert count(app, Note, Note.report_id == ana_id) == 0
    persons = by_id(validate_pfif_14(export(client, token).data))
    placeholder = persons[ana_id]
    assert set(k for k, v in placeholder.items() if v) == {
        "person_record_id",
        "expiry_date",
        "source_date",
        "entry_date",
    }
    assert placeholder["expiry_date"] <= placeholder["entry_date"]


def test_a_round_trip_into_a_fresh_repository_reproduces_the_records(
    app, client, registry, make_key, coordinator
):
    data = export(client, make_key("full_read")["token"]).data
    fields = (
        "kind",
        "full_name",
        "given_name",
        "family_name",
        "alternate_names",
        "sex",
        "date_of_birth",
        "age",
        "age_min",
        "age_max",
        "is_minor",
        "home_street",
        "home_neighborhood",
        "home_city",
        "home_state",
        "home_postal_code",
        "home_country",
        "description",
        "photo_url",
        "profile_urls",
        "status",
        "last_known_location",
        "lat",
        "lon",
        "author_name",
        "author_phone",
        "author_email",
    )
    note_fields = ("text", "status", "author_name", "author_phone", "last_known_location")

    def snapshot() -> dict[str, Any]:
        with app.app_context():
            reports = db.session.scalars(sa.select(Report).where(Report.is_minor.is_(False)))
            return {
                (r.full_name or r.description): (
                    {f: getattr(r, f) for f in fields},
                    sorted(
                        tuple(getattr(n, f) for f in note_fields)
                        for n in r.notes
                        if not (n.source_record_id or "").count("/report-note.")
                    ),
                    # PFIF dates are whole seconds.
                    (r.source_date.replace(microsecond=0), r.expiry_date.replace(microsecond=0)),
                )
                for r in reports
            }

    before = snapshot()
    # A fresh repository: empty, another domain.
    with app.app_context():
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                if table.name not in ("users", "api_tokens"):
                    conn.execute(table.delete())
    app.config["PFIF_DOMAIN"] = "partner.example.net"
    response = client.post(
        PFIF,
        data=data,
        headers={"Content-Type": "application/pfif+xml", **bearer(coordinator["token"])},
    )
    body = response.get_json()
    assert response.status_code == 200, body
    assert body["errors"] == [] and body["warnings"] == []
    assert body["persons"]["created"] == 3
    after = snapshot()
    for name, (fields_before, notes_before, dates_before) in before.items():
        fields_after, notes_after, dates_after = after[name]
        changed = {
            f: (v, fields_after[f]) for f, v in fields_before.items() if fields_after[f] != v
        }
        assert changed == {}, name
        assert (notes_after, dates_after) == (notes_before, dates_before), name
    assert after.keys() == before.keys()
    with app.app_context():
        sources = set(db.session.scalars(sa.select(Report.source_record_id)))
    assert all(s.startswith("reunite.invalid/person.") for s in sources)
    # Exported again from here, the records keep their home repository's ids.
    again = validate_pfif_14(export(client, make_key("read")["token"]).data)
    assert {p["person_record_id"] for p in again} == sources
