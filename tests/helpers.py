"""Small assertions shared by the test modules (fixtures live in conftest.py)."""

from __future__ import annotations

import threading
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


def post_all_at_once(
    app: Flask, requests: list[tuple[str, Any, dict[str, str]]]
) -> list[tuple[int, Any]]:
    """POST each (path, json, headers) from its own thread and test client, all released at the
    same moment; returns (status, body) in the same order."""
    n = len(requests)
    barrier = threading.Barrier(n)
    results: list[tuple[int, Any] | None] = [None] * n
    failures: list[BaseException] = []

    def worker(index: int) -> None:
        client = app.test_client()
        path, body, headers = requests[index]
        try:
            barrier.wait(timeout=30)
            response = client.post(path, json=body, headers=headers)
            results[index] = (response.status_code, response.get_json())
        except BaseException as exc:  # noqa: BLE001 - reported below, in the test's thread
            failures.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures
    assert all(result is not None for result in results)
    return results  # type: ignore[return-value]
