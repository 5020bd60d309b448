"""The offline gazetteer first, then an optional online geocoder for what it does not know.

Pure: the caller decides whether an online geocoder is given at all (app.geocoder builds one
from the configuration). Text about people leaves the server only for places the gazetteer
could not resolve, and an online failure is a place not found, never an error.
"""

from __future__ import annotations

import logging
from typing import Protocol

from app.geo.places import Place

log = logging.getLogger(__name__)


class GazetteerLike(Protocol):
    """What Geocoding needs of the offline gazetteer (app.geo.Gazetteer)."""

    def geocode(
        self,
        text: str | None,
        country: str | None = None,
        *,
        near: tuple[float, float] | None = None,
    ) -> Place | None:
        """The place text names, or None when unsure."""
        ...


class OnlineLike(Protocol):
    """What Geocoding needs of the online geocoder (app.geo.OnlineGeocoder)."""

    def geocode(self, text: str | None, country: str | None = None) -> Place | None:
        """The place text names, or None."""
        ...


class Geocoding:
    """Resolves free-text places offline, and online only for what the gazetteer cannot."""

    __slots__ = ("gazetteer", "online")

    def __init__(self, gazetteer: GazetteerLike, online: OnlineLike | None = None) -> None:
        """online None keeps every lookup on this server."""
        self.gazetteer = gazetteer
        self.online = online

    def geocode(
        self,
        text: str | None,
        country: str | None = None,
        *,
        near: tuple[float, float] | None = None,
    ) -> Place | None:
        """The gazetteer's place for text; else the online geocoder's; else None.

        near helps the gazetteer choose among namesakes (see Gazetteer.geocode); the online
        geocoder is limited to country when one is given.
        """
        if not isinstance(text, str) or not text.strip():
            return None
        place = self.gazetteer.geocode(text, country, near=near)
        if place is not None or self.online is None:
            return place
        try:
            return self.online.geocode(text, country)
        except Exception as error:  # noqa: BLE001 - an unreachable service is a place not found
            # The type only: a message can quote the text, and the text is about people.
            log.warning("online geocoding failed: %s", type(error).__name__)
            return None
