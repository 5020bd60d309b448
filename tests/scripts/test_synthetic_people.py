"""The synthetic registry and queries for the matching benchmark (no app, no database)."""

from __future__ import annotations

import importlib.util
import re
import sys
from collections import Counter
from pathlib import Path

import pytest

from app.reports.schemas import ReportInSchema

_PATH = Path(__file__).resolve().parents[2] / "scripts" / "synthetic_people.py"


def _load():
    # scripts/ is not a package; bench_matching.py imports the module as "synthetic_people".
    if "synthetic_people" not in sys.modules:
        spec = importlib.util.spec_from_file_location("synthetic_people", _PATH)
        module = importlib.util.module_from_spec(spec)
        sys.modules["synthetic_people"] = module
        spec.loader.exec_module(module)
    return sys.modules["synthetic_people"]


sp = _load()


@pytest.fixture(scope="module")
def rows():
    return list(sp.registry(20_000, seed=0))


def _name_text(row):
    parts = [row.get(k) for k in ("given_name", "family_name", "full_name")]
    return " ".join(p for p in parts if p)


def _words(row):
    return re.findall(r"\w+", sp.fold_accents(_name_text(row)).lower())


def test_same_seed_same_rows_and_longer_registry_extends_shorter():
    first = list(sp.registry(600, seed=3))
    assert first == list(sp.registry(600, seed=3))
    assert first[:300] == list(sp.registry(300, seed=3))
    assert first != list(sp.registry(600, seed=4))
    assert len(first) == 600 and len(list(sp.registry(0))) == 0


def test_two_thousand_registry_rows_pass_the_report_schema(rows):
    schema = ReportInSchema()
    for row in rows[:2000]:
        assert row["kind"] == "found"
        schema.load(row)  # raises on any invalid field


def test_queries_pass_the_report_schema_once_truth_is_stripped(rows):
    schema = ReportInSchema()
    for query in sp.queries(rows, 500, seed=2):
        data = {k: v for k, v in query.items() if k != "_truth"}
        assert data["kind"] == "missing"
        schema.load(data)


def test_frequent_surnames_are_frequent(rows):
    counts = Counter(w for row in rows for w in set(_words(row)))
    top = [w for w, _ in counts.most_common(10)]
    assert "nguyen" in top[:5], top
    assert "garcia" in top, top
    # Yılmaz: about 4% of the tenth of people who are Turkish.
    assert 0.002 < counts["yilmaz"] / len(rows) < 0.008
    # and a rare name is rare
    assert counts["garcia"] > 10 * counts["goicoechea"]


def test_populations_have_their_shares(rows):
    languages = Counter(row["language"] for row in rows)
    assert languages["es"] / len(rows) == pytest.approx(0.35, abs=0.02)
    assert languages["vi"] / len(rows) == pytest.approx(0.12, abs=0.015)
    assert languages["ar"] / len(rows) == pytest.approx(0.12, abs=0.015)
    # Native spellings and Arabic script are there.
    text = " ".join(_name_text(row) for row in rows[:5000])
    for word in ("Nguyễn", "Yılmaz", "José", "محمد"):
        assert word in text


def test_queries_have_the_registered_share_and_point_at_the_true_row(rows):
    qs = sp.queries(rows, 1000, seed=1)
    assert len(qs) == 1000
    truths = [q["_truth"] for q in qs]
    registered = [t for t in truths if t is not None]
    assert len(registered) == 700
    assert len(set(registered)) == 700 and all(0 <= t < len(rows) for t in registered)
    assert qs == sp.queries(rows, 1000, seed=1)

    same_country = sum(
        qs[i].get("language") == rows[t]["language"] for i, t in enumerate(truths) if t is not None
    )
    assert same_country == 700
    # Noisy, yet mostly still sharing a word with the registered name.
    exact = sum(
        _name_text(q) == _name_text(rows[q["_truth"]]) for q in qs if q["_truth"] is not None
    )
    shared = sum(
        bool(set(_words(q)) & set(_words(rows[q["_truth"]]))) for q in qs if q["_truth"] is not None
    )
    assert exact < 0.5 * 700
    assert shared > 0.9 * 700


def test_unregistered_queries_include_namesakes(rows):
    qs = sp.queries(rows, 1000, seed=1)
    names = Counter(" ".join(sorted(_words(row))) for row in rows)
    namesakes = sum(names[" ".join(sorted(_words(q)))] > 0 for q in qs if q["_truth"] is None)
    assert namesakes > 0.2 * 300


def test_typo_and_accents():
    import random

    rng = random.Random(5)
    assert sp.fold_accents("Nguyễn Thị Yılmaz Şahin Đặng") == "Nguyen Thi Yilmaz Sahin Dang"
    changed = {sp.typo(rng, "Francisco") for _ in range(50)}
    assert "Francisco" not in changed or len(changed) > 10
    assert all(abs(len(w) - len("Francisco")) <= 1 for w in changed)


def test_a_row_not_from_the_registry_is_refused():
    with pytest.raises(ValueError):
        sp.queries([{"kind": "found", "full_name": "Ana Pérez"}], 5)
