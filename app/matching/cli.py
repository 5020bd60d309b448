"""`flask matching reindex`: rebuild the blocking index and the candidates of every report."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import click
from flask.cli import AppGroup

from app.extensions import db
from app.matching import service
from app.reports import service as reports_service
from app.reports.models import KINDS, Report

matching_cli = AppGroup("matching", help="Matching: the blocking index and match candidates.")


@matching_cli.command("reindex")
@click.option("--kind", type=click.Choice(KINDS), help="Only reports of this kind.")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 10_000))
def reindex(kind: str | None, batch_size: int) -> None:
    """Index every report, then match every report, committing each batch."""
    total = reports_service.count_reports(kind=kind)
    service.warm_up()  # the gazetteer loads once, before the clock starts
    _walk("indexed", service.index_reports, kind=kind, total=total, batch_size=batch_size)
    _walk("matched", service.match_reports, kind=kind, total=total, batch_size=batch_size)


def _walk(
    done_word: str,
    run: Callable[..., int],
    *,
    kind: str | None,
    total: int,
    batch_size: int,
) -> None:
    started = time.perf_counter()
    done = 0
    after: str | None = None
    while True:
        rows: Sequence[Report] = reports_service.list_reports(
            limit=batch_size, after_id=after, kind=kind
        )
        batch = rows[:batch_size]
        if not batch:
            break
        after = batch[-1].id
        run(reports=batch)
        db.session.commit()
        done += len(batch)
        rate = done / max(time.perf_counter() - started, 1e-9)
        click.echo(f"matching: {done_word} {done}/{total} reports ({rate:,.0f}/s)")
        if len(rows) <= batch_size:
            break
