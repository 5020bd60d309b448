"""Templates per language and segment counting (no app, no database)."""

from __future__ import annotations

import pytest

from app.sms import messages
from app.sms.messages import TemplateError, count_segments, render

LANGUAGES = ("en", "es", "fr", "sv", "pt", "tr", "ar")


def test_languages_include_at_least_the_issues_list():
    assert set(LANGUAGES) <= set(messages.languages())
    assert messages.languages()[0] == "en"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Hello", ("GSM-7", 1)),
        ("a" * 160, ("GSM-7", 1)),
        ("a" * 161, ("GSM-7", 2)),
        ("a" * 306, ("GSM-7", 2)),
        ("a" * 307, ("GSM-7", 3)),
        ("€" * 80, ("GSM-7", 1)),  # extension characters cost two septets
        ("€" * 81, ("GSM-7", 2)),
        ("Åsa Öberg är här, é ñ ü", ("GSM-7", 1)),  # Swedish and é are in GSM-7
        ("Está aquí", ("UCS-2", 1)),  # á and í are not
        ("ç" + "a" * 69, ("UCS-2", 1)),
        ("ç" + "a" * 70, ("UCS-2", 2)),
        ("â" + "a" * 133, ("UCS-2", 2)),
        ("â" + "a" * 134, ("UCS-2", 3)),
        ("🙂" * 35, ("UCS-2", 1)),  # two UTF-16 units each
        ("🙂" * 36, ("UCS-2", 2)),
        ("", ("GSM-7", 1)),
    ],
)
def test_count_segments(text, expected):
    assert count_segments(text) == expected


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_template_renders_within_two_segments(language):
    catalogue = messages._catalogue(language)
    params = {
        "reference": "RX7-K2M",
        "code": "K7Q2MX",
        "status": messages.status_label("believed_missing", language),
        "date": "2026-11-21",
        # Volunteer offers
        "title": "Reunification escort / verification visit",
        "place": "Ponce, Puerto Rico",
        "when": "21 Nov 18:00 UTC",
        "minutes": 20,
    }
    templates = [name for name, text in catalogue.items() if isinstance(text, str)]
    assert set(templates) == {
        name for name, text in messages._catalogue("en").items() if isinstance(text, str)
    }
    for name in templates:
        rendered = render(name, language, params)
        assert rendered.language == language
        assert rendered.segments <= 2, (name, rendered)
        assert (
            "{" not in rendered.body
            and "RX7" in rendered.body
            or "{reference}" not in (catalogue[name])
        )


def test_spanish_accents_make_a_message_ucs2_and_it_still_fits():
    rendered = render("find_received", "es", {"reference": "RX7-K2M"})
    assert rendered.encoding == "UCS-2"
    assert rendered.segments <= 2
    assert render("find_received", "sv", {"reference": "RX7-K2M"}).encoding == "GSM-7"


def test_a_long_parameter_is_shortened_never_the_template():
    rendered = render("code_unknown", "fr", {"code": "X" * 500})
    assert rendered.segments <= 2
    assert rendered.body.startswith("Reunite : le code XXX")
    assert "…" in rendered.body and rendered.body.endswith("Envoyez AIDE.")


def test_languages_fall_back_to_english():
    assert messages.pick_language("pt-BR") == "pt"
    assert messages.pick_language("es_MX") == "es"
    assert messages.pick_language("ht", None, "") == "en"
    assert messages.pick_language(None, "sv") == "sv"
    assert render("test", "xx").language == "en"


def test_unknown_template_and_missing_parameter_are_errors():
    with pytest.raises(TemplateError):
        render("no_such_template", "en")
    with pytest.raises(TemplateError, match="reference"):
        render("find_received", "en", {})


def test_status_labels_never_announce_a_death_by_sms():
    for language in LANGUAGES:
        label = messages.status_label("believed_dead", language)
        assert label == messages._catalogue(language)["statuses"]["believed_dead"]
    assert messages.status_label("believed_dead", "en") == "see a coordinator"
    assert messages.status_label(None, "es") == "en revisión"


@pytest.mark.parametrize(
    "country, language",
    [
        ("PR", "es"),
        ("mx", "es"),
        ("HT", "fr"),
        ("SE", "sv"),
        ("BR", "pt"),
        ("SY", "ar"),
        ("US", None),
    ],
)
def test_a_new_number_is_greeted_in_its_countrys_language(country, language):
    assert messages.language_for_country(country) == language
    assert messages.language_for_country(None) is None


def test_every_country_language_has_templates():
    assert set(messages._country_languages().values()) <= set(messages.languages())
