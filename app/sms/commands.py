"""Keyword commands in incoming SMS (data files per language). Pure: no Flask, no database."""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from dataclasses import dataclass

from app.sms.messages import DATA_DIR, languages

COMMANDS = ("find", "safe", "status", "help", "stop", "start", "yes", "no", "done", "join")
# Twilio opts a number out or in only when the whole message is the keyword; mirror that.
WHOLE_MESSAGE_ONLY = frozenset({"stop", "start"})
_AGE = re.compile(r"^\d{1,3}$")
MAX_AGE = 130


@dataclass(frozen=True)
class Command:
    name: str  # one of COMMANDS, or "text" when no keyword starts the message
    languages: tuple[str, ...]  # the languages whose keyword it was (empty for "text")
    argument: str


@dataclass(frozen=True)
class PersonText:
    """FIND and SAFE arguments: 'name age place' or 'name, place' as people type them."""

    name: str
    age: str | None
    place: str | None


def _fold(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).upper().split())


@functools.cache
def _keywords() -> list[tuple[tuple[str, ...], str, str]]:
    """(keyword words, command, language), longest keywords first."""
    entries = []
    for language in languages():
        path = DATA_DIR / "commands" / f"{language}.json"
        if not path.is_file():
            continue
        table = json.loads(path.read_text(encoding="utf-8"))
        for command, keywords in table.items():
            if command not in COMMANDS:
                raise ValueError(f"{path.name}: unknown command {command!r}")
            for keyword in keywords:
                entries.append((tuple(_fold(keyword).split()), command, language))
    return sorted(entries, key=lambda entry: -len(entry[0]))


_WORD = re.compile(r"[^\s:,;.!?¿¡]+")


def parse(text: str) -> Command:
    """Read the keyword that starts a message; the rest is its argument."""
    tokens = list(_WORD.finditer(text))
    words = [_fold(token.group()) for token in tokens]
    best: tuple[int, str] | None = None
    found: list[str] = []
    for keyword, command, language in _keywords():
        size = len(keyword)
        if tuple(words[:size]) != keyword:
            continue
        if command in WHOLE_MESSAGE_ONLY and size != len(words):
            continue
        if best is None:
            best = (size, command)
        if (size, command) == best:
            found.append(language)
    if best is None:
        return Command("text", (), " ".join(text.split()))
    size, command = best
    rest = text[tokens[size - 1].end() :]
    argument = " ".join(rest.split()).strip(" :,;-.")
    return Command(command, tuple(dict.fromkeys(found)), argument)


def parse_person(argument: str) -> PersonText:
    """'Maria Lopez 34 Yauco' → name, age, place; 'Ana Pérez, Shelter 5' → name, place."""
    parts = [part.strip() for part in argument.split(",")]
    words = parts[0].split()
    for index, word in enumerate(words):
        if _AGE.match(word) and int(word) <= MAX_AGE and index > 0:
            place = " ".join(words[index + 1 :] + [p for p in parts[1:] if p]) or None
            return PersonText(" ".join(words[:index]), word, place)
    rest = [part for part in parts[1:] if part]
    age = None
    if rest:
        first = rest[0].split()
        if _AGE.match(first[0]) and int(first[0]) <= MAX_AGE:
            age = first[0]
            rest = [" ".join(first[1:]), *rest[1:]]
    return PersonText(parts[0], age, ", ".join(part for part in rest if part) or None)
