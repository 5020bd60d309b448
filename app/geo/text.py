"""Reading a free-text location: coordinates, comma parts, and the phrases worth looking up.

"Evacuation center Waveland, Waveland, MS" is read as the parts "Evacuation center Waveland" and
"Waveland" plus the US state MS. The last place part is taken as the town (people write the
facility first), and each part yields phrases from most to least literal: the whole part, its
bracketed pieces, then the runs of words between facility words ("bogalusa" in "Bogalusa
General Hospital", "metairie terrace" in "Metairie Terrace Convention Center").
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from app.geo.regions import Regions
from app.matching.engine.text import fold

# Bounds on the work one call may do, whatever it is given (a pasted 10 kB note must stay fast).
MAX_TEXT_CHARS = 1000
MAX_PARTS = 6
MAX_PART_CHARS = 160
MAX_WORDS = 12
MIN_RUN_CHARS = 3
MIN_FUZZY_CHARS = 4
MAX_FUZZY = 4

# Both numbers need a decimal point, so "3 de Mayo, 18" or a house number is never a coordinate.
_COORDINATES = re.compile(
    r"(?<![\d.])([+-]?\d{1,2}\.\d+)\s*[,;\s]\s*([+-]?\d{1,3}\.\d+)(?![\d.])",
)
# Commas (also the Arabic and CJK ones), semicolons, slashes, pipes, line breaks, spaced dashes.
_PART_SEPARATOR = re.compile(r"[,;|/\n\r\t\u060c\u3001\uff0c\uff1b]+|\s[-\u2013\u2014]+\s")
# Letters of scripts other than Latin: Greek to Mongolian, Glagolitic to Yi (CJK, kana,
# Hangul), Hangul syllables, CJK compatibility, Hebrew and Arabic presentation forms, CJK
# extensions. Emoji and symbols are not letters of another script.
OTHER_SCRIPT = re.compile(
    "[\u0370-\u1dbf\u2c00-\u2c5f\u2c80-\ua6ff\uac00-\ud7ff\uf900-\ufaff"
    "\ufb1d-\ufdff\ufe70-\ufeff\U00020000-\U0003134f]"
)
_BRACKETED = re.compile(r"[(\[{]([^)\]}]*)[)\]}]?")


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """Word lists from app/geo/data: facility words and function words, all folded."""

    generic: frozenset[str]
    stopwords: frozenset[str]  # trimmed off both ends of a run ("de" in "Hôpital de Kenscoff")
    articles: frozenset[str]  # may start a place name ("La Plena"), trimmed off the end

    def is_name_word(self, word: str) -> bool:
        """True for a word that can carry a place name by itself."""
        return (
            word not in self.generic
            and word not in self.stopwords
            and word not in self.articles
            and not word.isdigit()
        )


@cache
def vocabulary() -> Vocabulary:
    """The word lists shipped in app/geo/data, read once."""
    generic: set[str] = set()
    stopwords: set[str] = set()
    articles: set[str] = set()
    data = files("app.geo") / "data"
    for entry in sorted((data / "generic").iterdir(), key=lambda e: e.name):
        generic.update(_data_lines(entry.read_text(encoding="utf-8")))
    for entry in sorted((data / "stopwords").iterdir(), key=lambda e: e.name):
        for line in _data_lines(entry.read_text(encoding="utf-8")):
            if line.startswith("+"):
                articles.add(line[1:])
            else:
                stopwords.add(line)
    return Vocabulary(frozenset(generic), frozenset(stopwords), frozenset(articles))


def _data_lines(text: str) -> Iterator[str]:
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            yield line


def parse_coordinates(text: str) -> tuple[float, float, str] | None:
    """'14.5995, 120.9842' (PFIF writes "lat, lon") -> (lat, lon, matched text), else None."""
    match = _COORDINATES.search(text[-MAX_TEXT_CHARS:])
    if match is None:
        return None
    lat, lon = float(match.group(1)), float(match.group(2))
    # (0, 0) is what broken exports write for "unknown".
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0) or (lat == 0.0 and lon == 0.0):
        return None
    return lat, lon, f"{match.group(1)}, {match.group(2)}"


def split_parts(text: str) -> list[str]:
    """The non-empty comma parts of text, stripped; at most MAX_PARTS. Of a long text only the
    end is read: the town comes last."""
    parts = [p.strip() for p in _PART_SEPARATOR.split(text[-MAX_TEXT_CHARS:])]
    return [p[:MAX_PART_CHARS] for p in parts if p][-MAX_PARTS:]


@dataclass(frozen=True, slots=True)
class Part:
    """One comma part of a location, folded, with the phrases to look up in order."""

    folded: str
    pieces: tuple[str, ...]  # outer text and bracketed pieces, when the part has brackets
    runs: tuple[tuple[str, ...], ...]  # words between facility words, per piece, last run first

    def whole_phrases(self) -> list[str]:
        """The part as written, then its outer and bracketed pieces."""
        return list(dict.fromkeys(p for p in (self.folded, *self.pieces) if p))

    def run_phrases(self) -> list[str]:
        """Each run of words between facility words, when that is not the whole part."""
        whole = set(self.whole_phrases())
        runs = (" ".join(run) for run in self.runs)
        return [r for r in dict.fromkeys(runs) if r not in whole and len(r) >= MIN_RUN_CHARS]

    def fuzzy_phrases(self) -> list[str]:
        """The few phrases worth a typo-tolerant search: whole part, pieces, then runs."""
        phrases = (*self.whole_phrases(), *(" ".join(run) for run in self.runs))
        return [p for p in dict.fromkeys(phrases) if len(p) >= MIN_FUZZY_CHARS][:MAX_FUZZY]


def read_part(raw: str) -> Part | None:
    """Fold one comma part; None when nothing in it can name a place."""
    vocab = vocabulary()
    folded = _capped(fold(raw))
    if not folded:
        return None
    pieces: tuple[str, ...] = ()
    sources = [folded]
    if _BRACKETED.search(raw):
        outer = _capped(fold(_BRACKETED.sub(" ", raw)))
        inner = [_capped(fold(m.group(1))) for m in _BRACKETED.finditer(raw)]
        sources = [p for p in (outer, *inner) if p]
        # "Hospital (Ponce)": the piece "hospital" alone must not be looked up as a place.
        pieces = tuple(p for p in sources if any(map(vocab.is_name_word, p.split())))
    runs: list[tuple[str, ...]] = []
    for source in sources:
        piece_runs = _runs(source.split(), vocab)
        runs.extend(reversed(piece_runs))
    if not runs:
        return None
    return Part(folded=folded, pieces=pieces, runs=tuple(runs))


def _capped(folded: str) -> str:
    words = folded.split(" ")
    return " ".join(words[:MAX_WORDS]) if len(words) > MAX_WORDS else folded


def _runs(words: list[str], vocab: Vocabulary) -> list[tuple[str, ...]]:
    """Maximal runs of non-facility words that contain a name word, edges trimmed."""
    runs: list[tuple[str, ...]] = []
    current: list[str] = []
    for word in [*words, ""]:
        if word and word not in vocab.generic:
            current.append(word)
            continue
        trimmed = _trim(current, vocab)
        if any(vocab.is_name_word(w) for w in trimmed):
            runs.append(tuple(trimmed))
        current = []
    return runs


def _trim(words: list[str], vocab: Vocabulary) -> list[str]:
    start, end = 0, len(words)
    while start < end and words[start] in vocab.stopwords:
        start += 1
    while end > start and (words[end - 1] in vocab.stopwords or words[end - 1] in vocab.articles):
        end -= 1
    return words[start:end]


@dataclass(frozen=True, slots=True)
class Location:
    """A free-text location read into place parts (the town last) and the regions it names."""

    parts: tuple[Part, ...]
    country: str | None  # named in the text ("Ponce, Puerto Rico"), ISO 3166-1 alpha-2
    state: str | None  # US state named in the text ("Bridge City, LA")
    latin: bool  # written in Latin script only


def read_location(
    text: str, regions: Regions, hint: str | None = None, *, regions_named: bool = True
) -> Location:
    """Split text into place parts, taking trailing state and country names off the end
    (unless regions_named is False)."""
    raws = split_parts(text)
    country: str | None = None
    state: str | None = None
    # A lone part is always a place: "Georgia" or "Mexico" alone may well be a town.
    while regions_named and len(raws) > 1:
        raw = raws[-1]
        named_state = regions.state_in(raw) if state is None and country in (None, "US") else None
        named_country = regions.country_in(raw) if country is None else None
        # Both: "LA" after a town is Louisiana rather than Laos, unless the hint is Laos;
        # "Georgia" is the country unless the hint or an earlier "USA" says United States.
        if named_state is not None and (
            named_country is None
            or "US" in (hint, country)
            or (len(raw) == 2 and hint != named_country)
        ):
            state, country = named_state, "US"
        elif named_country is not None:
            country = named_country
        else:
            break
        raws.pop()
    parts = tuple(p for p in map(read_part, raws) if p is not None)
    latin = not any(map(OTHER_SCRIPT.search, raws))
    return Location(parts=parts, country=country, state=state, latin=latin)
