"""POST /api/v1/pfif and `flask pfif import`: records in, clones kept in step, none half-made."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from app.auth.models import AuditEvent
from app.extensions import db
from app.matching.models import MatchCandidate, MatchProfile
from app.reports.models import Note, Report
from tests.conftest import bearer
from tests.helpers import assert_envelope, count

# The shared PFIF 1.4 example (../shared/pfif/example-1.4.xml), kept here so CI has it.
EXAMPLE = Path(__file__).resolve().parent / "data" / "example-1.4.xml"
XML = {"Content-Type": "application/pfif+xml"}


def doc(*records: str, version: str = "1.4") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<pfif:pfif xmlns:pfif="http://zesty.ca/pfif/'
        f'{version}">{"".join(records)}</pfif:pfif>'
    ).encode()


def element(tag: str, fields: dict[str, str], inner: str = "") -> str:
    body = "".join(f"<pfif:{k}>{v}</pfif:{k}>" for k, v in fields.items())
    return f"<pfif:{tag}>{body}{inner}</pfif:{tag}>"


def person(record_id: str, inner: str = "", **fields: str) -> str:
    values = {
        "person_record_id": record_id,
        "source_date": "2026-11-20T10:00:00Z",
        "full_name": "Wiremu Te Rangi",
        "sex": "male",
        "age": "52",
        "home_city": "Gisborne",
        "home_country": "NZ",
    }
    values.update(fields)
    return element("person", {k: v for k, v in values.items() if v is not None}, inner)


def note(record_id: str, person_id: str | None = None, **fields: str) -> str:
    values = {
        "note_record_id": record_id,
        "person_record_id": person_id,
        "author_name": "Aroha Ngata",
        "source_date": "2026-11-20T11:00:00Z",
        "text": "Looking for my uncle.",
    }
    values.update(fields)
    return element("note", {k: v for k, v in values.items() if v is not None})


def post(client, data: bytes, token: str, headers: dict[str, str] | None = None):
    return client.post(
        "/api/v1/pfif", data=data, headers={**XML, **bearer(token), **(headers or {})}
    )


def reports(app) -> dict[str, Report]:
    with app.app_context():
        rows = db.session.scalars(sa.select(Report)).all()
        for row in rows:
            db.session.expunge(row)
        return {row.source_record_id: row for row in rows}


def test_the_example_imports_with_its_notes_kinds_and_states(app, client, coordinator):
    # Its records expired in 2024: as they stand they are deletions, and nothing is imported.
    expired = post(client, EXAMPLE.read_bytes(), coordinator["token"]).get_json()
    assert expired["persons"] == {"created": 0, "updated": 0, "unchanged": 2, "expired": 0}
    assert count(app, Report) == 0
    current = EXAMPLE.read_bytes().replace(b"<pfif:expiry_date>2024-", b"<pfif:expiry_date>2099-")
    response = post(client, current, coordinator["token"])
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["version"] == "1.4"
    assert body["persons"] == {"created": 2, "updated": 0, "unchanged": 0, "expired": 0}
    assert body["notes"] == {"created": 2, "unchanged": 0}
    assert body["errors"] == []
    assert body["warnings"] == []
    stored = reports(app)
    father = stored["reunite.example.org/person.1001"]
    child = stored["partner.example.net/p/77"]
    assert father.kind == "missing" and father.status == "information_sought"
    assert father.alternate_names == ["Tony Lopez", "Jose Lopes"]
    assert (father.lat, father.lon) == (18.0111, -66.6141)  # "lat, lon" in last_known_location
    assert father.author_phone == "+15550100" and father.author_email == "maria.lopez@example.net"
    assert father.source_name == "Reunite Example Service"
    assert child.kind == "found" and child.status == "believed_alive"
    assert child.is_minor and child.age_min == 8
    assert child.last_known_location == "Escuela Central shelter, Ponce"
    assert count(app, Note) == 2
    # Indexed for matching (in the background; the tests run tasks inline).
    assert count(app, MatchProfile) == 2
    assert count(app, AuditEvent, AuditEvent.action == "report.import") == 2


def test_a_reimport_changes_nothing_and_a_newer_copy_updates(app, client, coordinator):
    first = doc(person("partner.example.net/p1", note("partner.example.net/n1")))
    assert post(client, first, coordinator["token"]).get_json()["persons"]["created"] == 1
    again = post(client, first, coordinator["token"]).get_json()
    assert again["persons"] == {"created": 0, "updated": 0, "unchanged": 1, "expired": 0}
    assert again["notes"] == {"created": 0, "unchanged": 1}
    before = reports(app)["partner.example.net/p1"]

    older = doc(person("partner.example.net/p1", age="70", source_date="2026-11-19T10:00:00Z"))
    assert post(client, older, coordinator["token"]).get_json()["persons"]["unchanged"] == 1
    assert reports(app)["partner.example.net/p1"].age == "52"

    newer = doc(
        person(
            "partner.example.net/p1", age="53", home_city=None, source_date="2026-11-20T12:00:00Z"
        )
    )
    body = post(client, newer, coordinator["token"]).get_json()
    assert body["persons"]["updated"] == 1
    after = reports(app)["partner.example.net/p1"]
    assert after.id == before.id and after.kind == before.kind
    assert after.age == "53" and after.age_min == 53
    assert after.home_city is None  # the copy is the whole record
    assert after.source_date.isoformat() == "2026-11-20T12:00:00+00:00"
    assert after.entry_date > before.entry_date
    assert after.status == before.status  # from its note, which the copy did not repeat
    assert count(app, Report) == 1


def test_an_expired_placeholder_deletes_the_clone(app, client, coordinator, make_key):
    post(client, doc(person("partner.example.net/gone")), coordinator["token"])
    report_id = reports(app)["partner.example.net/gone"].id
    placeholder = element(
        "person",
        {
            "person_record_id": "partner.example.net/gone",
            "expiry_date": "2026-11-20T00:00:00Z",
            "source_date": "2026-11-20T00:00:00Z",
            "entry_date": "2026-11-20T00:00:00Z",
            "full_name": "",
        },
    )
    late_note = note("partner.example.net/late", "partner.example.net/gone")
    body = post(client, doc(placeholder, late_note), coordinator["token"]).get_json()
    assert body["persons"]["expired"] == 1 and body["notes"]["created"] == 0
    assert [(e["record"], e["id"]) for e in body["errors"]] == [
        ("note", "partner.example.net/late")
    ]
    response = client.get(f"/api/v1/reports/{report_id}", headers=bearer(coordinator["token"]))
    assert_envelope(response, 404)
    assert count(app, MatchProfile) == 0  # out of the matching index
    # An unknown placeholder is nothing to do.
    other = placeholder.replace("gone", "never-here")
    assert post(client, doc(other), coordinator["token"]).get_json()["persons"]["unchanged"] == 1


def test_bad_records_are_listed_while_the_good_ones_land(app, client, make_key):
    key = make_key("write")
    body = post(
        client,
        doc(
            person("partner.example.net/ok1", note("partner.example.net/nok1")),
            person("partner.example.net/bad1", full_name=None),  # required in 1.4
            person("partner.example.net/bad2", age="200"),  # past what a person lives
            person("partner.example.net/bad3", note("partner.example.net/nbad3"), sex="x"),
            person(
                "partner.example.net/ok2",
                full_name="Ngāti Porou\nNgati Porou",
                author_phone="12",
                author_email="not an address@",
            ),
            note("partner.example.net/orphan", "partner.example.net/nobody"),
            note("partner.example.net/notext", "partner.example.net/ok2", text=None),
        ),
        key["token"],
    ).get_json()
    assert body["persons"]["created"] == 2
    assert body["notes"]["created"] == 1
    errors = {(e["record"], e["position"], e["id"]): set(e["errors"]) for e in body["errors"]}
    assert errors == {
        ("person", 2, "partner.example.net/bad1"): {"full_name"},
        ("person", 3, "partner.example.net/bad2"): {"age"},
        ("person", 4, "partner.example.net/bad3"): {"sex"},
        ("note", 2, "partner.example.net/nbad3"): {"person_record_id"},
        ("note", 3, "partner.example.net/orphan"): {"person_record_id"},
        ("note", 4, "partner.example.net/notext"): {"text"},
    }
    # A phone or e-mail we cannot read is left out, said so, and the record imported.
    assert [(w["record"], w["position"], set(w["errors"])) for w in body["warnings"]] == [
        ("person", 5, {"author_phone", "author_email"})
    ]
    stored = reports(app)
    assert set(stored) == {"partner.example.net/ok1", "partner.example.net/ok2"}
    assert stored["partner.example.net/ok2"].author_phone is None
    assert stored["partner.example.net/ok2"].alternate_names == ["Ngati Porou"]
    assert stored["partner.example.net/ok1"].created_by == f"key:{key['id']}"


@pytest.mark.parametrize(
    "data, code",
    [
        (b"<pfif:pfif xmlns:pfif='http://zesty.ca/pfif/1.4'><pfif:person>", "pfif_invalid"),
        (b"<pfif xmlns='http://example.org/not-pfif'/>", "pfif_invalid"),
        (
            b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">]>'
            b'<pfif:pfif xmlns:pfif="http://zesty.ca/pfif/1.4">&a;</pfif:pfif>',
            "pfif_invalid",
        ),
    ],
)
def test_a_document_that_is_not_pfif_imports_nothing(app, client, coordinator, data, code):
    # A valid person first: a malformed document must not leave it half-written.
    good = doc(person("partner.example.net/first"))[: -len(b"</pfif:pfif>")]
    for body in (data, good + b"<pfif:person><pfif:full_name>"):
        response = post(client, body, coordinator["token"])
        assert_envelope(response, 422, code)
    assert count(app, Report) == 0


def test_who_may_import(client, coordinator, make_key):
    data = doc(person("partner.example.net/who"))
    assert_envelope(client.post("/api/v1/pfif", data=data, headers=XML), 401)
    assert_envelope(post(client, data, make_key("read", "full_read")["token"]), 403)
    response = client.post(
        "/api/v1/pfif",
        data=data,
        headers={"Content-Type": "application/json", **bearer(coordinator["token"])},
    )
    assert_envelope(response, 415, "unsupported_media_type")


def test_a_large_document_is_accepted_beyond_the_json_body_limit(app, client, coordinator):
    app.config["MAX_CONTENT_LENGTH"] = 2_000
    many = doc(*(person(f"partner.example.net/big{i}", age=str(20 + i % 50)) for i in range(60)))
    assert len(many) > 2_000
    body = post(client, many, coordinator["token"]).get_json()
    assert body["persons"]["created"] == 60
    app.config["IMPORT_MAX_BODY_BYTES"] = 1_000
    assert_envelope(post(client, many, coordinator["token"]), 413)


def test_imported_persons_are_matched_against_the_registry(app, client, coordinator, make_report):
    missing = make_report(
        kind="missing",
        full_name="Wiremu Te Rangi",
        given_name=None,
        family_name=None,
        sex="male",
        age="52",
        home_city="Gisborne",
        home_country="NZ",
    )
    found = element(
        "note",
        {
            "note_record_id": "partner.example.net/safe",
            "author_name": "Shelter desk",
            "source_date": "2026-11-20T11:00:00Z",
            "status": "believed_alive",
            "text": "Safe at the marae.",
        },
    )
    post(client, doc(person("partner.example.net/wiremu", found)), coordinator["token"])
    stored = reports(app)["partner.example.net/wiremu"]
    assert stored.kind == "found"
    with app.app_context():
        pairs = db.session.execute(
            sa.select(MatchCandidate.left_report_id, MatchCandidate.right_report_id)
        ).all()
    assert (missing["id"], stored.id) in pairs


def test_the_cli_imports_a_file_and_lists_what_it_left_out(app, tmp_path):
    path = tmp_path / "partner.xml"
    path.write_bytes(
        doc(
            person("partner.example.net/c1"),
            person("partner.example.net/c2", full_name=None),
            version="1.3",
        )
    )
    runner = app.test_cli_runner()
    result = runner.invoke(args=["pfif", "import", str(path), "--workers", "0"])
    assert result.exit_code == 1, result.output
    assert "persons created 1" in result.output
    assert "left out: person 2 (partner.example.net/c2): full_name: Required." in result.output
    assert "Wiremu" not in result.output  # names stay out of the output
    assert set(reports(app)) == {"partner.example.net/c1"}
    missing = runner.invoke(args=["pfif", "import", str(tmp_path / "nope.xml")])
    assert missing.exit_code != 0 and "no file" in missing.output


def test_a_document_too_large_for_a_request_is_imported_by_the_worker(
    app, client, coordinator, make_key
):
    app.config["PFIF_INLINE_MAX_BYTES"] = 500
    data = doc(
        person("partner.example.net/bg1", note("partner.example.net/bgn1")),
        person("partner.example.net/bg2", full_name=None),
    )
    response = post(client, data, coordinator["token"])
    assert response.status_code == 202, response.get_json()
    job = response.get_json()
    assert response.headers["Location"] == f"/api/v1/pfif/imports/{job['id']}"
    # The tests run the worker's task inline, after the request committed.
    followed = client.get(response.headers["Location"], headers=bearer(coordinator["token"]))
    body = followed.get_json()
    assert body["status"] == "done", body
    assert (body["processed_rows"], body["loaded_rows"], body["error_count"]) == (2, 1, 1)
    assert body["result"]["persons"]["created"] == 1
    assert body["result"]["errors"][0]["id"] == "partner.example.net/bg2"
    assert set(reports(app)) == {"partner.example.net/bg1"}
    assert count(app, MatchProfile) == 1
    # Another partner's key does not follow it; a document that is not PFIF fails the job.
    other = make_key("write")
    denied = client.get(response.headers["Location"], headers=bearer(other["token"]))
    assert_envelope(denied, 403)
    broken = post(
        client, b"<pfif:pfif xmlns:pfif='http://zesty.ca/pfif/1.4'>" + b" " * 600, other["token"]
    )
    failed = client.get(broken.headers["Location"], headers=bearer(other["token"])).get_json()
    assert failed["status"] == "failed" and "document" in failed["result"]
    assert_envelope(client.get("/api/v1/pfif/imports/nope", headers=bearer(other["token"])), 404)
