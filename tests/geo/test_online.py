"""The optional online geocoder, with a fake geopy geocoder: no network, ever."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from geopy.exc import GeocoderTimedOut

from app.geo import OnlineGeocoder, Place


@dataclass
class FakeLocation:
    """What geopy's Nominatim returns."""

    latitude: float
    longitude: float
    address: str
    raw: dict[str, Any]


@dataclass
class FakeNominatim:
    """Answers from a dict; records the calls; can be told to time out."""

    answers: dict[str, FakeLocation] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    failing: bool = False

    def geocode(self, query: str, **kwargs: Any) -> FakeLocation | None:
        self.calls.append((query, kwargs))
        if self.failing:
            raise GeocoderTimedOut("Service timed out")
        return self.answers.get(query)


KENSCOFF = FakeLocation(
    18.4477,
    -72.2840,
    "Kenscoff, Arrondissement de Port-au-Prince, Ouest, Haïti",
    {"name": "Kenscoff", "address": {"country_code": "ht"}},
)


def online(fake: FakeNominatim) -> OnlineGeocoder:
    """An OnlineGeocoder over the fake, without the one-second wait between calls."""
    return OnlineGeocoder(user_agent="reunite-tests", geocoder=fake, min_delay_seconds=0)


def test_a_found_place_becomes_a_place() -> None:
    fake = FakeNominatim({"Kenscoff": KENSCOFF})
    place = online(fake).geocode(" Kenscoff ", "HT")
    assert place == Place("Kenscoff", 18.4477, -72.284, "HT", 0, 0, "kenscoff", True)
    query, kwargs = fake.calls[0]
    assert query == "Kenscoff" and kwargs["country_codes"] == "ht" and kwargs["exactly_one"]


def test_answers_are_cached_and_failures_are_not() -> None:
    fake = FakeNominatim({"Kenscoff": KENSCOFF})
    geocoder = online(fake)
    assert geocoder.geocode("Kenscoff") == geocoder.geocode("Kenscoff")
    assert geocoder.geocode("Atlantis") is None
    assert geocoder.geocode("Atlantis") is None
    assert [q for q, _ in fake.calls] == ["Kenscoff", "Atlantis"]
    fake.failing = True
    assert geocoder.geocode("Delmas") is None  # the error is logged, not raised
    fake.failing = False
    assert geocoder.geocode("Delmas") is None
    assert [q for q, _ in fake.calls][-2:] == ["Delmas", "Delmas"]  # asked again


def test_nothing_to_ask_is_not_asked() -> None:
    fake = FakeNominatim()
    geocoder = online(fake)
    for text in (None, "", "   "):
        assert geocoder.geocode(text) is None
    assert fake.calls == []


def test_the_default_is_nominatim_built_without_a_call() -> None:
    # Building it opens no connection; only geocode() would.
    geocoder = OnlineGeocoder(user_agent="reunite-tests", domain="nominatim.example.org")
    assert type(geocoder._geocoder).__name__ == "Nominatim"
