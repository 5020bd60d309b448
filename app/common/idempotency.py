"""Idempotency-Key support and the one commit of a mutating request.

A retried POST from a flaky mobile connection must return the first response and create nothing
twice. The stored response is written in the same transaction as the change it describes, so the
two can never disagree; two concurrent requests with the same key race on a unique constraint and
the loser replays the winner's response.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from flask import Response, current_app, request
from sqlalchemy import Integer, String, Text, UniqueConstraint, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.orm.exc import StaleDataError

from app.common.ids import new_id
from app.common.time import utcnow
from app.common.types import UTCDateTime
from app.errors import Conflict, ValidationError
from app.extensions import db

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


class IdempotencyRecord(db.Model):
    """The first successful response to a request that carried an Idempotency-Key."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("scope", "key", name="uq_idempotency_records_scope_key"),)

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    # Who sent it and where: keys of different callers or endpoints never collide.
    scope: Mapped[str] = mapped_column(String(300))
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    headers: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def _key_from_request() -> str | None:
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not key or len(key) > MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise ValidationError(
            errors={HEADER: [f"Use 1-{MAX_KEY_LENGTH} printable ASCII characters."]}
        )
    return key


def _expired_before() -> datetime:
    return utcnow() - timedelta(hours=current_app.config["IDEMPOTENCY_TTL_HOURS"])


def _find(scope: str, key: str) -> IdempotencyRecord | None:
    record = db.session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.scope == scope, IdempotencyRecord.key == key
        )
    )
    if record is not None and record.created_at < _expired_before():
        return None
    return record


def _replay(record: IdempotencyRecord, fingerprint: str) -> Response:
    if record.fingerprint != fingerprint:
        raise ValidationError(
            "This Idempotency-Key was already used with a different request.",
            code="idempotency_key_reused",
            errors={HEADER: ["Already used with a different request body."]},
        )
    response = Response(record.body, status=record.status_code, mimetype="application/json")
    for name, value in json.loads(record.headers).items():
        response.headers[name] = value
    response.headers["Idempotent-Replayed"] = "true"
    return response


def transactional(view: Callable[..., Any]) -> Callable[..., Any]:
    """Run a mutating view as one unit of work: commit after the response is built.

    Apply it outermost, above flask-smorest's decorators, so it sees the final response.
    Services flush; this is the request's single commit (and rollback on any error).
    """

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        # Only POST creates. Reads and PATCH are repeatable as they are, and storing their
        # responses would keep a second copy of personal data for IDEMPOTENCY_TTL_HOURS.
        key = _key_from_request() if request.method == "POST" else None
        if key is None:
            return _run_and_commit(view, args, kwargs)

        from app.auth.context import current_principal

        scope = f"{current_principal().label} {request.method} {request.path}"
        fingerprint = hashlib.sha256(request.get_data()).hexdigest()
        existing = _find(scope, key)
        if existing is not None:
            return _replay(existing, fingerprint)

        def remember(response: Response) -> None:
            # Only an expired record may be replaced. Deleting a live one would delete a
            # concurrent winner's record (committed since our _find), and the unique
            # constraint could no longer stop the second report.
            db.session.execute(
                delete(IdempotencyRecord).where(
                    IdempotencyRecord.scope == scope,
                    IdempotencyRecord.key == key,
                    IdempotencyRecord.created_at < _expired_before(),
                )
            )
            db.session.add(
                IdempotencyRecord(
                    scope=scope,
                    key=key,
                    fingerprint=fingerprint,
                    status_code=response.status_code,
                    body=response.get_data(as_text=True),
                    headers=json.dumps(
                        {k: v for k, v in response.headers.items() if k == "Location"}
                    ),
                )
            )

        try:
            return _run_and_commit(view, args, kwargs, remember=remember)
        except Conflict:
            # If another request with this key committed first, nothing of ours was written
            # and its response is the answer; any other conflict stands.
            winner = _find(scope, key)
            if winner is None:
                raise
            return _replay(winner, fingerprint)

    return wrapper


def committed(view: Callable[..., Any]) -> Callable[..., Any]:
    """Like `transactional`, but never store the response for an Idempotency-Key replay.

    For responses that must not be kept, such as a new bearer token: a stored copy would put the
    secret in the database in clear. The header is ignored; a retry simply runs again.
    """

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return _run_and_commit(view, args, kwargs)

    return wrapper


def _run_and_commit(
    view: Callable[..., Any],
    args: tuple,
    kwargs: dict,
    remember: Callable[[Response], None] | None = None,
) -> Any:
    """Run the view and commit; `remember` adds to the same transaction what a 2xx response is."""
    try:
        response = current_app.make_response(view(*args, **kwargs))
        if remember is not None and 200 <= response.status_code < 300:
            remember(response)
        db.session.commit()
        return response
    except (IntegrityError, StaleDataError):
        # IntegrityError: a concurrent request took the same unique value (or Idempotency-Key);
        # StaleDataError: the row's version changed under us (two corrections at once).
        db.session.rollback()
        raise _concurrent_conflict() from None
    except BaseException:
        db.session.rollback()
        raise


def _concurrent_conflict() -> Conflict:
    # Services check uniqueness first; reaching here means a concurrent request won a race.
    return Conflict("A concurrent request changed the same data; retry.", code="concurrent_change")


def purge_expired(*, older_than: timedelta) -> int:
    """Delete stored responses past their time to live; returns how many."""
    result = db.session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.created_at < utcnow() - older_than)
    )
    return result.rowcount or 0
