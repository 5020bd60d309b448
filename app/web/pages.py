"""What both web blueprints share: CSRF, HTML error pages, the one commit, safe redirects."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, current_app, g, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from app.errors import AppError, internal_error_response
from app.extensions import csrf

# Endpoint -> (the setting that bounds its request body, bytes allowed beyond it), for pages that
# take files: set before the CSRF check, which reads the form (and would otherwise stop at
# MAX_CONTENT_LENGTH).
_LARGE_UPLOADS: dict[str, tuple[str, int]] = {}


def allow_large_upload(endpoint: str, setting: str, extra: int = 0) -> None:
    """Let `endpoint` take a body up to the setting's bytes (plus `extra` for the rest of the
    form) instead of MAX_CONTENT_LENGTH."""
    _LARGE_UPLOADS[endpoint] = (setting, extra)


def safe_next(target: str | None, default: str) -> str:
    """A path on this site to go back to; anything else (another host, //evil) is the default."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


def content_security_policy() -> str:
    """Scripts and styles from this site only; images also from the map's tile server and, for
    partners' photo URLs, any https address. No framing (clickjacking)."""
    tiles = current_app.config.get("MAP_TILE_URL") or ""
    tile_origin = ""
    if tiles:
        parts = urlsplit(tiles.replace("{s}", "a"))
        host = parts.netloc.replace("a.", "*.", 1) if "{s}" in tiles else parts.netloc
        tile_origin = f" {parts.scheme}://{host}"
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; "
        f"img-src 'self' data: https:{tile_origin}; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


def error_message(status: int) -> str:
    """A plain-words title for an HTTP status, in the reader's language."""
    messages = {
        400: _("The page could not read what was sent. Please try again."),
        403: _("You may not open this page."),
        404: _("This page does not exist."),
        405: _("This page does not accept this kind of request."),
        409: _("Someone changed this at the same moment. Please look again."),
        413: _("What you sent is too large."),
        422: _("Some answers need to be checked."),
        429: _("Too many tries in a short time. Please wait a minute and try again."),
    }
    return messages.get(status, _("Something went wrong on our side. Please try again later."))


def install(bp: Blueprint) -> None:
    """CSRF on every POST of the blueprint, and HTML (not JSON) error pages."""

    @bp.before_request
    def _check_csrf() -> None:
        if large := _LARGE_UPLOADS.get(request.endpoint or ""):
            setting, extra = large
            request.max_content_length = current_app.config[setting] + extra
        if current_app.config.get("WTF_CSRF_ENABLED", True):
            try:
                csrf.protect()
            except RequestEntityTooLarge:
                # The form cannot be read, so nothing will be done with it: the view answers
                # with its own page (the field's error) instead of a bare 413.
                if not large:
                    raise

    @bp.after_request
    def _security_headers(response: Any) -> Any:
        response.headers.setdefault("Content-Security-Policy", content_security_policy())
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    @bp.errorhandler(CSRFError)
    def _csrf_error(error: CSRFError):
        message = _("This form has expired. Please go back, reload the page and send it again.")
        return render_template("error.html", status=400, message=message), 400

    @bp.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        status = error.code or 500
        if status >= 500:
            return _server_error(error)
        return render_template("error.html", status=status, message=error_message(status)), status

    @bp.errorhandler(AppError)
    def _app_error(error: AppError):
        status = error.status
        return (
            render_template("error.html", status=status, message=error_message(status)),
            status,
            error.headers,
        )

    @bp.errorhandler(Exception)
    def _server_error(error: BaseException):
        internal_error_response(error)  # logs type, frames and request id, never the message
        return (
            render_template(
                "error.html", status=500, message=error_message(500), request_id=g.request_id
            ),
            500,
        )


def no_store(response: Any) -> Any:
    """Pages with personal data must not stay in shared caches or the browser's history cache."""
    response.headers["Cache-Control"] = "no-store"
    return response
