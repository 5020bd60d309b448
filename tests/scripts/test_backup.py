"""scripts/backup.sh and scripts/restore.sh: a backup restored into a fresh database holds every
row of every table (SQLite in the SQLite leg of the suite, PostgreSQL in the PostgreSQL leg)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from app import create_app
from app.config import normalize_database_url
from app.extensions import db
from app.reports import service
from tests.conftest import report_payload

ROOT = Path(__file__).resolve().parents[2]
BACKUP = ROOT / "scripts" / "backup.sh"
RESTORE = ROOT / "scripts" / "restore.sh"
PEOPLE = [
    ("missing", "Nguyễn Thị Hoa", "+15555550101"),
    ("found", "Ayşe Yılmaz", "+15555550102"),
    ("missing", "محمد الحسن", "+15555550103"),
    ("found", "José García López 👵", None),
]


def _app(url: str):
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "REUNITE_ENV": "test", "TESTING": True})


def _fill(url: str) -> None:
    """A migrated database with reports and notes of synthetic people."""
    app = _app(url)
    with app.app_context():
        upgrade()
        for kind, name, phone in PEOPLE:
            data = report_payload(kind=kind, full_name=name, author_phone=phone)
            data.pop("given_name"), data.pop("family_name")
            with app.test_request_context():
                from app.reports.schemas import NoteInSchema, ReportInSchema

                report = service.submit_report(data=ReportInSchema().load(data), created_by="test")
                service.add_note(
                    report=report,
                    data=NoteInSchema().load({"text": f"Seen at the shelter — {name}"}),
                    created_by="test",
                )
        db.session.commit()
        db.engine.dispose()


def _dump(url: str) -> dict[str, list[tuple]]:
    """Every row of every table, sorted, by table name."""
    engine = sa.create_engine(normalize_database_url(url))
    try:
        tables = sa.MetaData()
        tables.reflect(engine)
        with engine.connect() as conn:
            return {
                name: sorted(
                    (tuple(str(v) for v in row) for row in conn.execute(sa.select(table))),
                )
                for name, table in tables.tables.items()
            }
    finally:
        engine.dispose()


def _run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    return subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, env=env, timeout=120, cwd=ROOT
    )


@pytest.fixture
def urls(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A source and an empty target database of the kind the suite runs on."""
    setting = os.environ.get("TEST_DATABASE_URL", "sqlite").strip() or "sqlite"
    if setting == "sqlite":
        yield f"sqlite:///{tmp_path / 'source.db'}", f"sqlite:///{tmp_path / 'restored.db'}"
        return
    base = sa.engine.make_url(normalize_database_url(setting))
    names = [f"backup_{kind}_{uuid.uuid4().hex[:10]}" for kind in ("source", "target")]
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for name in names:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield tuple(  # type: ignore[misc]
            base.set(database=name).render_as_string(hide_password=False) for name in names
        )
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_a_restored_backup_holds_every_record(urls: tuple[str, str], tmp_path: Path) -> None:
    source, target = urls
    _fill(source)
    backup = tmp_path / "reunite.backup"

    made = _run(BACKUP, source, backup)
    assert made.returncode == 0, made.stderr
    assert backup.stat().st_size > 0
    assert backup.stat().st_mode & 0o077 == 0  # personal data: readable by its owner only
    assert not list(tmp_path.glob("*.partial.*"))

    restored = _run(RESTORE, target, backup)
    assert restored.returncode == 0, restored.stderr

    before, after = _dump(source), _dump(target)
    assert len(before["reports"]) == len(PEOPLE)
    assert len(before["notes"]) == len(PEOPLE)
    assert after == before
    # The restored database serves the app: every report is found by its id.
    app = _app(target)
    with app.app_context():
        ids = [row[0] for row in db.session.execute(sa.text("SELECT id FROM reports"))]
        assert {service.get_report(report_id=i).id for i in ids} == set(ids)
        db.engine.dispose()


def test_sqlite_restore_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    source = f"sqlite:///{tmp_path / 'a.db'}"
    _fill(source)
    backup = tmp_path / "a.backup"
    assert _run(BACKUP, source, backup).returncode == 0
    existing = tmp_path / "b.db"
    existing.write_bytes(b"keep me")

    refused = _run(RESTORE, f"sqlite:///{existing}", backup)
    assert refused.returncode == 1
    assert "--force" in refused.stderr
    assert existing.read_bytes() == b"keep me"

    forced = _run(RESTORE, "--force", f"sqlite:///{existing}", backup)
    assert forced.returncode == 0, forced.stderr
    assert _dump(f"sqlite:///{existing}") == _dump(source)


def test_a_broken_backup_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    broken = tmp_path / "broken.backup"
    broken.write_bytes(b"SQLite format 3\x00" + b"\x00" * 100)
    target = tmp_path / "target.db"
    result = _run(RESTORE, f"sqlite:///{target}", broken)
    assert result.returncode != 0
    assert not target.exists()


def test_missing_source_and_bad_scheme_are_clear_errors(tmp_path: Path) -> None:
    missing = _run(BACKUP, f"sqlite:///{tmp_path / 'nope.db'}", tmp_path / "x.backup")
    assert missing.returncode == 1 and "no SQLite database" in missing.stderr
    scheme = _run(BACKUP, "mysql://x/y", tmp_path / "x.backup")
    assert scheme.returncode == 2 and "unsupported" in scheme.stderr
    assert not (tmp_path / "x.backup").exists()


@pytest.mark.skipif(shutil.which("sqlite3") is None, reason="compares with the sqlite3 CLI")
def test_the_python_fallback_makes_the_same_backup(tmp_path: Path) -> None:
    """Without the sqlite3 CLI the script uses Python's backup API."""
    source = f"sqlite:///{tmp_path / 'a.db'}"
    _fill(source)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(sys.executable)
    for tool in ("bash", "mv", "rm", "wc", "cp", "mkdir", "dirname", "cat"):
        path = shutil.which(tool)
        assert path
        (bin_dir / tool).symlink_to(path)
    env = {"PATH": str(bin_dir), "HOME": str(tmp_path)}
    backup = tmp_path / "py.backup"
    made = subprocess.run(
        ["bash", str(BACKUP), source, str(backup)], capture_output=True, text=True, env=env
    )
    assert made.returncode == 0, made.stderr
    restored = subprocess.run(
        ["bash", str(RESTORE), f"sqlite:///{tmp_path / 'r.db'}", str(backup)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert restored.returncode == 0, restored.stderr
    assert _dump(f"sqlite:///{tmp_path / 'r.db'}") == _dump(source)
