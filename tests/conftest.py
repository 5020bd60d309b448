"""Test fixtures: the schema is built by `flask db upgrade` on SQLite or PostgreSQL.

TEST_DATABASE_URL chooses the database:
- unset or "sqlite": a temporary SQLite file;
- a PostgreSQL URL: a private schema in that database, dropped at the end, so runs can share a
  server. An unreachable server stops the run with an error; it is never skipped.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

# Before the app is imported: the job queue runs tasks inline in tests.
os.environ.setdefault("HUEY_IMMEDIATE", "1")

import pytest  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from flask import Flask  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402

from app import create_app  # noqa: E402
from app.config import normalize_database_url  # noqa: E402
from app.extensions import db  # noqa: E402

PASSWORD = "correct horse battery staple"


def _database_setting() -> str:
    return os.environ.get("TEST_DATABASE_URL", "sqlite").strip() or "sqlite"


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A migrated, empty database for this test session."""
    setting = _database_setting()
    if setting == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'test.db'}"
            _upgrade(url)
            yield url
        return

    base = normalize_database_url(setting)
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base)
    try:
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError as exc:
        pytest.exit(f"PostgreSQL at TEST_DATABASE_URL is unreachable: {exc.orig}", returncode=3)
    separator = "&" if "?" in base else "?"
    url = f"{base}{separator}options={quote(f'-csearch_path={schema}')}"
    try:
        _upgrade(url)
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _upgrade(url: str) -> None:
    from flask_migrate import upgrade

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REUNITE_ENV": "test"})
    with app.app_context():
        upgrade()
        db.engine.dispose()


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    """A fresh application on the migrated database; every table is emptied afterwards."""
    app = create_app(
        {
            "TESTING": True,
            "REUNITE_ENV": "test",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": "test-secret",
            # Per-test limits would leak between tests through the in-memory storage;
            # tests/common/test_rate_limits.py turns them on with fresh storage.
            "RATELIMIT_ENABLED": False,
        }
    )
    yield app
    with app.app_context():
        db.session.remove()
        tables = [t for t in reversed(db.metadata.sorted_tables)]
        # DELETE beats TRUNCATE on PostgreSQL for the few rows a test leaves.
        with db.engine.begin() as conn:
            for table in tables:
                conn.execute(table.delete())
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def bearer(token: str) -> dict[str, str]:
    """Authorization header for a token or key."""
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def make_user(app: Flask) -> Callable[..., dict[str, str]]:
    """Create a user and a token: make_user(role="admin") -> {"id", "email", "token"}."""
    from app.auth import service

    def make(role: str = "coordinator", email: str | None = None) -> dict[str, str]:
        email = email or f"{role}-{uuid.uuid4().hex[:8]}@example.org"
        with app.app_context():
            user = service.create_user(email=email, password=PASSWORD, role=role)
            _, token = service.create_token(user=user, name="test")
            db.session.commit()
            return {"id": user.id, "email": email, "token": token}

    return make


@pytest.fixture
def coordinator(make_user: Callable[..., dict[str, str]]) -> dict[str, str]:
    return make_user("coordinator")


@pytest.fixture
def admin(make_user: Callable[..., dict[str, str]]) -> dict[str, str]:
    return make_user("admin")


@pytest.fixture
def make_key(app: Flask) -> Callable[..., dict[str, str]]:
    """Create a partner API key: make_key("read", "write") -> {"id", "token"}."""
    from app.auth import service

    def make(*scopes: str, organization: str = "Partner Agency") -> dict[str, str]:
        with app.app_context():
            key, secret = service.create_api_key(organization=organization, scopes=scopes)
            db.session.commit()
            return {"id": key.id, "token": secret}

    return make


def report_payload(**overrides: Any) -> dict[str, Any]:
    """A synthetic missing-person report; overrides replace or add fields (None removes)."""
    payload: dict[str, Any] = {
        "kind": "missing",
        "full_name": "Marisol Quiñones Vega",
        "given_name": "Marisol",
        "family_name": "Quiñones Vega",
        "sex": "female",
        "age": "34",
        "home_city": "Yauco",
        "home_country": "PR",
        "author_name": "Carmen Vega",
        "author_phone": "+15555550123",
        "language": "es",
    }
    payload.update(overrides)
    return {k: v for k, v in payload.items() if v is not None}


@pytest.fixture
def make_report(client: FlaskClient) -> Callable[..., dict[str, Any]]:
    """Submit a report through the public API; returns the 201 body."""

    def make(**overrides: Any) -> dict[str, Any]:
        response = client.post("/api/v1/reports", json=report_payload(**overrides))
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    return make


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2id at minimal cost: the production parameters take 50-200 ms per hash, which
    dominates a suite that creates a user per test. A test that needs the real hasher calls
    monkeypatch.undo()."""
    from argon2 import PasswordHasher

    from app.auth import service

    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(service, "_hasher", cheap)
    monkeypatch.setattr(service, "_DUMMY_HASH", cheap.hash("not-a-real-password"))
