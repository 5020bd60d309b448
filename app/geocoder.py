"""The app's geocoder: the offline gazetteer, then Nominatim when the configuration enables it.

Flask glue around the pure app.geo package. app.config reads and checks the GEOCODER_* settings;
create_app() builds the geocoder once per app (one rate limiter and one cache per process);
services call configured_geocoder(). Off by default: without GEOCODER_ONLINE_URL no text leaves
the server.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, current_app

from app.config import online_geocoder_options
from app.geo import Geocoding, Place, default_gazetteer

EXTENSION = "reunite.geocoder"


class _DefaultGazetteer:
    """default_gazetteer() at the first lookup: it takes seconds, create_app() does not wait."""

    __slots__ = ()

    def geocode(
        self,
        text: str | None,
        country: str | None = None,
        *,
        near: tuple[float, float] | None = None,
    ) -> Place | None:
        return default_gazetteer().geocode(text, country, near=near)


def build_geocoder(settings: Mapping[str, Any]) -> Geocoding:
    """The offline gazetteer, with an OnlineGeocoder behind it when GEOCODER_ONLINE_URL is set."""
    options = online_geocoder_options(settings)
    if options is None:
        return Geocoding(_DefaultGazetteer())
    # geopy is imported only when the online geocoder is on (0.1 s).
    from app.geo.online import OnlineGeocoder

    return Geocoding(_DefaultGazetteer(), OnlineGeocoder(**options))


def init_app(app: Flask) -> None:
    """Build the app's geocoder now, so that a setting that cannot work stops the start."""
    app.extensions[EXTENSION] = build_geocoder(app.config)


def configured_geocoder() -> Geocoding:
    """The current app's geocoder: geocode(text, country, near=None) -> Place | None."""
    geocoder = current_app.extensions.get(EXTENSION)
    if geocoder is None:  # an app that create_app() did not build
        geocoder = current_app.extensions.setdefault(EXTENSION, build_geocoder(current_app.config))
    return geocoder
