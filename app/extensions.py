"""Extensions, created unbound and bound to an app in create_app()."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import marshmallow as ma
from flask import Flask, current_app, has_app_context
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_smorest import Api as _SmorestApi
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from huey import Huey, RedisHuey, SqliteHuey
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

from app.config import INSTANCE_DIR, queue_config
from app.errors import http_exception_response

# Deterministic constraint names, so Alembic migrations are the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class ErrorEnvelopeSchema(ma.Schema):
    """The error body every endpoint returns (documented in the OpenAPI document)."""

    code = ma.fields.String(metadata={"description": "Stable machine-readable error code"})
    message = ma.fields.String(metadata={"description": "Human-readable explanation"})
    errors = ma.fields.Dict(metadata={"description": "Per-field messages, when there are any"})


class Api(_SmorestApi):
    """flask-smorest Api whose HTTP errors use the project's error envelope."""

    ERROR_SCHEMA = ErrorEnvelopeSchema

    def handle_http_exception(self, error):
        return http_exception_response(error)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """WAL and a busy timeout let gunicorn workers share the embedded database.

    A 64 MB page cache per connection (SQLite's default is 2 MB) keeps the upper levels of the
    matching index's B-trees in memory, so a lookup or a bulk load among a million reports
    reads pages from memory instead of going back to the file for each one.
    """
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA cache_size=-65536")
        cursor.close()


db = SQLAlchemy(model_class=Base)
migrate = Migrate(compare_type=True, render_as_batch=True)
api = Api()
limiter = Limiter(key_func=get_remote_address)
babel = Babel()
# Checked by the web blueprints only (WTF_CSRF_CHECK_DEFAULT is off): see app.web.
csrf = CSRFProtect()


def limit(setting: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Rate-limit a view by the limit string in config[setting] (e.g. "10/minute;60/hour")."""
    return limiter.limit(lambda: current_app.config[setting])


def make_huey(settings: dict[str, Any]) -> Huey:
    """The job queue: RedisHuey in production, SqliteHuey for the embedded default."""
    if settings["REDIS_URL"]:
        return RedisHuey("reunite", url=settings["REDIS_URL"], immediate=settings["HUEY_IMMEDIATE"])
    if not settings["HUEY_IMMEDIATE"]:
        INSTANCE_DIR.mkdir(exist_ok=True)
    return SqliteHuey(
        "reunite", filename=settings["HUEY_SQLITE_PATH"], immediate=settings["HUEY_IMMEDIATE"]
    )


# Task decorators need the queue at import time, before any app exists.
huey = make_huey(queue_config())

# The consumer's application, set by app.worker (extensions must not import the app factory).
worker_app: Flask | None = None


def in_app_context(task: Callable[..., Any]) -> Callable[..., Any]:
    """Run a task inside an application context (the worker's own app when none is pushed)."""

    @functools.wraps(task)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if has_app_context():
            return task(*args, **kwargs)
        if worker_app is None:
            raise RuntimeError("run tasks with `huey_consumer app.worker.huey`")
        with worker_app.app_context():
            try:
                return task(*args, **kwargs)
            finally:
                db.session.remove()

    return wrapper


def own_app_context(task: Callable[..., Any]) -> Callable[..., Any]:
    """Run a task in an application context (and so a database session) of its own.

    Tests run tasks inline, from inside the committing session's after_commit hook, where that
    session cannot be used: a fresh context gives the task its own session there as in a worker.
    """

    @functools.wraps(task)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        app = current_app._get_current_object() if has_app_context() else worker_app
        if app is None:
            raise RuntimeError("run tasks with `huey_consumer app.worker.huey`")
        with app.app_context():
            try:
                return task(*args, **kwargs)
            finally:
                db.session.remove()

    return wrapper
