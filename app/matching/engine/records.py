"""What the engine compares: a person record in, a prepared profile out."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from app.matching.engine.lexicon import Lexicon, load_lexicon
from app.matching.engine.names import ParsedName, parse_names
from app.matching.engine.text import fold

# (text, country hint) -> (lat, lon) or None; the service passes the offline gazetteer.
Geocoder = Callable[[str | None, str | None], tuple[float, float] | None]
_AGE = re.compile(r"^\s*(\d{1,3})\s*(?:-\s*(\d{1,3}))?\s*$")
_DOB = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


@dataclass(frozen=True, slots=True)
class PersonRecord:
    """A report as the engine sees it (PFIF field names; anything may be missing)."""

    id: str
    kind: str
    full_name: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    alternate_names: tuple[str, ...] = ()
    # Kept for unidentified people; not compared yet (free-text descriptions need their own
    # comparison, and a wrong alert on a description is worse than none).
    description: str | None = None
    sex: str | None = None
    age: str | None = None
    date_of_birth: str | None = None
    home_city: str | None = None
    home_country: str | None = None
    last_known_location: str | None = None
    lat: float | None = None
    lon: float | None = None
    # The year the age was stated in, to compare ages with birth dates.
    year: int = 2026


@dataclass(frozen=True, slots=True)
class Profile:
    """A record prepared for comparison: parsed names, age interval, sex, a point on the map."""

    id: str
    kind: str
    names: tuple[ParsedName, ...]
    age: tuple[int, int] | None = None
    age_exact: bool = False
    dob: str | None = None
    sex: str | None = None
    point: tuple[float, float] | None = None
    # The home town's point too, when it resolves: a relative may give only the home town.
    home_point: tuple[float, float] | None = None
    city: str | None = None
    country: str | None = None
    name_words: tuple[str, ...] = field(default=())
    # Place texts kept when no point could be fixed without a country: the other side's
    # country may resolve them ("Palmarejo" is in Puerto Rico when the shelter is).
    places: tuple[str, ...] = ()
    # Folded town names the record gives (last seen, home; "Shelter X, Town" -> "town"), to
    # compare places by name where no point could be fixed.
    towns: frozenset[str] = frozenset()


def _age_interval(record: PersonRecord) -> tuple[tuple[int, int] | None, bool, str | None]:
    dob = (
        record.date_of_birth if record.date_of_birth and _DOB.match(record.date_of_birth) else None
    )
    if record.age:
        match = _AGE.match(str(record.age))
        if match:
            low = int(match.group(1))
            high = int(match.group(2)) if match.group(2) else low
            if 0 <= low <= high <= 130:
                return (low, high), low == high, dob
    if dob:
        year = int(dob[:4])
        age = record.year - year
        if 0 <= age <= 130:
            # Without a month the birthday may not have come yet this year.
            return (max(age - 1, 0), age), True, dob
    return None, False, dob


def _town(text: str | None) -> str:
    """The town a location names: its last comma part ("Camp Joseph, Mirebalais")."""
    return fold(text.rsplit(",", 1)[-1])[:80] if text else ""


def prepare(
    record: PersonRecord, geocode: Geocoder | None = None, lexicon: Lexicon | None = None
) -> Profile:
    """Parse and normalise a record once, so it can be compared many times."""
    lexicon = lexicon or load_lexicon()
    names = parse_names(
        full_name=record.full_name,
        given_name=record.given_name,
        family_name=record.family_name,
        alternate_names=tuple(record.alternate_names or ()),
        country=record.home_country,
        lexicon=lexicon,
    )
    age, exact, dob = _age_interval(record)
    point = home_point = None
    places = tuple(p for p in (record.last_known_location, record.home_city) if p)
    if geocode is not None and record.home_country and record.home_city:
        home_point = geocode(record.home_city, record.home_country)
    if record.lat is not None and record.lon is not None:
        point = (float(record.lat), float(record.lon))
    elif geocode is not None and record.home_country:
        point = geocode(record.last_known_location, record.home_country) or home_point
    sex = record.sex if record.sex in ("female", "male") else None
    name_words = tuple(sorted({t.text for n in names for t in n.tokens}))
    city = " ".join((record.home_city or "").lower().split()) or None
    return Profile(
        id=record.id,
        kind=record.kind,
        names=names,
        age=age,
        age_exact=exact,
        dob=dob if dob and len(dob) == 10 else None,
        sex=sex,
        point=point,
        home_point=home_point,
        city=city,
        country=record.home_country,
        name_words=name_words,
        places=places if point is None else (),
        towns=frozenset(
            t for t in (_town(record.last_known_location), _town(record.home_city)) if t
        ),
    )
