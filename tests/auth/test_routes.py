"""Login, bearer tokens, partner keys and who may call what."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.auth import service
from app.auth.models import ApiKey, ApiToken, User
from app.common.time import utcnow
from app.extensions import db
from tests.conftest import PASSWORD, bearer, report_payload
from tests.helpers import assert_envelope, count, database_text

TOKENS = "/api/v1/tokens"
ME = "/api/v1/me"
SOME_ID = "01jzzzzzzzzzzzzzzzzzzzzzzz"

PROTECTED = [
    ("get", "/api/v1/reports"),
    ("get", f"/api/v1/reports/{SOME_ID}"),
    ("patch", f"/api/v1/reports/{SOME_ID}"),
    ("get", f"/api/v1/reports/{SOME_ID}/notes"),
    ("post", f"/api/v1/reports/{SOME_ID}/notes"),
    ("get", f"/api/v1/reports/{SOME_ID}/audit"),
    ("get", ME),
]


def call(client, method, path, headers=None):
    kwargs = {"json": {"text": "x"}} if method in ("post", "patch") else {}
    return getattr(client, method)(path, headers=headers or {}, **kwargs)


def test_protected_endpoints_need_a_token(client, subtests):
    for method, path in PROTECTED:
        with subtests.test(method=method, path=path):
            body = assert_envelope(call(client, method, path), 401, "unauthorized")
            assert body["errors"] == {}


def test_public_endpoints_need_no_token(client, subtests):
    created = client.post("/api/v1/reports", json=report_payload())
    assert created.status_code == 201
    public = [
        client.post(
            "/api/v1/reports/status",
            json={"reference": created.get_json()["reference"], "phone": "+15555550123"},
        ),
        client.get("/healthz"),
        client.get("/readyz"),
        client.get("/api/v1/openapi.json"),
        client.get("/api/v1/docs"),
    ]
    for response in public:
        with subtests.test(path=response.request.path):
            assert response.status_code == 200
    # The login endpoint answers without a token (401 here is about the credentials).
    login = client.post(TOKENS, json={"email": "nobody@example.org", "password": "x" * 12})
    assert assert_envelope(login, 401)["code"] == "invalid_credentials"


@pytest.mark.parametrize(
    "header",
    [
        "Token abc",
        "Bearer",
        "Bearer    ",
        "Basic Y29vcmRpbmF0b3I6c2VjcmV0",
        "rut_abcdef",
        "Bearer rut_unknown",
        "Bearer ruk_unknown",
        "Bearer something-else",
    ],
)
def test_malformed_or_unknown_authorization_is_401(client, coordinator, header):
    assert_envelope(client.get(ME, headers={"Authorization": header}), 401, "unauthorized")


def test_bad_authorization_on_a_public_endpoint_is_401_not_anonymous(app, client):
    response = client.post(
        "/api/v1/reports", json=report_payload(), headers={"Authorization": "Bearer rut_revoked"}
    )

    assert_envelope(response, 401)
    from app.reports.models import Report

    assert count(app, Report) == 0


def test_token_is_accepted_with_any_case_of_bearer(client, coordinator):
    response = client.get(ME, headers={"Authorization": f"bearer  {coordinator['token']}"})

    assert response.status_code == 200


def test_revoked_token_is_401(app, client, coordinator):
    with app.app_context():
        token = db.session.scalar(sa.select(ApiToken).where(ApiToken.user_id == coordinator["id"]))
        assert service.revoke_credential(prefix=token.prefix) == 1
        db.session.commit()

    assert_envelope(client.get(ME, headers=bearer(coordinator["token"])), 401)


def test_expired_token_is_401(app, client, coordinator):
    assert client.get(ME, headers=bearer(coordinator["token"])).status_code == 200
    with app.app_context():
        token = db.session.scalar(sa.select(ApiToken).where(ApiToken.user_id == coordinator["id"]))
        token.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()

    assert_envelope(client.get(ME, headers=bearer(coordinator["token"])), 401)


def test_deactivated_users_token_is_401(app, client, coordinator):
    with app.app_context():
        db.session.get(User, coordinator["id"]).is_active = False
        db.session.commit()

    assert_envelope(client.get(ME, headers=bearer(coordinator["token"])), 401)
    assert_envelope(client.get("/api/v1/reports", headers=bearer(coordinator["token"])), 401)


def test_revoked_key_is_401(app, client, make_key):
    key = make_key("read")
    assert client.get("/api/v1/reports", headers=bearer(key["token"])).status_code == 200
    with app.app_context():
        assert service.revoke_credential(prefix=key["token"][:10]) == 1
        db.session.commit()

    assert_envelope(client.get("/api/v1/reports", headers=bearer(key["token"])), 401)


def test_login_returns_a_working_token(app, client, coordinator):
    response = client.post(TOKENS, json={"email": coordinator["email"], "password": PASSWORD})

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert set(body) == {"token", "expires_at", "role"}
    assert body["token"].startswith("rut_")
    assert body["role"] == "coordinator"
    expires = datetime.fromisoformat(body["expires_at"])
    expected = datetime.now(UTC) + timedelta(days=app.config["TOKEN_TTL_DAYS"])
    assert abs(expires - expected) < timedelta(minutes=5)
    me = client.get(ME, headers=bearer(body["token"])).get_json()
    assert (me["kind"], me["id"]) == ("user", coordinator["id"])
    with app.app_context():
        user = db.session.get(User, coordinator["id"])
        assert user.last_login_at is not None


def test_login_email_is_case_insensitive_and_trimmed(client, make_user):
    user = make_user(email="Rosa.Cruz@Example.org")

    response = client.post(TOKENS, json={"email": "  ROSA.CRUZ@example.ORG ", "password": PASSWORD})

    assert response.status_code == 201, response.get_json()
    assert (
        client.get(ME, headers=bearer(response.get_json()["token"])).get_json()["id"] == user["id"]
    )


def test_login_is_audited(app, client, coordinator):
    from app.auth.models import AuditEvent

    response = client.post(TOKENS, json={"email": coordinator["email"], "password": PASSWORD})

    with app.app_context():
        [event] = db.session.scalars(sa.select(AuditEvent)).all()
        assert (event.action, event.subject_id) == ("user.login", coordinator["id"])
        assert event.request_id == response.headers["X-Request-ID"]
        assert PASSWORD not in str(event.details)


def test_wrong_password_and_unknown_email_get_the_same_401(app, client, coordinator):
    wrong = client.post(TOKENS, json={"email": coordinator["email"], "password": "wrong" * 3})
    unknown = client.post(TOKENS, json={"email": "nadie@example.org", "password": "wrong" * 3})

    body = assert_envelope(wrong, 401, "invalid_credentials")
    assert unknown.status_code == 401
    assert unknown.get_json() == body
    assert count(app, ApiToken) == 1  # only the fixture's


def test_deactivated_user_cannot_log_in(app, client, coordinator):
    with app.app_context():
        db.session.get(User, coordinator["id"]).is_active = False
        db.session.commit()

    response = client.post(TOKENS, json={"email": coordinator["email"], "password": PASSWORD})

    assert assert_envelope(response, 401)["code"] == "invalid_credentials"


def test_lockout_after_repeated_failures(app, client, coordinator):
    app.config["LOGIN_MAX_FAILURES"] = 3
    app.config["LOGIN_LOCKOUT_MINUTES"] = 15
    wrong = {"email": coordinator["email"], "password": "not the password"}
    right = {"email": coordinator["email"], "password": PASSWORD}

    for _ in range(3):
        assert_envelope(client.post(TOKENS, json=wrong), 401, "invalid_credentials")
    locked = client.post(TOKENS, json=right)

    assert_envelope(locked, 429, "account_locked")
    retry_after = int(locked.headers["Retry-After"])
    assert 0 < retry_after <= 15 * 60 + 1
    assert_envelope(client.post(TOKENS, json=wrong), 429)
    assert count(app, ApiToken) == 1

    # Once the lock has passed, the right password works again.
    with app.app_context():
        db.session.get(User, coordinator["id"]).locked_until = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert client.post(TOKENS, json=right).status_code == 201


def test_success_resets_the_failure_count(app, client, coordinator):
    app.config["LOGIN_MAX_FAILURES"] = 3
    wrong = {"email": coordinator["email"], "password": "not the password"}
    right = {"email": coordinator["email"], "password": PASSWORD}

    for attempt in (wrong, wrong, right, wrong, wrong, right):
        response = client.post(TOKENS, json=attempt)
        assert response.status_code == (201 if attempt is right else 401)


def test_lockout_of_one_account_leaves_others_alone(app, client, make_user):
    app.config["LOGIN_MAX_FAILURES"] = 2
    locked, other = make_user(), make_user()
    for _ in range(2):
        client.post(TOKENS, json={"email": locked["email"], "password": "nope nope nope"})

    assert (
        client.post(TOKENS, json={"email": locked["email"], "password": PASSWORD}).status_code
        == 429
    )
    assert (
        client.post(TOKENS, json={"email": other["email"], "password": PASSWORD}).status_code == 201
    )


def test_login_input_is_validated(client, coordinator, subtests):
    cases = [
        ({"email": coordinator["email"]}, "password"),
        ({"password": PASSWORD}, "email"),
        ({"email": "a\x00@example.org", "password": PASSWORD}, "email"),
        ({"email": "", "password": PASSWORD}, "email"),
        ({"email": coordinator["email"], "password": ""}, "password"),
        ({"email": "x" * 300, "password": PASSWORD}, "email"),
        ({"email": coordinator["email"], "password": PASSWORD, "role": "admin"}, "role"),
    ]
    for body, field in cases:
        with subtests.test(field=field, body=str(body)[:50]):
            assert list(assert_envelope(client.post(TOKENS, json=body), 422)["errors"]) == [field]


def test_password_with_a_nul_byte_is_just_wrong(client, coordinator):
    response = client.post(TOKENS, json={"email": coordinator["email"], "password": "a\x00b" * 5})

    assert_envelope(response, 401, "invalid_credentials")


def test_me_for_users_and_keys(client, coordinator, admin, make_key):
    me = client.get(ME, headers=bearer(coordinator["token"])).get_json()
    permissions = set(me.pop("permissions"))
    assert me == {"kind": "user", "id": coordinator["id"], "role": "coordinator", "scopes": []}
    # Each domain adds its own; these are the ones a coordinator's work cannot do without.
    assert {
        "matches:review",
        "reports:read",
        "reports:read_full",
        "reports:read_minors",
        "reports:verify",
        "reports:write",
        "volunteers:read",
        "volunteers:vet",
        "volunteers:write",
        "tasks:read",
        "tasks:write",
    } <= permissions
    assert "audit:read" not in permissions

    admin_permissions = client.get(ME, headers=bearer(admin["token"])).get_json()["permissions"]
    assert {"audit:read", "matches:review", "reports:verify", "volunteers:vet"} <= set(
        admin_permissions
    )

    key = make_key("write", "read")
    me = client.get(ME, headers=bearer(key["token"])).get_json()
    permissions = set(me.pop("permissions"))
    assert me == {"kind": "key", "id": key["id"], "role": None, "scopes": ["read", "write"]}
    assert {"reports:read", "reports:write"} <= permissions
    # A partner key never reads what only coordinators may: full records, minors, volunteers.
    assert not permissions & {
        "reports:read_full",
        "reports:read_minors",
        "volunteers:read",
        "tasks:read",
        "tasks:request",
    }
    shelter = make_key("tasks")
    assert client.get(ME, headers=bearer(shelter["token"])).get_json()["permissions"] == [
        "tasks:request"
    ]


def test_secrets_are_stored_hashed(app, client, coordinator, make_key):
    key = make_key("read", "write")
    login = client.post(TOKENS, json={"email": coordinator["email"], "password": PASSWORD})
    token = login.get_json()["token"]
    # Use every credential once so last_used_at and the audit log are written too.
    for secret in (coordinator["token"], key["token"], token):
        client.get("/api/v1/reports", headers=bearer(secret))

    stored = database_text(app)

    for secret in (coordinator["token"], key["token"], token, PASSWORD):
        assert secret not in stored
        assert secret[4:] not in stored
    with app.app_context():
        hashes = db.session.scalars(sa.select(ApiToken.token_hash)).all()
        assert service._digest(token) in hashes
        assert db.session.scalar(sa.select(ApiKey.key_hash)) == service._digest(key["token"])


def test_passwords_are_hashed_with_argon2id(app, coordinator):
    with app.app_context():
        password_hash = db.session.get(User, coordinator["id"]).password_hash

    assert password_hash.startswith("$argon2id$")
    assert PASSWORD not in password_hash


def test_permission_is_checked_before_the_body_is_read(client, make_key):
    reader = make_key("read")
    url = f"/api/v1/reports/{SOME_ID}"

    assert_envelope(client.patch(url, json={"kind": "found"}), 401)
    assert_envelope(client.patch(url, json={"kind": "found"}, headers=bearer(reader["token"])), 403)
    assert_envelope(client.post(f"{url}/notes", json={}, headers=bearer(reader["token"])), 403)
    assert_envelope(client.get("/api/v1/reports", query_string={"limit": 0}), 401)
    assert_envelope(client.get(f"{url}/audit", query_string={"cursor": "!!"}), 401)
