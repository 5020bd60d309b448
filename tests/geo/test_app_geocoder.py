"""The app's geocoder from its configuration (app/geocoder.py): off by default, no network ever."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from flask import Flask
from geopy.extra.rate_limiter import RateLimiter
from geopy.geocoders import Nominatim

import app.geocoder
from app import create_app
from app.config import ConfigError
from app.geo import OnlineGeocoder
from app.geocoder import configured_geocoder
from tests.geo.test_geocoding import GAZETTEER
from tests.geo.test_online import KENSCOFF, FakeNominatim

SETTINGS = (
    "GEOCODER_ONLINE_URL",
    "GEOCODER_USER_AGENT",
    "GEOCODER_MIN_DELAY_S",
    "GEOCODER_TIMEOUT_S",
)
ONLINE = {
    "GEOCODER_ONLINE_URL": "https://nominatim.example.org/osm/",
    "GEOCODER_USER_AGENT": "reunite-tests (ops@relief.example.org)",
    "GEOCODER_MIN_DELAY_S": "2.5",
    "GEOCODER_TIMEOUT_S": "7",
}


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any connection attempt fails the test; so does a GEOCODER_* setting from the shell."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a geocoder test tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    # The small offline gazetteer of the tests, not the 6-second cities500 one.
    monkeypatch.setattr(app.geocoder, "default_gazetteer", lambda: GAZETTEER)


def make_app(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> Flask:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return create_app({"REUNITE_ENV": "test", "SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_off_by_default_the_app_geocodes_offline_only(monkeypatch: pytest.MonkeyPatch) -> None:
    flask_app = make_app(monkeypatch, {})
    with flask_app.app_context():
        geocoder = configured_geocoder()
        assert geocoder.online is None
        place = geocoder.geocode("Refugio Escuela Joseph, Ponse", "PR")
        assert place is not None and place.name == "Ponce"
        assert geocoder.geocode("Kenscoff", "HT") is None  # not in the offline rows
        assert configured_geocoder() is geocoder  # built once per app


def test_the_configured_nominatim_is_the_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeNominatim({"Kenscoff": KENSCOFF})
    # Nominatim as configured, answering from the fake instead of the network.
    monkeypatch.setattr(Nominatim, "geocode", lambda self, query, **kw: fake.geocode(query, **kw))
    flask_app = make_app(monkeypatch, ONLINE)
    with flask_app.app_context():
        geocoder = configured_geocoder()
        assert isinstance(geocoder.online, OnlineGeocoder)
        nominatim = geocoder.online._geocoder
        assert isinstance(nominatim, Nominatim)
        assert nominatim.api == "https://nominatim.example.org/osm/search"
        assert nominatim.timeout == 7.0
        assert nominatim.headers["User-Agent"] == ONLINE["GEOCODER_USER_AGENT"]
        limiter = geocoder.online._limited
        assert isinstance(limiter, RateLimiter) and limiter.min_delay_seconds == 2.5

        ponce = geocoder.geocode("Refugio Escuela Joseph, Ponse", "PR")
        assert ponce is not None and ponce.geonameid == 4566880  # offline, first
        kenscoff = geocoder.geocode("Kenscoff", "HT")
        assert kenscoff is not None and (kenscoff.lat, kenscoff.lon) == (18.4477, -72.284)
        assert [query for query, _ in fake.calls] == ["Kenscoff"]

    other = make_app(monkeypatch, ONLINE)
    with other.app_context():
        assert configured_geocoder() is not geocoder  # each app its own limiter and cache


def test_the_configured_delay_spaces_the_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    slept: list[float] = []

    def sleep(self: RateLimiter, seconds: float) -> None:
        slept.append(round(seconds, 6))
        now[0] += seconds

    monkeypatch.setattr(RateLimiter, "_clock", lambda self: now[0])
    monkeypatch.setattr(RateLimiter, "_sleep", sleep)
    fake = FakeNominatim()
    monkeypatch.setattr(Nominatim, "geocode", lambda self, query, **kw: fake.geocode(query, **kw))
    flask_app = make_app(monkeypatch, ONLINE)
    with flask_app.app_context():
        geocoder = configured_geocoder()
        for text in ("Kenscoff", "Pétion-Ville", "Kenscoff"):  # the repeat comes from the cache
            assert geocoder.geocode(text, "HT") is None
    assert [query for query, _ in fake.calls] == ["Kenscoff", "Pétion-Ville"]
    assert slept == [2.5]


def test_a_setting_given_to_create_app_is_checked_at_start() -> None:
    with pytest.raises(ConfigError, match="GEOCODER_USER_AGENT"):
        create_app({"REUNITE_ENV": "test", "GEOCODER_ONLINE_URL": "https://nominatim.example.org"})


def test_an_environment_setting_that_cannot_work_stops_the_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(ConfigError, match="GEOCODER_MIN_DELAY_S"):
        make_app(monkeypatch, {**ONLINE, "GEOCODER_MIN_DELAY_S": "soon"})
