"""An optional online geocoder (Nominatim) for places the offline gazetteer does not know.

Off by default and never called by Gazetteer: the service layer decides when a network call is
worth it (and that text about people may be sent to a third party). Calls are rate limited to
one per second (the public Nominatim policy) and answers are cached.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import lru_cache
from typing import Any, Protocol

from geopy.exc import GeopyError
from geopy.extra.rate_limiter import RateLimiter
from geopy.geocoders import Nominatim

from app.geo.places import Place
from app.geo.text import MAX_TEXT_CHARS
from app.matching.engine.text import fold

log = logging.getLogger(__name__)


class GeocoderLike(Protocol):
    """What OnlineGeocoder needs of a geopy geocoder (tests pass a fake one)."""

    def geocode(self, query: str, **kwargs: Any) -> Any:
        """A geopy Location (latitude, longitude, address, raw) or None."""
        ...


class OnlineGeocoder:
    """Nominatim behind geopy's RateLimiter and an LRU cache; returns Place like Gazetteer."""

    def __init__(
        self,
        *,
        user_agent: str,
        domain: str = "nominatim.openstreetmap.org",
        scheme: str = "https",
        timeout: float = 5.0,
        min_delay_seconds: float = 1.0,
        cache_size: int = 10_000,
        geocoder: GeocoderLike | None = None,
    ) -> None:
        """user_agent names the deployment (Nominatim's policy requires one); domain and scheme
        point at a self-hosted Nominatim; geocoder replaces Nominatim (tests)."""
        self._geocoder: GeocoderLike = geocoder or Nominatim(
            user_agent=user_agent, domain=domain, scheme=scheme, timeout=timeout
        )
        # No retries: geopy logs each retry with the query, and queries are about people.
        self._limited: Callable[..., Any] = RateLimiter(
            self._geocoder.geocode,
            min_delay_seconds=min_delay_seconds,
            max_retries=0,
            swallow_exceptions=False,
        )
        # Errors raise through the cache, so a failed lookup is retried next time.
        self._cached: Callable[[str, str | None], Place | None] = lru_cache(maxsize=cache_size)(
            self._lookup
        )

    def geocode(self, text: str | None, country: str | None = None) -> Place | None:
        """The place Nominatim finds for text (limited to country when given), or None when it
        finds nothing or cannot be reached."""
        if not isinstance(text, str) or not text.strip():
            return None
        code = country.strip().lower() if isinstance(country, str) and country.strip() else None
        try:
            return self._cached(text.strip()[:MAX_TEXT_CHARS], code)
        except GeopyError as error:
            # The type only: the message can quote the query.
            log.warning("online geocoder failed: %s", type(error).__name__)
            return None

    def _lookup(self, text: str, country: str | None) -> Place | None:
        location = self._limited(text, exactly_one=True, addressdetails=True, country_codes=country)
        if location is None:
            return None
        raw = getattr(location, "raw", None) or {}
        address = raw.get("address") or {}
        return Place(
            name=str(raw.get("name") or location.address or text),
            lat=float(location.latitude),
            lon=float(location.longitude),
            country=str(address.get("country_code") or country or "").upper(),
            population=0,
            geonameid=0,
            matched=fold(text),
            exact=True,
        )
