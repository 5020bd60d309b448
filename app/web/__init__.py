"""Server-rendered pages: the families' forms (public.py) and the coordinators' pages
(coordinator.py), in five languages, working without JavaScript."""

from __future__ import annotations

from flask import Flask, g, request
from flask_babel import format_date, format_datetime, get_locale

from app.web.i18n import LANGUAGES, direction
from app.web.reasons import reason_text


def register_web(app: Flask) -> None:
    """Register the web blueprints and what every template may use."""
    from app.web import board, coordinator, public, rosters, volunteer  # noqa: F401 - routes

    app.register_blueprint(public.bp)
    app.register_blueprint(coordinator.bp)
    app.add_template_global(reason_text)

    @app.context_processor
    def _page_context() -> dict:
        if request.blueprint not in (public.bp.name, coordinator.bp.name):
            return {}
        language = str(get_locale() or "en")
        return {
            "language": language,
            "direction": direction(language),
            "languages": LANGUAGES,
            "principal": g.get("principal"),
            "format_date": format_date,
            "format_datetime": format_datetime,
        }
