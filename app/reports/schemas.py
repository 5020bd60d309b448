"""Input and output schemas for reports and notes (the OpenAPI document is built from these)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import marshmallow as ma
from marshmallow import validate

from app.common.fields import Phone, Text, Url, language_tag, point_errors
from app.common.pagination import PageArgsSchema, page_schema
from app.reports.models import KINDS, SEXES, STATUSES

_AGE = re.compile(r"^\s*(\d{1,3})\s*(?:-\s*(\d{1,3})\s*)?$")
_DOB = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
_COUNTRY = re.compile(r"^[A-Za-z]{2}$")
MAX_AGE = 130
# Clocks on partner systems drift; a source_date slightly ahead of ours is not an error.
_CLOCK_SKEW = timedelta(minutes=10)


class Age(ma.fields.Field):
    """PFIF age: "34" or an inclusive range "30-40" (a bare number is accepted too)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str | None:
        if value is None or value == "":
            return None
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ma.ValidationError('Use a number such as "34" or a range such as "30-40".')
        match = _AGE.match(str(value))
        if not match:
            raise ma.ValidationError('Use a number such as "34" or a range such as "30-40".')
        low = int(match.group(1))
        high = int(match.group(2)) if match.group(2) else low
        if high > MAX_AGE:
            raise ma.ValidationError(f"An age above {MAX_AGE} is not possible.")
        if low > high:
            raise ma.ValidationError("The first age of a range must not exceed the second.")
        return str(low) if low == high else f"{low}-{high}"

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return value


def parse_age(age: str | None) -> tuple[int, int] | None:
    """'30-40' -> (30, 40); '34' -> (34, 34). Input is already validated."""
    if not age:
        return None
    low, _, high = age.partition("-")
    return int(low), int(high or low)


def validate_date_of_birth(value: str) -> None:
    """yyyy, yyyy-mm or yyyy-mm-dd; a real date, not in the future."""
    match = _DOB.match(value)
    if not match:
        raise ma.ValidationError("Use yyyy, yyyy-mm or yyyy-mm-dd.")
    year, month, day = (int(g) if g else None for g in match.groups())
    try:
        # "is None", not "or": a month or day of 00 is not a date (and once crashed the age maths).
        earliest = date(year, 1 if month is None else month, 1 if day is None else day)
    except ValueError:
        raise ma.ValidationError("This date does not exist.") from None
    if year < 1880 or earliest > datetime.now(UTC).date():
        raise ma.ValidationError("This date of birth is not possible.")


class ReportInSchema(ma.Schema):
    """A new missing or found person report."""

    class Meta:
        unknown = ma.RAISE

    kind = ma.fields.String(
        required=True,
        validate=validate.OneOf(KINDS),
        metadata={"description": "missing: someone is looking for this person; found: safe here"},
    )
    full_name = Text(max_length=500, metadata={"description": "Name in the person's own order"})
    given_name = Text(max_length=200)
    family_name = Text(max_length=200)
    # Blank entries (an unused nickname box) become null here and are dropped after loading.
    alternate_names = ma.fields.List(
        Text(max_length=200),
        validate=validate.Length(max=20),
        metadata={"description": "Nicknames and other spellings"},
    )
    sex = ma.fields.String(allow_none=True, validate=validate.OneOf(SEXES))
    date_of_birth = ma.fields.String(allow_none=True, validate=validate_date_of_birth)
    age = Age(allow_none=True, metadata={"type": "string", "example": "30-40"})
    is_minor = ma.fields.Boolean(
        metadata={"description": "Set when the person is a child even if no age is known"}
    )
    home_street = Text(max_length=200)
    home_neighborhood = Text(max_length=200)
    home_city = Text(max_length=200)
    home_state = Text(max_length=100)
    home_postal_code = Text(max_length=20)
    home_country = ma.fields.String(
        allow_none=True,
        validate=validate.Regexp(_COUNTRY, error="Use a two-letter ISO 3166-1 country code."),
        metadata={"description": "ISO 3166-1 alpha-2, e.g. PR, MX, HT"},
    )
    description = Text(max_length=5000, multiline=True)
    photo_url = Url()
    profile_urls = ma.fields.List(Url(allow_none=False), validate=validate.Length(max=10))
    last_known_location = Text(max_length=500)
    lat = ma.fields.Float(allow_none=True, validate=validate.Range(min=-90, max=90))
    lon = ma.fields.Float(allow_none=True, validate=validate.Range(min=-180, max=180))
    status = ma.fields.String(
        allow_none=True,
        validate=validate.OneOf(STATUSES),
        metadata={"description": "PFIF note status at the time of the report"},
    )
    author_name = Text(max_length=200)
    author_phone = Phone()
    author_email = ma.fields.Email(allow_none=True, validate=validate.Length(max=254))
    contact_phone = Phone()
    language = ma.fields.String(
        allow_none=True,
        validate=language_tag,
    )
    source_record_id = Text(
        max_length=500, metadata={"description": "A partner's id, e.g. a PFIF person_record_id"}
    )
    source_name = Text(max_length=200)
    source_url = Url()
    source_date = ma.fields.AwareDateTime(allow_none=True, default_timezone=UTC)
    expiry_date = ma.fields.AwareDateTime(
        allow_none=True,
        default_timezone=UTC,
        metadata={
            "description": "PFIF expiry: when the report is to be deleted (default: "
            "REPORT_EXPIRY_DAYS from now)"
        },
    )

    @ma.validates_schema
    def _check_whole(self, data: dict[str, Any], **kwargs: Any) -> None:
        errors: dict[str, list[str]] = {}
        errors.update(point_errors(data))
        now = datetime.now(UTC)
        source_date = data.get("source_date")
        if source_date is not None and source_date > now + _CLOCK_SKEW:
            errors["source_date"] = ["Must not be in the future."]
        expiry_date = data.get("expiry_date")
        if expiry_date is not None and expiry_date <= now:
            errors["expiry_date"] = ["Must be in the future."]
        if not kwargs.get("partial") and not has_name_or_description(data):
            errors["_schema"] = [NO_IDENTITY]
        if errors:
            raise ma.ValidationError(errors)

    @ma.post_load
    def _normalize(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        if data.get("home_country"):
            data["home_country"] = data["home_country"].upper()
        if data.get("language"):
            data["language"] = data["language"].replace("_", "-")
        if "alternate_names" in data:
            data["alternate_names"] = [name for name in data["alternate_names"] if name]
        return data


IDENTITY_FIELDS = ("full_name", "given_name", "family_name", "description", "alternate_names")
NO_IDENTITY = "Give a name (or a nickname) or a description."


def has_name_or_description(data: dict[str, Any]) -> bool:
    """A report must say who: a name, a nickname, or a description (an unconscious patient)."""
    texts = (data.get(f) for f in IDENTITY_FIELDS if f != "alternate_names")
    # A list of blank nicknames is no nickname.
    return any(texts) or any(data.get("alternate_names") or ())


class ReportPatchSchema(ReportInSchema):
    """Corrections to a report; kind and provenance cannot change."""

    class Meta:
        unknown = ma.RAISE
        exclude = (
            "kind",
            "source_record_id",
            "source_name",
            "source_url",
            "source_date",
            "expiry_date",
        )


class ReportCreatedSchema(ma.Schema):
    """What the submitter gets back: enough to follow up, nothing more."""

    id = ma.fields.String()
    reference = ma.fields.String(metadata={"description": "Short code to read over the phone"})
    kind = ma.fields.String()
    status = ma.fields.String(allow_none=True)
    created_at = ma.fields.AwareDateTime(default_timezone=UTC)


class NoteInSchema(ma.Schema):
    """A PFIF-style note: a status change, a message, a last known location."""

    class Meta:
        unknown = ma.RAISE

    status = ma.fields.String(allow_none=True, validate=validate.OneOf(STATUSES))
    text = Text(max_length=5000, multiline=True, required=True, allow_none=False)
    author_name = Text(max_length=200)
    author_phone = Phone()
    author_email = ma.fields.Email(allow_none=True, validate=validate.Length(max=254))
    author_made_contact = ma.fields.Boolean(allow_none=True)
    last_known_location = Text(max_length=500)
    photo_url = Url()
    source_record_id = Text(max_length=500)
    source_date = ma.fields.AwareDateTime(allow_none=True, default_timezone=UTC)

    @ma.validates("source_date")
    def _not_future(self, value: datetime | None, **kwargs: Any) -> None:
        if value is not None and value > datetime.now(UTC) + _CLOCK_SKEW:
            raise ma.ValidationError("Must not be in the future.")


class NoteOutSchema(ma.Schema):
    id = ma.fields.String()
    report_id = ma.fields.String()
    status = ma.fields.String(allow_none=True)
    text = ma.fields.String()
    author_name = ma.fields.String(allow_none=True)
    author_phone = ma.fields.String(allow_none=True)
    author_email = ma.fields.String(allow_none=True)
    author_made_contact = ma.fields.Boolean(allow_none=True)
    last_known_location = ma.fields.String(allow_none=True)
    photo_url = ma.fields.String(allow_none=True)
    source_record_id = ma.fields.String(allow_none=True)
    source_date = ma.fields.AwareDateTime(default_timezone=UTC)
    entry_date = ma.fields.AwareDateTime(default_timezone=UTC)
    linked_report_id = ma.fields.String(
        allow_none=True,
        metadata={"description": "A report confirmed as the same person (PFIF linked record)"},
    )


class ReportOutSchema(ma.Schema):
    """A report as coordinators and full-read partners see it."""

    id = ma.fields.String()
    reference = ma.fields.String()
    kind = ma.fields.String()
    display_name = ma.fields.String(allow_none=True, dump_only=True)
    full_name = ma.fields.String(allow_none=True)
    given_name = ma.fields.String(allow_none=True)
    family_name = ma.fields.String(allow_none=True)
    alternate_names = ma.fields.List(ma.fields.String())
    sex = ma.fields.String(allow_none=True)
    date_of_birth = ma.fields.String(allow_none=True)
    age = ma.fields.String(allow_none=True)
    is_minor = ma.fields.Boolean()
    home_street = ma.fields.String(allow_none=True)
    home_neighborhood = ma.fields.String(allow_none=True)
    home_city = ma.fields.String(allow_none=True)
    home_state = ma.fields.String(allow_none=True)
    home_postal_code = ma.fields.String(allow_none=True)
    home_country = ma.fields.String(allow_none=True)
    description = ma.fields.String(allow_none=True)
    photo_url = ma.fields.String(allow_none=True)
    profile_urls = ma.fields.List(ma.fields.String())
    last_known_location = ma.fields.String(allow_none=True)
    lat = ma.fields.Float(allow_none=True)
    lon = ma.fields.Float(allow_none=True)
    status = ma.fields.String(allow_none=True)
    author_name = ma.fields.String(allow_none=True)
    author_phone = ma.fields.String(allow_none=True)
    author_email = ma.fields.String(allow_none=True)
    contact_phone = ma.fields.String(allow_none=True)
    language = ma.fields.String(allow_none=True)
    source_record_id = ma.fields.String(allow_none=True)
    source_name = ma.fields.String(allow_none=True)
    source_url = ma.fields.String(allow_none=True)
    source_date = ma.fields.AwareDateTime(default_timezone=UTC)
    entry_date = ma.fields.AwareDateTime(default_timezone=UTC)
    expiry_date = ma.fields.AwareDateTime(
        allow_none=True,
        default_timezone=UTC,
        metadata={"description": "After this the report and its notes are gone (PFIF expiry)"},
    )
    created_at = ma.fields.AwareDateTime(default_timezone=UTC)
    updated_at = ma.fields.AwareDateTime(default_timezone=UTC)
    version = ma.fields.Integer()
    verified = ma.fields.Boolean(
        metadata={"description": "False for a report received by SMS until a coordinator checks it"}
    )
    verified_by = ma.fields.String(allow_none=True)
    verified_at = ma.fields.AwareDateTime(allow_none=True, default_timezone=UTC)


class ReportDetailSchema(ReportOutSchema):
    """One report with its notes, oldest first."""

    notes = ma.fields.List(ma.fields.Nested(NoteOutSchema))


# What a partner key without full_read never sees: how to reach people and where they are.
REDACTED_REPORT_FIELDS = (
    "author_phone",
    "author_email",
    "contact_phone",
    "home_street",
    "home_postal_code",
    "lat",
    "lon",
    "last_known_location",
)
REDACTED_NOTE_FIELDS = ("author_phone", "author_email", "last_known_location")


class ReportListArgsSchema(PageArgsSchema):
    """Filters for the report list."""

    kind = ma.fields.String(validate=validate.OneOf(KINDS))
    status = ma.fields.String(validate=validate.OneOf(STATUSES))
    country = ma.fields.String(
        validate=validate.Regexp(_COUNTRY, error="Use a two-letter ISO 3166-1 country code.")
    )
    since = ma.fields.AwareDateTime(
        default_timezone=UTC, metadata={"description": "Only reports created at or after this"}
    )
    reference = ma.fields.String(validate=validate.Length(max=20))


class StatusCheckInSchema(ma.Schema):
    """Public status check: the reference and the phone of whoever reported."""

    class Meta:
        unknown = ma.RAISE

    reference = ma.fields.String(required=True, validate=validate.Length(min=6, max=20))
    phone = Phone(required=True, allow_none=False)


class StatusCheckOutSchema(ma.Schema):
    """Status and date only: never a name, never a location."""

    reference = ma.fields.String()
    kind = ma.fields.String()
    status = ma.fields.String(allow_none=True)
    updated_at = ma.fields.AwareDateTime(default_timezone=UTC)


class ExpiryInSchema(ma.Schema):
    """A coordinator moves a report's expiry date."""

    class Meta:
        unknown = ma.RAISE

    expiry_date = ma.fields.AwareDateTime(required=True, default_timezone=UTC)


class DeletionRequestInSchema(StatusCheckInSchema):
    """A family asks to delete their report: its reference and the reporter's phone."""


class DeletionRequestOutSchema(ma.Schema):
    """The same answer whether or not the reference and phone matched."""

    message = ma.fields.String()


class DeletionConfirmInSchema(ma.Schema):
    """The code texted to the reporter's phone confirms the deletion."""

    class Meta:
        unknown = ma.RAISE

    reference = ma.fields.String(required=True, validate=validate.Length(min=6, max=20))
    code = ma.fields.String(required=True, validate=validate.Regexp(r"^\s*\d{6}\s*$"))


class DeletionConfirmOutSchema(ma.Schema):
    reference = ma.fields.String()
    deleted = ma.fields.Boolean()


class RosterUploadSchema(ma.Schema):
    """The form fields sent with a roster file (multipart/form-data, the file as `file`)."""

    class Meta:
        unknown = ma.RAISE

    source_name = Text(
        max_length=200,
        required=True,
        allow_none=False,
        metadata={"description": "The shelter or hospital the roster comes from"},
    )
    kind = ma.fields.String(load_default="found", validate=validate.OneOf(KINDS))
    mapping = ma.fields.String(
        metadata={"description": 'JSON: {"column header": "report field" or null}'}
    )
    last_known_location = Text(
        max_length=500, metadata={"description": "Where the people of the roster are now"}
    )
    home_country = ma.fields.String(
        validate=validate.Regexp(_COUNTRY, error="Use a two-letter ISO 3166-1 country code.")
    )
    language = ma.fields.String(validate=language_tag)


class RosterMappingInSchema(ma.Schema):
    """A coordinator's corrections of the column mapping."""

    class Meta:
        unknown = ma.RAISE

    mapping = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.String(allow_none=True),
        required=True,
        metadata={"description": '{"column header": "report field" or null to skip it}'},
    )
    kind = ma.fields.String(validate=validate.OneOf(KINDS))


class RosterOutSchema(ma.Schema):
    """A roster import: its state, progress and bad rows; while previewed, the preview."""

    id = ma.fields.String()
    format = ma.fields.String()
    kind = ma.fields.String()
    status = ma.fields.String(
        metadata={"description": "previewed, queued, running, done or failed"}
    )
    total_rows = ma.fields.Integer()
    processed_rows = ma.fields.Integer()
    loaded_rows = ma.fields.Integer()
    error_count = ma.fields.Integer()
    errors = ma.fields.Dict(metadata={"description": "Row number in the file -> field errors"})
    mapping = ma.fields.Dict()
    preview = ma.fields.Dict(allow_none=True)
    created_at = ma.fields.AwareDateTime(default_timezone=UTC)
    finished_at = ma.fields.AwareDateTime(allow_none=True, default_timezone=UTC)


ReportPageSchema = page_schema(ReportOutSchema, "ReportPage")
NotePageSchema = page_schema(NoteOutSchema, "NotePage")
