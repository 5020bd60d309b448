"""Configuration: the only module that reads os.environ.

Every setting has a documented environment variable (see README.md and deploy/.env.example).
Production refuses to start without the secrets it cannot guess.
"""

from __future__ import annotations

import math
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = ROOT / "instance"
ENVIRONMENTS = ("development", "production", "test")
# The public Nominatim's usage policy: at most one request per second, and a User-Agent that
# names the application. https://operations.osmfoundation.org/policies/nominatim/
PUBLIC_NOMINATIM = "nominatim.openstreetmap.org"


class ConfigError(RuntimeError):
    """Raised at start-up when the configuration cannot work."""


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from exc
    if not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number, got {raw!r}")
    return value


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be 1/0, true/false, yes/no or on/off, got {raw!r}")


def normalize_database_url(url: str) -> str:
    """Point plain postgres:// URLs (Heroku style) at the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def lifecycle_config(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """PFIF exchange, data expiry and deletion, bulk imports (docs/pfif.md)."""
    env = os.environ if env is None else env
    public = (env.get("PUBLIC_BASE_URL") or "").strip()
    settings = {
        # The domain of this repository's PFIF record ids (domain/person.<id>).
        "PFIF_DOMAIN": (env.get("PFIF_DOMAIN") or "").strip()
        or (urlsplit(public).hostname if public else None)
        or "reunite.invalid",
        "PFIF_SOURCE_NAME": (env.get("PFIF_SOURCE_NAME") or "").strip() or "Reunite",
        # A report expires this many days after it is made, unless a coordinator extends it.
        "REPORT_EXPIRY_DAYS": _int(env, "REPORT_EXPIRY_DAYS", 90),
        # An expired report is purged (deleted for good) this many days after it expired. 0 by
        # default: until the purge, its match candidates still show in the review queue.
        "REPORT_PURGE_AFTER_DAYS": _int(env, "REPORT_PURGE_AFTER_DAYS", 0),
        # A confirmed reunification expires (then is purged) this many days after; 0: never.
        "REUNIFIED_CLOSE_AFTER_DAYS": _int(env, "REUNIFIED_CLOSE_AFTER_DAYS", 30),
        "DELETION_CODE_TTL_MINUTES": _int(env, "DELETION_CODE_TTL_MINUTES", 30),
        "RATE_LIMIT_DELETION": env.get("RATE_LIMIT_DELETION", "5/minute;20/hour"),
        # PFIF and roster uploads may be far larger than other requests.
        # 100,000 PFIF persons with a note each are about 120 MB.
        "IMPORT_MAX_BODY_BYTES": _int(env, "IMPORT_MAX_BODY_BYTES", 256 * 1024 * 1024),
        # A larger PFIF document is imported by the worker (a web request has 30 s).
        "PFIF_INLINE_MAX_BYTES": _int(env, "PFIF_INLINE_MAX_BYTES", 4 * 1024 * 1024),
    }
    check_lifecycle_settings(settings)
    return settings


def check_lifecycle_settings(settings: Mapping[str, Any]) -> None:
    """PFIF asks that expired data be gone within 60 days; refuse settings that break it."""
    if int(settings.get("REPORT_EXPIRY_DAYS") or 0) < 1:
        raise ConfigError("REPORT_EXPIRY_DAYS must be at least 1")
    purge = int(settings.get("REPORT_PURGE_AFTER_DAYS") or 0)
    if not 0 <= purge <= 59:
        # The purge runs daily, so a record may wait one more day: 59 keeps it within 60.
        raise ConfigError("REPORT_PURGE_AFTER_DAYS must be between 0 and 59 (PFIF: 60 days)")
    if int(settings.get("REUNIFIED_CLOSE_AFTER_DAYS") or 0) < 0:
        raise ConfigError("REUNIFIED_CLOSE_AFTER_DAYS must be 0 (never) or more")
    if int(settings.get("DELETION_CODE_TTL_MINUTES") or 0) < 1:
        raise ConfigError("DELETION_CODE_TTL_MINUTES must be at least 1")


def queue_config(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Where the job queue lives: Redis when REDIS_URL is set (production), else SQLite."""
    env = os.environ if env is None else env
    return {
        "REDIS_URL": env.get("REDIS_URL") or None,
        "HUEY_SQLITE_PATH": env.get("HUEY_SQLITE_PATH") or str(INSTANCE_DIR / "huey.db"),
        # Tests run tasks inline, in the calling thread.
        "HUEY_IMMEDIATE": _flag(env, "HUEY_IMMEDIATE", False),
    }


def geocoder_config(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The optional online geocoder (Nominatim): off unless GEOCODER_ONLINE_URL is set."""
    env = os.environ if env is None else env
    settings = {
        "GEOCODER_ONLINE_URL": (env.get("GEOCODER_ONLINE_URL") or "").strip() or None,
        "GEOCODER_USER_AGENT": (env.get("GEOCODER_USER_AGENT") or "").strip() or None,
        "GEOCODER_MIN_DELAY_S": _float(env, "GEOCODER_MIN_DELAY_S", 1.0),
        "GEOCODER_TIMEOUT_S": _float(env, "GEOCODER_TIMEOUT_S", 5.0),
    }
    online_geocoder_options(settings)  # refuse a setting that cannot work now, not at the call
    return settings


def online_geocoder_options(settings: Mapping[str, Any]) -> dict[str, Any] | None:
    """OnlineGeocoder's keyword arguments from the GEOCODER_* settings; None when it is off.

    Also checks settings given to create_app() directly, which load_config() never saw.
    """
    url = settings.get("GEOCODER_ONLINE_URL")
    if not url:
        return None
    # The URL is never quoted back: it could carry credentials.
    example = "an http(s) base URL such as https://nominatim.example.org"
    try:
        parts = urlsplit(str(url).strip())
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as exc:
        raise ConfigError(f"GEOCODER_ONLINE_URL must be {example}") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"GEOCODER_ONLINE_URL must be {example}")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ConfigError("GEOCODER_ONLINE_URL must not carry credentials, a query or a fragment")
    path = parts.path.rstrip("/")
    if path.endswith(("/search", "/search.php")):
        raise ConfigError("GEOCODER_ONLINE_URL is the base URL: geopy adds /search itself")

    user_agent = str(settings.get("GEOCODER_USER_AGENT") or "").strip()
    if not user_agent:
        raise ConfigError(
            "GEOCODER_ONLINE_URL needs GEOCODER_USER_AGENT: a name for this deployment with a "
            "contact, as Nominatim's usage policy asks"
        )
    delay = _number(settings, "GEOCODER_MIN_DELAY_S")
    timeout = _number(settings, "GEOCODER_TIMEOUT_S")
    if delay < 0:
        raise ConfigError("GEOCODER_MIN_DELAY_S must be 0 or more seconds")
    if parts.hostname == PUBLIC_NOMINATIM and delay < 1:
        raise ConfigError(
            f"GEOCODER_MIN_DELAY_S must be at least 1 for {PUBLIC_NOMINATIM}, "
            "whose usage policy allows one request per second"
        )
    if timeout <= 0:
        raise ConfigError("GEOCODER_TIMEOUT_S must be more than 0 seconds")
    return {
        "user_agent": user_agent,
        # geopy wants the scheme apart and the rest as "domain" (host, port and any path).
        "scheme": parts.scheme,
        "domain": parts.netloc + path,
        "timeout": timeout,
        "min_delay_seconds": delay,
    }


def _number(settings: Mapping[str, Any], name: str) -> float:
    value = settings.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number of seconds, got {value!r}")
    return float(value)


SMS_BACKENDS = ("console", "twilio")


def sms_config(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """SMS: the twilio backend when its credentials are set, else console (demo, offline)."""
    env = os.environ if env is None else env
    sid = (env.get("TWILIO_ACCOUNT_SID") or "").strip() or None
    token = (env.get("TWILIO_AUTH_TOKEN") or "").strip() or None
    backend = (env.get("SMS_BACKEND") or "").strip().lower() or ("twilio" if sid else "console")
    settings = {
        "SMS_BACKEND": backend,
        "TWILIO_ACCOUNT_SID": sid,
        "TWILIO_AUTH_TOKEN": token,
        "TWILIO_FROM": (env.get("TWILIO_FROM") or "").strip() or None,
        "TWILIO_API_BASE_URL": (env.get("TWILIO_API_BASE_URL") or "").strip().rstrip("/") or None,
        "PUBLIC_BASE_URL": (env.get("PUBLIC_BASE_URL") or "").strip().rstrip("/") or None,
        # Pacing per sender: 1 segment/s for a long code, up to 100 for a short code.
        "SMS_SEGMENTS_PER_SECOND": _float(env, "SMS_SEGMENTS_PER_SECOND", 1.0),
        "SMS_MAX_ATTEMPTS": _int(env, "SMS_MAX_ATTEMPTS", 6),
        "SMS_RETRY_BASE_S": _float(env, "SMS_RETRY_BASE_S", 30.0),
        "SMS_RETRY_MAX_S": _float(env, "SMS_RETRY_MAX_S", 1800.0),
        "SMS_LEASE_S": _float(env, "SMS_LEASE_S", 120.0),
        "SMS_SEND_TIMEOUT_S": _float(env, "SMS_SEND_TIMEOUT_S", 15.0),
        "SMS_TTL_HOURS": _float(env, "SMS_TTL_HOURS", 24.0),
        "SMS_DELIVERY_TIMEOUT_HOURS": _float(env, "SMS_DELIVERY_TIMEOUT_HOURS", 72.0),
    }
    check_sms_settings(settings)
    return settings


def check_sms_settings(settings: Mapping[str, Any]) -> None:
    """Refuse SMS settings that cannot work (also for settings given to create_app directly)."""
    backend = settings.get("SMS_BACKEND")
    if backend not in SMS_BACKENDS:
        raise ConfigError(f"SMS_BACKEND must be one of {', '.join(SMS_BACKENDS)}")
    if backend == "twilio":
        missing = [
            name
            # PUBLIC_BASE_URL: without it there are no status callbacks and no inbound.
            for name in (
                "TWILIO_ACCOUNT_SID",
                "TWILIO_AUTH_TOKEN",
                "TWILIO_FROM",
                "PUBLIC_BASE_URL",
            )
            if not settings.get(name)
        ]
        if missing:
            raise ConfigError(f"SMS_BACKEND=twilio needs {', '.join(missing)} to be set")
    for name in ("TWILIO_API_BASE_URL", "PUBLIC_BASE_URL"):
        value = settings.get(name)
        if value and urlsplit(str(value)).scheme not in ("http", "https"):
            raise ConfigError(f"{name} must be an http(s) URL")
    if _number(settings, "SMS_SEGMENTS_PER_SECOND") <= 0:
        raise ConfigError("SMS_SEGMENTS_PER_SECOND must be more than 0")
    if int(settings.get("SMS_MAX_ATTEMPTS") or 0) < 1:
        raise ConfigError("SMS_MAX_ATTEMPTS must be at least 1")
    for name in ("SMS_LEASE_S", "SMS_SEND_TIMEOUT_S", "SMS_TTL_HOURS"):
        if _number(settings, name) <= 0:
            raise ConfigError(f"{name} must be more than 0")
    if _number(settings, "SMS_LEASE_S") <= _number(settings, "SMS_SEND_TIMEOUT_S"):
        # A lease that ends while its send may still be running would let a second worker in.
        raise ConfigError("SMS_LEASE_S must be longer than SMS_SEND_TIMEOUT_S")


def web_config(env: Mapping[str, str], *, production: bool) -> dict[str, Any]:
    """The server-rendered pages (app/web): sessions, CSRF, photos, the map, languages."""
    tile_url = (env.get("MAP_TILE_URL") or "").strip() or None
    if tile_url and urlsplit(tile_url).scheme not in ("http", "https"):
        raise ConfigError(
            "MAP_TILE_URL must be an http(s) URL template such as .../{z}/{x}/{y}.png"
        )
    photo_max = _int(env, "PHOTO_MAX_BYTES", 8 * 1024 * 1024)
    if photo_max < 1024:
        raise ConfigError("PHOTO_MAX_BYTES must be at least 1024")
    return {
        "BABEL_DEFAULT_LOCALE": "en",
        "BABEL_DEFAULT_TIMEZONE": "UTC",
        # CSRF is checked by the web blueprints only: the JSON API and Twilio's webhooks
        # authenticate otherwise. No time limit: a form filled slowly on a bad connection
        # must still go through (the token lives as long as the browser session).
        "WTF_CSRF_CHECK_DEFAULT": False,
        "WTF_CSRF_TIME_LIMIT": None,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _flag(env, "SESSION_COOKIE_SECURE", production),
        # How long a coordinator's web session (its bearer token) lasts.
        "WEB_SESSION_DAYS": _int(env, "WEB_SESSION_DAYS", 1),
        # Photos sent with the web form: re-encoded, stored here, shown to coordinators only.
        "PHOTO_DIR": env.get("PHOTO_DIR") or str(INSTANCE_DIR / "photos"),
        "PHOTO_MAX_BYTES": photo_max,
        # Map tiles for the coordinators' map (e.g. a local tile server); without it the map
        # page is a list. Never a public tile server by default: there may be no internet.
        "MAP_TILE_URL": tile_url,
        "MAP_TILE_ATTRIBUTION": (env.get("MAP_TILE_ATTRIBUTION") or "").strip(),
    }


def dispatch_config(env: Mapping[str, str]) -> dict[str, Any]:
    """Volunteer dispatch by SMS: how long an offer stands, how wide and how often it goes out."""
    settings = {
        # "Reply YES 4821 within 20 min": an unanswered offer expires and goes to the next best.
        "DISPATCH_OFFER_MINUTES": _int(env, "DISPATCH_OFFER_MINUTES", 20),
        # Offers out per open place in a round: the first to answer YES take the places.
        "DISPATCH_FANOUT": _int(env, "DISPATCH_FANOUT", 2),
        # Rounds of offers before an unfilled task goes to the coordinators' queue.
        "DISPATCH_MAX_ROUNDS": _int(env, "DISPATCH_MAX_ROUNDS", 3),
        # Declines and unanswered offers within this many days make a volunteer costlier.
        "DISPATCH_DECLINE_DAYS": _int(env, "DISPATCH_DECLINE_DAYS", 7),
    }
    for name, value in settings.items():
        if value < 1:
            raise ConfigError(f"{name} must be at least 1")
    return settings


def load_config(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Build the Flask config mapping from environment variables."""
    env = os.environ if env is None else env
    reunite_env = env.get("REUNITE_ENV", "development")
    if reunite_env not in ENVIRONMENTS:
        raise ConfigError(f"REUNITE_ENV must be one of {', '.join(ENVIRONMENTS)}")
    production = reunite_env == "production"

    missing = [name for name in ("SECRET_KEY", "DATABASE_URL") if production and not env.get(name)]
    if missing:
        raise ConfigError(f"production needs {', '.join(missing)} to be set")

    database_url = env.get("DATABASE_URL") or f"sqlite:///{INSTANCE_DIR / 'reunite.db'}"
    default_region = (env.get("DEFAULT_PHONE_REGION") or "").upper() or None
    if default_region is not None and len(default_region) != 2:
        raise ConfigError("DEFAULT_PHONE_REGION must be an ISO 3166-1 alpha-2 code such as US")

    if production and not env.get("REDIS_URL"):
        # Several web and worker processes on several machines need one shared queue.
        raise ConfigError("production needs REDIS_URL to be set")

    return {
        **queue_config(env),
        **geocoder_config(env),
        **sms_config(env),
        **lifecycle_config(env),
        **dispatch_config(env),
        "REUNITE_ENV": reunite_env,
        # A random key outside production keeps the demo secret-free; sessions do not survive
        # a restart, which is what a demo wants.
        "SECRET_KEY": env.get("SECRET_KEY") or secrets.token_hex(32),
        "SQLALCHEMY_DATABASE_URI": normalize_database_url(database_url),
        "SQLALCHEMY_ENGINE_OPTIONS": {
            # Never put bound values (names, phones) into exception messages or logs.
            "hide_parameters": True,
            "pool_pre_ping": True,
        },
        "MAX_CONTENT_LENGTH": _int(env, "MAX_BODY_BYTES", 1024 * 1024),
        "DEFAULT_PHONE_REGION": default_region,
        "IDEMPOTENCY_TTL_HOURS": _int(env, "IDEMPOTENCY_TTL_HOURS", 24),
        "LOGIN_MAX_FAILURES": _int(env, "LOGIN_MAX_FAILURES", 5),
        "LOGIN_LOCKOUT_MINUTES": _int(env, "LOGIN_LOCKOUT_MINUTES", 15),
        "TOKEN_TTL_DAYS": _int(env, "TOKEN_TTL_DAYS", 30),
        "LOG_LEVEL": env.get("LOG_LEVEL", "INFO").upper(),
        "TRUST_PROXY_HEADERS": _flag(env, "TRUST_PROXY_HEADERS", False),
        # Flask-Limiter, per client address: Redis in production so every worker shares counts.
        # A storage failure lets requests through: a family's report is never refused for it.
        "RATELIMIT_ENABLED": _flag(env, "RATE_LIMITS_ENABLED", True),
        "RATELIMIT_STORAGE_URI": env.get("REDIS_URL") or "memory://",
        "RATELIMIT_STRATEGY": "moving-window",
        "RATELIMIT_HEADERS_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        # Generous for submissions: a whole shelter or a mobile carrier may share one address.
        "RATE_LIMIT_REPORTS": env.get("RATE_LIMIT_REPORTS", "120/minute"),
        "RATE_LIMIT_STATUS_CHECK": env.get("RATE_LIMIT_STATUS_CHECK", "10/minute;60/hour"),
        "RATE_LIMIT_LOGIN": env.get("RATE_LIMIT_LOGIN", "10/minute;100/hour"),
        **web_config(env, production=production),
        # flask-smorest: the OpenAPI document is generated from the marshmallow schemas.
        "API_TITLE": "Reunite",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "docs",
        # Served from the swagger-ui-bundle package: the docs page works without internet.
        "OPENAPI_SWAGGER_UI_URL": "/api/v1/docs/assets/",
        "JSON_SORT_KEYS": False,
    }
