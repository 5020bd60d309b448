"""Keyword commands as people type them, in several languages (no app, no database)."""

from __future__ import annotations

import json

import pytest

from app.sms import commands
from app.sms.commands import PersonText, parse, parse_person
from app.sms.messages import DATA_DIR, languages


@pytest.mark.parametrize("language", languages())
def test_every_language_has_every_command(language):
    table = json.loads((DATA_DIR / "commands" / f"{language}.json").read_text("utf-8"))
    assert set(table) == set(commands.COMMANDS)
    assert all(table[name] for name in commands.COMMANDS)


@pytest.mark.parametrize(
    "text, name, language, argument",
    [
        ("FIND Maria Lopez 34 Yauco", "find", "en", "Maria Lopez 34 Yauco"),
        ("find: maria lopez", "find", "en", "maria lopez"),
        ("BUSCAR María José Quiñones 7 Ponce", "find", "es", "María José Quiñones 7 Ponce"),
        ("estoy bien Ana Pérez, Refugio 5", "safe", "es", "Ana Pérez, Refugio 5"),
        ("Je vais bien Amélie Côté Jacmel", "safe", "fr", "Amélie Côté Jacmel"),
        ("sök Åsa Lindström 80 Kiruna", "find", "sv", "Åsa Lindström 80 Kiruna"),
        ("ابحث فاطمة الزهراء 12 حلب", "find", "ar", "فاطمة الزهراء 12 حلب"),
        ("ARA Ayşe Yılmaz 30 Hatay", "find", "tr", "Ayşe Yılmaz 30 Hatay"),
        ("STATUS rx7-k2m", "status", "en", "rx7-k2m"),
        ("  stop  ", "stop", "en", ""),
        ("Stop.", "stop", "en", ""),
        ("yes K7Q2MX", "yes", "en", "K7Q2MX"),
        ("SÍ K7Q2MX", "yes", "es", "K7Q2MX"),
        ("ja", "yes", "sv", ""),
        ("DONE k7q2mx thanks", "done", "en", "k7q2mx thanks"),
    ],
)
def test_parse(text, name, language, argument):
    command = parse(text)
    assert command.name == name
    assert language in command.languages
    assert command.argument == argument


@pytest.mark.parametrize(
    "text",
    ["stop looking, we found her", "Hola, ¿hay noticias?", "", "🙂🙂", "x" * 2000, "START me up"],
)
def test_not_a_command(text):
    assert parse(text).name == "text"


def test_a_keyword_shared_by_languages_names_all_of_them():
    command = parse("STATUS RX7-K2M")
    assert {"en", "sv"} <= set(command.languages)
    assert parse("NO K7Q2MX").languages[:2] == ("en", "es")


@pytest.mark.parametrize(
    "argument, expected",
    [
        ("Maria Lopez 34 Yauco", PersonText("Maria Lopez", "34", "Yauco")),
        ("Maria Lopez 34", PersonText("Maria Lopez", "34", None)),
        ("Maria Lopez", PersonText("Maria Lopez", None, None)),
        ("Ana Pérez, Refugio 5", PersonText("Ana Pérez", None, "Refugio 5")),
        ("Ana Pérez, 61, Refugio 5", PersonText("Ana Pérez", "61", "Refugio 5")),
        ("Jean 200 Jacmel", PersonText("Jean 200 Jacmel", None, None)),
        ("34 Yauco", PersonText("34 Yauco", None, None)),
    ],
)
def test_parse_person(argument, expected):
    assert parse_person(argument) == expected
