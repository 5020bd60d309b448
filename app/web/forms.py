"""The public report form: browser fields to the API's schema input, and friendly field errors.

The form is validated by the same marshmallow schema as POST /api/v1/reports; this module only
turns the browser's strings into that schema's input and its English messages into plain words
in the reader's language.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import marshmallow as ma
from flask_babel import gettext as _

from app.reports.schemas import NO_IDENTITY, ReportInSchema, has_name_or_description

# Fields the family types, in page order; each is sent to the schema when not blank.
TEXT_FIELDS = (
    "full_name",
    "given_name",
    "family_name",
    "age",
    "date_of_birth",
    "description",
    "last_known_location",
    "home_city",
    "home_country",
    "author_name",
    "author_phone",
    "author_email",
    "contact_phone",
    "language",
    "lat",
    "lon",
)
HONEYPOT = "website"
# Where a form-wide error is shown: next to the first name field.
_SCHEMA_FIELD = "full_name"
_LONGER = re.compile(r"^Longer than (\d+) characters\.$")


def split_names(text: str) -> list[str]:
    """Nicknames typed in one box, separated by commas, semicolons or new lines."""
    return [part.strip() for part in re.split(r"[,;\n]", text or "") if part.strip()]


def payload_from_form(form: Mapping[str, str], *, kind: str) -> dict[str, Any]:
    """What the browser sent, as the schema's input (blank fields left out)."""
    data: dict[str, Any] = {"kind": kind}
    for name in TEXT_FIELDS:
        value = (form.get(name) or "").strip()
        if value:
            data[name] = value
    if nicknames := split_names(form.get("alternate_names", "")):
        data["alternate_names"] = nicknames
    if sex := form.get("sex"):
        data["sex"] = sex  # anything but SEXES is refused by the schema, next to the field
    if form.get("is_minor") == "1":
        data["is_minor"] = True
    if kind == "found" and form.get("about") == "self":
        # PFIF: the person is the author of the report; they can be reached at their own phone.
        data["status"] = "is_note_author"
        if data.get("author_phone") and not data.get("contact_phone"):
            data["contact_phone"] = data["author_phone"]
    return data


def validate(data: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, list[str]]]:
    """(loaded data, None) or (None, friendly messages per form field)."""
    try:
        return ReportInSchema().load(data), {}
    except ma.ValidationError as exc:
        messages = dict(exc.normalized_messages())
        # marshmallow skips the whole-form check when a field fails; say it at once anyway.
        if not has_name_or_description(data):
            messages.setdefault("_schema", [NO_IDENTITY])
        return None, friendly_errors(messages)


def friendly_errors(messages: Mapping[str, Any]) -> dict[str, list[str]]:
    """The schema's messages, per form field, in plain words in the reader's language."""
    errors: dict[str, list[str]] = {}
    for field, raw in messages.items():
        texts = list(_flatten(raw))
        target = _SCHEMA_FIELD if field == "_schema" else field
        if target in ("lat", "lon"):
            target = "lat"
        for text in texts:
            message = _friendly(field, text)
            if message not in errors.setdefault(target, []):
                errors[target].append(message)
    return errors


def _flatten(raw: Any):
    if isinstance(raw, str):
        yield raw
    elif isinstance(raw, Mapping):
        for value in raw.values():
            yield from _flatten(value)
    elif isinstance(raw, list | tuple):
        for value in raw:
            yield from _flatten(value)


def _friendly(field: str, text: str) -> str:
    if text == NO_IDENTITY:
        return _("Give a name, a nickname or a description of the person.")
    if match := _LONGER.match(text):
        return _("This is too long: use at most %(count)s characters.", count=match.group(1))
    if "control character" in text:
        return _("Remove the special characters from this field.")
    if field == "age":
        return _("Enter an age such as 34, or a range such as 30-40.")
    if field == "date_of_birth":
        return _("Enter a date of birth such as 1990, 1990-05 or 1990-05-17, not in the future.")
    if field in ("author_phone", "contact_phone"):
        return _("Enter a phone number with its country code, such as +1 555 555 0123.")
    if field == "author_email":
        return _("Enter an e-mail address such as name@example.org.")
    if field in ("lat", "lon"):
        return _("Give both coordinates as numbers: latitude -90 to 90, longitude -180 to 180.")
    if field in ("sex", "home_country", "language"):
        return _("Choose one of the options.")
    return _("Check this field.")
