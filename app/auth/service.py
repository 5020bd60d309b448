"""Accounts, credentials and the audit log. Functions flush; the caller commits."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select

from app.auth.models import KEY_SCOPES, ROLES, ApiKey, ApiToken, AuditEvent, User
from app.auth.principal import Principal
from app.common.time import utcnow
from app.errors import Conflict, TooManyRequests, Unauthorized, ValidationError
from app.extensions import db

# Argon2id (memory-hard) with argon2-cffi's RFC 9106 "low memory" defaults: 64 MiB, 3 passes.
_hasher = PasswordHasher()
# Verifying against this when the e-mail is unknown keeps login time the same either way.
_DUMMY_HASH = _hasher.hash("not-a-real-password")
TOKEN_PREFIX = "rut_"
KEY_PREFIX = "ruk_"
MIN_PASSWORD_LENGTH = 12
# Touching last_used_at on every request would turn each read into a write.
_LAST_USED_GRANULARITY = timedelta(minutes=5)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def normalize_email(email: str) -> str:
    """E-mail addresses are compared case-insensitively."""
    return email.strip().lower()


def create_user(*, email: str, password: str, role: str) -> User:
    """Create a coordinator or admin account with an Argon2id password hash."""
    email = normalize_email(email)
    errors: dict[str, list[str]] = {}
    if "@" not in email or len(email) > 254:
        errors["email"] = ["Not a valid e-mail address."]
    if role not in ROLES:
        errors["role"] = [f"Must be one of: {', '.join(ROLES)}."]
    if len(password) < MIN_PASSWORD_LENGTH:
        errors["password"] = [f"Use at least {MIN_PASSWORD_LENGTH} characters."]
    if errors:
        raise ValidationError(errors=errors)
    if db.session.scalar(select(User.id).where(User.email == email)):
        raise Conflict("A user with this e-mail already exists.", code="user_exists")
    user = User(email=email, password_hash=_hasher.hash(password), role=role)
    db.session.add(user)
    db.session.flush()
    return user


def get_user_by_email(*, email: str) -> User | None:
    """The user with this e-mail, if any."""
    return db.session.scalar(select(User).where(User.email == normalize_email(email)))


def create_token(
    *, user: User, name: str | None = None, ttl_days: int | None = None
) -> tuple[ApiToken, str]:
    """Issue a bearer token for a user; returns the row and the secret (shown once)."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires_at = utcnow() + timedelta(days=ttl_days) if ttl_days else None
    token = ApiToken(
        user=user, token_hash=_digest(secret), prefix=secret[:10], name=name, expires_at=expires_at
    )
    db.session.add(token)
    db.session.flush()
    return token, secret


def create_api_key(
    *, organization: str, scopes: Iterable[str], contact_email: str | None = None
) -> tuple[ApiKey, str]:
    """Issue a partner key with scopes; returns the row and the secret (shown once)."""
    scope_list = sorted(set(scopes))
    unknown = [s for s in scope_list if s not in KEY_SCOPES]
    if not scope_list or unknown:
        raise ValidationError(errors={"scopes": [f"Choose from: {', '.join(KEY_SCOPES)}."]})
    if not organization.strip():
        raise ValidationError(errors={"organization": ["Name the partner organization."]})
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        organization=organization.strip(),
        contact_email=contact_email,
        scopes=scope_list,
        key_hash=_digest(secret),
        prefix=secret[:10],
    )
    db.session.add(key)
    db.session.flush()
    return key, secret


def revoke_credential(*, prefix: str) -> int:
    """Revoke every token or key whose shown prefix matches; returns how many."""
    now = utcnow()
    count = 0
    for model in (ApiToken, ApiKey):
        rows = db.session.scalars(
            select(model).where(model.prefix == prefix, model.revoked_at.is_(None))
        )
        for row in rows:
            row.revoked_at = now
            count += 1
    db.session.flush()
    return count


def revoke_token(*, secret: str) -> bool:
    """Revoke exactly the bearer token with this secret (a web session's, at logout); returns
    whether one was revoked. Unlike revoke_credential, no other token sharing its prefix is hit."""
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(secret)))
    if token is None or token.revoked_at is not None:
        return False
    token.revoked_at = utcnow()
    db.session.flush()
    return True


def _touch(row: ApiToken | ApiKey, now: datetime) -> None:
    last = row.last_used_at
    if last is None or now - last > _LAST_USED_GRANULARITY:
        row.last_used_at = now


def principal_from_bearer(*, secret: str) -> Principal:
    """Resolve a bearer secret to its principal, or raise Unauthorized."""
    now = utcnow()
    digest = _digest(secret)
    if secret.startswith(TOKEN_PREFIX):
        token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
        if token is not None and token.revoked_at is None and token.user.is_active:
            expires_at = token.expires_at
            if expires_at is None or expires_at > now:
                _touch(token, now)
                return Principal(kind="user", id=token.user_id, role=token.user.role)
    elif secret.startswith(KEY_PREFIX):
        key = db.session.scalar(select(ApiKey).where(ApiKey.key_hash == digest))
        if key is not None and key.revoked_at is None:
            _touch(key, now)
            return Principal(kind="key", id=key.id, scopes=frozenset(key.scopes))
    raise Unauthorized("The bearer token is not valid, has expired or was revoked.")


def login(
    *, email: str, password: str, max_failures: int, lockout: timedelta, ttl_days: int
) -> tuple[ApiToken, str]:
    """Check a password (with lockout after repeated failures) and issue a token."""
    user = get_user_by_email(email=email)
    now = utcnow()
    if user is None or not user.is_active:
        _verify(_DUMMY_HASH, password)
        raise Unauthorized("E-mail or password is wrong.", code="invalid_credentials")
    locked_until = user.locked_until
    if locked_until and locked_until > now:
        raise TooManyRequests(
            "Too many failed attempts; this account is locked for a while.",
            code="account_locked",
            headers={"Retry-After": str(int((locked_until - now).total_seconds()) + 1)},
        )
    if not _verify(user.password_hash, password):
        user.failed_logins += 1
        if user.failed_logins >= max_failures:
            user.locked_until = now + lockout
            user.failed_logins = 0
        db.session.flush()
        raise Unauthorized("E-mail or password is wrong.", code="invalid_credentials")
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return create_token(user=user, name="login", ttl_days=ttl_days)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def record_audit(
    *,
    principal: Principal,
    action: str,
    subject_type: str,
    subject_ids: Iterable[str],
    request_id: str | None = None,
    ip: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Record one audit event per subject. Pass ids and field names, never personal data."""
    now = utcnow()
    db.session.add_all(
        AuditEvent(
            at=now,
            actor=principal.label,
            action=action,
            subject_type=subject_type,
            subject_id=subject_id,
            request_id=request_id,
            ip=ip,
            details=details or {},
        )
        for subject_id in subject_ids
    )
    db.session.flush()


def list_audit(
    *, subject_type: str, subject_id: str, limit: int, after_id: str | None
) -> list[AuditEvent]:
    """Audit events of one subject, newest first, limit + 1 rows for pagination."""
    query = select(AuditEvent).where(
        AuditEvent.subject_type == subject_type, AuditEvent.subject_id == subject_id
    )
    if after_id:
        query = query.where(AuditEvent.id < after_id)
    return list(db.session.scalars(query.order_by(AuditEvent.id.desc()).limit(limit + 1)))
