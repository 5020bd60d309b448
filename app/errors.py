"""The AppError hierarchy and the one JSON error envelope: {"code", "message", "errors"}."""

from __future__ import annotations

import logging
import traceback
from typing import Any

from flask import Flask, g, jsonify
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class AppError(Exception):
    """An expected failure that maps to an HTTP status and a stable machine-readable code."""

    status = 400
    code = "bad_request"
    message = "The request could not be processed."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        errors: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message
        self.code = code or self.code
        self.errors = errors or {}
        self.headers = headers or {}


class BadRequest(AppError):
    status, code, message = 400, "bad_request", "The request could not be understood."


class Unauthorized(AppError):
    status, code, message = 401, "unauthorized", "A valid bearer token is required."

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(message, **kwargs)


class Forbidden(AppError):
    status, code, message = 403, "forbidden", "You are not allowed to do this."


class NotFound(AppError):
    status, code, message = 404, "not_found", "Not found."


class Conflict(AppError):
    status, code, message = 409, "conflict", "The request conflicts with the current state."


class PayloadTooLarge(AppError):
    status, code, message = 413, "payload_too_large", "The request body is too large."


class ValidationError(AppError):
    status, code, message = 422, "validation_error", "Some fields are not valid."


class TooManyRequests(AppError):
    status, code, message = 429, "too_many_requests", "Too many requests; try again later."


# Stable codes for the HTTP errors Flask and werkzeug raise by themselves.
_HTTP_CODES = {
    400: ("bad_request", "The request could not be understood."),
    401: ("unauthorized", "A valid bearer token is required."),
    403: ("forbidden", "You are not allowed to do this."),
    404: ("not_found", "Not found."),
    405: ("method_not_allowed", "This method is not allowed here."),
    406: ("not_acceptable", "The requested representation is not available."),
    409: ("conflict", "The request conflicts with the current state."),
    413: ("payload_too_large", "The request body is too large."),
    415: ("unsupported_media_type", "Send the body as application/json."),
    422: ("validation_error", "Some fields are not valid."),
    429: ("too_many_requests", "Too many requests; try again later."),
}


def envelope(code: str, message: str, errors: dict[str, Any] | None = None) -> dict[str, Any]:
    """The body of every error response."""
    return {"code": code, "message": message, "errors": errors or {}}


def _flatten_webargs(messages: dict[str, Any]) -> dict[str, Any]:
    """webargs nests field errors by location ({"json": {...}}); clients want the fields."""
    if set(messages) <= {"json", "query", "form", "headers", "files", "view_args", "path"}:
        flat: dict[str, Any] = {}
        for location_errors in messages.values():
            if isinstance(location_errors, dict):
                flat.update(location_errors)
        return flat
    return messages


def http_exception_response(error: HTTPException):
    """Turn any werkzeug HTTPException (including webargs' 422) into the envelope."""
    status = error.code or 500
    if status >= 500:
        return internal_error_response(error)
    code, message = _HTTP_CODES.get(status, ("error", error.description or "Error."))
    data = getattr(error, "data", None) or {}
    errors = data.get("errors") or data.get("messages") or {}
    if status == 400 and isinstance(errors, dict) and isinstance(errors.get("json"), list):
        # webargs' answer to a body that is not JSON: {"json": ["Invalid JSON body."]}
        return jsonify(envelope("malformed_json", "The request body is not valid JSON.")), 400
    errors = _flatten_webargs(errors) if isinstance(errors, dict) else {"_schema": errors}
    if status == 422 and "_schema" not in errors and not errors:
        errors = {"_schema": ["Invalid input."]}
    headers = data.get("headers") or {}
    if status == 405 and hasattr(error, "valid_methods") and error.valid_methods:
        headers = {**headers, "Allow": ", ".join(error.valid_methods)}
    return jsonify(envelope(code, message, errors)), status, headers


def internal_error_response(error: BaseException):
    """Log the failure with the request id, never its message (it may carry personal data)."""
    request_id = g.get("request_id", "-")
    original = getattr(error, "original_exception", None) or error
    frames = "".join(traceback.format_tb(original.__traceback__))
    log.error(
        "unhandled %s request_id=%s\n%s", type(original).__name__, request_id, frames.rstrip()
    )
    body = envelope("internal_error", f"Something went wrong on our side (request {request_id}).")
    return jsonify(body), 500


def register_errors(app: Flask) -> None:
    """Install the handlers that give every error the same envelope."""

    @app.errorhandler(AppError)
    def _app_error(error: AppError):
        body = envelope(error.code, error.message, error.errors)
        return jsonify(body), error.status, error.headers

    app.register_error_handler(HTTPException, http_exception_response)
    app.register_error_handler(Exception, internal_error_response)
