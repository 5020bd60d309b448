"""Bulk loads: validation per row, one insert per batch, the index written, duplicates skipped."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from app.common import bulk
from app.extensions import db
from app.matching import service as matching
from app.matching.models import MatchProfile
from app.matching.tasks import match_reports_task
from app.reports import imports, service
from app.reports.models import Report

ROWS: list[dict[str, Any]] = [
    {
        "kind": "found",
        "family_name": "García López",
        "given_name": "José",
        "sex": "male",
        "age": "35",
        "home_city": "Guánica",
        "home_country": "PR",
        "source_record_id": "shelter.example.org/1",
    },
    {
        "kind": "found",
        "full_name": "Nguyễn Thị Hoa",
        "date_of_birth": "2015-04-02",
        "home_country": "VN",
        "source_date": "2026-01-10T08:00:00Z",
        "source_record_id": "shelter.example.org/2",
    },
    # Refused by the schema: no name, no description.
    {"kind": "found", "age": "40", "source_record_id": "shelter.example.org/3"},
    # Refused: an age nobody has.
    {"kind": "found", "full_name": "Ana Torres", "age": "400"},
    {"kind": "missing", "full_name": "Pepe García", "age": "34", "home_country": "PR"},
    # The same partner record twice in one file: the second is skipped.
    {"kind": "found", "full_name": "Rosa Cruz", "source_record_id": "shelter.example.org/1"},
]


def load(rows: list[dict[str, Any]], **kwargs: Any) -> imports.LoadResult:
    result = None
    for progress in imports.load_reports(rows, created_by="importer", batch_size=3, **kwargs):
        db.session.commit()
        result = progress
    assert result is not None
    return result


@pytest.mark.parametrize("workers", [0, 1])
def test_a_load_inserts_and_indexes_the_good_rows_and_says_why_not_the_others(app, workers):
    with app.app_context():
        result = load(ROWS, workers=workers)

        assert len(result.ids) == len(ROWS)
        assert [i for i, report_id in enumerate(result.ids) if report_id] == [0, 1, 4]
        assert set(result.errors) == {2, 3}
        assert "_schema" in result.errors[2] and "age" in result.errors[3]
        assert result.duplicates == [5]
        assert result.loaded == 3
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Report)) == 3
        indexed = set(db.session.scalars(sa.select(MatchProfile.report_id)))
        assert indexed == {i for i in result.ids if i}

        jose, hoa, pepe = (db.session.get(Report, result.ids[i]) for i in (0, 1, 4))
        # Derived exactly as a single submission derives them.
        assert (jose.status, jose.age_min, jose.age_max, jose.is_minor) == (
            "believed_alive",
            35,
            35,
            False,
        )
        assert (pepe.status, pepe.created_by, pepe.version) == ("information_sought", "importer", 1)
        assert hoa.source_date == datetime(2026, 1, 10, 8, 0, tzinfo=UTC)
        assert (hoa.age_min, hoa.age_max, hoa.is_minor) == (10, 10, True)
        assert len({jose.reference, hoa.reference, pepe.reference}) == 3
        assert all(len(r.reference) == 7 for r in (jose, hoa, pepe))

        # Matching the load in the background finds the pair.
        assert match_reports_task(result.ids[:2] + result.ids[4:5]).get() == 3
        assert jose.id in {
            m.other_report(pepe.id).id for m in matching.matches_for_report(report=pepe, limit=10)
        }


@pytest.mark.parametrize("copy_from", [1, 10_000], ids=["copy", "insert"])
def test_loaded_reports_index_like_submitted_ones(app, monkeypatch, copy_from):
    # PostgreSQL takes large batches by COPY and small ones by INSERT: both store the same.
    monkeypatch.setattr(bulk, "COPY_FROM", copy_from)
    with app.app_context():
        [report_id] = load([ROWS[0]]).ids
        loaded = db.session.scalar(
            sa.select(MatchProfile).where(MatchProfile.report_id == report_id)
        )
        submitted = service.submit_report(
            data={**ROWS[0], "source_record_id": "shelter.example.org/9"}, created_by="x"
        )
        matching.index_report(report=submitted)
        db.session.flush()
        again = db.session.scalar(
            sa.select(MatchProfile).where(MatchProfile.report_id == submitted.id)
        )
        fields = ("words", "hashes", "lat", "lon", "age_low", "age_high", "sex", "places")
        assert [getattr(loaded, f) for f in fields] == [getattr(again, f) for f in fields]

        # The report itself reads back as the ORM would have stored it (JSON, UTC dates).
        db.session.expire_all()
        loaded_report = db.session.get(Report, report_id)
        orm = db.session.get(Report, submitted.id)
        differ = {"id", "reference", "source_record_id", "created_by", "created_at", "updated_at"}
        differ |= {"entry_date", "source_date", "expiry_date"}
        for column in Report.__table__.columns:
            if column.key not in differ:
                assert getattr(loaded_report, column.key) == getattr(orm, column.key), column.key
        assert loaded_report.created_at.tzinfo is not None
        assert loaded_report.alternate_names == []


def test_a_second_load_of_the_same_file_adds_nothing(app):
    with app.app_context():
        load(ROWS)
        again = load(ROWS)

        assert again.loaded == 1  # Pepe's report has no source_record_id: nothing to know it by
        assert again.duplicates == [0, 1, 5]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Report)) == 4


def test_import_reports_gives_every_report_its_own_reference(app, monkeypatch):
    with app.app_context():
        taken = service.submit_report(data=ROWS[4], created_by="x").reference
        # The generator comes up with a reference in use, then the same one twice, then others.
        offered = iter([taken, "AAA-AAA", "AAA-AAA", "BBB-BBB", "CCC-CCC", "DDD-DDD"])
        monkeypatch.setattr(service, "new_reference", lambda: next(offered))

        ids, skipped = service.import_reports(rows=[ROWS[4]] * 3, created_by="x")

        assert skipped == []
        references = {db.session.get(Report, i).reference for i in ids}
        assert len(references) == 3 and taken not in references


def test_an_empty_load_is_fine(app):
    with app.app_context():
        assert list(imports.load_reports([], created_by="x")) == []
        assert service.import_reports(rows=[], created_by="x") == ([], [])


def test_a_load_keeps_the_planner_statistics_fresh_on_postgresql(app):
    with app.app_context():
        result = load(ROWS)  # two batches of three rows

        if db.session.get_bind().dialect.name != "postgresql":
            assert result.analyzed_at == 0
            return
        # After the first batch, and again once the load has doubled.
        assert result.analyzed_at == 6
        tuples = db.session.scalar(
            sa.text("SELECT reltuples FROM pg_class WHERE oid = 'reports'::regclass")
        )
        assert tuples == 3
