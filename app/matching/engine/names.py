"""Parsing person names into comparable tokens with roles (given / family / unknown)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from app.matching.engine.lexicon import Lexicon, load_lexicon
from app.matching.engine.phonetic import phon, skeleton
from app.matching.engine.text import words

GIVEN, FAMILY, UNKNOWN = "given", "family", "unknown"
# A camel-case seam inside a word: "AbreuRoldán", "PugaSolano" (two surnames typed together).
_CAMEL = re.compile(r"(?<=[a-zà-ÿ])(?=[A-ZÀ-Þ][a-zà-ÿ])")
MAX_NAME_CHARS = 300
MAX_TOKENS = 8


@dataclass(frozen=True, slots=True)
class Token:
    """One name word: folded text, its role, and the codes it is compared and indexed by."""

    text: str
    role: str
    phon: str
    skel: str
    # Formal names this word may stand for (nicknames, abbreviations) and its variant group.
    canon: frozenset[str] = field(default_factory=frozenset)
    group: str | None = None

    @property
    def is_initial(self) -> bool:
        return len(self.text) == 1


@dataclass(frozen=True, slots=True)
class ParsedName:
    """One way of writing the person's name, as tokens in the order written."""

    tokens: tuple[Token, ...]

    def role_tokens(self, role: str) -> tuple[Token, ...]:
        return tuple(t for t in self.tokens if t.role == role)


def _split_camel(text: str) -> str:
    return " ".join(_CAMEL.sub(" ", part) for part in text.split())


def _is_latin(raw: str) -> bool:
    """Latin-script words get title, particle and abbreviation handling; others do not.

    Arabic script folds to consonants ("عمر" -> "mr"), which would otherwise read as a title.
    """
    return all(ord(ch) < 0x250 or not ch.isalpha() for ch in raw)


def _folded_words(text: str) -> list[tuple[str, bool]]:
    """(folded word, came from Latin script) for each word of text."""
    out: list[tuple[str, bool]] = []
    for raw in _split_camel(text[:MAX_NAME_CHARS]).split():
        latin = _is_latin(raw)
        out.extend((w, latin) for w in words(raw) if not w.isdigit())
    return out


@lru_cache(maxsize=200_000)
def _clean_words(text: str, lexicon: Lexicon, *, slot: str) -> tuple[str, ...]:
    """Folded words of one name field, without what is not part of the name.

    Cached: name fields repeat far more than whole names do (José, García López).

    slot is "given", "family" or "full" (a whole name in unknown order). Position matters:
    titles only lead (Sr. García, not García Sr. which is a suffix), suffixes only trail,
    'Ma' is María only where a given name stands, particles only precede a surname (so
    "Le Thi Hoa" and "Ben Smith" keep their first word). Nothing is dropped that would leave
    the field empty.
    """
    items = _folded_words(text)
    # Leading titles and endearments ("Don", "Dr", "Baby", Haitian "Ti").
    while (
        len(items) > 1
        and items[0][1]
        and (
            items[0][0] in lexicon.titles
            or items[0][0] in lexicon.endearments
            or items[0][0] in lexicon.prefix_words
        )
    ):
        items = items[1:]
    # Trailing suffixes ("Jr", "III", "hijo").
    while len(items) > 1 and items[-1][1] and items[-1][0] in lexicon.suffixes:
        items = items[:-1]
    out: list[str] = []
    for position, (word, latin) in enumerate(items):
        if latin and word in lexicon.connectors and 0 < position < len(items) - 1:
            continue
        leads = position == 0 and slot in ("given", "full")
        expansion = lexicon.expand_abbreviation(word) if latin and leads else None
        out.extend(expansion.split() if expansion else [word])
    return tuple(out or [w for w, _ in items])


def _strip_particles(tokens: Sequence[str], lexicon: Lexicon, *, keep_first: bool) -> list[str]:
    """Drop surname particles (de la, dela, van, al, bin ...) that precede another word.

    keep_first keeps a leading word (a full name starts with a given name: "Del", "Van").
    """
    out: list[str] = []
    i = 0
    phrases = lexicon.particle_phrases
    while i < len(tokens):
        matched = 0
        if not (keep_first and i == 0):
            for phrase in phrases:
                n = len(phrase)
                if tuple(tokens[i : i + n]) == phrase and i + n < len(tokens):
                    matched = n
                    break
            if not matched and lexicon.is_particle(tokens[i]) and i + 1 < len(tokens):
                matched = 1
        if matched:
            i += matched
            continue
        out.append(tokens[i])
        i += 1
    return out


@lru_cache(maxsize=200_000)
def _token(text: str, role: str, lexicon: Lexicon) -> Token:
    """Cached: the same words (María, García, Nguyễn) come back in record after record."""
    canon = lexicon.nickname_canonicals(text)
    return Token(
        text=text,
        role=role,
        phon=phon(text),
        skel=skeleton(text),
        canon=frozenset(c for c in canon if c != text),
        group=lexicon.variant_group(text),
    )


def _make(
    given: Sequence[str], family: Sequence[str], unknown: Sequence[str], lexicon: Lexicon
) -> ParsedName:
    tokens = (
        [_token(w, GIVEN, lexicon) for w in given]
        + [_token(w, FAMILY, lexicon) for w in family]
        + [_token(w, UNKNOWN, lexicon) for w in unknown]
    )
    return ParsedName(tuple(tokens[:MAX_TOKENS]))


@lru_cache(maxsize=100_000)
def parse_names(
    *,
    full_name: str | None = None,
    given_name: str | None = None,
    family_name: str | None = None,
    alternate_names: tuple[str, ...] = (),
    country: str | None = None,
    lexicon: Lexicon | None = None,
) -> tuple[ParsedName, ...]:
    """Every reading of the person's name worth comparing, most explicit first.

    Cached: candidates are parsed again at every query that finds them, and the result depends
    only on the arguments (a Lexicon hashes by identity).

    given_name / family_name give roles; "FAMILY, Given" in full_name gives them too; otherwise a
    full name's words have no role, since its order depends on culture (family first in Vietnam,
    Japan, Hungary; clerks' forms put the family name first). Nicknames become their own readings.
    """
    lexicon = lexicon or load_lexicon()
    readings: list[ParsedName] = []
    seen: set[tuple[tuple[str, str], ...]] = set()

    def add(reading: ParsedName) -> None:
        key = tuple((t.text, t.role) for t in reading.tokens)
        if reading.tokens and key not in seen:
            seen.add(key)
            readings.append(reading)

    family_first = (country or "").upper() in lexicon.family_first_countries
    given = _clean_words(given_name or "", lexicon, slot="given")
    family = _clean_words(family_name or "", lexicon, slot="family")
    if not family_first:
        family = _strip_particles(family, lexicon, keep_first=False)
    if given or family:
        add(_make(given, family, [], lexicon))
    if full_name:
        if "," in full_name:
            head, _, tail = full_name.partition(",")
            fam = _clean_words(head, lexicon, slot="family")
            if not family_first:
                fam = _strip_particles(fam, lexicon, keep_first=False)
            add(_make(_clean_words(tail, lexicon, slot="given"), fam, [], lexicon))
        else:
            unknown = _clean_words(full_name, lexicon, slot="full")
            if not family_first:
                unknown = _strip_particles(unknown, lexicon, keep_first=True)
            add(_make([], [], unknown, lexicon))
    for alternate in alternate_names[:10]:
        words_ = _clean_words(alternate, lexicon, slot="full")
        add(_make([], [], _strip_particles(words_, lexicon, keep_first=True), lexicon))
    return tuple(readings)
