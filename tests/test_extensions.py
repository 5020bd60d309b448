"""The embedded database's connection settings (on every leg: it builds its own SQLite file)."""

from __future__ import annotations

import sqlalchemy as sa

from app import create_app
from app.extensions import db


def test_sqlite_connections_are_set_up_for_sharing_and_large_indexes(tmp_path):
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}", "REUNITE_ENV": "test"}
    )
    with app.app_context():

        def pragma(name: str) -> object:
            return db.session.execute(sa.text(f"PRAGMA {name}")).scalar()

        assert pragma("journal_mode") == "wal"
        assert pragma("busy_timeout") == 10000
        assert pragma("foreign_keys") == 1
        assert pragma("synchronous") == 1  # NORMAL
        assert pragma("cache_size") == -65536  # 64 MB
        db.engine.dispose()
