"""Benchmark and check the offline gazetteer on the matching dev data (not a test).

    .venv/bin/python scripts/bench_geo.py [--data DIR] [--within-km 25]

Builds the default gazetteer (cities500) and prints its build time and RSS growth; geocodes
every last_known_location and home_city of DIR/registry.jsonl and DIR/queries.jsonl with the
row's home_country as the hint; prints the share resolved and the time per call (p50/p95, with
the LRU cache as in production, and without it for each distinct input); and, for registry rows
that carry lat/lon, the share whose geocoded last_known_location lies within --within-km of the
given point: a measure of correctness. Breakdowns by step and country show where misses and
wrong places come from. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.geo import Gazetteer, default_gazetteer, distance_km  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "matching-dev"


def rss_mb() -> float:
    """Resident set size of this process now, in MB."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def percentile(values: list[float], share: float) -> float:
    """The value below which share of values lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def load(path: Path) -> list[dict[str, Any]]:
    """The rows of a JSON-lines file."""
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


@dataclass
class Check:
    """Geocoded last_known_locations of registry rows against the coordinates they carry."""

    checked: int = 0
    within: int = 0
    wrong: int = 0
    by_step: Counter[tuple[str, str]] = field(default_factory=Counter)
    by_country: Counter[tuple[str, str]] = field(default_factory=Counter)
    worst: list[tuple[float, str, str | None, str]] = field(default_factory=list)

    def report(self, label: str, within_km: float) -> None:
        """Print the shares and the breakdowns."""
        n = self.checked
        none = n - self.within - self.wrong
        print(
            f"registry rows with lat/lon, {label}: {n:,}; within {within_km:g} km "
            f"{self.within / n:.1%}, elsewhere {self.wrong / n:.1%}, unresolved {none / n:.1%}"
        )
        print("  by deciding step (within / elsewhere / unresolved: nothing found, or ambiguous):")
        for step in sorted({s for s, _ in self.by_step}):
            counts = [self.by_step[(step, kind)] for kind in ("within", "wrong", "unresolved")]
            print(f"    {step:<13} " + " / ".join(f"{c:,}" for c in counts))
        print("  by home_country (within / elsewhere / unresolved):")
        for key in sorted({k for k, _ in self.by_country}):
            counts = [self.by_country[(key, kind)] for kind in ("within", "wrong", "unresolved")]
            print(f"    {key:<7} " + " / ".join(f"{c:,}" for c in counts))
        print("  farthest wrong places:")
        for km, text, country, name in sorted(self.worst, reverse=True)[:8]:
            print(f"    {km:8.0f} km  {text!r} [{country}] -> {name}")


def check(
    gazetteer: Gazetteer,
    registry: list[dict[str, Any]],
    areas: dict[str, tuple[float, float]],
    within_km: float,
) -> Check:
    """Geocode each registry row that has lat/lon (near its country's area, if any)."""
    result = Check()
    for row in registry:
        if row.get("lat") is None or row.get("lon") is None:
            continue
        result.checked += 1
        text, country = row["last_known_location"], row.get("home_country")
        key = country or "(none)"
        # The private step name says which rule decided; the public API does not expose it.
        place, step = gazetteer._resolve_step(
            text, gazetteer.normalize_country(country), areas.get(country or "")
        )
        if place is None:
            result.by_step[(step, "unresolved")] += 1
            result.by_country[(key, "unresolved")] += 1
            continue
        km = distance_km((row["lat"], row["lon"]), (place.lat, place.lon))
        kind = "within" if km <= within_km else "wrong"
        result.within += kind == "within"
        result.wrong += kind == "wrong"
        result.by_step[(step, kind)] += 1
        result.by_country[(key, kind)] += 1
        if kind == "wrong":
            result.worst.append((km, text, country, f"{place.name} {place.country}"))
    return result


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--within-km", type=float, default=25.0)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print a report and, last, one JSON line."""
    args = parse_args(argv)
    registry = load(args.data / "registry.jsonl")
    queries = load(args.data / "queries.jsonl")

    gc.collect()
    rss_before = rss_mb()
    started = time.perf_counter()
    gazetteer = default_gazetteer()
    build_s = time.perf_counter() - started
    rss_growth = rss_mb() - rss_before
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3
    print(f"build: {len(gazetteer):,} places in {build_s:.2f} s, RSS +{rss_growth:.0f} MB")
    print(f"       (peak RSS of the process {peak_mb:.0f} MB)")

    inputs: list[tuple[str, str | None]] = []
    for row in registry + queries:
        for name in ("last_known_location", "home_city"):
            text = row.get(name)
            if isinstance(text, str) and text.strip():
                inputs.append((text, row.get("home_country")))

    # As in production: the LRU cache answers repeated (text, country) pairs.
    times: list[float] = []
    resolved = 0
    fuzzy = 0
    for text, country in inputs:
        started = time.perf_counter()
        place = gazetteer.geocode(text, country)
        times.append((time.perf_counter() - started) * 1e3)
        if place is not None:
            resolved += 1
            fuzzy += not place.exact
    # Each distinct input once, without the cache: the cost of resolving.
    distinct = list(dict.fromkeys(inputs))
    gazetteer.clear_cache()
    cold: list[float] = []
    for text, country in distinct:
        started = time.perf_counter()
        gazetteer.geocode(text, country)
        cold.append((time.perf_counter() - started) * 1e3)

    # A deployment knows its disaster area. Stand-in: per home_country, the median point of
    # the last_known_locations resolved without help (the truth coordinates are not used).
    points: dict[str, list[tuple[float, float]]] = {}
    for row in registry + queries:
        country = row.get("home_country")
        place = gazetteer.geocode(row.get("last_known_location"), country)
        if country and place is not None:
            points.setdefault(country, []).append((place.lat, place.lon))
    areas = {
        country: (statistics.median(p[0] for p in pts), statistics.median(p[1] for p in pts))
        for country, pts in points.items()
    }
    plain = check(gazetteer, registry, {}, args.within_km)
    near = check(gazetteer, registry, areas, args.within_km)

    n = len(inputs)
    print(f"inputs: {n:,} ({len(distinct):,} distinct), resolved {resolved / n:.1%}")
    print(f"        fuzzy (exact=False) {fuzzy / n:.1%} of inputs")
    print(
        f"time per call with cache: p50 {percentile(times, 0.5):.3f} ms, "
        f"p95 {percentile(times, 0.95):.3f} ms, mean {statistics.fmean(times):.3f} ms"
    )
    print(
        f"time per distinct input, uncached: p50 {percentile(cold, 0.5):.3f} ms, "
        f"p95 {percentile(cold, 0.95):.3f} ms, max {max(cold):.1f} ms"
    )
    for label, result in (("text and home_country only", plain), ("near the area", near)):
        result.report(label, args.within_km)

    summary = {
        "places": len(gazetteer),
        "build_s": round(build_s, 2),
        "rss_growth_mb": round(rss_growth),
        "inputs": n,
        "resolved_share": round(resolved / n, 4),
        "fuzzy_share": round(fuzzy / n, 4),
        "p50_ms": round(percentile(times, 0.5), 4),
        "p95_ms": round(percentile(times, 0.95), 4),
        "uncached_p50_ms": round(percentile(cold, 0.5), 4),
        "uncached_p95_ms": round(percentile(cold, 0.95), 4),
        "checked_rows": plain.checked,
        "within_km": args.within_km,
        "within_share": round(plain.within / plain.checked, 4),
        "wrong_share": round(plain.wrong / plain.checked, 4),
        "near_within_share": round(near.within / near.checked, 4),
        "near_wrong_share": round(near.wrong / near.checked, 4),
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
