"""The name lexicon: nicknames, spelling variants, abbreviations and name words, read from data.

The tables are data files under ``data/names/`` (each file's header explains its format and the
naming customs behind it):

- ``nicknames/{lang}.tsv``: ``nickname<TAB>formal[,formal...]``; English also comes from the
  ``nicknames`` package.
- ``variants/{lang}.tsv``: one group of spellings of the same name per line, tab-separated,
  most common form first. Groups that share a form (across files) are merged.
- ``abbreviations.tsv``: ``abbrev<TAB>expansion<TAB>languages``.
- ``particles.tsv``: ``word<TAB>kind<TAB>languages`` (surname particles, titles, suffixes...).
- ``countries.tsv``: ``country<TAB>custom`` (family name first, two surnames...).

Every name is stored folded with :func:`text.fold`, so "José" in a file is "jose" here.
A name of several words ("María Teresa", "Abd al-Rahman", the particle "de la") is stored as
its folded words joined by one space ("maria teresa"); phrases the engine must find in a token
list are also exposed as tuples of words (``particle_phrases``, ``variant_phrases``).
Look-ups take a folded word; an unfolded one is folded when it is not found as given.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType

from nicknames import NickNamer

from .text import fold

DATA_DIR = Path(__file__).with_name("data") / "names"

PARTICLE_KINDS = frozenset(
    {
        "surname_particle",
        "title",
        "suffix",
        "connector",
        "prefix_word",
        "endearment",
        "teknonym",
        "optional_middle",
    }
)
COUNTRY_CUSTOMS = frozenset(
    {
        "family_first",
        "two_surnames",
        "two_surnames_maternal_first",
        "maternal_middle",
        "patronymic",
        "no_family_name",
    }
)

_NO_NAMES: frozenset[str] = frozenset()


class LexiconError(ValueError):
    """A data file of the lexicon is malformed; the message names the file and line."""


@dataclass(frozen=True, eq=False)
class Lexicon:
    """Name knowledge for the matcher; build it with :func:`load_lexicon`."""

    nicknames: Mapping[str, frozenset[str]]
    """Folded nickname -> folded formal names it may stand for."""
    variant_groups: Mapping[str, str]
    """Folded spelling -> id of its variant group (the group's first form, folded)."""
    abbreviations: Mapping[str, str]
    """Folded abbreviation -> folded expansion."""
    particles: frozenset[str]
    """Single-word surname particles (de, van, al...)."""
    particle_phrases: tuple[tuple[str, ...], ...]
    """Multi-word surname particles (de la, van der...), longest first."""
    variant_phrases: tuple[tuple[str, ...], ...]
    """Variant forms of several words (abd al rahman, jun ichi), longest first."""
    titles: frozenset[str]
    suffixes: frozenset[str]
    connectors: frozenset[str]
    prefix_words: frozenset[str]
    endearments: frozenset[str]
    teknonyms: frozenset[str]
    optional_middles: frozenset[str]
    countries: Mapping[str, frozenset[str]]
    """ISO 3166-1 alpha-2 code -> naming customs (see COUNTRY_CUSTOMS)."""
    family_first_countries: frozenset[str]
    two_surname_countries: frozenset[str]
    """Countries with two surnames, the father's first (the Spanish custom)."""

    def nickname_canonicals(self, token: str) -> frozenset[str]:
        """Folded formal names the nickname token may stand for; empty if it is none."""
        found = self.nicknames.get(token)
        if found is None:
            found = self.nicknames.get(fold(token), _NO_NAMES)
        return found

    def variant_group(self, token: str) -> str | None:
        """Id of the spelling-variant group of token (one word or a folded phrase), or None."""
        found = self.variant_groups.get(token)
        if found is None:
            found = self.variant_groups.get(fold(token))
        return found

    def expand_abbreviation(self, token: str) -> str | None:
        """Folded expansion of an abbreviated name ("ma" -> "maria"), or None."""
        found = self.abbreviations.get(token)
        if found is None:
            found = self.abbreviations.get(fold(token))
        return found

    def is_particle(self, token: str) -> bool:
        """Whether token is a one-word surname particle (see particle_phrases for the rest)."""
        return token in self.particles or fold(token) in self.particles

    def country_customs(self, country: str) -> frozenset[str]:
        """Naming customs of a country code ("VN" -> {"family_first"}); empty if unknown."""
        return self.countries.get(country.upper(), _NO_NAMES)


@cache
def load_lexicon() -> Lexicon:
    """The lexicon from the packaged data files, read once per process."""
    return read_lexicon(DATA_DIR)


def read_lexicon(directory: Path) -> Lexicon:
    """Read and check every data file under directory; raises LexiconError on a bad line."""
    words_by_kind = _read_particles(directory / "particles.tsv")
    countries = _read_countries(directory / "countries.tsv")
    particles = words_by_kind["surname_particle"]
    variants = _read_variants(directory / "variants")
    return Lexicon(
        nicknames=MappingProxyType(_read_nicknames(directory / "nicknames")),
        variant_groups=MappingProxyType(variants),
        abbreviations=MappingProxyType(_read_abbreviations(directory / "abbreviations.tsv")),
        particles=frozenset(p for p in particles if " " not in p),
        particle_phrases=_phrases(particles),
        variant_phrases=_phrases(variants),
        titles=words_by_kind["title"],
        suffixes=words_by_kind["suffix"],
        connectors=words_by_kind["connector"],
        prefix_words=words_by_kind["prefix_word"],
        endearments=words_by_kind["endearment"],
        teknonyms=words_by_kind["teknonym"],
        optional_middles=words_by_kind["optional_middle"],
        countries=MappingProxyType(countries),
        family_first_countries=_with_custom(countries, "family_first"),
        two_surname_countries=_with_custom(countries, "two_surnames"),
    )


@dataclass(frozen=True)
class _Line:
    where: str
    fields: tuple[str, ...]

    def error(self, message: str) -> LexiconError:
        return LexiconError(f"{self.where}: {message}")


def _lines(path: Path, columns: int | None = None) -> Iterator[_Line]:
    """The data lines of a file: comments (from #) and blank lines skipped, fields checked."""
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        text = raw.split("#", 1)[0].rstrip()
        if not text:
            continue
        line = _Line(f"{path.parent.name}/{path.name}:{number}", tuple(text.split("\t")))
        if columns is not None and len(line.fields) != columns:
            raise line.error(f"expected {columns} tab-separated fields, got {len(line.fields)}")
        for field in line.fields:
            if not field.strip():
                raise line.error("empty field")
            if field != field.strip() or "  " in field:
                raise line.error(f"stray spaces in {field!r} (fields are separated by tabs)")
        yield line


def _folded(line: _Line, text: str, *, one_word: bool) -> str:
    folded = fold(text)
    if not folded:
        raise line.error(f"{text!r} folds to nothing")
    if one_word and " " in folded:
        raise line.error(f"{text!r} must be one word, folds to {folded!r}")
    return folded


def _languages(line: _Line, text: str) -> None:
    for code in text.split(","):
        code = code.strip()
        if not (2 <= len(code) <= 3 and code.isascii() and code.isalpha() and code.islower()):
            raise line.error(f"bad language code {code!r}")


def _tables(directory: Path) -> list[Path]:
    paths = sorted(directory.glob("*.tsv"))
    if not paths:
        raise LexiconError(f"no .tsv files in {directory}")
    return paths


def _read_nicknames(directory: Path) -> dict[str, frozenset[str]]:
    merged: dict[str, set[str]] = {}
    for path in _tables(directory):
        seen: set[str] = set()
        for line in _lines(path, columns=2):
            nickname = _folded(line, line.fields[0], one_word=True)
            if nickname in seen:
                raise line.error(f"duplicate nickname {nickname!r}")
            seen.add(nickname)
            formals = {
                _folded(line, formal, one_word=False) for formal in line.fields[1].split(",")
            }
            if nickname in formals:
                raise line.error(f"{nickname!r} maps to itself")
            merged.setdefault(nickname, set()).update(formals)
    # The package's English table: its keys and values are lower-case ASCII already.
    for nickname, formals in NickNamer().canonical_lookup.items():
        key = fold(nickname)
        if key and " " not in key:
            names = {fold(formal) for formal in formals} - {key, ""}
            if names:
                merged.setdefault(key, set()).update(names)
    return {nickname: frozenset(formals) for nickname, formals in merged.items()}


def _read_variants(directory: Path) -> dict[str, str]:
    """Spelling -> group id; groups sharing a spelling are merged under the earlier id."""
    group_of: dict[str, str] = {}
    members: dict[str, list[str]] = {}
    for path in _tables(directory):
        seen: set[str] = set()
        for line in _lines(path):
            forms = list(dict.fromkeys(_folded(line, f, one_word=False) for f in line.fields))
            if len(forms) < 2:
                raise line.error("a group needs two spellings that differ after fold()")
            for form in forms:
                if form in seen:
                    raise line.error(f"{form!r} is already in another group of this file")
            seen.update(forms)
            ids = list(dict.fromkeys(group_of[f] for f in forms if f in group_of))
            group = ids[0] if ids else forms[0]
            for other in ids[1:]:
                for form in members.pop(other):
                    group_of[form] = group
                    members[group].append(form)
            for form in forms:
                if form not in group_of:
                    group_of[form] = group
                    members.setdefault(group, []).append(form)
    return group_of


def _read_abbreviations(path: Path) -> dict[str, str]:
    expansions: dict[str, str] = {}
    for line in _lines(path, columns=3):
        abbreviation = _folded(line, line.fields[0], one_word=True)
        if abbreviation in expansions:
            raise line.error(f"duplicate abbreviation {abbreviation!r}")
        expansions[abbreviation] = _folded(line, line.fields[1], one_word=False)
        _languages(line, line.fields[2])
    return expansions


def _read_particles(path: Path) -> dict[str, frozenset[str]]:
    by_kind: dict[str, set[str]] = {kind: set() for kind in PARTICLE_KINDS}
    for line in _lines(path, columns=3):
        kind = line.fields[1]
        if kind not in PARTICLE_KINDS:
            raise line.error(f"unknown kind {kind!r}")
        word = _folded(line, line.fields[0], one_word=kind != "surname_particle")
        if word in by_kind[kind]:
            raise line.error(f"duplicate {kind} {word!r}")
        by_kind[kind].add(word)
        _languages(line, line.fields[2])
    return {kind: frozenset(words) for kind, words in by_kind.items()}


def _read_countries(path: Path) -> dict[str, frozenset[str]]:
    customs: dict[str, set[str]] = {}
    for line in _lines(path, columns=2):
        country, custom = line.fields
        if not (len(country) == 2 and country.isascii() and country.isalpha()):
            raise line.error(f"bad country code {country!r}")
        if not country.isupper():
            raise line.error(f"country code {country!r} must be upper case")
        if custom not in COUNTRY_CUSTOMS:
            raise line.error(f"unknown custom {custom!r}")
        if custom in customs.get(country, ()):
            raise line.error(f"duplicate {country} {custom}")
        customs.setdefault(country, set()).add(custom)
    return {country: frozenset(names) for country, names in customs.items()}


def _phrases(names: Mapping[str, object] | frozenset[str]) -> tuple[tuple[str, ...], ...]:
    """The names of several words as word tuples, longest first (then alphabetical)."""
    phrases = {tuple(name.split()) for name in names if " " in name}
    return tuple(sorted(phrases, key=lambda words: (-len(words), words)))


def _with_custom(countries: Mapping[str, frozenset[str]], custom: str) -> frozenset[str]:
    return frozenset(code for code, customs in countries.items() if custom in customs)
