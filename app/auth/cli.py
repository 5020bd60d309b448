"""`flask users|tokens|keys ...`: manage accounts and credentials from the shell."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from app.auth import service
from app.auth.models import KEY_SCOPES, ROLES, ApiKey, User
from app.errors import AppError
from app.extensions import db

# AppGroup wraps each command in with_appcontext: the commands then work under any runner
# (app.test_cli_runner(), scripts), not only under the `flask` command, which pushes one itself.
users_cli = AppGroup("users", help="Coordinator and admin accounts.")
tokens_cli = AppGroup("tokens", help="Bearer tokens for coordinators.")
keys_cli = AppGroup("keys", help="API keys for partner agencies.")


def _fail(error: AppError) -> None:
    db.session.rollback()
    details = "; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in error.errors.items())
    raise click.ClickException(f"{error.message} {details}".strip())


def _read_password() -> str:
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return sys.stdin.readline().rstrip("\r\n")


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--role", type=click.Choice(ROLES), default="coordinator", show_default=True)
def create_user(email: str, role: str) -> None:
    """Create a user; the password is read from standard input."""
    try:
        user = service.create_user(email=email, password=_read_password(), role=role)
    except AppError as error:
        _fail(error)
    db.session.commit()
    click.echo(f"created {user.role} {user.id}")


@users_cli.command("list")
def list_users() -> None:
    """List users (id, role, active, e-mail)."""
    for user in db.session.scalars(select(User).order_by(User.email)):
        state = "active" if user.is_active else "disabled"
        click.echo(f"{user.id}  {user.role:<11}  {state:<8}  {user.email}")


@users_cli.command("deactivate")
@click.option("--email", required=True)
def deactivate_user(email: str) -> None:
    """Disable a user; their tokens stop working at once."""
    user = service.get_user_by_email(email=email)
    if user is None:
        raise click.ClickException("No such user.")
    user.is_active = False
    db.session.commit()
    click.echo(f"deactivated {user.id}")


@tokens_cli.command("create")
@click.option("--email", required=True)
@click.option("--name", default="cli", show_default=True, help="A label for listings.")
@click.option("--days", type=int, default=None, help="Expire after this many days.")
def create_token(email: str, name: str, days: int | None) -> None:
    """Print a new bearer token for a user (stored hashed; shown only now)."""
    user = service.get_user_by_email(email=email)
    if user is None or not user.is_active:
        raise click.ClickException("No active user with this e-mail.")
    _, secret = service.create_token(
        user=user, name=name, ttl_days=days or current_app.config["TOKEN_TTL_DAYS"]
    )
    db.session.commit()
    click.echo(secret)


@tokens_cli.command("revoke")
@click.argument("prefix")
def revoke(prefix: str) -> None:
    """Revoke tokens or keys by the prefix shown in listings (e.g. rut_AbC123)."""
    count = service.revoke_credential(prefix=prefix)
    db.session.commit()
    click.echo(f"revoked {count}")


@keys_cli.command("create")
@click.option("--organization", required=True)
@click.option("--scope", "scopes", multiple=True, type=click.Choice(KEY_SCOPES), required=True)
@click.option("--contact-email", default=None)
def create_key(organization: str, scopes: tuple[str, ...], contact_email: str | None) -> None:
    """Print a new partner API key with the given scopes (shown only now)."""
    try:
        _, secret = service.create_api_key(
            organization=organization, scopes=scopes, contact_email=contact_email
        )
    except AppError as error:
        _fail(error)
    db.session.commit()
    click.echo(secret)


@keys_cli.command("list")
def list_keys() -> None:
    """List partner keys (prefix, scopes, state, organization)."""
    for key in db.session.scalars(select(ApiKey).order_by(ApiKey.created_at)):
        state = "revoked" if key.revoked_at else "active"
        click.echo(f"{key.prefix}  {','.join(key.scopes):<20}  {state:<8}  {key.organization}")
