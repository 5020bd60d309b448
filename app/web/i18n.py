"""Languages of the web pages: which one a request gets, its direction, localized country names."""

from __future__ import annotations

import functools

from babel import Locale
from flask import request

# Each language named in itself, as the switcher shows it.
LANGUAGES = {"en": "English", "es": "Español", "fr": "Français", "sv": "Svenska", "ar": "العربية"}
RTL_LANGUAGES = frozenset({"ar"})
DEFAULT_LANGUAGE = "en"
COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600


def supported(code: str | None) -> str | None:
    """The supported language a tag such as "es", "es-MX" or "ar_SA" asks for, else None."""
    if not code:
        return None
    base = code.replace("_", "-").split("-", 1)[0].lower()
    return base if base in LANGUAGES else None


def select_locale() -> str:
    """Flask-Babel's locale selector: ?lang=, then the switcher's cookie, then Accept-Language."""
    from flask import has_request_context

    if not has_request_context():
        return DEFAULT_LANGUAGE
    chosen = supported(request.args.get("lang")) or supported(request.cookies.get(COOKIE))
    if chosen:
        return chosen
    return request.accept_languages.best_match(list(LANGUAGES), default=DEFAULT_LANGUAGE)


def direction(language: str) -> str:
    """ "rtl" for right-to-left languages, else "ltr"."""
    return "rtl" if language in RTL_LANGUAGES else "ltr"


@functools.cache
def country_choices(language: str) -> tuple[tuple[str, str], ...]:
    """(ISO code, country name in this language) for every country, sorted by name."""
    territories = Locale.parse(language).territories
    # Two-letter codes only: CLDR also names regions ("419") and groupings.
    names = {code: name for code, name in territories.items() if len(code) == 2 and code.isalpha()}
    for placeholder in ("ZZ", "XA", "XB", "QO", "EU", "EZ", "UN"):
        names.pop(placeholder, None)
    return tuple(sorted(names.items(), key=lambda item: item[1].casefold()))
