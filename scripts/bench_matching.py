"""Matching benchmark on a data directory, through the project's own import and matching path.

    .venv/bin/python scripts/bench_matching.py ../shared/data/matching-dev --out /tmp/pred.jsonl
    python ../shared/bench/score_matching.py ../shared/data/matching-dev /tmp/pred.jsonl

Builds a fresh database (SQLite by default, or --database-url), loads registry.jsonl as found
reports through the reports schema and service and the matching index (bulk, as an import
would), then submits each query of queries.jsonl as a missing report, indexes and matches it as
POST /api/v1/reports does, and writes the stored candidates as predictions: first line
{"alert_threshold": T}, then the best 10 per query. It never reads truth.jsonl. Prints the load
rate and the per-query matching latency (index + match, p50/p95); the last line is JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HUEY_IMMEDIATE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade  # noqa: E402
from marshmallow import ValidationError  # noqa: E402
from sqlalchemy import select  # noqa: E402

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from app.matching import service as matching  # noqa: E402
from app.matching.engine.model import load_model  # noqa: E402
from app.matching.models import MatchCandidate  # noqa: E402
from app.reports import service as reports  # noqa: E402
from app.reports.models import Report  # noqa: E402
from app.reports.schemas import ReportInSchema  # noqa: E402

BATCH = 1000
FIELDS = set(ReportInSchema().fields) - {"source_record_id"}


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def load(row: dict) -> dict | None:
    """A benchmark row through the API's input schema; None if the API would refuse it."""
    data = {k: v for k, v in row.items() if k in FIELDS}
    data["source_record_id"] = f"bench/{row['id']}"
    try:
        return ReportInSchema().load(data)
    except ValidationError:
        return None


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="bench-matching-")
    url = args.database_url or f"sqlite:///{tmp}/bench.db"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REUNITE_ENV": "test"})
    registry = read_jsonl(args.data_dir / "registry.jsonl")
    queries = read_jsonl(args.data_dir / "queries.jsonl")

    with app.test_request_context():
        upgrade()
        matching.warm_up()
        started = time.perf_counter()
        refused = 0
        for start in range(0, len(registry), BATCH):
            batch = []
            for row in registry[start : start + BATCH]:
                data = load(row)
                if data is None:
                    refused += 1
                    continue
                batch.append(reports.submit_report(data=data, created_by="bench"))
            matching.index_reports(reports=batch)
            db.session.commit()
        load_s = time.perf_counter() - started
        print(
            f"loaded {len(registry) - refused} reports in {load_s:.1f}s "
            f"({(len(registry) - refused) / load_s:.0f}/s; {refused} refused by the schema)"
        )

        latencies: list[float] = []
        predictions: list[dict] = []
        for row in queries:
            data = load(row)
            if data is None:
                predictions.append({"query": row["id"], "candidates": []})
                continue
            report = reports.submit_report(data=data, created_by="bench")
            t0 = time.perf_counter()
            matching.index_report(report=report)
            matching.match_report(report=report)
            latencies.append((time.perf_counter() - t0) * 1000)
            db.session.commit()
            rows = db.session.execute(
                select(Report.source_record_id, MatchCandidate.score)
                .join(Report, Report.id == MatchCandidate.right_report_id)
                .where(MatchCandidate.left_report_id == report.id, MatchCandidate.kind == "match")
                .order_by(MatchCandidate.score.desc())
                .limit(10)
            ).all()
            predictions.append(
                {
                    "query": row["id"],
                    "candidates": [
                        {"id": source.split("/", 1)[1], "score": round(score, 4)}
                        for source, score in rows
                    ],
                }
            )

    threshold = load_model().alert_threshold
    with args.out.open("w", encoding="utf-8") as out:
        out.write(json.dumps({"alert_threshold": threshold}) + "\n")
        for prediction in predictions:
            out.write(json.dumps(prediction) + "\n")
    result = {
        "reports": len(registry) - refused,
        "load_per_s": round((len(registry) - refused) / load_s, 1),
        "queries": len(latencies),
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(percentile(latencies, 0.95), 1),
        "alert_threshold": threshold,
    }
    print(f"per query (index + match): p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
