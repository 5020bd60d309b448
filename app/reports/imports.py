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
from dataclasses import dataclass, field, replace
from types import SimpleNamespace
from typing import Any

from flask import Flask, current_app
from marshmallow import ValidationError
from sqlalchemy import text

from app.common.time import utcnow
from app.extensions import db
from app.matching import service as matching_service
from app.matching.service import IndexEntry
from app.reports import service as reports_service
from app.reports.schemas import ReportInSchema

BATCH_SIZE = 2000


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


# (validated data or None, field errors or None, index entry or None) per row.
Prepared = tuple[dict[str, Any] | None, dict[str, Any] | None, IndexEntry | None]

_schema = ReportInSchema()
_worker_app: Flask | None = None


def _prepare(rows: list[dict[str, Any]]) -> list[Prepared]:
    """Validate rows and prepare their index entries; no database."""
    out: list[Prepared] = []
    now = utcnow()
    for row in rows:
        try:
            data = _schema.load(row)
        except ValidationError as error:
            messages = error.messages if isinstance(error.messages, dict) else {}
            out.append((None, messages, None))
            continue
        try:
            # Not yet a report: no id, and the dates submit would give it.
            record = SimpleNamespace(
                **{
                    **_RECORD_DEFAULTS,
                    **data,
                    "id": "",
                    "source_date": data.get("source_date") or now,
                }
            )
            entry: IndexEntry | None = matching_service.index_entry(record)
        except Exception:  # noqa: BLE001 - indexing failures are logged when the batch is written
            entry = None
        out.append((data, None, entry))
    return out


# A validated row leaves out the fields nobody gave; the engine reads them all.
_RECORD_DEFAULTS = dict.fromkeys(matching_service.MATCHED_FIELDS)


def _prepare_in_worker(rows: list[dict[str, Any]]) -> list[Prepared]:
    assert _worker_app is not None
    with _worker_app.app_context():
        return _prepare(rows)


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
        with context.Pool(workers) as pool:
            for prepared in pool.imap(_prepare_in_worker, batches):
                _write(prepared, created_by, result)
                _keep_statistics(result)
                yield result
    else:
        for batch in batches:
            _write(_prepare(batch), created_by, result)
            _keep_statistics(result)
            yield result


def _write(prepared: list[Prepared], created_by: str, result: LoadResult) -> None:
    """Insert and index the valid rows of a prepared batch; record every row's fate."""
    offset = len(result.ids)
    valid = [(i, data, entry) for i, (data, _, entry) in enumerate(prepared) if data is not None]
    for i, (_, errors, _) in enumerate(prepared):
        if errors is not None:
            result.errors[offset + i] = errors
    ids, skipped = reports_service.import_reports(
        rows=[data for _, data, _ in valid], created_by=created_by
    )
    batch_ids: list[str | None] = [None] * len(prepared)
    entries: list[IndexEntry] = []
    failed: list[str] = []
    for (i, _, entry), report_id in zip(valid, ids, strict=True):
        batch_ids[i] = report_id
        if report_id is None:
            continue
        if entry is None:
            failed.append(report_id)
        else:
            entries.append(replace(entry, report_id=report_id))
    result.duplicates.extend(offset + valid[j][0] for j in skipped)
    matching_service.index_entries(entries=entries)
    # A report whose entry failed in preparation is indexed here, where failures are logged.
    matching_service.index_report_ids(report_ids=failed)
    result.ids.extend(batch_ids)


# Tables whose planner statistics a large load makes stale.
_LOADED_TABLES = (
    "reports",
    "match_profiles",
    "match_keys",
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
    """Worker processes for a large load: one per core beyond the writer's."""
    return max((os.cpu_count() or 1) - 1, 0)
