"""Fit the matching model on labelled data and write app/matching/engine/data/model.json.

    .venv/bin/python scripts/train_matching.py ../shared/data/matching-dev [--folds 5] [--write]

Reads registry.jsonl, queries.jsonl and truth.jsonl (truth is read here only, never by the
benchmark), prepares every record with the engine, blocks and compares each query with its
candidates, and fits the conditional-logit weights (L2-regularised maximum likelihood) so that
for each query the true candidate, or 'not registered', gets the probability mass. Prints
cross-validated metrics (the scorer's definitions) so over-fitting shows, then fits on all data.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.matching.engine.blocking import (  # noqa: E402
    BLOCK_LIMIT,
    MAX_POSTING,
    KeyIndex,
    blocking_keys,
    shortlist,
)
from app.matching.engine.compare import TokenStats  # noqa: E402
from app.matching.engine.features import add_namesake_features, compare  # noqa: E402
from app.matching.engine.matcher import SHORTLIST  # noqa: E402
from app.matching.engine.model import MODEL_FILE, Model  # noqa: E402
from app.matching.engine.records import PersonRecord, prepare  # noqa: E402

FIELDS = set(PersonRecord.__dataclass_fields__)
L2 = 0.01


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def to_record(row: dict) -> PersonRecord:
    data = {k: v for k, v in row.items() if k in FIELDS}
    data["alternate_names"] = tuple(row.get("alternate_names") or ())
    return PersonRecord(**data)


def geocoder():
    try:
        from app.geo import default_gazetteer
    except ImportError:
        return None
    gazetteer = default_gazetteer()

    def geocode(text, country):
        place = gazetteer.geocode(text, country)
        return (place.lat, place.lon) if place else None

    return geocode


GEOCODE = geocoder()


def build(data_dir: Path):
    geocode = GEOCODE
    registry = [prepare(to_record(r), geocode) for r in read_jsonl(data_dir / "registry.jsonl")]
    queries = [prepare(to_record(r), geocode) for r in read_jsonl(data_dir / "queries.jsonl")]
    stats = TokenStats()
    index = KeyIndex()
    for profile in registry:
        stats.add(list(profile.name_words))
        index.add(profile.id, blocking_keys(profile))
    return registry, queries, stats, index


def comparisons(queries, registry_by_id, stats, index):
    out = []
    for query in queries:
        ids = index.candidates(blocking_keys(query), BLOCK_LIMIT, MAX_POSTING)
        chosen = shortlist(query, [registry_by_id[cid] for cid in ids], SHORTLIST)
        rows = [(c.id, *compare(query, c, stats, GEOCODE)) for c in chosen]
        add_namesake_features([f for _, f, _ in rows])
        out.append((query.id, rows))
    return out


def matrices(compared, names):
    """Per query: feature matrix of its candidates and their ids."""
    out = []
    for qid, rows in compared:
        x = np.array([[f.get(n, 0.0) for n in names] for _, f, _ in rows]).reshape(-1, len(names))
        out.append((qid, [cid for cid, _, _ in rows], x))
    return out


def fit(data, truth, names):
    """Maximum likelihood of the conditional logit with an L2 penalty; returns (w, none).

    All queries' candidates are stacked in one matrix (each query a contiguous block), so the
    log-sum-exp of every query is one reduceat; a query without candidates adds nothing.
    """
    data = [d for d in data if len(d[1])]
    x = np.vstack([m for _, _, m in data]) if data else np.zeros((0, len(names)))
    sizes = np.array([len(ids) for _, ids, _ in data], dtype=int)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(int)
    query_of = np.repeat(np.arange(len(data)), sizes)
    target = np.array(
        [
            start + ids.index(truth[q]) if truth.get(q) in ids else -1
            for (q, ids, _), start in zip(data, starts, strict=True)
        ],
        dtype=int,
    )
    matched = target >= 0

    def loss(params):
        w, none = params[:-1], params[-1]
        z = x @ w
        top = np.maximum(np.maximum.reduceat(z, starts), none)
        e = np.exp(z - top[query_of])
        e_none = np.exp(none - top)
        denom = e_none + np.add.reduceat(e, starts)
        chosen = np.where(matched, z[np.maximum(target, 0)], none)
        total = float((top + np.log(denom) - chosen).sum()) + L2 * float(w @ w)
        grad_w = (e / denom[query_of]) @ x - x[target[matched]].sum(axis=0) + 2 * L2 * w
        grad_none = float((e_none / denom).sum()) - float((~matched).sum())
        return total, np.concatenate([grad_w, [grad_none]])

    start = np.zeros(len(names) + 1)
    result = minimize(loss, start, jac=True, method="L-BFGS-B")
    return result.x[:-1], float(result.x[-1])


def predict(data, w, none):
    model = Model(weights={}, none_score=none, alert_threshold=0.9)
    preds = {}
    for qid, ids, x in data:
        z = list(x @ w) if len(ids) else []
        p = model.posteriors(z)
        preds[qid] = sorted(zip(ids, p, strict=True), key=lambda t: -t[1])[:10]
    return preds


def metrics(preds, truth, threshold):
    pos = [q for q, m in truth.items() if m and q in preds]
    neg = [q for q, m in truth.items() if not m and q in preds]
    r1 = sum(1 for q in pos if preds[q][:1] and preds[q][0][0] == truth[q]) / max(len(pos), 1)
    r5 = sum(1 for q in pos if truth[q] in [c for c, _ in preds[q][:5]]) / max(len(pos), 1)
    tp = fp = 0
    for q in preds:
        c = preds[q]
        if c and c[0][1] >= threshold:
            if c[0][0] == truth.get(q):
                tp += 1
            else:
                fp += 1
    false_alerts = sum(1 for q in neg if preds[q] and preds[q][0][1] >= threshold)
    return {
        "recall@1": round(r1, 4),
        "recall@5": round(r5, 4),
        "alert_precision": round(tp / (tp + fp), 4) if tp + fp else None,
        "alert_recall": round(tp / max(len(pos), 1), 4),
        "false_alert_rate_no_match": round(false_alerts / max(len(neg), 1), 4),
        "threshold": threshold,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--threshold", type=float, default=0.9)
    parser.add_argument("--write", action="store_true", help="write the fitted model")
    args = parser.parse_args()

    started = time.perf_counter()
    registry, queries, stats, index = build(args.data_dir)
    registry_by_id = {p.id: p for p in registry}
    truth = {t["query"]: t["match"] for t in read_jsonl(args.data_dir / "truth.jsonl")}
    compared = comparisons(queries, registry_by_id, stats, index)
    names = sorted({n for _, rows in compared for _, f, _ in rows for n in f})
    data = matrices(compared, names)
    blocked = sum(1 for qid, ids, _ in data if truth.get(qid) in ids)
    with_match = sum(1 for m in truth.values() if m)
    print(
        f"prepared and compared in {time.perf_counter() - started:.1f}s; "
        f"blocking recall {blocked / with_match:.4f} ({blocked}/{with_match})"
    )

    preds: dict[str, list] = {}
    for fold in range(args.folds):
        train = [d for i, d in enumerate(data) if i % args.folds != fold]
        test = [d for i, d in enumerate(data) if i % args.folds == fold]
        w, none = fit(train, truth, names)
        preds.update(predict(test, w, none))
    print("cross-validated:", json.dumps(metrics(preds, truth, args.threshold)))
    for threshold in (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95):
        m = metrics(preds, truth, threshold)
        print(
            f"  at {threshold:.2f}: precision {m['alert_precision']} recall {m['alert_recall']}"
            f" false alerts {m['false_alert_rate_no_match']}"
        )

    w, none = fit(data, truth, names)
    print("in-sample:      ", json.dumps(metrics(predict(data, w, none), truth, args.threshold)))
    model = Model(
        weights={n: round(float(v), 4) for n, v in zip(names, w, strict=True)},
        none_score=round(none, 4),
        alert_threshold=args.threshold,
    )
    for name, value in sorted(model.weights.items(), key=lambda kv: -abs(kv[1])):
        print(f"  {name:24s} {value:+.3f}")
    print(f"  {'none_score':24s} {model.none_score:+.3f}")
    if args.write:
        MODEL_FILE.write_text(model.to_json() + "\n", encoding="utf-8")
        print(f"wrote {MODEL_FILE}")


if __name__ == "__main__":
    main()
