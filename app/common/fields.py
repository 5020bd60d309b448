"""marshmallow fields for the inputs people really send: stray spaces, odd scripts, bad bytes."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import marshmallow as ma
from flask import current_app, has_app_context

from app.common.phones import PhoneError, normalize_phone

_ALLOWED_CONTROLS_MULTILINE = {"\n", "\t"}


def _reject_controls(text: str, allowed: set[str] | frozenset[str] = frozenset()) -> None:
    if text.isprintable():  # no character of category C* (controls, surrogates) at all
        return
    for ch in text:
        if unicodedata.category(ch) in ("Cc", "Cs") and ch not in allowed:
            raise ma.ValidationError("Contains a control character that is not allowed.")


class Text(ma.fields.String):
    """A trimmed, NFC-normalised string with a length limit; blank becomes null.

    When the field does not allow null, blank is an error too: otherwise "" or "   " would slip
    past `allow_none=False` as None.

    Control characters (NUL above all, which PostgreSQL refuses) are a field error, so bad bytes
    get a 422 naming the field instead of a 500.
    """

    def __init__(self, *, max_length: int, multiline: bool = False, **kwargs: Any) -> None:
        kwargs.setdefault("allow_none", True)
        super().__init__(**kwargs)
        self.max_length = max_length
        self.multiline = multiline
        self.metadata.setdefault("maxLength", max_length)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str | None:
        text = super()._deserialize(value, attr, data, **kwargs)
        text = unicodedata.normalize("NFC", text).strip()
        if self.multiline:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        _reject_controls(text, _ALLOWED_CONTROLS_MULTILINE if self.multiline else set())
        if len(text) > self.max_length:
            raise ma.ValidationError(f"Longer than {self.max_length} characters.")
        if not text and not self.allow_none:
            raise ma.ValidationError("Must not be blank.")
        return text or None


class Phone(Text):
    """A phone number, stored in E.164.

    Numbers without a country code are read in the report's home_country if given, else in
    DEFAULT_PHONE_REGION.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("metadata", {}).setdefault(
            "description", "Phone number; returned in E.164 (+15551234567)"
        )
        super().__init__(max_length=40, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str | None:
        text = super()._deserialize(value, attr, data, **kwargs)
        if text is None:
            return None
        region = None
        if isinstance(data, dict) and isinstance(data.get("home_country"), str):
            candidate = data["home_country"].strip().upper()
            region = candidate if len(candidate) == 2 and candidate.isalpha() else None
        if region is None and has_app_context():
            region = current_app.config.get("DEFAULT_PHONE_REGION")
        try:
            return normalize_phone(text, region)
        except PhoneError as exc:
            raise ma.ValidationError(str(exc)) from None


class Url(ma.fields.URL):
    """An http(s) URL that fits its column; control characters are a field error.

    marshmallow's URL validator lets a NUL through in the path, and PostgreSQL refuses both NUL
    and values longer than the column.
    """

    def __init__(self, *, max_length: int = 1000, **kwargs: Any) -> None:
        kwargs.setdefault("allow_none", True)
        kwargs.setdefault("schemes", {"http", "https"})
        super().__init__(**kwargs)
        self.max_length = max_length
        self.metadata.setdefault("maxLength", max_length)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str | None:
        if isinstance(value, str):
            _reject_controls(value)
            if len(value) > self.max_length:
                raise ma.ValidationError(f"Longer than {self.max_length} characters.")
        return super()._deserialize(value, attr, data, **kwargs)


_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8}){0,3}$")
# A BCP 47-shaped language tag: es, pt-BR, zh-Hant-TW.
language_tag = ma.validate.Regexp(_LANGUAGE_TAG, error="Use a language tag such as es or pt-BR.")


def point_errors(data: dict[str, Any]) -> dict[str, list[str]]:
    """The field error of a lat without a lon or the other way round (for validates_schema)."""
    if ("lat" in data) != ("lon" in data) or (data.get("lat") is None) != (data.get("lon") is None):
        return {"lat": ["Give lat and lon together."]}
    return {}
