"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from app.extensions import db


def test_migrated_schema_matches_the_models(app):
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_downgrade_to_base_and_upgrade_again(app):
    with app.app_context():
        downgrade(revision="base")
        tables = set(db.inspect(db.engine).get_table_names())
        assert "reports" not in tables
        upgrade()
        assert {"reports", "notes", "users", "audit_events"} <= set(
            db.inspect(db.engine).get_table_names()
        )


def test_the_posting_chunks_migration_carries_the_index_over_and_back(app):
    """0006 groups match_keys rows into match_postings chunks; its downgrade expands them."""
    import numpy as np
    import sqlalchemy as sa

    rows = [(7, seq) for seq in range(1, 1500)] + [(-3, 5), (-3, 2), (11, 9)]
    with app.app_context():
        downgrade(revision="0005")
        with db.engine.begin() as conn:
            conn.execute(
                sa.text("INSERT INTO match_keys (key_hash, seq) VALUES (:k, :s)"),
                [{"k": k, "s": s} for k, s in rows],
            )
        upgrade(revision="0006")
        with db.engine.connect() as conn:
            chunks = conn.execute(
                sa.text("SELECT key_hash, seq_first, seqs FROM match_postings ORDER BY 1, 2")
            ).all()
        unpacked = {
            (k, first): np.frombuffer(data, dtype="<i4").tolist() for k, first, data in chunks
        }
        assert unpacked == {
            (-3, 2): [2, 5],
            (7, 1): list(range(1, 1025)),  # at most 1024 numbers a chunk
            (7, 1025): list(range(1025, 1500)),
            (11, 9): [9],
        }
        downgrade(revision="0005")
        with db.engine.connect() as conn:
            back = conn.execute(sa.text("SELECT key_hash, seq FROM match_keys")).all()
        assert sorted(back) == sorted(rows)
        upgrade()
