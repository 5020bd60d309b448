"""The values the geo package hands out: points and resolved places."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple


class GeoPoint(NamedTuple):
    """(latitude, longitude) in decimal degrees; any (lat, lon) tuple works where one is taken."""

    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class Place:
    """A place a free-text location was resolved to."""

    name: str  # GeoNames name ("Ponce"), or "lat, lon" for coordinates given as text
    lat: float
    lon: float
    country: str  # ISO 3166-1 alpha-2; "" for coordinates given as text
    population: int
    geonameid: int  # 0 for coordinates given as text
    matched: str  # the piece of the input text that matched (folded)
    exact: bool  # False when only a fuzzy (typo-tolerant) match was found

    @property
    def point(self) -> GeoPoint:
        """The place as a (lat, lon) point for distance_km."""
        return GeoPoint(self.lat, self.lon)
