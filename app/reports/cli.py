"""`flask demo load`: a small synthetic data set so a fresh instance has something to show."""

from __future__ import annotations

import json
import secrets
from datetime import timedelta
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from app.auth import service as auth_service
from app.auth.models import User
from app.common.time import utcnow
from app.extensions import db
from app.matching import service as matching_service
from app.reports import service
from app.reports.models import Report
from app.reports.schemas import NoteInSchema, ReportInSchema

DEMO_FILE = Path(__file__).with_name("demo_reports.json")
DEMO_EMAIL = "coordinator@demo.invalid"

demo_cli = AppGroup("demo", help="Demo data (synthetic people only).")


@demo_cli.command("load")
@click.option("--if-empty", is_flag=True, help="Do nothing when there are reports already.")
def load(if_empty: bool) -> None:
    """Load the synthetic demo reports (and a demo coordinator outside production)."""
    if if_empty and db.session.scalar(select(func.count(Report.id))):
        click.echo("demo: database has reports; nothing loaded")
        return
    records = json.loads(DEMO_FILE.read_text(encoding="utf-8"))
    now = utcnow()
    loaded = []
    with current_app.test_request_context():
        for index, record in enumerate(records):
            notes = record.pop("notes", [])
            data = ReportInSchema().load(record)
            # Spread the demo over the last days so lists and filters have something to sort.
            data.setdefault("source_date", now - timedelta(hours=6 * (len(records) - index)))
            report = service.submit_report(data=data, created_by="demo")
            for note in notes:
                service.add_note(report=report, data=NoteInSchema().load(note), created_by="demo")
            loaded.append(report)
    # The review queue has something to show too.
    matching_service.index_reports(reports=loaded)
    matching_service.match_reports(reports=loaded)
    click.echo(f"demo: loaded {len(records)} synthetic reports")
    if current_app.config["REUNITE_ENV"] != "production" and not db.session.scalar(
        select(User.id).where(User.email == DEMO_EMAIL)
    ):
        password = secrets.token_urlsafe(12)
        user = auth_service.create_user(email=DEMO_EMAIL, password=password, role="coordinator")
        _, token = auth_service.create_token(user=user, name="demo", ttl_days=30)
        click.echo(f"demo: coordinator {DEMO_EMAIL} password {password}")
        click.echo(f"demo: bearer token {token}")
    db.session.commit()
