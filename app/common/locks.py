"""One way to take a row for the rest of a transaction, on both databases."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import select, update

from app.extensions import db

M = TypeVar("M")


def lock_row(model: type[M], row_id: str) -> M | None:
    """Take the row with this id for this transaction and read it afresh (None if it is gone).

    PostgreSQL: SELECT … FOR UPDATE, so a second transaction taking the same row waits here
    until the first commits, then reads what the first wrote. SQLite has no row locks: a write
    first takes the database's write lock (writers are serialized), so what is read next stays
    true until commit. Pending changes are flushed first, since the row is read again.
    """
    db.session.flush()
    key: Any = model.id  # type: ignore[attr-defined]
    if db.session.get_bind().dialect.name == "postgresql":
        return db.session.scalar(
            select(model)
            .where(key == row_id)
            .with_for_update(of=model)
            .execution_options(populate_existing=True)
        )
    db.session.execute(
        update(model)
        .where(key == row_id)
        .values(id=key)
        .execution_options(synchronize_session=False)
    )
    return db.session.get(model, row_id, populate_existing=True)
