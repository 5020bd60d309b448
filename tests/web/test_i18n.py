"""Languages: complete catalogues, the locale a request gets, right-to-left Arabic."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from app.web.i18n import LANGUAGES, country_choices, supported

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "app" / "translations"
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None}


def _source_messages() -> set[str]:
    """Every message the web pages and their Python code mark for translation, today."""
    method_map = [("app/web/**.py", "python"), ("app/web/templates/**.html", "jinja2")]
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map=method_map, keywords=KEYWORDS
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def _catalogue(language: str):
    with open(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po", "rb") as handle:
        return read_po(handle, locale=language)


def test_every_language_has_a_catalogue():
    assert sorted(p.name for p in TRANSLATIONS.iterdir() if p.is_dir()) == sorted(LANGUAGES)


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_catalogue_is_complete_and_current(language):
    catalogue = _catalogue(language)
    messages = {m.id: m for m in catalogue if m.id}
    source = _source_messages()
    assert source, "no message found in the sources"
    assert not source - set(messages), f"not in {language}.po (run pybabel update)"
    assert not set(messages) - source, f"obsolete in {language}.po"
    untranslated = [m.id for m in messages.values() if not m.string]
    fuzzy = [m.id for m in messages.values() if m.fuzzy]
    assert untranslated == [] and fuzzy == []
    for message in messages.values():
        assert set(_PLACEHOLDER.findall(message.id)) == set(_PLACEHOLDER.findall(message.string)), (
            message.id
        )


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_compiled_catalogue_matches_its_po_file(language):
    """The committed .mo is what pybabel compile makes of the .po (no stale translations)."""
    with open(TRANSLATIONS / language / "LC_MESSAGES" / "messages.mo", "rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    for message in _catalogue(language):
        if message.id:
            assert compiled.gettext(message.id) == message.string, message.id


def test_translations_are_not_english():
    """A translator who pasted the English back would pass the completeness test."""
    for language in ("es", "fr", "sv", "ar"):
        catalogue = _catalogue(language)
        long_ones = [m for m in catalogue if m.id and len(m.id) > 25]
        same = [m.id for m in long_ones if m.string == m.id]
        assert not same, (language, same)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("es-MX,es;q=0.9,en;q=0.5", "es"),
        ("ar", "ar"),
        ("sv-SE", "sv"),
        ("fr-CA,fr;q=0.8", "fr"),
        ("de-DE,de;q=0.9", "en"),
        ("de, fr;q=0.5", "fr"),
        ("", "en"),
    ],
)
def test_language_from_accept_language(client, header, expected):
    response = client.get("/", headers={"Accept-Language": header})
    assert f'<html lang="{expected}"' in response.get_data(as_text=True)


def test_arabic_pages_are_right_to_left(client):
    page = client.get("/report/found", headers={"Accept-Language": "ar"}).get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in page
    assert "الإبلاغ عن شخص بأمان" in page
    # Phone numbers stay left-to-right inside the Arabic page.
    assert re.search(r'id="author_phone"[^>]*dir="ltr"', page)


def test_the_switcher_sets_a_cookie_that_beats_the_browser(client):
    response = client.get("/language/sv?next=/check", headers={"Accept-Language": "es"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/check"
    page = client.get("/check", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert '<html lang="sv"' in page and "Kontrollera en anmälan" in page


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "javascript:x"])
def test_the_switcher_never_redirects_elsewhere(client, target):
    response = client.get("/language/fr", query_string={"next": target})
    assert response.headers["Location"] == "/"


def test_an_unknown_language_changes_nothing(client):
    response = client.get("/language/xx?next=/")
    assert "lang=" not in response.headers.get("Set-Cookie", "")


def test_every_page_offers_every_language_in_its_own_name(client):
    page = client.get("/").get_data(as_text=True)
    for code, name in LANGUAGES.items():
        assert f'lang="{code}" hreflang="{code}"' in page and name in page


@pytest.mark.parametrize(("tag", "expected"), [("es-MX", "es"), ("AR_sa", "ar"), ("pt", None)])
def test_supported(tag, expected):
    assert supported(tag) == expected


def test_country_names_are_in_the_readers_language():
    assert dict(country_choices("es"))["DE"] == "Alemania"
    assert dict(country_choices("ar"))["PR"] == "بورتوريكو"
    assert all(len(code) == 2 for code, _name in country_choices("sv"))
