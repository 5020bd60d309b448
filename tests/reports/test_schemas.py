"""Report and note schemas: what people type, and what the API accepts and stores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import marshmallow as ma
import pytest

from app.reports.schemas import (
    REDACTED_NOTE_FIELDS,
    REDACTED_REPORT_FIELDS,
    NoteInSchema,
    NoteOutSchema,
    ReportInSchema,
    ReportOutSchema,
    ReportPatchSchema,
    StatusCheckInSchema,
    parse_age,
    validate_date_of_birth,
)


def load(schema=None, **fields):
    data = {"kind": "missing", "full_name": "Nguyễn Văn An"}
    data.update(fields)
    return (schema or ReportInSchema()).load(data)


def errors_of(schema, data):
    with pytest.raises(ma.ValidationError) as caught:
        schema.load(data)
    return caught.value.messages


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("34", "34"),
        (34, "34"),
        ("30-40", "30-40"),
        (" 30 - 40 ", "30-40"),
        ("5-5", "5"),
        ("", None),
        (None, None),
        ("130", "130"),
        ("٣٤", "34"),  # Arabic-Indic digits, as typed on an Arabic keyboard
    ],
)
def test_age(typed, stored):
    assert load(age=typed).get("age") == stored


@pytest.mark.parametrize("typed", ["40-30", "131", "200", "-1", "3 4", "34.5", 34.5, True, "1-2-3"])
def test_age_rejected(typed):
    assert "age" in errors_of(ReportInSchema(), {"kind": "found", "description": "x", "age": typed})


def test_parse_age():
    assert parse_age("30-40") == (30, 40)
    assert parse_age("34") == (34, 34)
    assert parse_age(None) is None and parse_age("") is None


@pytest.mark.parametrize("value", ["1990", "1990-07", "1990-07-15", "2000-02-29", "1880"])
def test_date_of_birth_accepted(value):
    validate_date_of_birth(value)


@pytest.mark.parametrize(
    "value",
    [
        "2020-02-30",
        "2021-02-29",
        "1990-00",
        "1990-07-00",
        "1990-13-01",
        "1879",
        "199",
        "1990/07/15",
        " 1990",
    ],
)
def test_date_of_birth_rejected(value):
    with pytest.raises(ma.ValidationError):
        validate_date_of_birth(value)


def test_date_of_birth_in_the_future_is_rejected():
    tomorrow = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()
    with pytest.raises(ma.ValidationError):
        validate_date_of_birth(tomorrow)
    validate_date_of_birth(str(datetime.now(UTC).year))


def test_text_is_nfc_trimmed_and_blank_is_null():
    data = load(full_name="  Nguye\u0302\u0303n Va\u0306n An ", given_name="   ", home_city="")

    assert data["full_name"] == "Nguyễn Văn An"
    assert data["given_name"] is None and data["home_city"] is None


def test_multiline_text_keeps_newlines_and_tabs_but_not_other_controls():
    data = load(description="Cicatriz en la mano.\r\nLleva\tgafas.\rFin")

    assert data["description"] == "Cicatriz en la mano.\nLleva\tgafas.\nFin"
    assert "description" in errors_of(ReportInSchema(), {"kind": "found", "description": "a\x0bb"})


@pytest.mark.parametrize("field", ["full_name", "given_name", "home_city", "author_name"])
@pytest.mark.parametrize("bad", ["a\x00b", "a\nb", "a\tb", "\x1b[2J", "a\u0085b", "\udc00"])
def test_single_line_text_refuses_control_characters(field, bad):
    assert list(errors_of(ReportInSchema(), {"kind": "found", "description": "x", field: bad})) == [
        field
    ]


def test_format_characters_used_by_real_scripts_are_kept():
    # Zero-width joiners build emoji families and Indic conjuncts; RLM marks Arabic and Hebrew.
    names = ["Nana 👩\u200d👧\u200d👦", "क्\u200dष", "\u200fأم يوسف"]

    assert load(alternate_names=names)["alternate_names"] == names


def test_country_and_language_are_normalized():
    data = load(home_country="ht", language="pt_BR")

    assert (data["home_country"], data["language"]) == ("HT", "pt-BR")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("home_country", "HTI"),
        ("home_country", "H1"),
        ("language", "portuguese!"),
        ("sex", "f"),
        ("status", "found"),
        ("author_email", "not-an-email"),
        ("photo_url", "javascript:alert(1)"),
        ("photo_url", "ftp://example.org/p.jpg"),
        ("profile_urls", ["notaurl"]),
        ("profile_urls", "https://example.org"),
        ("alternate_names", "Mari"),
        ("is_minor", "sometimes"),
        ("source_date", "yesterday"),
    ],
)
def test_field_formats(field, value):
    assert list(
        errors_of(ReportInSchema(), {"kind": "found", "description": "x", field: value})
    ) == [field]


def test_blank_nicknames_are_dropped_and_do_not_count_as_a_name():
    assert load(alternate_names=["", "  ", "Tí"])["alternate_names"] == ["Tí"]
    messages = errors_of(ReportInSchema(), {"kind": "missing", "alternate_names": [" ", None]})
    assert list(messages) == ["_schema"]


@pytest.mark.parametrize(
    "fields",
    [
        {"full_name": "Ana"},
        {"given_name": "Ana"},
        {"family_name": "Cruz"},
        {"alternate_names": ["Nena"]},
        {"description": "Red shirt"},
    ],
)
def test_any_name_or_a_description_is_enough(fields):
    assert ReportInSchema().load({"kind": "missing", **fields})


def test_coordinates_come_together():
    assert load(lat=18.5, lon=-72.3)["lat"] == 18.5
    assert load(lat=None, lon=None)["lat"] is None
    for coordinates in ({"lat": 18.5}, {"lon": -72.3}, {"lat": None, "lon": -72.3}):
        assert "lat" in errors_of(
            ReportInSchema(), {"kind": "missing", "full_name": "A", **coordinates}
        )


def test_source_date_may_be_slightly_ahead_but_not_in_the_future():
    soon = datetime.now(UTC) + timedelta(minutes=5)
    later = datetime.now(UTC) + timedelta(hours=1)

    assert load(source_date=soon.isoformat())["source_date"] == soon
    assert "source_date" in errors_of(
        ReportInSchema(), {"kind": "missing", "full_name": "A", "source_date": later.isoformat()}
    )


def test_naive_source_date_is_read_as_utc():
    assert load(source_date="2026-03-01T12:00:00")["source_date"] == datetime(
        2026, 3, 1, 12, tzinfo=UTC
    )


def test_unknown_fields_are_named():
    assert errors_of(ReportInSchema(), {"kind": "found", "description": "x", "tribe": "y"}) == {
        "tribe": ["Unknown field."]
    }


def test_phone_is_read_in_the_reports_country(app):
    assert load(author_phone="(787) 555-0123", home_country="pr")["author_phone"] == "+17875550123"
    assert "author_phone" in errors_of(
        ReportInSchema(), {"kind": "found", "description": "x", "author_phone": "787 555 0123"}
    )
    with app.app_context():
        app.config["DEFAULT_PHONE_REGION"] = "US"
        assert load(author_phone="555-555-0123")["author_phone"] == "+15555550123"
        # The report's own country wins over the default region (07700 900xxx: UK drama numbers).
        assert load(author_phone="07700 900123", home_country="GB")["author_phone"] == (
            "+447700900123"
        )


def test_patch_schema_cannot_change_kind_or_provenance():
    schema = ReportPatchSchema(partial=True)

    assert schema.load({"home_city": "Ponce"}) == {"home_city": "Ponce"}
    assert schema.load({}) == {}
    for field in ("kind", "source_record_id", "source_name", "source_url", "source_date"):
        assert errors_of(schema, {field: "x"}) == {field: ["Unknown field."]}


def test_note_schema():
    schema = NoteInSchema()

    assert (
        schema.load({"text": " Está en el refugio.\r\nBien. "})["text"]
        == "Está en el refugio.\nBien."
    )
    for data, field in [
        ({}, "text"),
        ({"text": ""}, "text"),
        ({"text": "  "}, "text"),
        ({"text": None}, "text"),
        ({"text": "x", "status": "safe"}, "status"),
        ({"text": "x", "author_made_contact": "maybe"}, "author_made_contact"),
        (
            {"text": "x", "source_date": (datetime.now(UTC) + timedelta(days=1)).isoformat()},
            "source_date",
        ),
        ({"text": "x", "photo_url": "https://example.org/\x00"}, "photo_url"),
        ({"text": "x", "photo_url": "https://example.org/" + "a" * 1000}, "photo_url"),
    ]:
        assert list(errors_of(schema, data)) == [field], data


def test_status_check_schema():
    schema = StatusCheckInSchema()

    assert schema.load({"reference": "abc-def", "phone": "+1 555 555 0123"}) == {
        "reference": "abc-def",
        "phone": "+15555550123",
    }
    for data, field in [
        ({"reference": "abc-def", "phone": ""}, "phone"),
        ({"reference": "abc-def", "phone": "  "}, "phone"),
        ({"reference": "abc", "phone": "+15555550123"}, "reference"),
        ({"reference": "x" * 21, "phone": "+15555550123"}, "reference"),
    ]:
        assert list(errors_of(schema, data)) == [field]


def test_redacted_fields_exist_in_the_output_schemas():
    assert set(REDACTED_REPORT_FIELDS) <= set(ReportOutSchema().fields)
    assert set(REDACTED_NOTE_FIELDS) <= set(NoteOutSchema().fields)
    assert {"author_phone", "author_email", "contact_phone", "lat", "lon"} <= set(
        REDACTED_REPORT_FIELDS
    )
    assert "full_name" not in REDACTED_REPORT_FIELDS


def test_input_schema_uses_pfif_field_names():
    pfif_person_fields = {
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
        "author_name",
        "author_email",
        "author_phone",
        "source_name",
        "source_date",
        "source_url",
    }
    pfif_note_fields = {
        "status",
        "text",
        "author_name",
        "author_email",
        "author_phone",
        "author_made_contact",
        "last_known_location",
        "photo_url",
        "source_date",
    }

    assert pfif_person_fields <= set(ReportInSchema().fields)
    assert pfif_note_fields <= set(NoteInSchema().fields)
