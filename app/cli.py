"""`flask maintenance ...`: housekeeping that periodic jobs also run."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.tasks import purge_idempotency_records

maintenance_cli = AppGroup("maintenance", help="Housekeeping.")


@maintenance_cli.command("purge-idempotency")
def purge_idempotency() -> None:
    """Delete stored Idempotency-Key responses older than IDEMPOTENCY_TTL_HOURS."""
    click.echo(f"purged {purge_idempotency_records.call_local()}")
