"""The reports API end to end: submission, reading, roles, corrections, notes, audit, status."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.auth.models import AuditEvent
from app.common.ids import REFERENCE_ALPHABET
from app.extensions import db
from app.reports import service
from app.reports.models import Note, Report
from tests.conftest import bearer, report_payload
from tests.helpers import assert_envelope, count

REPORTS = "/api/v1/reports"
REFERENCE = re.compile(rf"^[{REFERENCE_ALPHABET}]{{3}}-[{REFERENCE_ALPHABET}]{{3}}$")


def get_report(client, token, report_id):
    response = client.get(f"{REPORTS}/{report_id}", headers=bearer(token))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def post_note(client, token, report_id, **fields):
    fields.setdefault("text", "Seen at the shelter in the school gym.")
    return client.post(f"{REPORTS}/{report_id}/notes", json=fields, headers=bearer(token))


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


# --- Submission ---------------------------------------------------------------------------


def test_submit_returns_id_reference_and_location(app, client):
    response = client.post(REPORTS, json=report_payload())

    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {"id", "reference", "kind", "status", "created_at"}
    assert len(body["id"]) == 26
    assert REFERENCE.match(body["reference"]), body["reference"]
    assert body["kind"] == "missing"
    assert response.headers["Location"] == f"{REPORTS}/{body['id']}"
    assert count(app, Report) == 1


@pytest.mark.parametrize(
    ("kind", "status"), [("missing", "information_sought"), ("found", "believed_alive")]
)
def test_default_status_depends_on_kind(client, coordinator, kind, status):
    created = client.post(REPORTS, json=report_payload(kind=kind)).get_json()

    assert created["status"] == status
    assert get_report(client, coordinator["token"], created["id"])["status"] == status


def test_explicit_status_is_kept(client):
    created = client.post(REPORTS, json=report_payload(status="believed_missing")).get_json()

    assert created["status"] == "believed_missing"


def test_kind_is_required_and_checked(app, client, subtests):
    for kind in (None, "lost", "", "MISSING", 1):
        with subtests.test(kind=kind):
            response = client.post(REPORTS, json=report_payload(kind=kind))  # None: left out

            assert "kind" in assert_envelope(response, 422, "validation_error")["errors"]
    assert count(app, Report) == 0


PEOPLE = [
    pytest.param(
        {
            "full_name": "José Ángel Muñoz Peña",
            "given_name": "José Ángel",
            "family_name": "Muñoz Peña",
            "alternate_names": ["Cheo"],
            "home_city": "Mayagüez",
            "home_country": "PR",
            "language": "es",
        },
        id="spanish",
    ),
    pytest.param(
        {
            "full_name": "Wòbèn Jozèf Sen-Fò",
            "given_name": "Wòbèn Jozèf",
            "family_name": "Sen-Fò",
            "alternate_names": ["Ti Wòb"],
            "home_city": "Jakmèl",
            "home_country": "HT",
            "language": "ht",
        },
        id="haitian-creole",
    ),
    pytest.param(
        {
            "full_name": "فاطمة الزهراء بن علي",
            "given_name": "فاطمة الزهراء",
            "family_name": "بن علي",
            "alternate_names": ["أم يوسف"],
            "home_city": "درنة",
            "home_country": "LY",
            "language": "ar",
        },
        id="arabic",
    ),
    pytest.param(
        {
            "full_name": "Åsa Öberg-Läckström",
            "given_name": "Åsa",
            "family_name": "Öberg-Läckström",
            "home_city": "Gävle",
            "home_country": "SE",
            "language": "sv",
        },
        id="swedish",
    ),
    pytest.param(
        {
            "full_name": "Ma. Luningning Dela Cruz-Bañaga",
            "given_name": "Ma. Luningning",
            "family_name": "Dela Cruz-Bañaga",
            "alternate_names": ["Ning"],
            "home_city": "Tacloban",
            "home_country": "PH",
            "language": "tl",
        },
        id="tagalog",
    ),
    pytest.param(
        {
            "full_name": "Nguyễn Thị Hồng Nhung",
            "given_name": "Hồng Nhung",
            "family_name": "Nguyễn",
            "home_city": "Huế",
            "home_country": "VN",
            "language": "vi",
        },
        id="vietnamese",
    ),
    pytest.param(
        {
            "full_name": "İsmail Işıkoğlu",
            "given_name": "İsmail",
            "family_name": "Işıkoğlu",
            "alternate_names": ["ISMAIL ISIKOGLU"],
            "home_city": "Kahramanmaraş",
            "home_country": "TR",
            "language": "tr",
        },
        id="turkish",
    ),
    pytest.param(
        {
            "full_name": "王秀英",
            "given_name": "秀英",
            "family_name": "王",
            "alternate_names": ["Wáng Xiùyīng", "阿英"],
            "home_city": "成都",
            "home_country": "CN",
            "language": "zh-Hans",
        },
        id="chinese",
    ),
    pytest.param(
        {
            "full_name": "Luz Marina Ortiz",
            "given_name": None,
            "family_name": None,
            "alternate_names": ["Abuelita 👵🏽", "Nana 👩‍👧‍👦"],
            "language": "es",
        },
        id="emoji-nickname",
    ),
]


def test_names_in_many_scripts_round_trip_exactly(app, client, coordinator, subtests):
    for case in PEOPLE:
        person = case.values[0]
        with subtests.test(case.id):
            payload = report_payload(**person)
            for value in [payload["full_name"], *payload.get("alternate_names", [])]:
                assert unicodedata.is_normalized("NFC", value)

            created = client.post(REPORTS, json=payload)
            assert created.status_code == 201, created.get_json()
            stored = get_report(client, coordinator["token"], created.get_json()["id"])

            for field in ("full_name", "given_name", "family_name", "home_city", "language"):
                assert stored[field] == payload.get(field)
            assert stored["alternate_names"] == payload.get("alternate_names", [])
            assert stored["display_name"] == payload["full_name"]
            with app.app_context():
                row = db.session.get(Report, created.get_json()["id"])
                assert row.full_name == payload["full_name"]
                assert row.alternate_names == payload.get("alternate_names", [])


def test_names_are_stored_nfc_normalized_and_trimmed(client, coordinator):
    decomposed = "  Mari\u0301a Pen\u0303a Colo\u0301n  "
    assert not unicodedata.is_normalized("NFC", decomposed)

    created = client.post(
        REPORTS, json=report_payload(full_name=decomposed, given_name="Mari\u0301a")
    ).get_json()
    stored = get_report(client, coordinator["token"], created["id"])

    assert stored["full_name"] == "María Peña Colón"
    assert len(stored["full_name"]) == len("María Peña Colón")
    assert stored["given_name"] == "María"


def test_report_with_only_a_description_is_accepted(client, coordinator):
    description = (
        "Unidentified woman, about 60, brought to the field hospital unconscious. "
        "Grey hair, scar on the left forearm, blue dress."
    )
    payload = {"kind": "found", "description": description, "age": "55-65"}

    response = client.post(REPORTS, json=payload)

    assert response.status_code == 201, response.get_json()
    stored = get_report(client, coordinator["token"], response.get_json()["id"])
    assert stored["description"] == description
    assert stored["full_name"] is None and stored["display_name"] is None
    assert stored["status"] == "believed_alive"


def test_report_without_name_or_description_is_rejected(app, client, subtests):
    cases = {
        "absent": {"full_name": None, "given_name": None, "family_name": None},
        "blank": {"full_name": "   ", "given_name": "", "family_name": None, "description": " "},
        "blank-nicknames": {
            "full_name": None,
            "given_name": None,
            "family_name": None,
            "alternate_names": ["", " ", None],
        },
        "null": {"full_name": None, "given_name": None, "family_name": None, "description": None},
    }
    for name, overrides in cases.items():
        with subtests.test(name):
            payload = report_payload(**overrides)
            if name == "null":
                payload["full_name"] = payload["description"] = None

            body = assert_envelope(client.post(REPORTS, json=payload), 422, "validation_error")
            assert list(body["errors"]) == ["_schema"]
    assert count(app, Report) == 0


def test_blank_nicknames_are_dropped(client, coordinator):
    created = client.post(
        REPORTS, json=report_payload(alternate_names=["", "Mari", "   ", None])
    ).get_json()

    assert get_report(client, coordinator["token"], created["id"])["alternate_names"] == ["Mari"]


PHONES = [
    ("(787) 555-0123", "PR", "+17875550123"),
    ("787.555.0123", "pr", "+17875550123"),
    ("+1 555 555 0123", "PR", "+15555550123"),
    ("+1 555 555 0123", None, "+15555550123"),
    ("+1 (500) 555-0006", "MX", "+15005550006"),
    ("  +1-555-555-0123  ", "HT", "+15555550123"),
]


def test_phone_numbers_are_stored_in_e164(client, coordinator, subtests):
    for typed, country, stored in PHONES:
        with subtests.test(typed=typed, country=country):
            created = client.post(
                REPORTS,
                json=report_payload(author_phone=typed, contact_phone=typed, home_country=country),
            )
            assert created.status_code == 201, created.get_json()

            report = get_report(client, coordinator["token"], created.get_json()["id"])
            assert report["author_phone"] == stored
            assert report["contact_phone"] == stored


def test_unreadable_phone_is_rejected_naming_the_field(app, client, subtests):
    for field in ("author_phone", "contact_phone"):
        for typed in ("not a phone", "12", "+1 555 555 0123 4567 89", "☎☎☎", 15555550123):
            with subtests.test(field=field, typed=typed):
                response = client.post(REPORTS, json=report_payload(**{field: typed}))

                body = assert_envelope(response, 422, "validation_error")
                assert list(body["errors"]) == [field]
    assert count(app, Report) == 0


def test_phone_without_country_code_needs_a_region(app, client, coordinator):
    payload = report_payload(author_phone="555 555 0123", home_country=None)

    body = assert_envelope(client.post(REPORTS, json=payload), 422)
    assert "country code" in body["errors"]["author_phone"][0]
    assert count(app, Report) == 0

    app.config["DEFAULT_PHONE_REGION"] = "US"
    created = client.post(REPORTS, json=payload).get_json()
    report = get_report(client, coordinator["token"], created["id"])
    assert report["author_phone"] == "+15555550123"


AGES = [
    ("34", "34", (34, 34)),
    ("30-40", "30-40", (30, 40)),
    (34, "34", (34, 34)),
    ("0", "0", (0, 0)),
    (" 30 - 40 ", "30-40", (30, 40)),
    ("7-7", "7", (7, 7)),
]


def test_age_accepts_a_number_or_a_range(app, client, coordinator, subtests):
    for age, stored, bounds in AGES:
        with subtests.test(age=age):
            created = client.post(REPORTS, json=report_payload(age=age))
            assert created.status_code == 201, created.get_json()
            report_id = created.get_json()["id"]

            assert get_report(client, coordinator["token"], report_id)["age"] == stored
            with app.app_context():
                row = db.session.get(Report, report_id)
                assert (row.age_min, row.age_max) == bounds


def test_impossible_age_is_rejected(app, client, subtests):
    for age in ("40-30", "200", "131", "-4", "34.5", 34.5, "thirty", True, [34], "1000-2000"):
        with subtests.test(age=age):
            body = assert_envelope(client.post(REPORTS, json=report_payload(age=age)), 422)
            assert list(body["errors"]) == ["age"]
    assert count(app, Report) == 0


def test_date_of_birth_accepts_pfif_precisions(client, coordinator, subtests):
    for date_of_birth in ("1990", "1990-07", "1990-07-15", "2000-02-29"):
        with subtests.test(date_of_birth=date_of_birth):
            created = client.post(
                REPORTS, json=report_payload(date_of_birth=date_of_birth, age=None)
            )
            assert created.status_code == 201, created.get_json()

            report = get_report(client, coordinator["token"], created.get_json()["id"])
            assert report["date_of_birth"] == date_of_birth


def test_impossible_date_of_birth_is_rejected(app, client, subtests):
    future = (datetime.now(UTC).date() + timedelta(days=2)).isoformat()
    cases = ["2020-02-30", "2021-02-29", "1990-13", "1990-7-4", "90-07-15", "1879", "15/07/1990"]
    cases += ["1990-00", "1990-07-00"]  # once accepted, then a 500 while deriving the age
    for date_of_birth in [*cases, future, str(datetime.now(UTC).year + 1)]:
        with subtests.test(date_of_birth=date_of_birth):
            response = client.post(REPORTS, json=report_payload(date_of_birth=date_of_birth))

            assert list(assert_envelope(response, 422)["errors"]) == ["date_of_birth"]
    assert count(app, Report) == 0


def test_is_minor_is_derived_from_age_and_birth_date(client, coordinator, subtests):
    ten_years_ago = str(datetime.now(UTC).year - 10)
    cases = [
        ({"age": "12"}, True),
        ({"age": "17"}, True),
        ({"age": "10-12"}, True),
        ({"age": "18"}, False),
        ({"age": "34"}, False),
        ({"age": None, "date_of_birth": ten_years_ago}, True),
        ({"age": None, "date_of_birth": "1980-05-01"}, False),
        ({"age": None, "is_minor": True}, True),
        ({"age": "12", "is_minor": False}, True),
        ({"age": None}, False),
    ]
    for fields, minor in cases:
        with subtests.test(**{k: str(v) for k, v in fields.items()}):
            created = client.post(REPORTS, json=report_payload(**fields))
            assert created.status_code == 201, created.get_json()

            report = get_report(client, coordinator["token"], created.get_json()["id"])
            assert report["is_minor"] is minor


def test_latitude_and_longitude_come_together_and_in_range(app, client, subtests):
    cases = [
        {"lat": 18.03},
        {"lon": -66.85},
        {"lat": 18.03, "lon": None},
        {"lat": 91, "lon": 0},
        {"lat": 0, "lon": 181},
        {"lat": "north", "lon": 0},
    ]
    for coordinates in cases:
        with subtests.test(**{k: str(v) for k, v in coordinates.items()}):
            body = assert_envelope(client.post(REPORTS, json=report_payload(**coordinates)), 422)
            assert set(body["errors"]) & {"lat", "lon"}
    assert count(app, Report) == 0


def test_coordinates_are_stored(client, coordinator):
    created = client.post(REPORTS, json=report_payload(lat=18.0344, lon=-66.8497)).get_json()

    report = get_report(client, coordinator["token"], created["id"])
    assert (report["lat"], report["lon"]) == (18.0344, -66.8497)


def test_unknown_field_is_rejected_by_name(app, client):
    body = assert_envelope(client.post(REPORTS, json=report_payload(nickname="Mari")), 422)

    assert body["errors"] == {"nickname": ["Unknown field."]}
    assert count(app, Report) == 0


def test_malformed_json_is_400(app, client, subtests):
    for raw in ('{"kind": "missing", ', "{'kind': 'missing'}", "\xff\xfe", "[" * 50000):
        with subtests.test(raw=raw[:20]):
            response = client.post(
                REPORTS, data=raw.encode("latin-1"), content_type="application/json"
            )

            assert assert_envelope(response, 400, "malformed_json")["errors"] == {}
    assert count(app, Report) == 0


def test_json_that_is_not_an_object_is_422(app, client, subtests):
    for raw in ("null", "[]", '"Marisol"', "42"):
        with subtests.test(raw=raw):
            response = client.post(REPORTS, data=raw, content_type="application/json")

            assert "_schema" in assert_envelope(response, 422)["errors"]
    assert count(app, Report) == 0


def test_body_over_the_size_limit_is_413(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 512

    response = client.post(REPORTS, json=report_payload(description="x" * 2000))

    assert_envelope(response, 413, "payload_too_large")
    assert count(app, Report) == 0
    assert client.post(REPORTS, json=report_payload()).status_code == 201


def test_control_characters_in_a_name_are_422_not_500(app, client, subtests):
    for bad in (
        "Mari\x00sol",
        "Marisol\x07",
        "Mari\nsol",
        "\x1b[31mMarisol",
        "Mari\x7fsol",
        "\ud800",
    ):
        with subtests.test(bad=repr(bad)):
            body = assert_envelope(client.post(REPORTS, json=report_payload(full_name=bad)), 422)
            assert list(body["errors"]) == ["full_name"]
    assert count(app, Report) == 0


NUL_VALUES = {
    "given_name": "Mari\x00sol",
    "family_name": "Quiñones\x00",
    "description": "\x00",
    "home_street": "Calle\x00Comercio",
    "home_city": "Yau\x00co",
    "home_state": "P\x00R",
    "author_name": "Carmen\x00",
    "last_known_location": "Plaza\x00",
    "source_record_id": "example.org/\x00",
    "source_name": "Partner\x00",
    "author_email": "carmen\x00@example.org",
    "photo_url": "https://example.org/\x00.jpg",
    "source_url": "https://example.org/p?id=\x00",
    "language": "e\x00s",
    "home_country": "P\x00",
    "date_of_birth": "1990\x00",
    "age": "3\x004",
    "sex": "female\x00",
    "status": "believed_alive\x00",
    "author_phone": "+1555555\x000123",
    "alternate_names": ["Mari", "So\x00l"],
    "profile_urls": ["https://example.org/\x00"],
}


def test_nul_byte_in_any_field_is_422_not_500(app, client, subtests):
    for field, value in NUL_VALUES.items():
        with subtests.test(field=field):
            response = client.post(REPORTS, json=report_payload(**{field: value}))

            assert list(assert_envelope(response, 422)["errors"]) == [field]
    assert count(app, Report) == 0


def test_overlong_values_are_422_not_500(app, client, subtests):
    long_url = "https://example.org/" + "a" * 1200
    cases = {
        "full_name": "9" * 10_000,
        "given_name": "ñ" * 201,
        "description": "x" * 5001,
        "home_postal_code": "0" * 21,
        "author_phone": "5" * 41,
        "author_email": "a" * 250 + "@example.org",
        "source_record_id": "x" * 501,
        "photo_url": long_url,
        "source_url": long_url,
        "profile_urls": [long_url],
        "alternate_names": [f"Nick {n}" for n in range(21)],
    }
    for field, value in cases.items():
        with subtests.test(field=field):
            response = client.post(REPORTS, json=report_payload(**{field: value}))

            assert list(assert_envelope(response, 422)["errors"]) == [field]
    assert count(app, Report) == 0


def test_long_but_allowed_values_are_stored_in_full(client, coordinator):
    name = "Ñ" * 500
    description = "Línea\n" * 833
    created = client.post(
        REPORTS, json=report_payload(full_name=name, description=description)
    ).get_json()

    report = get_report(client, coordinator["token"], created["id"])
    assert report["full_name"] == name
    assert report["description"] == description.strip()


def test_duplicated_source_record_id_is_409(app, client):
    payload = report_payload(source_record_id="personfinder.example.org/person.4711")
    assert client.post(REPORTS, json=payload).status_code == 201

    response = client.post(
        REPORTS, json=report_payload(source_record_id=payload["source_record_id"])
    )

    body = assert_envelope(response, 409, "duplicate_source_record")
    assert "source_record_id" in body["errors"]
    assert count(app, Report) == 1


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("get", "/api/v1/nowhere", 404, "not_found"),
        ("delete", REPORTS, 405, "method_not_allowed"),
        ("put", f"{REPORTS}/01jbadbadbadbadbadbadbadba", 405, "method_not_allowed"),
        ("get", REPORTS, 401, "unauthorized"),
    ],
)
def test_framework_errors_use_the_envelope(client, method, path, status, code):
    assert_envelope(getattr(client, method)(path), status, code)


def test_405_names_the_allowed_methods(client):
    response = client.delete(REPORTS)

    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}


def test_form_encoded_body_is_not_read_as_a_report(app, client):
    response = client.post(REPORTS, data={"kind": "missing", "full_name": "Marisol"})

    assert response.status_code in (415, 422)
    assert_envelope(response, response.status_code)
    assert count(app, Report) == 0


# --- Reading, roles and scopes ---------------------------------------------------------------


SENSITIVE = {
    "author_email": "carmen.vega@example.org",
    "contact_phone": "+15005550006",
    "home_street": "Calle Comercio",
    "home_postal_code": "00698",
    "lat": 18.0344,
    "lon": -66.8497,
    "date_of_birth": "1990-07-15",
}
REDACTED_REPORT = {
    "author_phone",
    "author_email",
    "contact_phone",
    "home_street",
    "home_postal_code",
    "lat",
    "lon",
    "last_known_location",
}
REDACTED_NOTE = {"author_phone", "author_email", "last_known_location"}


@pytest.fixture
def rich_report(client, coordinator):
    """A report with every sensitive field set, and a note with a location and contacts."""
    created = client.post(REPORTS, json=report_payload(age=None, **SENSITIVE)).get_json()
    response = post_note(
        client,
        coordinator["token"],
        created["id"],
        status="believed_alive",
        author_name="Pedro Ruiz",
        author_phone="+15555550199",
        author_email="pedro@example.org",
        last_known_location="Refugio Escuela Lola Rodríguez de Tió, Yauco",
    )
    assert response.status_code == 201, response.get_json()
    return created


def test_coordinator_sees_everything(client, coordinator, rich_report):
    report = get_report(client, coordinator["token"], rich_report["id"])

    for field, value in SENSITIVE.items():
        assert report[field] == value
    assert report["author_phone"] == "+15555550123"
    assert report["last_known_location"].startswith("Refugio")
    assert report["notes"][0]["author_phone"] == "+15555550199"


def test_read_key_sees_a_redacted_report(client, make_key, rich_report):
    key = make_key("read")

    report = get_report(client, key["token"], rich_report["id"])

    assert not REDACTED_REPORT & set(report)
    assert report["date_of_birth"] == "1990"
    assert report["full_name"] == "Marisol Quiñones Vega"
    assert report["status"] == "believed_alive"
    assert len(report["notes"]) == 1
    assert not REDACTED_NOTE & set(report["notes"][0])
    assert report["notes"][0]["text"]
    text = str(report)
    for secret in ("+15555550123", "+15555550199", "carmen.vega", "Calle Comercio", "Refugio"):
        assert secret not in text


def test_read_key_sees_redacted_lists_and_notes(client, make_key, rich_report):
    key = make_key("read")

    listing = client.get(REPORTS, headers=bearer(key["token"])).get_json()
    notes = client.get(f"{REPORTS}/{rich_report['id']}/notes", headers=bearer(key["token"]))

    [item] = listing["items"]
    assert not REDACTED_REPORT & set(item)
    assert item["date_of_birth"] == "1990"
    [note] = notes.get_json()["items"]
    assert not REDACTED_NOTE & set(note)


def test_full_read_key_sees_what_a_coordinator_sees(client, coordinator, make_key, rich_report):
    key = make_key("full_read")

    as_key = get_report(client, key["token"], rich_report["id"])
    as_coordinator = get_report(client, coordinator["token"], rich_report["id"])

    assert as_key == as_coordinator
    assert as_key["contact_phone"] == "+15005550006"


@pytest.mark.parametrize("scopes", [("read",), ("full_read",)])
def test_keys_without_write_cannot_change_anything(app, client, make_key, rich_report, scopes):
    key = make_key(*scopes)
    url = f"{REPORTS}/{rich_report['id']}"

    assert_envelope(post_note(client, key["token"], rich_report["id"]), 403, "forbidden")
    assert_envelope(
        client.patch(url, json={"home_city": "Ponce"}, headers=bearer(key["token"])), 403
    )
    assert count(app, Note) == 1
    with app.app_context():
        assert db.session.get(Report, rich_report["id"]).home_city == "Yauco"


def test_write_only_key_cannot_read(client, make_key, rich_report):
    key = make_key("write")

    assert_envelope(client.get(REPORTS, headers=bearer(key["token"])), 403)
    assert_envelope(client.get(f"{REPORTS}/{rich_report['id']}", headers=bearer(key["token"])), 403)


def test_write_key_may_patch_only_its_own_reports(app, client, make_key, rich_report):
    key = make_key("read", "write")
    own = client.post(REPORTS, json=report_payload(), headers=bearer(key["token"])).get_json()

    mine = client.patch(
        f"{REPORTS}/{own['id']}", json={"home_city": "Ponce"}, headers=bearer(key["token"])
    )
    theirs = client.patch(
        f"{REPORTS}/{rich_report['id']}", json={"home_city": "Ponce"}, headers=bearer(key["token"])
    )

    assert mine.status_code == 200 and mine.get_json()["home_city"] == "Ponce"
    assert_envelope(theirs, 403, "forbidden")
    with app.app_context():
        assert db.session.get(Report, own["id"]).created_by == f"key:{key['id']}"
        assert db.session.get(Report, rich_report["id"]).home_city == "Yauco"


def test_write_key_may_add_notes(client, make_key, rich_report):
    key = make_key("write")

    response = post_note(client, key["token"], rich_report["id"], status="believed_missing")

    assert response.status_code == 201


@pytest.fixture
def minor_report(client):
    return client.post(
        REPORTS, json=report_payload(full_name="Dayana Ortiz", given_name=None, age="9")
    ).get_json()


@pytest.mark.parametrize("scopes", [("read",), ("full_read",), ("read", "write", "full_read")])
def test_minors_are_invisible_to_every_partner_key(client, make_key, minor_report, scopes):
    token = make_key(*scopes)["token"]
    report_id = minor_report["id"]
    adult = client.post(REPORTS, json=report_payload()).get_json()

    assert_envelope(client.get(f"{REPORTS}/{report_id}", headers=bearer(token)), 404)
    assert_envelope(client.get(f"{REPORTS}/{report_id}/notes", headers=bearer(token)), 404)
    listing = client.get(REPORTS, headers=bearer(token)).get_json()
    assert [item["id"] for item in listing["items"]] == [adult["id"]]
    by_reference = client.get(
        REPORTS, query_string={"reference": minor_report["reference"]}, headers=bearer(token)
    ).get_json()
    assert by_reference["items"] == []
    if "write" in scopes:
        assert_envelope(post_note(client, token, report_id), 404)


def test_minors_are_visible_to_coordinators(client, coordinator, admin, minor_report):
    for user in (coordinator, admin):
        report = get_report(client, user["token"], minor_report["id"])
        assert report["is_minor"] is True
        listing = client.get(REPORTS, headers=bearer(user["token"])).get_json()
        assert [item["id"] for item in listing["items"]] == [minor_report["id"]]


def test_missing_report_is_404(client, coordinator):
    response = client.get(
        f"{REPORTS}/01jzzzzzzzzzzzzzzzzzzzzzzz", headers=bearer(coordinator["token"])
    )

    assert_envelope(response, 404, "report_not_found")


def test_odd_report_ids_are_404_not_500(client, coordinator, admin, subtests):
    odd = ["%00", "abc%00def", "x" * 300, "01JBADBADBADBADBADBADBADBA", "%F0%9F%91%B5"]
    for report_id in odd:
        for suffix in ("", "/notes", "/audit"):
            with subtests.test(report_id=report_id, suffix=suffix):
                response = client.get(
                    f"{REPORTS}/{report_id}{suffix}", headers=bearer(admin["token"])
                )
                assert_envelope(response, 404)
        with subtests.test(report_id=report_id, method="patch+note"):
            token = coordinator["token"]
            assert_envelope(patch(client, token, report_id, {"age": "3"}), 404)
            assert_envelope(post_note(client, token, report_id), 404)


# --- Lists ----------------------------------------------------------------------------------


def test_list_filters(app, client, coordinator):
    token = coordinator["token"]
    pr_missing = client.post(REPORTS, json=report_payload()).get_json()
    mx_found = client.post(
        REPORTS, json=report_payload(kind="found", home_country="MX", full_name="Rocío Hernández")
    ).get_json()
    ht_old = client.post(
        REPORTS,
        json=report_payload(home_country="HT", full_name="Manouchka Désir", status="believed_dead"),
    ).get_json()
    with app.app_context():
        db.session.get(Report, ht_old["id"]).created_at = datetime(2026, 1, 2, tzinfo=UTC)
        db.session.commit()

    def ids(**query):
        response = client.get(REPORTS, query_string=query, headers=bearer(token))
        assert response.status_code == 200, response.get_json()
        return {item["id"] for item in response.get_json()["items"]}

    assert ids() == {pr_missing["id"], mx_found["id"], ht_old["id"]}
    assert ids(kind="found") == {mx_found["id"]}
    assert ids(kind="missing") == {pr_missing["id"], ht_old["id"]}
    assert ids(status="believed_dead") == {ht_old["id"]}
    assert ids(status="believed_alive") == {mx_found["id"]}
    assert ids(country="mx") == {mx_found["id"]}
    assert ids(country="PR") == {pr_missing["id"]}
    assert ids(country="ht", kind="missing") == {ht_old["id"]}
    assert ids(since="2026-06-01T00:00:00Z") == {pr_missing["id"], mx_found["id"]}
    assert ids(reference=mx_found["reference"]) == {mx_found["id"]}
    assert ids(reference=mx_found["reference"].lower().replace("-", "")) == {mx_found["id"]}
    assert ids(reference="AAA-AAA") == set()


def test_bad_list_arguments_are_422(client, coordinator, subtests):
    queries = [
        {"kind": "lost"},
        {"kind": "missing\x00"},
        {"status": "alive"},
        {"country": "PRI"},
        {"country": "P\x00"},
        {"since": "yesterday"},
        {"since": "2026-01-01\x00"},
        {"limit": "0"},
        {"limit": "500"},
        {"limit": "-1"},
        {"limit": "ten"},
        {"reference": "x" * 21},
    ]
    for query in queries:
        with subtests.test(**query):
            response = client.get(REPORTS, query_string=query, headers=bearer(coordinator["token"]))

            assert set(assert_envelope(response, 422)["errors"]) == set(query)


def test_nul_in_a_reference_filter_finds_nothing(client, coordinator, make_report):
    make_report()

    response = client.get(
        REPORTS, query_string={"reference": "AB\x00C-DEF"}, headers=bearer(coordinator["token"])
    )

    assert response.status_code == 200
    assert response.get_json()["items"] == []


def test_cursor_pagination_walks_every_report_exactly_once(client, coordinator):
    created = [client.post(REPORTS, json=report_payload()).get_json()["id"] for _ in range(7)]
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        query = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get(REPORTS, query_string=query, headers=bearer(coordinator["token"]))
        assert page.status_code == 200
        body = page.get_json()
        assert len(body["items"]) <= 2
        seen.extend(item["id"] for item in body["items"])
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break

    assert pages == 4
    assert sorted(seen) == sorted(created)
    assert len(seen) == len(set(seen))
    assert seen == sorted(seen, reverse=True)  # newest first


def test_tampered_cursor_is_422(client, coordinator, subtests):
    client.post(REPORTS, json=report_payload())

    for cursor in ("!!!!", "not base64 at all", "Li4vZXRj", "_w", "%00", "\x00", "AA\x00A"):
        with subtests.test(cursor=repr(cursor)):
            response = client.get(
                REPORTS, query_string={"cursor": cursor}, headers=bearer(coordinator["token"])
            )

            assert list(assert_envelope(response, 422)["errors"]) == ["cursor"]


# --- Corrections (PATCH) ---------------------------------------------------------------------


def patch(client, token, report_id, changes):
    return client.patch(f"{REPORTS}/{report_id}", json=changes, headers=bearer(token))


def test_patch_changes_fields_and_increments_version(client, coordinator, make_report):
    report = make_report()

    response = patch(
        client, coordinator["token"], report["id"], {"home_city": "Ponce", "age": "35"}
    )

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["home_city"], body["age"], body["version"]) == ("Ponce", "35", 2)
    again = get_report(client, coordinator["token"], report["id"])
    assert (again["home_city"], again["version"]) == ("Ponce", 2)
    assert again["updated_at"] > again["created_at"]


def test_patch_without_a_real_change_keeps_the_version(client, coordinator, make_report):
    report = make_report()

    body = patch(client, coordinator["token"], report["id"], {"home_city": "Yauco"}).get_json()

    assert body["version"] == 1


def test_patch_rederives_age_bounds_and_minor_flag(app, client, coordinator, make_report):
    report = make_report(age="34")
    token = coordinator["token"]

    assert patch(client, token, report["id"], {"age": "12"}).get_json()["is_minor"] is True
    with app.app_context():
        row = db.session.get(Report, report["id"])
        assert (row.age_min, row.age_max) == (12, 12)

    assert patch(client, token, report["id"], {"age": "30-40"}).get_json()["is_minor"] is False
    with app.app_context():
        row = db.session.get(Report, report["id"])
        assert (row.age_min, row.age_max) == (30, 40)

    young = str(datetime.now(UTC).year - 8)
    body = patch(client, token, report["id"], {"age": None, "date_of_birth": young}).get_json()
    assert body["is_minor"] is True


def test_patch_keeps_a_hand_set_minor_flag(client, coordinator, make_report):
    report = make_report(age=None, is_minor=True)
    token = coordinator["token"]

    assert patch(client, token, report["id"], {"home_city": "Ponce"}).get_json()["is_minor"]
    assert patch(client, token, report["id"], {"age": "19", "is_minor": True}).get_json()[
        "is_minor"
    ]
    assert not patch(client, token, report["id"], {"is_minor": False}).get_json()["is_minor"]


def test_patch_cannot_change_kind_or_provenance(app, client, coordinator, make_report, subtests):
    report = make_report()

    for field in ("kind", "source_record_id", "source_date", "reference", "id", "version"):
        with subtests.test(field=field):
            response = patch(client, coordinator["token"], report["id"], {field: "found"})

            assert assert_envelope(response, 422)["errors"] == {field: ["Unknown field."]}
    with app.app_context():
        row = db.session.get(Report, report["id"])
        assert (row.kind, row.reference, row.version) == ("missing", report["reference"], 1)


def test_patch_cannot_remove_both_name_and_description(app, client, coordinator, make_report):
    report = make_report()

    response = patch(
        client,
        coordinator["token"],
        report["id"],
        {"full_name": None, "given_name": "", "family_name": None},
    )

    assert "_schema" in assert_envelope(response, 422)["errors"]
    with app.app_context():
        row = db.session.get(Report, report["id"])
        assert row.full_name == "Marisol Quiñones Vega"
        assert row.version == 1


def test_patch_may_remove_names_when_a_description_remains(client, coordinator, make_report):
    report = make_report(description="Tattoo of a hummingbird on the right wrist.")

    response = patch(
        client,
        coordinator["token"],
        report["id"],
        {"full_name": None, "given_name": None, "family_name": None},
    )

    assert response.status_code == 200
    assert response.get_json()["display_name"] is None


def test_invalid_patch_changes_nothing(app, client, coordinator, make_report, subtests):
    report = make_report()
    cases = [
        {"age": "40-30"},
        {"full_name": "x\x00y", "home_city": "Ponce"},
        {"lat": 18.0},
        {"author_phone": "nope"},
        {"sex": "f"},
        {"home_city": "Ponce", "date_of_birth": "2020-02-30"},
        {"alternate_names": None},
    ]
    for changes in cases:
        with subtests.test(changes=str(changes)):
            response = patch(client, coordinator["token"], report["id"], changes)

            assert assert_envelope(response, 422)["errors"]
    with app.app_context():
        row = db.session.get(Report, report["id"])
        assert (row.age, row.full_name, row.home_city, row.version) == (
            "34",
            "Marisol Quiñones Vega",
            "Yauco",
            1,
        )


def test_patch_of_a_missing_report_is_404(client, coordinator):
    response = patch(client, coordinator["token"], "01jzzzzzzzzzzzzzzzzzzzzzzz", {"age": "3"})

    assert_envelope(response, 404)


def test_patch_is_audited_with_field_names_only(app, client, coordinator, make_report):
    report = make_report()

    patch(
        client,
        coordinator["token"],
        report["id"],
        {"home_city": "Ponce", "author_phone": "+15555550144", "full_name": "Marisol Quiñones"},
    )

    with app.app_context():
        [event] = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "report.update")
        ).all()
        assert event.details == {"fields": ["author_phone", "full_name", "home_city"]}
        assert event.actor == f"user:{coordinator['id']}"
        text = str(event.details)
        assert "Ponce" not in text and "+1555" not in text and "Quiñones" not in text


def test_concurrent_correction_is_409_not_500(app, client, coordinator, make_report, monkeypatch):
    report = make_report()
    token = coordinator["token"]
    get_report(client, token, report["id"])  # the token's last use is saved now, not mid-PATCH
    real_get_report = service.get_report

    def get_then_someone_else_saves(**kwargs):
        found = real_get_report(**kwargs)
        table = Report.__table__
        with db.engine.begin() as conn:
            conn.execute(
                sa.update(table)
                .where(table.c.id == found.id)
                .values(home_city="Ponce", version=table.c.version + 1)
            )
        return found

    monkeypatch.setattr(service, "get_report", get_then_someone_else_saves)

    response = patch(client, token, report["id"], {"home_city": "Mayagüez"})

    assert_envelope(response, 409, "concurrent_change")
    with app.app_context():
        assert db.session.get(Report, report["id"]).home_city == "Ponce"


# --- Notes ----------------------------------------------------------------------------------


def test_add_note(app, client, coordinator, make_report):
    report = make_report()

    response = post_note(
        client,
        coordinator["token"],
        report["id"],
        text="Hablé con ella por teléfono; está bien.",
        status="believed_alive",
        author_name="Carmen Vega",
        author_made_contact=True,
    )

    assert response.status_code == 201, response.get_json()
    note = response.get_json()
    assert note["report_id"] == report["id"]
    assert note["text"] == "Hablé con ella por teléfono; está bien."
    assert note["author_made_contact"] is True
    assert get_report(client, coordinator["token"], report["id"])["status"] == "believed_alive"
    assert count(app, Note) == 1


def test_note_without_status_keeps_the_report_status(client, coordinator, make_report):
    report = make_report(status="believed_missing")

    post_note(client, coordinator["token"], report["id"], text="Still looking.")

    assert get_report(client, coordinator["token"], report["id"])["status"] == "believed_missing"


def test_latest_note_by_source_date_sets_status_and_location(client, coordinator, make_report):
    report = make_report()
    token = coordinator["token"]
    now = datetime.now(UTC)
    newer = post_note(
        client,
        token,
        report["id"],
        status="believed_alive",
        last_known_location="Coliseo de Ponce",
        source_date=iso(now - timedelta(hours=1)),
    )
    older = post_note(
        client,
        token,
        report["id"],
        status="believed_missing",
        last_known_location="Plaza de Yauco",
        source_date=iso(now - timedelta(days=2)),
    )
    assert newer.status_code == older.status_code == 201

    stored = get_report(client, token, report["id"])
    assert stored["status"] == "believed_alive"
    assert stored["last_known_location"] == "Coliseo de Ponce"
    assert [n["status"] for n in stored["notes"]] == ["believed_missing", "believed_alive"]

    post_note(client, token, report["id"], status="believed_dead", source_date=iso(now))
    assert get_report(client, token, report["id"])["status"] == "believed_dead"
    assert get_report(client, token, report["id"])["last_known_location"] == "Coliseo de Ponce"


def test_notes_list_is_oldest_first_and_paginated(client, coordinator, make_report):
    report = make_report()
    token = coordinator["token"]
    now = datetime.now(UTC)
    # Entered out of order, as an import of old notes would be.
    for hours in (3, 5, 1, 4, 2):
        response = post_note(
            client,
            token,
            report["id"],
            text=f"{hours} hours ago",
            source_date=iso(now - timedelta(hours=hours)),
        )
        assert response.status_code == 201

    texts: list[str] = []
    cursor = None
    while True:
        query = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get(
            f"{REPORTS}/{report['id']}/notes", query_string=query, headers=bearer(token)
        )
        assert page.status_code == 200, page.get_json()
        texts.extend(note["text"] for note in page.get_json()["items"])
        cursor = page.get_json()["next_cursor"]
        if cursor is None:
            break

    assert texts == [f"{h} hours ago" for h in (5, 4, 3, 2, 1)]
    detail = get_report(client, token, report["id"])
    assert [n["text"] for n in detail["notes"]] == texts


def test_notes_cursor_of_another_report_is_422(client, coordinator, make_report):
    token = coordinator["token"]
    first, second = make_report(), make_report()
    other_note = post_note(client, token, second["id"]).get_json()
    from app.common.pagination import encode_cursor

    response = client.get(
        f"{REPORTS}/{first['id']}/notes",
        query_string={"cursor": encode_cursor(other_note["id"])},
        headers=bearer(token),
    )

    assert "cursor" in assert_envelope(response, 422)["errors"]


def test_note_on_a_missing_report_is_404(app, client, coordinator):
    response = post_note(client, coordinator["token"], "01jzzzzzzzzzzzzzzzzzzzzzzz")

    assert_envelope(response, 404, "report_not_found")
    assert count(app, Note) == 0


def test_invalid_note_is_422_and_stores_nothing(app, client, coordinator, make_report, subtests):
    report = make_report()
    cases = [
        ({"text": ""}, "text"),
        ({"text": "   \n  "}, "text"),
        ({"text": None}, "text"),
        ({}, "text"),
        ({"text": "ok", "status": "alive"}, "status"),
        ({"text": "ok", "source_date": "2999-01-01T00:00:00Z"}, "source_date"),
        ({"text": "a\x00b"}, "text"),
        ({"text": "x" * 5001}, "text"),
        ({"text": "ok", "author_phone": "call me"}, "author_phone"),
        ({"text": "ok", "last_known_location": "Plaza\x00"}, "last_known_location"),
        ({"text": "ok", "photo_url": "javascript:alert(1)"}, "photo_url"),
        ({"text": "ok", "report_id": "01jzzzzzzzzzzzzzzzzzzzzzzz"}, "report_id"),
    ]
    for fields, field in cases:
        with subtests.test(fields=str(fields)[:60]):
            response = client.post(
                f"{REPORTS}/{report['id']}/notes", json=fields, headers=bearer(coordinator["token"])
            )

            assert list(assert_envelope(response, 422)["errors"]) == [field]
    assert count(app, Note) == 0
    assert get_report(client, coordinator["token"], report["id"])["version"] == 1


def test_duplicated_note_source_record_id_is_409(app, client, coordinator, make_report):
    report = make_report()
    source = "personfinder.example.org/note.99"
    assert (
        post_note(client, coordinator["token"], report["id"], source_record_id=source).status_code
        == 201
    )

    response = post_note(client, coordinator["token"], report["id"], source_record_id=source)

    assert_envelope(response, 409, "duplicate_source_record")
    assert count(app, Note) == 1


# --- Audit ----------------------------------------------------------------------------------


def events(app, **where):
    with app.app_context():
        query = sa.select(AuditEvent).order_by(AuditEvent.id)
        for name, value in where.items():
            query = query.where(getattr(AuditEvent, name) == value)
        return [
            {c: getattr(e, c) for c in ("actor", "action", "subject_id", "request_id", "details")}
            for e in db.session.scalars(query)
        ]


def test_create_is_audited_as_anonymous_with_the_request_id(app, client):
    response = client.post(REPORTS, json=report_payload())

    [event] = events(app, action="report.create")
    assert event["actor"] == "anonymous"
    assert event["subject_id"] == response.get_json()["id"]
    assert event["request_id"] == response.headers["X-Request-ID"]


def test_create_by_a_key_is_audited_as_the_key(app, client, make_key):
    key = make_key("write")

    client.post(REPORTS, json=report_payload(), headers=bearer(key["token"]))

    assert events(app, action="report.create")[0]["actor"] == f"key:{key['id']}"


def test_every_read_is_audited(app, client, coordinator, make_key, make_report):
    first, second, third = make_report(), make_report(), make_report()
    token = coordinator["token"]

    listing = client.get(REPORTS, query_string={"limit": 2}, headers=bearer(token))
    page_ids = {item["id"] for item in listing.get_json()["items"]}
    listed = events(app, action="report.list")
    assert {e["subject_id"] for e in listed} == page_ids and len(listed) == 2
    assert {e["request_id"] for e in listed} == {listing.headers["X-Request-ID"]}
    assert {e["actor"] for e in listed} == {f"user:{coordinator['id']}"}

    detail = client.get(f"{REPORTS}/{first['id']}", headers=bearer(token))
    [read] = events(app, action="report.read")
    assert (read["subject_id"], read["request_id"]) == (first["id"], detail.headers["X-Request-ID"])

    notes = client.get(f"{REPORTS}/{second['id']}/notes", headers=bearer(token))
    [note_list] = events(app, action="note.list")
    assert (note_list["subject_id"], note_list["request_id"]) == (
        second["id"],
        notes.headers["X-Request-ID"],
    )

    key = make_key("read")
    client.get(f"{REPORTS}/{third['id']}", headers=bearer(key["token"]))
    assert events(app, action="report.read")[-1]["actor"] == f"key:{key['id']}"


def test_client_request_id_is_used_in_the_audit(app, client, coordinator, make_report):
    report = make_report()

    response = client.get(
        f"{REPORTS}/{report['id']}",
        headers=bearer(coordinator["token"]) | {"X-Request-ID": "pf-sync.2026-11-21_0042"},
    )

    assert response.headers["X-Request-ID"] == "pf-sync.2026-11-21_0042"
    assert events(app, action="report.read")[0]["request_id"] == "pf-sync.2026-11-21_0042"


def test_changes_are_audited(app, client, coordinator, make_report):
    report = make_report()
    token = coordinator["token"]

    note = post_note(client, token, report["id"], status="believed_alive")
    patched = patch(client, token, report["id"], {"home_city": "Ponce"})

    [created] = events(app, action="note.create")
    assert created["details"] == {"note_id": note.get_json()["id"]}
    assert created["request_id"] == note.headers["X-Request-ID"]
    [updated] = events(app, action="report.update")
    assert updated["request_id"] == patched.headers["X-Request-ID"]
    assert {e["action"] for e in events(app, subject_id=report["id"])} >= {
        "report.create",
        "note.create",
        "report.update",
    }


def test_failed_requests_leave_no_audit_event(app, client, coordinator, make_report):
    report = make_report()

    patch(client, coordinator["token"], report["id"], {"age": "200"})
    post_note(client, coordinator["token"], report["id"], text="")

    assert [e["action"] for e in events(app)] == ["report.create"]


def test_audit_log_is_for_admins_only(client, coordinator, admin, make_key, make_report):
    report = make_report()
    url = f"{REPORTS}/{report['id']}/audit"

    assert_envelope(client.get(url), 401)
    assert_envelope(client.get(url, headers=bearer(coordinator["token"])), 403)
    assert_envelope(
        client.get(url, headers=bearer(make_key("read", "write", "full_read")["token"])), 403
    )
    assert client.get(url, headers=bearer(admin["token"])).status_code == 200


def test_audit_log_is_newest_first_and_paginated(app, client, coordinator, admin, make_report):
    report = make_report()
    for _ in range(4):
        get_report(client, coordinator["token"], report["id"])
    url = f"{REPORTS}/{report['id']}/audit"

    seen = []
    cursor = None
    while True:
        query = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get(url, query_string=query, headers=bearer(admin["token"])).get_json()
        seen.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break

    # 1 create + 4 reads, plus an audit.read for each earlier page of this walk.
    assert [e["action"] for e in seen if e["action"] != "audit.read"] == ["report.read"] * 4 + [
        "report.create"
    ]
    assert len({e["id"] for e in seen}) == len(seen)
    assert [e["id"] for e in seen] == sorted((e["id"] for e in seen), reverse=True)
    assert set(seen[0]) == {
        "id",
        "at",
        "actor",
        "action",
        "subject_type",
        "subject_id",
        "request_id",
        "ip",
        "details",
    }
    assert events(app, action="audit.read")[0]["actor"] == f"user:{admin['id']}"


def test_audit_of_a_missing_report_is_404(client, admin):
    assert_envelope(
        client.get(f"{REPORTS}/01jzzzzzzzzzzzzzzzzzzzzzzz/audit", headers=bearer(admin["token"])),
        404,
    )


def test_audit_details_never_hold_personal_data(app, client, coordinator, admin, make_report):
    report = make_report(description="Lleva un rosario azul.")
    token = coordinator["token"]
    post_note(
        client,
        token,
        report["id"],
        text="La vieron en el refugio de Guánica.",
        author_phone="+15555550177",
        last_known_location="Refugio de Guánica",
    )
    patch(
        client,
        token,
        report["id"],
        {"full_name": "Marisol Q. Vega", "contact_phone": "+15555550166"},
    )
    client.post(
        "/api/v1/reports/status", json={"reference": report["reference"], "phone": "+15555550123"}
    )
    get_report(client, token, report["id"])
    client.get(f"{REPORTS}/{report['id']}/audit", headers=bearer(admin["token"]))

    with app.app_context():
        rows = db.session.scalars(sa.select(AuditEvent)).all()
        assert len(rows) >= 6
        text = " ".join(f"{e.actor} {e.action} {e.details}" for e in rows)
    for personal in ("Marisol", "Quiñones", "Vega", "+1555", "Guánica", "rosario", "refugio"):
        assert personal not in text


# --- Public status check --------------------------------------------------------------------


STATUS = f"{REPORTS}/status"


def test_status_check_answers_status_and_date_only(client, coordinator):
    found = client.post(
        REPORTS,
        json=report_payload(
            kind="found",
            contact_phone="+15005550006",
            last_known_location="Refugio Escuela Lola Rodríguez de Tió",
            lat=18.0344,
            lon=-66.8497,
        ),
    ).get_json()
    post_note(
        client,
        coordinator["token"],
        found["id"],
        status="believed_alive",
        last_known_location="Hospital de Área de Yauco",
    )

    response = client.post(STATUS, json={"reference": found["reference"], "phone": "+15555550123"})

    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"reference", "kind", "status", "updated_at"}
    assert body == {
        "reference": found["reference"],
        "kind": "found",
        "status": "believed_alive",
        "updated_at": body["updated_at"],
    }
    text = response.get_data(as_text=True)
    for private in ("Marisol", "Refugio", "Hospital", "Yauco", "18.03", "+1555", "+1500"):
        assert private not in text


def test_status_check_follows_the_latest_note(client, coordinator, make_report):
    report = make_report()
    post_note(client, coordinator["token"], report["id"], status="believed_alive")

    body = client.post(STATUS, json={"reference": report["reference"], "phone": "+15555550123"})

    assert body.get_json()["status"] == "believed_alive"


def test_status_check_reads_the_reference_as_people_type_it(client, make_report, subtests):
    report = make_report()
    reference = report["reference"]
    variants = {
        "lower-case": reference.lower(),
        "no-dash": reference.replace("-", ""),
        "lower-no-dash": reference.replace("-", "").lower(),
        "spaces": f"  {reference[:3]} {reference[4:]} ".lower(),
        "exact": reference,
    }

    for name, typed in variants.items():
        with subtests.test(name):
            response = client.post(STATUS, json={"reference": typed, "phone": "+1 555-555-0123"})

            assert response.status_code == 200, response.get_json()
            assert response.get_json()["reference"] == reference


def test_status_check_accepts_the_contact_phone(client, make_report):
    report = make_report(contact_phone="+15005550006")

    response = client.post(STATUS, json={"reference": report["reference"], "phone": "+15005550006"})

    assert response.status_code == 200


def test_wrong_phone_and_wrong_reference_get_the_same_404(client, make_report):
    report = make_report()
    other = "AAA-AAA" if report["reference"] != "AAA-AAA" else "BBB-BBB"

    wrong_phone = client.post(
        STATUS, json={"reference": report["reference"], "phone": "+15555550999"}
    )
    wrong_reference = client.post(STATUS, json={"reference": other, "phone": "+15555550123"})
    not_a_reference = client.post(STATUS, json={"reference": "OOO-000", "phone": "+15555550123"})

    first = assert_envelope(wrong_phone, 404, "report_not_found")
    assert wrong_reference.get_json() == first
    assert not_a_reference.get_json() == first


def test_status_check_needs_both_values(client, subtests):
    cases = [
        ({"reference": "ABC-DEF", "phone": ""}, "phone"),
        ({"reference": "ABC-DEF", "phone": "   "}, "phone"),
        ({"reference": "ABC-DEF", "phone": None}, "phone"),
        ({"reference": "ABC-DEF", "phone": "+1555\x005550123"}, "phone"),
        ({"reference": "ABC-DEF"}, "phone"),
        ({"phone": "+15555550123"}, "reference"),
        ({"reference": "ABC", "phone": "+15555550123"}, "reference"),
        ({"reference": "ABC-DEF", "phone": "+15555550123", "name": "Marisol"}, "name"),
    ]
    for body, field in cases:
        with subtests.test(body=str(body)):
            assert list(assert_envelope(client.post(STATUS, json=body), 422)["errors"]) == [field]


def test_status_check_survives_nul_in_the_reference(client, make_report):
    report = make_report()
    reference = report["reference"]

    response = client.post(
        STATUS, json={"reference": f"{reference[:3]}\x00{reference[4:]}", "phone": "+15555550123"}
    )

    # Junk between the characters is ignored, as spaces and dashes are; never a 500.
    assert response.status_code == 200
    assert response.get_json()["reference"] == reference


def test_status_check_with_a_blank_phone_never_matches_a_report_without_contact_phone(
    client, make_report
):
    report = make_report()  # author_phone only: contact_phone is empty

    response = client.post(STATUS, json={"reference": report["reference"], "phone": ""})

    assert response.status_code != 200
    assert "status" not in response.get_json()
