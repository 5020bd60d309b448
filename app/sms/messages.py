"""Localized message templates (data files per language) and SMS segment counting.

Pure: no Flask, no database. A rendered message always fits MAX_SEGMENTS: a long parameter is
shortened, never the template's own words.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).parent / "data"
DEFAULT_LANGUAGE = "en"
MAX_SEGMENTS = 2

# GSM 03.38: the basic set costs one septet, the extension table two (escape + character).
# Lower-case ç, á, í, ó, ú, â, ê are not in it: one of them makes the whole message UCS-2.
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENDED = frozenset("^{}\\[~]|€\f")


class TemplateError(ValueError):
    """A template that does not exist, misses a parameter, or cannot fit in MAX_SEGMENTS."""


@dataclass(frozen=True)
class Rendered:
    body: str
    language: str
    encoding: str  # "GSM-7" or "UCS-2"
    segments: int


def encoding_of(text: str) -> str:
    """GSM-7 when every character is in the GSM alphabet, else UCS-2."""
    allowed = GSM_BASIC | GSM_EXTENDED
    return "GSM-7" if all(ch in allowed for ch in text) else "UCS-2"


def count_segments(text: str) -> tuple[str, int]:
    """(encoding, segments): GSM-7 160 septets alone or 153 per part; UCS-2 70 or 67 units."""
    encoding = encoding_of(text)
    if encoding == "GSM-7":
        units = sum(2 if ch in GSM_EXTENDED else 1 for ch in text)
        single, part = 160, 153
    else:
        # UTF-16 code units: an emoji outside the BMP takes two.
        units = len(text.encode("utf-16-le")) // 2
        single, part = 70, 67
    if units <= single:
        return encoding, 1
    return encoding, math.ceil(units / part)


@functools.cache
def _catalogue(language: str) -> dict[str, Any]:
    path = DATA_DIR / "templates" / f"{language}.json"
    if not path.is_file():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


@functools.cache
def languages() -> tuple[str, ...]:
    """The languages that have templates, the default first."""
    found = sorted(p.stem for p in (DATA_DIR / "templates").glob("*.json"))
    return (DEFAULT_LANGUAGE, *[code for code in found if code != DEFAULT_LANGUAGE])


def pick_language(*candidates: str | None) -> str:
    """The first candidate ("es", "es-MX", "pt_BR") that has templates, else the default."""
    for candidate in candidates:
        if candidate:
            code = candidate.replace("_", "-").split("-")[0].lower()
            if code in languages():
                return code
    return DEFAULT_LANGUAGE


@functools.cache
def _country_languages() -> dict[str, str]:
    table = json.loads((DATA_DIR / "country_languages.json").read_text(encoding="utf-8"))
    return {country: language for language, countries in table.items() for country in countries}


def language_for_country(country: str | None) -> str | None:
    """The language to greet a number of this country in (ISO 3166 code), if we have one."""
    return _country_languages().get((country or "").upper())


def status_label(status: str | None, language: str) -> str:
    """A report status in words, in the language (the default's words when it lacks one)."""
    key = status or "unknown"
    for code in (language, DEFAULT_LANGUAGE):
        labels = _catalogue(code).get("statuses", {})
        if key in labels:
            return labels[key]
    return _catalogue(DEFAULT_LANGUAGE)["statuses"]["unknown"]


def task_title(kind: str, language: str) -> str | None:
    """The title of a task the system creates (e.g. "match"), in the language or the default's."""
    for code in (language, DEFAULT_LANGUAGE):
        titles = _catalogue(code).get("task_titles", {})
        if kind in titles:
            return titles[kind]
    return None


def render(template: str, language: str, params: dict[str, Any] | None = None) -> Rendered:
    """The message `template` in `language` (or the default language when it has no such
    template), with its parameters, shortened until it fits MAX_SEGMENTS."""
    language = pick_language(language)
    text = _catalogue(language).get(template)
    if not isinstance(text, str):
        language = DEFAULT_LANGUAGE
        text = _catalogue(language).get(template)
    if not isinstance(text, str):
        raise TemplateError(f"no SMS template {template!r}")
    values = {name: " ".join(str(value).split()) for name, value in (params or {}).items()}
    while True:
        try:
            body = text.format(**values)
        except (KeyError, IndexError) as exc:
            raise TemplateError(f"SMS template {template!r} needs parameter {exc}") from None
        encoding, segments = count_segments(body)
        if segments <= MAX_SEGMENTS:
            return Rendered(body, language, encoding, segments)
        longest = max(values, key=lambda name: len(values[name]), default=None)
        if longest is None or len(values[longest]) <= 1:
            raise TemplateError(f"SMS template {template!r} does not fit {MAX_SEGMENTS} segments")
        values[longest] = values[longest][: max(len(values[longest]) * 3 // 4, 1) - 1] + "…"
