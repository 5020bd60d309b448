"""Matching benchmark, through the project's own import and matching path.

    .venv/bin/python scripts/bench_matching.py ../shared/data/matching-dev --out /tmp/pred.jsonl
    python ../shared/bench/score_matching.py ../shared/data/matching-dev /tmp/pred.jsonl

    .venv/bin/python scripts/bench_matching.py --synthetic 1000000 [--queries 1000]
        [--database-url postgresql://...]

Builds a fresh database (SQLite by default, or --database-url), loads registry.jsonl as found
reports through the reports schema and service and the matching index (bulk, as an import
would), then submits each query of queries.jsonl as a missing report, indexes and matches it as
POST /api/v1/reports does, and writes the stored candidates as predictions: first line
{"alert_threshold": T}, then the best 10 per query. It never reads truth.jsonl. Prints the load
rate and the per-query matching latency (index + match, p50/p95); the last line is JSON.

--synthetic N builds a registry of N found reports from scripts/synthetic_people.py (realistic
name frequencies: many García, many Nguyễn), loads it through the bulk import path (schema,
reports.import_reports, matching.index_report_ids, a commit per batch), then submits noisy
queries one at a time as POST /api/v1/reports does (report, match, index, commit) and times
the matching (index lookups plus engine). Last line: {"n", "load_per_s", "p50_ms", "p95_ms",
"index_mb"}, index_mb being the on-disk size of the matching index tables and their indexes.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HUEY_IMMEDIATE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade  # noqa: E402
from marshmallow import ValidationError  # noqa: E402
from sqlalchemy import select, text  # noqa: E402

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from app.matching import service as matching  # noqa: E402
from app.matching.engine.model import load_model  # noqa: E402
from app.matching.models import MatchCandidate  # noqa: E402
from app.reports import imports  # noqa: E402
from app.reports import service as reports  # noqa: E402
from app.reports.models import Report  # noqa: E402
from app.reports.schemas import ReportInSchema  # noqa: E402

FIELDS = set(ReportInSchema().fields) - {"source_record_id"}
INDEX_TABLES = ("match_profiles", "match_postings", "match_key_counts", "name_token_counts")


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def with_source(row: dict) -> dict:
    """A benchmark row as API input, known by its benchmark id."""
    data = {k: v for k, v in row.items() if k in FIELDS}
    data["source_record_id"] = f"bench/{row['id']}"
    return data


def load(row: dict) -> dict | None:
    """A benchmark row through the API's input schema; None if the API would refuse it."""
    try:
        return ReportInSchema().load(with_source(row))
    except ValidationError:
        return None


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def load_all(rows: list[dict], workers: int) -> tuple[imports.LoadResult, float]:
    """Load rows through the bulk import path, a commit per batch; prints progress."""
    started = time.perf_counter()
    result = imports.LoadResult()
    for progress in imports.load_reports(rows, created_by="bench", workers=workers):
        db.session.commit()
        result = progress
        done = len(result.ids)
        if done % 100_000 < imports.BATCH_SIZE:
            print(f"loaded {done} ({done / (time.perf_counter() - started):.0f}/s)", flush=True)
    seconds = time.perf_counter() - started
    print(
        f"loaded {result.loaded} reports in {seconds:.1f}s ({result.loaded / seconds:.0f}/s, "
        f"{workers} worker processes; {len(result.errors)} refused by the schema)"
    )
    return result, seconds


def index_mb() -> float:
    """On-disk size of the matching index: its tables and their indexes."""
    names = ", ".join(f"'{name}'" for name in INDEX_TABLES)
    if db.session.get_bind().dialect.name == "postgresql":
        size = db.session.scalar(
            text(
                f"SELECT sum(pg_total_relation_size(oid)) FROM pg_class WHERE relname IN ({names})"
            )
        )
    else:
        # dbstat counts pages by table and index; SQLite names its automatic indexes after them.
        size = db.session.scalar(
            text(
                "SELECT sum(pgsize) FROM dbstat WHERE name IN "
                f"(SELECT name FROM sqlite_master WHERE tbl_name IN ({names}))"
            )
        )
    return round(float(size or 0) / 2**20, 1)


def synthetic(args: argparse.Namespace) -> None:
    import synthetic_people

    tmp = tempfile.mkdtemp(prefix="bench-matching-")
    url = args.database_url or f"sqlite:///{tmp}/bench.db"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REUNITE_ENV": "test"})
    schema = ReportInSchema()
    n = args.synthetic
    # Queries are drawn from a sample of the registry.
    every = max(1, n // 20_000)
    with app.test_request_context():
        upgrade()
        matching.warm_up()
        # Generated before the clock starts: the load rate is the project's, not the generator's.
        started = time.perf_counter()
        rows = list(synthetic_people.registry(n, seed=args.seed))
        sample = rows[::every]
        print(f"generated {n} synthetic reports in {time.perf_counter() - started:.0f}s")
        # A real import streams its file; this one holds a million generated rows in memory, and
        # the garbage collector would walk them all at every full collection. Exempt them.
        gc.freeze()
        result, load_s = load_all(rows, args.workers)
        del rows
        loaded = result.loaded
        size = index_mb()
        print(f"index on disk: {size} MB")

        # A server that has been answering for a while: its caches hold the common names.
        for row in synthetic_people.queries(sample, args.warmup, seed=args.seed + 2):
            row.pop("_truth")
            matching.refresh_matches(
                report=reports.submit_report(data=schema.load(row), created_by="bench")
            )
            db.session.commit()
        print(f"warmed up with {args.warmup} queries")

        latencies: list[float] = []
        found = top1 = 0
        registered = 0
        for row in synthetic_people.queries(sample, args.queries, seed=args.seed + 1):
            truth = row.pop("_truth")
            report = reports.submit_report(data=schema.load(row), created_by="bench")
            t0 = time.perf_counter()
            matching.refresh_matches(report=report)
            latencies.append((time.perf_counter() - t0) * 1000)
            db.session.commit()
            if truth is None:
                continue
            registered += 1
            want = sample[truth]["source_url"]
            best = (
                db.session.execute(
                    select(Report.source_url)
                    .join(MatchCandidate, Report.id == MatchCandidate.right_report_id)
                    .where(
                        MatchCandidate.left_report_id == report.id, MatchCandidate.kind == "match"
                    )
                    .order_by(MatchCandidate.score.desc())
                    .limit(10)
                )
                .scalars()
                .all()
            )
            found += want in best
            top1 += bool(best) and best[0] == want
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    share = max(registered, 1)
    print(
        f"queries: {len(latencies)}; {registered} registered: recall@1 {top1 / share:.3f}, "
        f"recall@10 {found / share:.3f}"
    )
    print(f"peak process memory {rss:.0f} MB")
    result = {
        "n": loaded,
        "load_per_s": round(loaded / load_s, 1),
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(percentile(latencies, 0.95), 1),
        "index_mb": size,
    }
    print(f"per query (match + index): p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms")
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data_dir", type=Path, nargs="?")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--synthetic", type=int, metavar="N", help="a synthetic registry of N")
    parser.add_argument("--queries", type=int, default=1000, help="with --synthetic")
    parser.add_argument(
        "--warmup", type=int, default=300, help="with --synthetic: untimed queries first"
    )
    parser.add_argument("--seed", type=int, default=0, help="with --synthetic")
    parser.add_argument(
        "--workers",
        type=int,
        default=imports.default_workers(),
        help="processes validating and preparing while one writes (default: one per core)",
    )
    args = parser.parse_args()
    if args.synthetic:
        synthetic(args)
        return
    if args.data_dir is None or args.out is None:
        parser.error("give DATA_DIR and --out, or --synthetic N")

    tmp = tempfile.mkdtemp(prefix="bench-matching-")
    url = args.database_url or f"sqlite:///{tmp}/bench.db"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REUNITE_ENV": "test"})
    registry = read_jsonl(args.data_dir / "registry.jsonl")
    queries = read_jsonl(args.data_dir / "queries.jsonl")

    with app.test_request_context():
        upgrade()
        matching.warm_up()
        result, load_s = load_all([with_source(row) for row in registry], args.workers)
        refused = len(result.errors)

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
