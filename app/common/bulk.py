"""Many rows at once: driver-level inserts and count upserts, and IN lists in chunks.

SQLAlchemy's executemany processes every parameter of every row in Python; for a batch of
thousands of rows that costs more than the database's own work. These helpers hand the driver
one statement and a list of tuples instead: COPY on PostgreSQL, executemany on SQLite. Values
still go through each column type's own bind processor (JSON, UTC datetimes), so what is stored
is exactly what the ORM would have stored. Table and column names come from the models, never
from input.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Column, Table, select

from app.extensions import db

T = TypeVar("T")
# Values per IN (...) list: well under SQLite's and PostgreSQL's limits on bound parameters.
IN_CHUNK = 5000
# Rows from which PostgreSQL gets COPY rather than one INSERT executed for many rows (psycopg
# sends those in one pipeline). COPY is the fastest way in for thousands of rows, but it costs
# two more round trips than the pipeline: too many for the one report of a POST.
COPY_FROM = 200


def chunked(items: Sequence[T], size: int = IN_CHUNK) -> Iterator[list[T]]:
    """Consecutive slices of at most `size` items (for IN lists and batches)."""
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def existing(column: Column[Any], values: Sequence[Any]) -> set[Any]:
    """Which of these values the column already holds (a few IN queries, however many)."""
    found: set[Any] = set()
    for chunk in chunked(values):
        found.update(db.session.scalars(select(column).where(column.in_(chunk))))
    return found


def _processors(columns: Sequence[Column[Any]]) -> list[Callable[[Any], Any] | None]:
    dialect = db.session.get_bind().dialect
    return [column.type.dialect_impl(dialect).bind_processor(dialect) for column in columns]


@dataclass(slots=True)
class BoundRows:
    """Rows of one table as the driver takes them: column names, and a tuple of values per row
    already through each column's bind processor.

    Binding needs the database's dialect but no connection, so a bulk import binds in worker
    processes and the process holding the connection only writes.
    """

    names: tuple[str, ...]
    values: list[tuple[Any, ...]]


def bind_rows(table: Table, rows: Sequence[dict[str, Any]]) -> BoundRows:
    """Rows that all have the same keys (column names of `table`), bound for insert_bound()."""
    if not rows:
        return BoundRows((), [])
    names = tuple(rows[0])
    columns = [table.c[name] for name in names]
    processed = [(i, p) for i, p in enumerate(_processors(columns)) if p is not None]
    values = []
    for row in rows:
        value = [row[name] for name in names]
        for i, process in processed:
            value[i] = process(value[i])
        values.append(tuple(value))
    return BoundRows(tuple(column.name for column in columns), values)


def insert_bound(table: Table, rows: BoundRows) -> None:
    """Insert rows bound by bind_rows()."""
    insert_tuples(table, rows.names, rows.values)


def _marks(count: int) -> str:
    mark = "%s" if db.session.get_bind().dialect.paramstyle in ("format", "pyformat") else "?"
    return ", ".join([mark] * count)


def insert_rows(table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows that all have the same keys (column names of `table`)."""
    insert_bound(table, bind_rows(table, rows))


def insert_tuples(table: Table, names: Sequence[str], values: Sequence[tuple]) -> None:
    """Insert rows given as tuples of values the driver takes as they are (no processing)."""
    if not values:
        return
    listed = ", ".join(names)
    connection = db.session.connection()
    if connection.dialect.name == "postgresql" and len(values) >= COPY_FROM:
        with connection.connection.cursor() as cursor:
            with cursor.copy(f"COPY {table.name} ({listed}) FROM STDIN") as copy:
                for row in values:
                    copy.write_row(row)
        return
    connection.exec_driver_sql(
        f"INSERT INTO {table.name} ({listed}) VALUES ({_marks(len(names))})", list(values)
    )


def add_to_counts(table: Table, keys: Sequence[str], deltas: dict[tuple[Any, ...], int]) -> None:
    """Add deltas to a count column, creating the rows that do not exist yet.

    `table` has the primary key `keys` and an integer column `count`. Rows are written in key
    order, so two transactions never wait for each other's rows in opposite orders (no deadlock
    on PostgreSQL).
    """
    rows = [(*key, delta) for key, delta in sorted(deltas.items()) if delta]
    if not rows:
        return
    listed = ", ".join((*keys, "count"))
    name = table.name
    db.session.connection().exec_driver_sql(
        f"INSERT INTO {name} ({listed}) VALUES ({_marks(len(keys) + 1)}) "
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET count = {name}.count + excluded.count",
        rows,
    )
