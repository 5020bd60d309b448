"""Phone numbers in E.164, the one form stored and compared."""

from __future__ import annotations

import phonenumbers


class PhoneError(ValueError):
    """The text cannot be read as a phone number."""


def normalize_phone(text: str, region: str | None = None) -> str:
    """Parse a number as people type it ('+52 55 1234 5678', '(787) 555-0123') into E.164.

    A number without a country code needs a region (ISO 3166-1 alpha-2). Possible numbers are
    accepted even when the metadata does not know the range yet: in a disaster, new ranges and
    test numbers must not lock a family out.
    """
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        no_country = exc.error_type == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE
        if region is None and no_country:
            raise PhoneError("Add the country code, for example +52 55 1234 5678.") from None
        raise PhoneError("This is not a phone number we can read.") from None
    if not phonenumbers.is_possible_number(number):
        raise PhoneError("This phone number has the wrong number of digits.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask_phone(phone: str) -> str:
    """Enough of a number to tell rows apart on a screen, not enough to read it off."""
    return phone[:3] + "…" + phone[-2:] if len(phone) > 6 else "…"
