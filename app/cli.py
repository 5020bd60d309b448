"""`flask maintenance ...`: housekeeping that periodic jobs also run."""

from __future__ import annotations

from datetime import timedelta

import click
from flask import current_app

from app.common.idempotency import purge_expired
from app.extensions import db

maintenance_cli = click.Group("maintenance", help="Housekeeping.")


@maintenance_cli.command("purge-idempotency")
def purge_idempotency() -> None:
    """Delete stored Idempotency-Key responses older than IDEMPOTENCY_TTL_HOURS."""
    count = purge_expired(older_than=timedelta(hours=current_app.config["IDEMPOTENCY_TTL_HOURS"]))
    db.session.commit()
    click.echo(f"purged {count}")
