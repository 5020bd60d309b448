"""`flask pfif import FILE|URL` and `flask pfif export FILE`."""

from __future__ import annotations

import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup

from app.extensions import db
from app.matching.tasks import match_reports_task
from app.pfif import format as pfif
from app.pfif import service
from app.reports import imports

pfif_cli = AppGroup("pfif", help="PFIF 1.4 exchange.")
_URL_TIMEOUT_S = 60


def _read(source: str) -> bytes:
    if source.startswith(("http://", "https://")):
        limit = current_app.config["IMPORT_MAX_BODY_BYTES"]
        request = urllib.request.Request(source, headers={"Accept": "application/pfif+xml"})
        with urllib.request.urlopen(request, timeout=_URL_TIMEOUT_S) as response:  # noqa: S310
            data = response.read(limit + 1)
        if len(data) > limit:
            raise click.ClickException(f"larger than IMPORT_MAX_BODY_BYTES ({limit} bytes)")
        return data
    path = Path(source)
    if not path.is_file():
        raise click.ClickException(f"no file at {source}")
    return path.read_bytes()


@pfif_cli.command("import")
@click.argument("source")
@click.option("--workers", type=int, default=None, help="Validation processes (default: cores).")
@click.option(
    "--match/--no-match",
    default=True,
    show_default=True,
    help="Queue matching of the imported reports for the worker.",
)
def import_command(source: str, workers: int | None, match: bool) -> None:
    """Import a PFIF 1.1-1.4 document from a file or an http(s) URL, in one transaction."""
    started = time.perf_counter()
    data = _read(source)
    summary = service.import_pfif(
        data=data,
        created_by="cli:pfif",
        workers=imports.default_workers() if workers is None else workers,
    )
    db.session.commit()
    if match and summary.report_ids:
        match_reports_task(summary.report_ids)
    counts = summary.as_dict()
    click.echo(
        f"pfif {counts['version']}: persons created {summary.persons_created}, updated "
        f"{summary.persons_updated}, unchanged {summary.persons_unchanged}, expired "
        f"{summary.persons_expired}; notes created {summary.notes_created}, unchanged "
        f"{summary.notes_unchanged}; {len(summary.errors)} records left out; "
        f"{time.perf_counter() - started:.1f} s"
    )
    for kind, rows in (("left out", summary.errors), ("warning", summary.warnings)):
        for row in rows:
            fields = "; ".join(
                f"{name}: {' '.join(map(str, messages))}"
                for name, messages in row["errors"].items()
            )
            click.echo(f"  {kind}: {row['record']} {row['position']} ({row['id']}): {fields}")
    if summary.errors:
        sys.exit(1)


@pfif_cli.command("export")
@click.argument("target", type=click.Path(dir_okay=False, writable=True))
@click.option("--since", type=click.DateTime(), help="Only records entered at or after (UTC).")
@click.option("--redacted", is_flag=True, help="As a partner key with read scope sees them.")
@click.option("--batch-size", default=1000, show_default=True, type=click.IntRange(1, 10_000))
def export_command(target: str, since: datetime | None, redacted: bool, batch_size: int) -> None:
    """Write every record (minors excepted, as for partners) to a PFIF 1.4 file."""
    started = time.perf_counter()
    count = 0
    with open(target, "w", encoding="utf-8") as out:
        for chunk in pfif.iter_document(
            export_all(since=since, full=not redacted, batch_size=batch_size)
        ):
            out.write(chunk)
            count += 1
    click.echo(
        f"pfif: wrote {count - 3} persons to {target} in {time.perf_counter() - started:.1f} s"
    )


def export_all(
    *, since: datetime | None, full: bool, batch_size: int = 1000
) -> Iterator[dict[str, Any]]:
    """Every exportable record, a page at a time (keyset paging: each page starts after the
    last record of the one before)."""
    since_utc = since.replace(tzinfo=UTC) if since and since.tzinfo is None else since
    after = None
    while True:
        page, _, after = service.export_records(
            since=since_utc, skip=0, limit=batch_size, full=full, after=after
        )
        yield from page
        db.session.expunge_all()
        if len(page) < batch_size:
            return
