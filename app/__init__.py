"""Reunite: reunite separated families and coordinate volunteers after a disaster."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, send_from_directory
from werkzeug.middleware.proxy_fix import ProxyFix

from app.config import INSTANCE_DIR, load_config


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the application; `config` overrides what the environment says (tests use it)."""
    app = Flask(__name__, instance_path=str(INSTANCE_DIR))
    app.config.update(load_config())
    if config:
        app.config.update(config)
    app.json.sort_keys = False

    from app.common.requests import configure_logging

    configure_logging(app.config["LOG_LEVEL"])
    if app.config["TRUST_PROXY_HEADERS"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]

    register_extensions(app)
    register_blueprints(app)
    register_errors(app)
    register_cli(app)
    return app


def register_extensions(app: Flask) -> None:
    from app import geocoder
    from app.config import check_sms_settings
    from app.extensions import api, babel, csrf, db, limiter, migrate
    from app.web.i18n import select_locale

    check_sms_settings(app.config)

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        INSTANCE_DIR.mkdir(exist_ok=True)
    db.init_app(app)
    limiter.init_app(app)
    migrate.init_app(app, db, directory=str(INSTANCE_DIR.parent / "migrations"))
    babel.init_app(app, locale_selector=select_locale)
    csrf.init_app(app)
    api.init_app(app)
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "description": "rut_… or ruk_…"}
    )
    geocoder.init_app(app)


def register_blueprints(app: Flask) -> None:
    import swagger_ui_bundle

    from app.auth.routes import blp as auth_blp
    from app.common.requests import register_request_hooks
    from app.extensions import api
    from app.health import bp as health_bp
    from app.matching.routes import blp as matching_blp
    from app.pfif.routes import blp as pfif_blp
    from app.reports.routes import blp as reports_blp
    from app.reports.routes import rosters_blp
    from app.sms.routes import bp as sms_bp
    from app.volunteers.routes.offers import blp as offers_blp
    from app.volunteers.routes.tasks import blp as tasks_blp
    from app.volunteers.routes.volunteers import blp as volunteers_blp
    from app.web import register_web

    register_request_hooks(app)
    app.register_blueprint(health_bp)
    app.register_blueprint(sms_bp)
    api.register_blueprint(auth_blp)
    api.register_blueprint(reports_blp)
    api.register_blueprint(rosters_blp)
    api.register_blueprint(matching_blp)
    api.register_blueprint(pfif_blp)
    api.register_blueprint(volunteers_blp)
    api.register_blueprint(tasks_blp)
    register_web(app)
    api.register_blueprint(offers_blp)

    @app.get("/api/v1/docs/assets/<path:filename>")
    def swagger_assets(filename: str):
        """Swagger UI's files, shipped in a package so the docs page works offline."""
        return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename)


def register_errors(app: Flask) -> None:
    from app.errors import register_errors as install

    install(app)


def register_cli(app: Flask) -> None:
    from app.auth.cli import keys_cli, tokens_cli, users_cli
    from app.cli import maintenance_cli
    from app.matching.cli import matching_cli
    from app.pfif.cli import pfif_cli
    from app.reports.cli import demo_cli, reports_cli
    from app.sms.cli import sms_cli
    from app.volunteers.cli.offers import offers_cli
    from app.volunteers.cli.tasks import tasks_cli
    from app.volunteers.cli.volunteers import volunteers_cli

    for group in (
        users_cli,
        tokens_cli,
        keys_cli,
        demo_cli,
        reports_cli,
        maintenance_cli,
        matching_cli,
        pfif_cli,
        sms_cli,
        volunteers_cli,
        tasks_cli,
        offers_cli,
    ):
        app.cli.add_command(group)
