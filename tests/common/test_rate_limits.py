"""Public endpoints are rate-limited per client address; the limit answers in the envelope."""

from __future__ import annotations

import pytest
from flask import Flask

from app.extensions import limiter
from tests.conftest import report_payload
from tests.helpers import assert_envelope


@pytest.fixture
def limited_app(app: Flask) -> Flask:
    app.config.update(
        RATELIMIT_ENABLED=True,
        RATE_LIMIT_STATUS_CHECK="3/minute",
        RATE_LIMIT_REPORTS="2/minute",
        RATE_LIMIT_LOGIN="2/minute",
    )
    limiter.init_app(app)
    limiter.reset()
    yield app
    limiter.reset()


def test_status_checks_beyond_the_limit_get_429_with_retry_after(limited_app):
    client = limited_app.test_client()
    body = {"reference": "AAA-AAA", "phone": "+15555550123"}

    answers = [client.post("/api/v1/reports/status", json=body) for _ in range(4)]

    assert [a.status_code for a in answers] == [404, 404, 404, 429]
    assert_envelope(answers[-1], 429, "too_many_requests")
    assert int(answers[-1].headers["Retry-After"]) > 0


def test_limits_are_per_client_address(limited_app):
    client = limited_app.test_client()
    for _ in range(2):
        assert client.post("/api/v1/reports", json=report_payload()).status_code == 201

    blocked = client.post("/api/v1/reports", json=report_payload())
    other = client.post(
        "/api/v1/reports", json=report_payload(), environ_base={"REMOTE_ADDR": "192.0.2.7"}
    )

    assert blocked.status_code == 429
    assert other.status_code == 201


def test_login_attempts_are_limited(limited_app):
    client = limited_app.test_client()
    body = {"email": "nobody@example.org", "password": "wrong password"}

    codes = [client.post("/api/v1/tokens", json=body).status_code for _ in range(3)]

    assert codes == [401, 401, 429]
