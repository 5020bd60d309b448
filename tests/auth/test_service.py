"""Accounts, credentials, principals and the audit log, called directly."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.auth import service
from app.auth.models import ApiKey, ApiToken, AuditEvent, User
from app.auth.principal import ANONYMOUS, Principal
from app.common.time import utcnow
from app.errors import Conflict, TooManyRequests, Unauthorized, ValidationError
from app.extensions import db

PASSWORD = "una contraseña larga y segura"


def test_create_user_normalizes_the_email_and_hashes_the_password(app):
    with app.app_context():
        user = service.create_user(
            email="  Ana.Lucia@Example.ORG ", password=PASSWORD, role="admin"
        )
        db.session.commit()

        stored = db.session.get(User, user.id)
        assert stored.email == "ana.lucia@example.org"
        assert stored.role == "admin"
        assert stored.is_active is True
        assert stored.password_hash.startswith("$argon2id$")
        assert PASSWORD not in stored.password_hash


def test_production_hasher_uses_argon2id_with_rfc9106_low_memory_parameters(app, monkeypatch):
    monkeypatch.undo()  # the real hasher, not the suite's cheap one
    with app.app_context():
        user = service.create_user(email="real@example.org", password=PASSWORD, role="admin")

        assert user.password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")


@pytest.mark.parametrize(
    ("email", "password", "role", "field"),
    [
        ("no-at-sign", PASSWORD, "coordinator", "email"),
        ("a@example.org", "short", "coordinator", "password"),
        ("a@example.org", PASSWORD, "superuser", "role"),
    ],
)
def test_create_user_validates(app, email, password, role, field):
    with app.app_context():
        with pytest.raises(ValidationError) as caught:
            service.create_user(email=email, password=password, role=role)

        assert list(caught.value.errors) == [field]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def test_create_user_refuses_a_duplicate_email(app):
    with app.app_context():
        service.create_user(email="ana@example.org", password=PASSWORD, role="coordinator")
        with pytest.raises(Conflict) as caught:
            service.create_user(email="ANA@example.org", password=PASSWORD, role="admin")
        assert caught.value.code == "user_exists"


def test_create_token_stores_only_a_digest(app):
    with app.app_context():
        user = service.create_user(email="ana@example.org", password=PASSWORD, role="coordinator")
        token, secret = service.create_token(user=user, name="laptop", ttl_days=7)

        assert secret.startswith("rut_") and len(secret) > 40
        assert token.token_hash == service._digest(secret) != secret
        assert token.prefix == secret[:10]
        assert timedelta(days=6, hours=23) < token.expires_at - utcnow() <= timedelta(days=7)
        _, other = service.create_token(user=user)
        assert other != secret


def test_token_without_ttl_does_not_expire(app):
    with app.app_context():
        user = service.create_user(email="ana@example.org", password=PASSWORD, role="coordinator")
        token, _ = service.create_token(user=user)

        assert token.expires_at is None


def test_create_api_key(app):
    with app.app_context():
        key, secret = service.create_api_key(
            organization="  Cruz Roja  ", scopes=["write", "read", "read"], contact_email=None
        )

        assert secret.startswith("ruk_")
        assert key.scopes == ["read", "write"]
        assert key.organization == "Cruz Roja"
        assert key.key_hash == service._digest(secret)


@pytest.mark.parametrize(
    ("organization", "scopes", "field"),
    [
        ("Cruz Roja", [], "scopes"),
        ("Cruz Roja", ["read", "admin"], "scopes"),
        ("   ", ["read"], "organization"),
    ],
)
def test_create_api_key_validates(app, organization, scopes, field):
    with app.app_context():
        with pytest.raises(ValidationError) as caught:
            service.create_api_key(organization=organization, scopes=scopes)
        assert list(caught.value.errors) == [field]


def test_principal_from_bearer(app):
    with app.app_context():
        user = service.create_user(email="ana@example.org", password=PASSWORD, role="admin")
        _, token = service.create_token(user=user)
        key, key_secret = service.create_api_key(organization="Partner", scopes=["full_read"])

        assert service.principal_from_bearer(secret=token) == Principal(
            kind="user", id=user.id, role="admin"
        )
        assert service.principal_from_bearer(secret=key_secret) == Principal(
            kind="key", id=key.id, scopes=frozenset({"full_read"})
        )
        for bad in (
            "rut_nope",
            "ruk_nope",
            "nope",
            token + "x",
            token[:-1],
            "",
            key_secret.upper(),
        ):
            with pytest.raises(Unauthorized):
                service.principal_from_bearer(secret=bad)


def test_revoked_expired_and_inactive_credentials_are_refused(app):
    with app.app_context():
        user = service.create_user(email="ana@example.org", password=PASSWORD, role="coordinator")
        revoked, revoked_secret = service.create_token(user=user)
        expired, expired_secret = service.create_token(user=user, ttl_days=1)
        _, inactive_secret = service.create_token(user=user)
        key, key_secret = service.create_api_key(organization="Partner", scopes=["read"])

        assert service.revoke_credential(prefix=revoked.prefix) == 1
        assert service.revoke_credential(prefix=key.prefix) == 1
        assert service.revoke_credential(prefix=key.prefix) == 0
        expired.expires_at = utcnow() - timedelta(minutes=1)
        db.session.flush()
        for secret in (revoked_secret, expired_secret, key_secret):
            with pytest.raises(Unauthorized):
                service.principal_from_bearer(secret=secret)

        assert service.principal_from_bearer(secret=inactive_secret).id == user.id
        user.is_active = False
        with pytest.raises(Unauthorized):
            service.principal_from_bearer(secret=inactive_secret)


def test_revoke_unknown_prefix_revokes_nothing(app):
    with app.app_context():
        assert service.revoke_credential(prefix="rut_000000") == 0


def test_last_used_is_recorded_without_a_write_per_request(app):
    with app.app_context():
        user = service.create_user(email="ana@example.org", password=PASSWORD, role="coordinator")
        token, secret = service.create_token(user=user)
        assert token.last_used_at is None

        service.principal_from_bearer(secret=secret)
        first = token.last_used_at
        assert first is not None
        service.principal_from_bearer(secret=secret)
        assert token.last_used_at == first  # within the 5-minute granularity

        token.last_used_at = utcnow() - timedelta(minutes=10)
        service.principal_from_bearer(secret=secret)
        assert token.last_used_at > first - timedelta(minutes=1)


def login(**overrides):
    arguments = {
        "email": "ana@example.org",
        "password": PASSWORD,
        "max_failures": 3,
        "lockout": timedelta(minutes=15),
        "ttl_days": 30,
    }
    return service.login(**(arguments | overrides))


def test_login_locks_after_max_failures(app):
    with app.app_context():
        user = service.create_user(email="ana@example.org", password=PASSWORD, role="coordinator")
        for attempt in range(1, 4):
            with pytest.raises(Unauthorized):
                login(password="wrong password!")
            assert user.failed_logins == (attempt if attempt < 3 else 0)
        assert user.locked_until > utcnow() + timedelta(minutes=14)

        with pytest.raises(TooManyRequests) as caught:
            login()
        assert caught.value.code == "account_locked"
        assert 0 < int(caught.value.headers["Retry-After"]) <= 15 * 60 + 1

        user.locked_until = utcnow() - timedelta(seconds=1)
        token, secret = login()
        assert token.user_id == user.id and secret.startswith("rut_")
        assert (user.failed_logins, user.locked_until) == (0, None)
        assert user.last_login_at is not None


def test_login_of_unknown_or_inactive_user(app):
    with app.app_context():
        with pytest.raises(Unauthorized) as unknown:
            login(email="nobody@example.org")
        user = service.create_user(email="ana@example.org", password=PASSWORD, role="coordinator")
        user.is_active = False
        with pytest.raises(Unauthorized) as inactive:
            login()

        assert unknown.value.message == inactive.value.message
        assert unknown.value.code == inactive.value.code == "invalid_credentials"


def test_login_rehashes_an_outdated_hash(app, monkeypatch):
    with app.app_context():
        user = service.create_user(email="ana@example.org", password=PASSWORD, role="coordinator")
        old_hash = user.password_hash
        from argon2 import PasswordHasher

        monkeypatch.setattr(
            service, "_hasher", PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1)
        )

        login()

        assert user.password_hash != old_hash
        assert "m=2048,t=2,p=1" in user.password_hash


def test_record_and_list_audit(app):
    with app.app_context():
        principal = Principal(kind="user", id="01jaaaaaaaaaaaaaaaaaaaaaaa", role="admin")
        service.record_audit(
            principal=principal,
            action="report.list",
            subject_type="report",
            subject_ids=["r1", "r2", "r1"],
            request_id="req-1",
            ip="192.0.2.7",
        )
        service.record_audit(
            principal=ANONYMOUS, action="report.create", subject_type="report", subject_ids=["r1"]
        )
        service.record_audit(
            principal=ANONYMOUS, action="report.list", subject_type="report", subject_ids=[]
        )

        rows = service.list_audit(subject_type="report", subject_id="r1", limit=10, after_id=None)
        assert [r.action for r in rows] == ["report.create", "report.list", "report.list"]
        assert rows[0].actor == "anonymous"
        assert rows[1].actor == "user:01jaaaaaaaaaaaaaaaaaaaaaaa"
        assert rows[1].request_id == "req-1" and rows[1].ip == "192.0.2.7"
        assert rows[1].details == {}

        page = service.list_audit(subject_type="report", subject_id="r1", limit=1, after_id=None)
        assert len(page) == 2  # limit + 1 tells the caller there is more
        rest = service.list_audit(
            subject_type="report", subject_id="r1", limit=5, after_id=page[0].id
        )
        assert [r.id for r in rest] == [r.id for r in rows[1:]]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 4


def test_principal_permissions():
    coordinator = Principal(kind="user", id="u1", role="coordinator")
    admin = Principal(kind="user", id="u2", role="admin")
    reader = Principal(kind="key", id="k1", scopes=frozenset({"read"}))
    writer = Principal(kind="key", id="k2", scopes=frozenset({"write"}))
    full = Principal(kind="key", id="k3", scopes=frozenset({"full_read", "bogus"}))
    unknown_role = Principal(kind="user", id="u3", role="volunteer")

    assert coordinator.can("reports:read_minors") and not coordinator.can("audit:read")
    assert admin.can("audit:read") and admin.permissions >= coordinator.permissions
    assert reader.permissions == {"reports:read", "pfif:export"}
    assert writer.permissions == {"reports:write", "pfif:import"}
    assert full.permissions == {"reports:read", "reports:read_full", "pfif:export"}
    shelter = Principal(kind="key", id="k4", scopes=frozenset({"tasks"}))
    assert shelter.permissions == {"tasks:request"}
    for key in (reader, writer, full):
        assert not key.can("reports:read_minors") and not key.can("audit:read")
    assert unknown_role.permissions == set()
    assert ANONYMOUS.permissions == set()
    assert (ANONYMOUS.label, coordinator.label, reader.label) == ("anonymous", "user:u1", "key:k1")


def test_api_key_rows_keep_scopes_as_a_list(app):
    with app.app_context():
        key, _ = service.create_api_key(organization="Partner", scopes=("read",))
        db.session.commit()
        db.session.expire_all()

        assert db.session.get(ApiKey, key.id).scopes == ["read"]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0
