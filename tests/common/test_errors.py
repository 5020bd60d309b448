"""One error envelope for every failure, and a 500 that tells nothing but the request id."""

from __future__ import annotations

import logging

import pytest
from flask import abort

from app.errors import (
    AppError,
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    TooManyRequests,
    Unauthorized,
    ValidationError,
    _flatten_webargs,
    envelope,
)
from tests.helpers import assert_envelope

SECRET_NAME = "Marisol Quiñones Vega"
SECRET_PHONE = "+15555550123"


def test_envelope():
    assert envelope("x", "y") == {"code": "x", "message": "y", "errors": {}}
    assert envelope("x", "y", {"f": ["bad"]})["errors"] == {"f": ["bad"]}


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (BadRequest, 400, "bad_request"),
        (Unauthorized, 401, "unauthorized"),
        (Forbidden, 403, "forbidden"),
        (NotFound, 404, "not_found"),
        (Conflict, 409, "conflict"),
        (PayloadTooLarge, 413, "payload_too_large"),
        (ValidationError, 422, "validation_error"),
        (TooManyRequests, 429, "too_many_requests"),
    ],
)
def test_app_errors_map_to_status_and_code(app, client, error, status, code):
    def view():
        raise error()

    app.add_url_rule("/boom", "boom", view)

    body = assert_envelope(client.get("/boom"), status, code)

    assert body["message"] == error.message
    assert body["errors"] == {}


def test_app_error_carries_message_code_errors_and_headers(app, client):
    def view():
        raise TooManyRequests(
            "Slow down.",
            code="account_locked",
            errors={"email": ["Locked."]},
            headers={"Retry-After": "60"},
        )

    app.add_url_rule("/boom", "boom", view)

    response = client.get("/boom")

    assert assert_envelope(response, 429) == {
        "code": "account_locked",
        "message": "Slow down.",
        "errors": {"email": ["Locked."]},
    }
    assert response.headers["Retry-After"] == "60"
    assert str(AppError("x")) == "x"


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, "bad_request"),
        (403, "forbidden"),
        (404, "not_found"),
        (409, "conflict"),
        (415, "unsupported_media_type"),
        (418, None),
    ],
)
def test_werkzeug_errors_use_the_envelope(app, client, status, code):
    app.add_url_rule("/boom", "boom", lambda: abort(status))

    body = assert_envelope(client.get("/boom"), status, code)

    assert body["errors"] == {}


def test_unhandled_exception_is_a_generic_500_with_the_request_id(app, client, caplog):
    message = f"could not save {SECRET_NAME} {SECRET_PHONE}"

    def view():
        raise RuntimeError(message)

    app.add_url_rule("/boom", "boom", view)
    caplog.set_level(logging.INFO)

    response = client.get("/boom", headers={"X-Request-ID": "req-500-test"})

    body = assert_envelope(response, 500, "internal_error")
    assert body["message"] == "Something went wrong on our side (request req-500-test)."
    assert response.headers["X-Request-ID"] == "req-500-test"
    assert SECRET_NAME not in response.get_data(as_text=True)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "req-500-test" in errors[0].getMessage()
    assert "RuntimeError" in errors[0].getMessage()
    assert errors[0].exc_info is None
    assert SECRET_NAME not in caplog.text and SECRET_PHONE not in caplog.text


def test_chained_exception_messages_are_not_logged(app, client, caplog):
    def view():
        try:
            raise KeyError(SECRET_PHONE)
        except KeyError as exc:
            raise ValueError(SECRET_NAME) from exc

    app.add_url_rule("/boom", "boom", view)
    caplog.set_level(logging.INFO)

    assert_envelope(client.get("/boom"), 500, "internal_error")
    assert SECRET_NAME not in caplog.text and SECRET_PHONE not in caplog.text


def test_flatten_webargs():
    assert _flatten_webargs({"json": {"age": ["bad"]}, "query": {"limit": ["bad"]}}) == {
        "age": ["bad"],
        "limit": ["bad"],
    }
    assert _flatten_webargs({"age": ["bad"]}) == {"age": ["bad"]}
    assert _flatten_webargs({"json": ["Invalid JSON body."]}) == {}
