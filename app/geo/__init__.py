"""Offline geocoding of free-text places and great-circle distances (a pure engine).

No Flask, no database, no configuration: the matching engine asks where a shelter and a
last-seen place are and how far apart, and scores the distance. The network is reached only
through an OnlineGeocoder that the caller builds and hands to Geocoding. See docs/geo.md.
"""

from typing import Any

from app.geo.distance import distance_km
from app.geo.gazetteer import Gazetteer, default_gazetteer
from app.geo.geocoding import Geocoding
from app.geo.places import GeoPoint, Place

__all__ = [
    "GeoPoint",
    "Gazetteer",
    "Geocoding",
    "OnlineGeocoder",
    "Place",
    "default_gazetteer",
    "distance_km",
]


def __getattr__(name: str) -> Any:
    # geopy's geocoders take 0.1 s to import; only the service layer that goes online needs them.
    if name == "OnlineGeocoder":
        from app.geo.online import OnlineGeocoder

        return OnlineGeocoder
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
