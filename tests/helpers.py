"""Small assertions shared by the test modules (fixtures live in conftest.py)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Flask

from app.extensions import db


def assert_envelope(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """The response is `status` with the one error envelope (and no traceback); returns the body."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"code", "message", "errors"}, body
    assert isinstance(body["code"], str) and body["code"]
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["errors"], dict)
    text = response.get_data(as_text=True)
    assert "Traceback" not in text and 'File "' not in text
    if code is not None:
        assert body["code"] == code, body
    return body


def count(app: Flask, model: Any, *where: Any) -> int:
    """How many rows of a model (optionally filtered) the database holds."""
    with app.app_context():
        query = sa.select(sa.func.count()).select_from(model)
        for condition in where:
            query = query.where(condition)
        return db.session.scalar(query)


def database_text(app: Flask) -> str:
    """Every value of every row of every table, as one string (to search for secrets)."""
    parts: list[str] = []
    with app.app_context():
        with db.engine.connect() as conn:
            for table in db.metadata.sorted_tables:
                for row in conn.execute(sa.select(table)):
                    parts.extend(str(value) for value in row)
    return "\n".join(parts)
