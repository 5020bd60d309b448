"""Configuration from the environment: production fails fast, database URLs use psycopg 3."""

from __future__ import annotations

import pytest

from app.config import ConfigError, load_config

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
