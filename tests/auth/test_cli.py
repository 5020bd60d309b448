"""`flask users|tokens|keys`: accounts and credentials from the shell."""

from __future__ import annotations

import sqlalchemy as sa

from app.auth.models import ApiKey, ApiToken, User
from app.extensions import db
from tests.conftest import bearer
from tests.helpers import count, database_text

PASSWORD = "una contraseña larga y segura"


def run(app, *args, input=None):
    return app.test_cli_runner().invoke(args=list(args), input=input)


def test_users_create_reads_the_password_from_stdin(app, client):
    result = run(
        app,
        "users",
        "create",
        "--email",
        "Ana@Example.org",
        "--role",
        "admin",
        input=f"{PASSWORD}\n",
    )

    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalar(sa.select(User))
        assert result.output.strip() == f"created admin {user.id}"
        assert (user.email, user.role) == ("ana@example.org", "admin")
        assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in result.output
    login = client.post("/api/v1/tokens", json={"email": "ana@example.org", "password": PASSWORD})
    assert login.status_code == 201


def test_users_create_defaults_to_coordinator_and_keeps_inner_spaces(app, client):
    password = "  spaces count too  "
    result = run(app, "users", "create", "--email", "pedro@example.org", input=f"{password}\r\n")

    assert result.exit_code == 0, result.output
    assert "created coordinator" in result.output
    login = client.post("/api/v1/tokens", json={"email": "pedro@example.org", "password": password})
    assert login.status_code == 201


def test_users_create_refuses_a_short_password(app):
    result = run(app, "users", "create", "--email", "ana@example.org", input="short\n")

    assert result.exit_code != 0
    assert "password" in result.output and "12" in result.output
    assert count(app, User) == 0


def test_users_create_refuses_a_duplicate(app):
    run(app, "users", "create", "--email", "ana@example.org", input=f"{PASSWORD}\n")

    result = run(app, "users", "create", "--email", "ANA@example.org", input=f"{PASSWORD}\n")

    assert result.exit_code != 0
    assert "already exists" in result.output
    assert count(app, User) == 1


def test_users_create_refuses_an_unknown_role(app):
    result = run(
        app, "users", "create", "--email", "a@example.org", "--role", "root", input=f"{PASSWORD}\n"
    )

    assert result.exit_code != 0
    assert count(app, User) == 0


def test_users_list_and_deactivate(app, client, coordinator):
    listing = run(app, "users", "list")
    assert listing.exit_code == 0
    assert coordinator["email"] in listing.output and "active" in listing.output

    result = run(app, "users", "deactivate", "--email", coordinator["email"].upper())

    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"deactivated {coordinator['id']}"
    assert client.get("/api/v1/me", headers=bearer(coordinator["token"])).status_code == 401
    assert "disabled" in run(app, "users", "list").output
    assert run(app, "users", "deactivate", "--email", "nobody@example.org").exit_code != 0


def test_tokens_create_prints_a_working_token(app, client, coordinator):
    result = run(
        app, "tokens", "create", "--email", coordinator["email"], "--name", "tablet", "--days", "3"
    )

    assert result.exit_code == 0, result.output
    secret = result.output.strip()
    assert secret.startswith("rut_")
    me = client.get("/api/v1/me", headers=bearer(secret)).get_json()
    assert me["id"] == coordinator["id"]
    assert secret not in database_text(app)
    with app.app_context():
        token = db.session.scalar(sa.select(ApiToken).where(ApiToken.name == "tablet"))
        assert token.prefix == secret[:10]
        assert token.expires_at is not None


def test_tokens_create_for_an_unknown_user_fails(app):
    result = run(app, "tokens", "create", "--email", "nobody@example.org")

    assert result.exit_code != 0
    assert count(app, ApiToken) == 0


def test_keys_create_prints_a_working_key(app, client):
    result = run(
        app,
        "keys",
        "create",
        "--organization",
        "Cruz Roja Hondureña",
        "--scope",
        "read",
        "--scope",
        "write",
        "--contact-email",
        "it@example.org",
    )

    assert result.exit_code == 0, result.output
    secret = result.output.strip()
    assert secret.startswith("ruk_")
    me = client.get("/api/v1/me", headers=bearer(secret)).get_json()
    assert (me["kind"], me["scopes"]) == ("key", ["read", "write"])
    assert secret not in database_text(app)
    listing = run(app, "keys", "list").output
    assert secret[:10] in listing and "Cruz Roja Hondureña" in listing and secret not in listing


def test_keys_create_needs_a_known_scope_and_an_organization(app):
    assert run(app, "keys", "create", "--organization", "X", "--scope", "admin").exit_code != 0
    assert run(app, "keys", "create", "--organization", "X").exit_code != 0
    blank = run(app, "keys", "create", "--organization", "  ", "--scope", "read")
    assert blank.exit_code != 0 and "organization" in blank.output
    assert count(app, ApiKey) == 0


def test_revoke_by_prefix(app, client, coordinator, make_key):
    key = make_key("read")

    token_result = run(app, "tokens", "revoke", coordinator["token"][:10])
    key_result = run(app, "tokens", "revoke", key["token"][:10])

    assert token_result.output.strip() == "revoked 1"
    assert key_result.output.strip() == "revoked 1"
    assert client.get("/api/v1/me", headers=bearer(coordinator["token"])).status_code == 401
    assert client.get("/api/v1/reports", headers=bearer(key["token"])).status_code == 401
    assert "revoked" in run(app, "keys", "list").output
    assert run(app, "tokens", "revoke", key["token"][:10]).output.strip() == "revoked 0"
