"""Configuration from the environment: production fails fast, database URLs use psycopg 3."""

from __future__ import annotations

import pytest

from app.config import ConfigError, load_config, online_geocoder_options

PRODUCTION = {
    "REUNITE_ENV": "production",
    "SECRET_KEY": "a-long-random-production-secret",
    "DATABASE_URL": "postgresql://reunite@/reunite?host=/run/postgresql",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
}


def test_production_starts_with_its_secrets():
    config = load_config(PRODUCTION)
    assert config["REUNITE_ENV"] == "production"
    assert config["SECRET_KEY"] == PRODUCTION["SECRET_KEY"]
    assert config["SQLALCHEMY_DATABASE_URI"] == (
        "postgresql+psycopg://reunite@/reunite?host=/run/postgresql"
    )


@pytest.mark.parametrize("name", ["SECRET_KEY", "DATABASE_URL", "REDIS_URL"])
@pytest.mark.parametrize("value", [None, ""], ids=["unset", "empty"])
def test_production_refuses_to_start_without(name, value):
    env = {k: v for k, v in PRODUCTION.items() if k != name}
    if value is not None:
        env[name] = value
    with pytest.raises(ConfigError, match=name):
        load_config(env)


def test_development_needs_no_secrets_and_makes_up_a_key():
    first, second = load_config({}), load_config({})
    assert first["REUNITE_ENV"] == "development"
    assert first["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    assert first["SQLALCHEMY_DATABASE_URI"].endswith("/instance/reunite.db")
    assert len(first["SECRET_KEY"]) >= 32
    assert first["SECRET_KEY"] != second["SECRET_KEY"]


def test_unknown_environment_is_refused():
    with pytest.raises(ConfigError, match="REUNITE_ENV"):
        load_config({"REUNITE_ENV": "prod"})


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        # Heroku and many hosting panels hand out the short scheme.
        (
            "postgres://reunite:pw@db.internal:5432/reunite",
            "postgresql+psycopg://reunite:pw@db.internal:5432/reunite",
        ),
        ("postgresql://postgres@127.0.0.1/test", "postgresql+psycopg://postgres@127.0.0.1/test"),
        ("postgresql+psycopg://u@h/d", "postgresql+psycopg://u@h/d"),
        ("sqlite:////var/lib/reunite/reunite.db", "sqlite:////var/lib/reunite/reunite.db"),
    ],
)
def test_database_urls_are_normalised_to_psycopg(url, expected):
    config = load_config({**PRODUCTION, "DATABASE_URL": url})
    assert config["SQLALCHEMY_DATABASE_URI"] == expected


@pytest.mark.parametrize(
    ("raw", "expected"), [("1", True), ("True", True), ("YES", True), ("0", False), ("off", False)]
)
def test_flags_read_the_usual_spellings(raw, expected):
    assert load_config({"TRUST_PROXY_HEADERS": raw})["TRUST_PROXY_HEADERS"] is expected


def test_a_flag_with_another_value_is_refused():
    with pytest.raises(ConfigError, match="TRUST_PROXY_HEADERS"):
        load_config({"TRUST_PROXY_HEADERS": "maybe"})


GEOCODER = {
    "GEOCODER_ONLINE_URL": "https://nominatim.example.org",
    "GEOCODER_USER_AGENT": "reunite-pr-relief (ops@relief.example.org)",
}


def test_the_online_geocoder_is_off_by_default():
    config = load_config({})
    assert config["GEOCODER_ONLINE_URL"] is None
    assert config["GEOCODER_MIN_DELAY_S"] == 1.0 and config["GEOCODER_TIMEOUT_S"] == 5.0
    assert online_geocoder_options(config) is None
    # Without a URL nothing else is asked for.
    assert online_geocoder_options(load_config({"GEOCODER_ONLINE_URL": "  "})) is None


def test_the_online_geocoder_url_gives_geopy_its_scheme_and_domain():
    config = load_config({**PRODUCTION, **GEOCODER})
    assert online_geocoder_options(config) == {
        "user_agent": "reunite-pr-relief (ops@relief.example.org)",
        "scheme": "https",
        "domain": "nominatim.example.org",
        "timeout": 5.0,
        "min_delay_seconds": 1.0,
    }


def test_a_self_hosted_nominatim_can_have_a_port_a_path_and_no_delay():
    env = {
        **GEOCODER,
        "GEOCODER_ONLINE_URL": "http://10.0.0.7:8080/nominatim/",
        "GEOCODER_MIN_DELAY_S": "0",
        "GEOCODER_TIMEOUT_S": "2.5",
    }
    options = online_geocoder_options(load_config(env))
    assert options is not None
    assert options["scheme"] == "http" and options["domain"] == "10.0.0.7:8080/nominatim"
    assert options["min_delay_seconds"] == 0.0 and options["timeout"] == 2.5


@pytest.mark.parametrize(
    ("setting", "value", "name"),
    [
        ("GEOCODER_USER_AGENT", "", "GEOCODER_USER_AGENT"),
        ("GEOCODER_ONLINE_URL", "nominatim.example.org", "GEOCODER_ONLINE_URL"),
        ("GEOCODER_ONLINE_URL", "ftp://nominatim.example.org", "GEOCODER_ONLINE_URL"),
        ("GEOCODER_ONLINE_URL", "https://", "GEOCODER_ONLINE_URL"),
        ("GEOCODER_ONLINE_URL", "https://nominatim.example.org:port", "GEOCODER_ONLINE_URL"),
        ("GEOCODER_ONLINE_URL", "https://nominatim.example.org/search", "GEOCODER_ONLINE_URL"),
        ("GEOCODER_ONLINE_URL", "https://nominatim.example.org/?key=1", "GEOCODER_ONLINE_URL"),
        ("GEOCODER_ONLINE_URL", "https://user:hunter2@nominatim.example.org", "credentials"),
        ("GEOCODER_MIN_DELAY_S", "fast", "GEOCODER_MIN_DELAY_S"),
        ("GEOCODER_MIN_DELAY_S", "-1", "GEOCODER_MIN_DELAY_S"),
        ("GEOCODER_TIMEOUT_S", "0", "GEOCODER_TIMEOUT_S"),
        ("GEOCODER_TIMEOUT_S", "nan", "GEOCODER_TIMEOUT_S"),
        ("GEOCODER_TIMEOUT_S", "inf", "GEOCODER_TIMEOUT_S"),
    ],
)
def test_an_online_geocoder_setting_that_cannot_work_stops_the_start(setting, value, name):
    with pytest.raises(ConfigError, match=name) as raised:
        load_config({**GEOCODER, setting: value})
    assert "hunter2" not in str(raised.value)


def test_the_public_nominatim_gets_at_most_one_request_per_second():
    env = {**GEOCODER, "GEOCODER_ONLINE_URL": "https://nominatim.openstreetmap.org"}
    assert online_geocoder_options(load_config(env))["min_delay_seconds"] == 1.0
    with pytest.raises(ConfigError, match="GEOCODER_MIN_DELAY_S"):
        load_config({**env, "GEOCODER_MIN_DELAY_S": "0.5"})


def test_settings_given_to_create_app_are_checked_too():
    # create_app(config) skips load_config for what it overrides.
    with pytest.raises(ConfigError, match="GEOCODER_TIMEOUT_S"):
        online_geocoder_options({**GEOCODER, "GEOCODER_MIN_DELAY_S": 1, "GEOCODER_TIMEOUT_S": "5"})


def test_dispatch_settings_have_defaults_and_refuse_zero():
    settings = load_config({})
    assert (
        settings["DISPATCH_OFFER_MINUTES"],
        settings["DISPATCH_FANOUT"],
        settings["DISPATCH_MAX_ROUNDS"],
        settings["DISPATCH_DECLINE_DAYS"],
    ) == (20, 2, 3, 7)
    assert load_config({"DISPATCH_OFFER_MINUTES": "45"})["DISPATCH_OFFER_MINUTES"] == 45
    for name in ("DISPATCH_OFFER_MINUTES", "DISPATCH_FANOUT", "DISPATCH_MAX_ROUNDS"):
        with pytest.raises(ConfigError, match=name):
            load_config({name: "0"})
