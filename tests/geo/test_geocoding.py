"""Offline first, online only for what the gazetteer cannot resolve: no app, no network."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import pytest

from app.geo import Gazetteer, Geocoding, OnlineGeocoder, Place
from tests.geo.test_gazetteer import PLACES
from tests.geo.test_online import KENSCOFF, FakeLocation, FakeNominatim

# Kenscoff is left out of the offline rows, so that only the online geocoder knows it.
GAZETTEER = Gazetteer.from_places(row for row in PLACES if row[0] != "Kenscoff")
MIRAGOANE = FakeLocation(
    18.4459,
    -73.0896,
    "Miragoâne, Arrondissement de Miragoâne, Nippes, Haïti",
    {"name": "Miragoâne", "address": {"country_code": "ht"}},
)


def online(fake: FakeNominatim) -> OnlineGeocoder:
    return OnlineGeocoder(user_agent="reunite-tests", geocoder=fake, min_delay_seconds=0)


@dataclass
class Broken:
    """An online geocoder that fails in a way geopy does not wrap."""

    calls: list[str] = field(default_factory=list)

    def geocode(self, text: str | None, country: str | None = None) -> Place | None:
        self.calls.append(str(text))
        raise ConnectionResetError(f"connection reset while asking for {text}")


@dataclass
class RecordingGazetteer:
    """Records what the offline side was asked."""

    calls: list[tuple[Any, ...]] = field(default_factory=list)

    def geocode(self, text: str | None, country: str | None = None, *, near: Any = None) -> None:
        self.calls.append((text, country, near))


def test_the_gazetteer_answers_first_and_the_network_is_not_asked() -> None:
    fake = FakeNominatim({"Refugio Escuela Joseph, Ponse": KENSCOFF})
    geocoding = Geocoding(GAZETTEER, online(fake))
    place = geocoding.geocode("Refugio Escuela Joseph, Ponse", "PR")
    assert place is not None and place.name == "Ponce" and place.geonameid == 4566880
    point = geocoding.geocode("18.5447, -72.3003", "HT")  # a coordinate pair is a place
    assert point is not None and (point.lat, point.lon) == (18.5447, -72.3003)
    assert fake.calls == []


def test_what_the_gazetteer_does_not_know_is_asked_online() -> None:
    fake = FakeNominatim({"Kenscoff": KENSCOFF, "Abri Lycée, Miragoâne": MIRAGOANE})
    geocoding = Geocoding(GAZETTEER, online(fake))
    assert geocoding.geocode("Kenscoff", "HT") == Place(
        "Kenscoff", 18.4477, -72.284, "HT", 0, 0, "kenscoff", True
    )
    place = geocoding.geocode("Abri Lycée, Miragoâne", "ht")
    assert place is not None and place.name == "Miragoâne" and place.country == "HT"
    assert [(query, kwargs["country_codes"]) for query, kwargs in fake.calls] == [
        ("Kenscoff", "ht"),
        ("Abri Lycée, Miragoâne", "ht"),
    ]


def test_ambiguous_namesakes_go_online_but_near_settles_them_offline() -> None:
    fake = FakeNominatim()
    geocoding = Geocoding(GAZETTEER, online(fake))
    assert geocoding.geocode("Bridge City", "US") is None  # LA and TX are the same size
    assert [query for query, _ in fake.calls] == ["Bridge City"]
    place = geocoding.geocode("Bridge City", "US", near=(29.95, -90.07))  # New Orleans
    assert place is not None and place.geonameid == 4317864
    assert len(fake.calls) == 1


@pytest.mark.parametrize("text", [None, "", "   ", "\n"])
def test_nothing_to_look_up_asks_nobody(text: str | None) -> None:
    offline, fake = RecordingGazetteer(), FakeNominatim()
    assert Geocoding(offline, online(fake)).geocode(text, "HT") is None
    assert offline.calls == [] and fake.calls == []


def test_without_an_online_geocoder_an_unknown_place_is_none() -> None:
    geocoding = Geocoding(GAZETTEER)
    assert geocoding.online is None
    assert geocoding.geocode("Kenscoff", "HT") is None
    assert geocoding.geocode("Атлантида 🌊", None) is None


def test_online_failures_are_none_and_logged_by_type_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    timing_out = FakeNominatim({"Kenscoff": KENSCOFF}, failing=True)
    assert Geocoding(GAZETTEER, online(timing_out)).geocode("Kenscoff, María Pérez", "HT") is None
    broken = Broken()
    assert Geocoding(GAZETTEER, broken).geocode("Kenscoff, María Pérez", "HT") is None
    assert broken.calls == ["Kenscoff, María Pérez"]
    messages = [record.getMessage() for record in caplog.records]
    assert messages == [
        "online geocoder failed: GeocoderTimedOut",
        "online geocoding failed: ConnectionResetError",
    ]
    assert "María" not in caplog.text and "Kenscoff" not in caplog.text


def test_the_gazetteer_is_given_the_country_and_near() -> None:
    offline = RecordingGazetteer()
    Geocoding(offline).geocode("Delmas 33", "HT", near=(18.54, -72.3))
    assert offline.calls == [("Delmas 33", "HT", (18.54, -72.3))]
