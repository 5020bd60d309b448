"""Loading many reports at once: validate, insert, index, a batch at a time.

For PFIF files, shelter rosters and benchmarks. Each row is validated by the API's own schema
(a bad row is reported with its field errors and changes nothing), the good rows of a batch go
in with one INSERT, and their blocking-index entries are written with one statement per table.
Matching the loaded reports is left to the background task (app.matching.tasks), so a load
never holds the database for the seconds that matching a large file takes. The caller commits
each batch (a CLI command or a task owns its commits), so a large file never sits in one
transaction.

Validation and preparing index entries are most of the work and need no database, so they can
run in worker processes (`workers`), while this process writes the batch before.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from types import SimpleNamespace
from typing import Any

from flask import Flask, current_app
from marshmallow import ValidationError
from sqlalchemy import text

from app.common.bulk import BoundRows, bind_rows
from app.extensions import db
from app.matching import service as matching_service
from app.matching.service import IndexEntry
from app.reports import service as reports_service
from app.reports.models import Report
from app.reports.schemas import ReportInSchema

# Rows per batch (and commit). Large batches matter at scale: each batch's index rows land all
# over the index's B-tree, and a batch rewrites every page it touches, so the pages rewritten per
# report fall as the batch grows. Measured on SQLite with two workers, loading a million
# reports: 5,100-5,200/s with batches of 10,000, 5,400-5,600/s with 20,000 or 40,000 (and at
# 300,000 reports with one worker, 4,900/s with 10,000 against 3,400/s with 2,000).
BATCH_SIZE = 20_000


@dataclass
class LoadResult:
    """What became of each row: its new report id, or why it was not loaded."""

    ids: list[str | None] = field(default_factory=list)
    # Row position -> field errors, as the API would have answered them.
    errors: dict[int, dict[str, Any]] = field(default_factory=dict)
    # Row positions whose source_record_id was already loaded.
    duplicates: list[int] = field(default_factory=list)
    # Rows loaded when the tables' planner statistics were last refreshed (PostgreSQL).
    analyzed_at: int = 0

    @property
    def loaded(self) -> int:
        return sum(1 for report_id in self.ids if report_id)


@dataclass
class Prepared:
    """A batch made ready for writing: the valid rows as report rows bound for the driver and
    their index entries (None where preparing one failed), and the field errors of the others."""

    size: int
    positions: list[int]  # of the valid rows in the batch
    reports: BoundRows
    entries: list[IndexEntry | None]
    errors: dict[int, dict[str, Any]]


_schema = ReportInSchema()
_worker_app: Flask | None = None


def _prepare(rows: list[dict[str, Any]], created_by: str) -> Prepared:
    """Validate rows, derive their report columns and index entries; no database."""
    errors: dict[int, dict[str, Any]] = {}
    positions: list[int] = []
    valid: list[dict[str, Any]] = []
    for position, row in enumerate(rows):
        try:
            valid.append(_schema.load(row))
        except ValidationError as error:
            errors[position] = error.messages if isinstance(error.messages, dict) else {}
            continue
        positions.append(position)
    fields = reports_service.prepare_imports(rows=valid, created_by=created_by)
    entries: list[IndexEntry | None] = []
    for report in fields:
        try:
            entries.append(matching_service.index_entry(SimpleNamespace(**report)))
        except Exception:  # noqa: BLE001 - indexing failures are logged when the batch is written
            entries.append(None)
    return Prepared(
        size=len(rows),
        positions=positions,
        reports=bind_rows(Report.__table__, fields),
        entries=entries,
        errors=errors,
    )


def _lower_priority() -> None:
    """Workers yield the CPU to the writer: it is the one holding the database, and they run
    ahead of it anyway (imap queues every batch), so their share of the cores is what is left."""
    os.nice(5)


def _prepare_in_worker(rows: list[dict[str, Any]], created_by: str) -> Prepared:
    assert _worker_app is not None
    with _worker_app.app_context():
        return _prepare(rows, created_by)


def _batches(rows: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def load_reports(
    rows: Iterable[dict[str, Any]],
    *,
    created_by: str,
    workers: int = 0,
    batch_size: int = BATCH_SIZE,
) -> Iterator[LoadResult]:
    """Validate, insert and index reports given as API input, a batch at a time.

    Yields the running result after each batch is written (flushed): commit then, as

        for result in load_reports(rows, created_by=...):
            db.session.commit()

    `workers` > 0 validates and prepares in that many processes (forked: they share the loaded
    gazetteer and lexicon) while this one writes. The reports still need matching: enqueue
    app.matching.tasks.match_reports_task with the new ids.
    """
    result = LoadResult()
    matching_service.warm_up()  # before forking, so workers inherit the loaded data
    batches = _batches(rows, batch_size)
    if workers > 0 and "fork" in multiprocessing.get_all_start_methods():
        global _worker_app
        _worker_app = current_app._get_current_object()  # type: ignore[attr-defined]
        context = multiprocessing.get_context("fork")
        with context.Pool(workers, initializer=_lower_priority) as pool:
            work = partial(_prepare_in_worker, created_by=created_by)
            for prepared in pool.imap(work, batches):
                _write(prepared, result)
                _keep_statistics(result)
                yield result
    else:
        for batch in batches:
            _write(_prepare(batch, created_by), result)
            _keep_statistics(result)
            yield result


def _write(prepared: Prepared, result: LoadResult) -> None:
    """Insert and index the valid rows of a prepared batch; record every row's fate."""
    offset = len(result.ids)
    for position, errors in prepared.errors.items():
        result.errors[offset + position] = errors
    ids, skipped = reports_service.insert_imports(rows=prepared.reports)
    batch_ids: list[str | None] = [None] * prepared.size
    entries: list[IndexEntry] = []
    failed: list[str] = []
    for position, entry, report_id in zip(prepared.positions, prepared.entries, ids, strict=True):
        batch_ids[position] = report_id
        if report_id is None:
            continue
        if entry is None:
            failed.append(report_id)
        else:
            entries.append(entry)
    result.duplicates.extend(offset + prepared.positions[j] for j in skipped)
    matching_service.index_entries(entries=entries)
    # A report whose entry failed in preparation is indexed here, where failures are logged.
    matching_service.index_report_ids(report_ids=failed)
    result.ids.extend(batch_ids)


# Tables whose planner statistics a large load makes stale.
_LOADED_TABLES = (
    "reports",
    "match_profiles",
    "match_postings",
    "match_key_counts",
    "name_token_counts",
)


def _keep_statistics(result: LoadResult) -> None:
    """On PostgreSQL, ANALYZE the loaded tables each time the load has doubled them.

    The planner's row estimates come from statistics that autovacuum refreshes when it gets to
    it (and not at all where it is off). Measured: 100,000 reports into an empty database, and
    the references check planned for an empty table took 15 s per batch instead of
    milliseconds. ANALYZE samples a fixed number of rows, so doing it at every doubling costs a
    few seconds over a million reports.
    """
    loaded = len(result.ids)
    if db.session.get_bind().dialect.name != "postgresql" or loaded < 2 * result.analyzed_at:
        return
    for table in _LOADED_TABLES:
        db.session.execute(text(f"ANALYZE {table}"))
    result.analyzed_at = max(loaded, 1)


def default_workers() -> int:
    """Worker processes for a large load: one per core. They yield to the writer, so together
    they take what it leaves of every core (with one per core beyond the writer's, the writer
    waits for them: it needs less than they do)."""
    return os.cpu_count() or 1
