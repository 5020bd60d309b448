"""`flask demo load`: a small synthetic data set so a fresh instance has something to show;
`flask reports import`: shelter rosters."""

from __future__ import annotations

import json
import secrets
import sys
from datetime import timedelta
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from app.auth import service as auth_service
from app.auth.models import User
from app.common.time import utcnow
from app.errors import ValidationError
from app.extensions import db
from app.matching import service as matching_service
from app.matching.tasks import match_reports_task
from app.reports import imports, roster, service
from app.reports.models import KINDS, Report
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


reports_cli = AppGroup("reports", help="Reports: shelter roster imports.")


@reports_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--source-name", required=True, help="The shelter or hospital of the roster.")
@click.option("--kind", type=click.Choice(KINDS), default="found", show_default=True)
@click.option(
    "--map",
    "overrides",
    multiple=True,
    metavar="HEADER=FIELD",
    help="Map a column to a report field (FIELD empty: skip it). Repeatable.",
)
@click.option("--location", help="Where the roster's people are now (last known location).")
@click.option("--country", help="Their home country when the roster has none (ISO code).")
@click.option("--preview", is_flag=True, help="Show the mapping and the problems; load nothing.")
@click.option("--workers", type=int, default=None, help="Validation processes (default: cores).")
def import_roster(
    path: str,
    source_name: str,
    kind: str,
    overrides: tuple[str, ...],
    location: str | None,
    country: str | None,
    preview: bool,
    workers: int | None,
) -> None:
    """Import a shelter roster (CSV or XLSX): a batch committed at a time, then matched in the
    background. Bad rows are listed by their row number in the file, with reasons."""
    fmt = roster.format_of(path, None)
    try:
        table = roster.read_table(Path(path).read_bytes(), fmt)
        wanted: dict[str, str | None] = {}
        for override in overrides:
            header, sep, field = override.partition("=")
            if not sep:
                raise click.BadParameter(f"{override!r}: use HEADER=FIELD", param_hint="--map")
            wanted[header.strip()] = field.strip() or None
        mapping = roster.check_mapping(table.headers, wanted)
    except ValidationError as error:
        text = _errors_text(error.errors or {"file": [error.message]})
        raise click.ClickException(text) from None
    defaults = {"source_name": source_name}
    if location:
        defaults["last_known_location"] = location
    if country:
        defaults["home_country"] = country.upper()
    for header, field in mapping.items():
        click.echo(f"  {header!r} -> {field or '(skipped)'}")
    if preview:
        shown = roster.preview(
            table, mapping, kind=kind, source=roster.source_of(source_name), defaults=defaults
        )
        click.echo(
            f"{shown['total_rows']} rows; problems in the first {shown['checked_rows']}: "
            f"{len(shown['problems'])}"
        )
        for problem in shown["problems"]:
            click.echo(f"  row {problem['row']}: {_errors_text(problem['errors'])}")
        return
    loaded_ids: list[str] = []
    bad: dict[int, object] = {}
    duplicates = 0
    with click.progressbar(length=len(table.rows), label="importing", show_pos=True) as bar:
        done = 0
        for result, so_far in roster.load_roster(
            table,
            mapping,
            kind=kind,
            defaults=defaults,
            created_by="cli:roster",
            workers=imports.default_workers() if workers is None else workers,
        ):
            db.session.commit()
            bar.update(len(result.ids) - done)
            done = len(result.ids)
            loaded_ids = [report_id for report_id in result.ids if report_id]
            duplicates = len(result.duplicates)
            bad = so_far
    if loaded_ids:
        match_reports_task(loaded_ids)
    click.echo(
        f"roster: {len(loaded_ids)} loaded, {duplicates} already loaded, {len(bad)} bad rows "
        f"of {len(table.rows)}; matching queued"
    )
    for number, errors in sorted(bad.items()):
        click.echo(f"  row {number}: {_errors_text(errors)}")
    if bad:
        sys.exit(1)


def _errors_text(errors: object) -> str:
    if not isinstance(errors, dict):
        return str(errors)
    return "; ".join(
        f"{name}: {' '.join(map(str, m)) if isinstance(m, list) else m}"
        for name, m in errors.items()
    )
