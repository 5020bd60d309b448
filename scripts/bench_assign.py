"""Benchmark the assignment engine on synthetic volunteers and tasks (not a test).

    .venv/bin/python scripts/bench_assign.py [--volunteers 20000] [--tasks 2000]
                                             [--urgent-pool 100000] [--urgent-tasks 200]
                                             [--repeat 3] [--seed 7]

Volunteers cluster around five disaster towns (Yauco and Ponce in Puerto Rico, Port-au-Prince,
Antakya and Kahramanmaraş), with the local languages, English for some, one to three skills
from the taxonomy at realistic shares, availability windows for 40%, capacities of 1–3 tasks,
some tasks already in hand, a few opted out or without a location. Tasks cluster the same way
and need zero to two skills, often the local language, one to five people, with priorities,
windows and minors.

(a) batch: prepare the pool of --volunteers and solve the --tasks open tasks (filters, costs,
the best candidates per task, the matching, every reason); the median of --repeat runs. With
--check, also solve once keeping every feasible volunteer (exact, slow: ~30 s at 20,000) and
print how much the pruning cost.
(b) urgent: --urgent-pool volunteers. First the engine alone: a pool prepared once, then the
best ten of each of --urgent-tasks urgent tasks ranked. Then the whole dispatch through the
service on a real database (a temporary SQLite file, or --database-url): the volunteers are rows,
the process's pool is built once (timed apart, as a worker keeps it), and each urgent task is
dispatched: ranked from the pool, its best candidates re-ranked with their live load, declines and
opt-outs, the offer rows, their SMS outbox rows and the history written and committed, the SMS
handed to the queue. `urgent_ms` is that dispatch's p95.

Runs on one core: BLAS/OpenMP threads are set to 1 before numpy loads, and the process is
pinned to one CPU. The last line is JSON {"batch_s", "urgent_ms"} (urgent_ms: the service
dispatch p95).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"
# The offers' SMS go to a queue of the benchmark's own, never to the instance's.
os.environ["HUEY_SQLITE_PATH"] = os.path.join(
    __import__("tempfile").mkdtemp(prefix="bench-assign-"), "huey.db"
)

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.volunteers.assign import (  # noqa: E402
    Task,
    Volunteer,
    Window,
    prepare_pool,
    rank,
    solve,
)

# (name, lat, lon, local languages, share of volunteers)
TOWNS = [
    ("Yauco", 18.035, -66.850, ("es",), 0.20),
    ("Ponce", 18.011, -66.614, ("es",), 0.25),
    ("Port-au-Prince", 18.543, -72.339, ("ht", "fr"), 0.25),
    ("Antakya", 36.202, 36.160, ("tr", "ar"), 0.18),
    ("Kahramanmaraş", 37.585, 36.937, ("tr",), 0.12),
]
SKILLS = [
    ("driving", 0.35),
    ("first_aid", 0.30),
    ("logistics", 0.25),
    ("shelter_ops", 0.20),
    ("psychosocial", 0.10),
    ("childcare", 0.10),
    ("search_rescue", 0.08),
    ("it_data", 0.08),
    ("medical", 0.05),
]
# Task needs lean to the scarce skills: that is where dispatch is hard.
TASK_SKILLS = [
    ("first_aid", 0.22),
    ("driving", 0.20),
    ("psychosocial", 0.12),
    ("shelter_ops", 0.10),
    ("logistics", 0.10),
    ("childcare", 0.08),
    ("search_rescue", 0.07),
    ("medical", 0.06),
    ("interpretation", 0.05),
]
NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)


def _point(rng: random.Random, town: tuple, sigma_km: float) -> tuple[float, float]:
    lat = town[1] + rng.gauss(0, sigma_km) / 111.2
    lon = town[2] + rng.gauss(0, sigma_km) / (111.2 * math.cos(math.radians(town[1])))
    return (round(lat, 5), round(lon, 5))


def _pick(rng: random.Random, table: list[tuple[str, float]]) -> str:
    return rng.choices([n for n, _ in table], weights=[w for _, w in table])[0]


def _window(rng: random.Random, hours: tuple[int, int]) -> Window:
    start = NOW + timedelta(hours=rng.randrange(0, 72))
    return Window(start, start + timedelta(hours=rng.randint(*hours)))


def volunteers(n: int, seed: int) -> list[Volunteer]:
    """n synthetic volunteers around the towns."""
    rng = random.Random(seed)
    weights = [t[4] for t in TOWNS]
    out = []
    for i in range(n):
        town = rng.choices(TOWNS, weights=weights)[0]
        languages = {town[3][0]} if rng.random() < 0.9 else set(town[3])
        if rng.random() < 0.4:
            languages.add("en")
        skills = {s for s, share in SKILLS if rng.random() < share} or {_pick(rng, SKILLS)}
        if len(languages) > 1 and rng.random() < 0.25:
            skills |= {f"interpretation:{lang}" for lang in languages}
        max_tasks = rng.choices([1, 2, 3], weights=[0.6, 0.3, 0.1])[0]
        out.append(
            Volunteer(
                id=f"v{i:06d}",
                skills=frozenset(skills),
                languages=frozenset(languages),
                point=None if rng.random() < 0.03 else _point(rng, town, 8.0),
                availability=tuple(_window(rng, (4, 12)) for _ in range(rng.randint(1, 3)))
                if rng.random() < 0.4
                else (),
                max_tasks=max_tasks,
                current_tasks=rng.randrange(max_tasks) if rng.random() < 0.3 else 0,
                vetted=rng.random() < 0.3,
                opted_out=rng.random() < 0.03,
                recent_declines=min(5, int(rng.expovariate(3.0))),
            )
        )
    return out


def tasks(n: int, seed: int) -> list[Task]:
    """n synthetic open tasks around the towns."""
    rng = random.Random(seed + 1)
    weights = [t[4] for t in TOWNS]
    out = []
    for i in range(n):
        town = rng.choices(TOWNS, weights=weights)[0]
        skills: set[str] = set()
        for _ in range(rng.choices([0, 1, 2], weights=[0.1, 0.7, 0.2])[0]):
            skill = _pick(rng, TASK_SKILLS)
            skills.add(f"interpretation:{town[3][0]}" if skill == "interpretation" else skill)
        out.append(
            Task(
                id=f"t{i:05d}",
                skills=frozenset(skills),
                languages=frozenset({town[3][0]}) if rng.random() < 0.6 else frozenset(),
                preferred_skills=frozenset({_pick(rng, SKILLS)})
                if rng.random() < 0.2
                else frozenset(),
                point=_point(rng, town, 5.0),
                window=_window(rng, (2, 6)) if rng.random() < 0.7 else None,
                people=rng.choices([1, 2, 3, 4, 5], weights=[0.7, 0.2, 0.05, 0.03, 0.02])[0],
                priority=rng.randint(1, 5),
                involves_minor=rng.random() < 0.15,
                radius_km=rng.choice([10.0, 25.0, 25.0, 25.0, 50.0]),
            )
        )
    return out


def _percentiles(per: list[float]) -> tuple[float, float, float]:
    per = sorted(per)
    return statistics.median(per), per[min(len(per) - 1, int(0.95 * len(per)))], per[-1]


def urgent_engine(big: list[Volunteer], urgent: list[Task]) -> float:
    """The engine alone: rank each urgent task's best ten from a pool prepared once."""
    start = time.perf_counter()
    pool = prepare_pool(big)
    prepare_big = time.perf_counter() - start
    for t in urgent[:20]:  # warm caches (taxonomy, numpy paths), untimed
        rank(pool, t)
    per = []
    found = 0
    for t in urgent:
        start = time.perf_counter()
        ranked = rank(pool, t, limit=10)
        per.append((time.perf_counter() - start) * 1000)
        found += bool(ranked)
    p50, p95, worst = _percentiles(per)
    print(
        f"urgent (engine): one task ranked among {len(big):,} volunteers (best 10 with reasons): "
        f"p50 {p50:.2f} ms, p95 {p95:.2f} ms, max {worst:.2f} ms over {len(per)} tasks, "
        f"{found} with candidates; pool prepared once in {prepare_big:.2f} s (not counted)."
    )
    return p95


def urgent_service(big: list[Volunteer], urgent: list[Task], database_url: str | None) -> float:
    """The whole dispatch through the service, as a coordinator's POST .../dispatch runs it:
    lock the task, rank from the process's pool, re-rank the best with their live load,
    declines and opt-outs, write the offer rows, their outbox rows (the SMS) and the history,
    commit, and hand the SMS to the queue. Volunteers are rows in a real database."""
    import tempfile

    from flask_migrate import upgrade
    from sqlalchemy import insert

    from app import create_app
    from app.extensions import db
    from app.volunteers.models import Volunteer as VolunteerRow
    from app.volunteers.service import dispatch
    from app.volunteers.service import tasks as task_service

    tmp = tempfile.TemporaryDirectory()
    url = database_url or f"sqlite:///{tmp.name}/bench.db"
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "REUNITE_ENV": "test",
            "HUEY_IMMEDIATE": False,
            "SMS_BACKEND": "console",
        }
    )
    with app.app_context():
        upgrade()
        start = time.perf_counter()
        rows = [
            {
                "id": f"01v{i:023d}",
                "name": "Synthetic Volunteer",
                "phone": f"+1555{i:07d}",
                "languages": sorted(v.languages),
                "skills": sorted(v.skills),
                "home_location": None,
                "lat": v.point[0] if v.point else None,
                "lon": v.point[1] if v.point else None,
                "availability": [
                    {"start": w.start.isoformat(), "end": w.end.isoformat()} for w in v.availability
                ],
                "max_tasks": v.max_tasks,
                "vetted": v.vetted,
                "opted_out": v.opted_out,
                "created_by": "bench",
                "created_at": NOW,
                "updated_at": NOW,
                "version": 1,
            }
            for i, v in enumerate(big)
        ]
        for i in range(0, len(rows), 10_000):
            db.session.execute(insert(VolunteerRow), rows[i : i + 10_000])
        db.session.commit()
        loaded = time.perf_counter() - start
        start = time.perf_counter()
        dispatch.warm_pool()
        built = time.perf_counter() - start
        ids = []
        for t in urgent:
            task = task_service.create_task(
                data={
                    "title": "Urgent: help needed",
                    "skills": sorted(t.skills),
                    "languages": sorted(t.languages),
                    "lat": t.point[0],
                    "lon": t.point[1],
                    "people": 1,
                    "priority": 5,
                    "involves_minor": t.involves_minor,
                    "radius_km": t.radius_km,
                },
                created_by="bench",
            )
            ids.append(task.id)
        db.session.commit()
        per = []
        offers = 0
        for n, task_id in enumerate(ids):
            task = db.session.get(task_service.Task, task_id)
            start = time.perf_counter()
            result = dispatch.dispatch_task(task=task, actor="bench")
            db.session.commit()
            elapsed = (time.perf_counter() - start) * 1000
            if n >= 10:  # the first few warm the statement caches
                per.append(elapsed)
            offers += len(result.offers)
        db.session.remove()
        db.engine.dispose()
    p50, p95, worst = _percentiles(per)
    print(
        f"urgent (service, {'PostgreSQL' if url.startswith('postgres') else 'SQLite'}): one task "
        f"dispatched among {len(big):,} volunteers (ranked, re-ranked live, offer rows, SMS outbox "
        f"rows and history written, committed): p50 {p50:.2f} ms, p95 {p95:.2f} ms, max "
        f"{worst:.2f} ms over {len(per)} tasks, {offers} offers sent; volunteers loaded in "
        f"{loaded:.1f} s and the process's pool built in {built:.2f} s (once, not counted)."
    )
    tmp.cleanup()
    return p95


def one_core() -> str:
    """Pin this process to one CPU; say which."""
    try:
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    except (AttributeError, OSError):
        return "not pinned (no sched_setaffinity)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--volunteers", type=int, default=20_000)
    parser.add_argument("--tasks", type=int, default=2_000)
    parser.add_argument("--urgent-pool", type=int, default=100_000)
    parser.add_argument("--urgent-tasks", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--check", action="store_true", help="compare with the exact optimum")
    parser.add_argument(
        "--database-url",
        help="an empty database for the urgent dispatch (default: a temporary SQLite file)",
    )
    args = parser.parse_args()
    print(one_core(), "; BLAS/OpenMP threads 1", flush=True)

    vs = volunteers(args.volunteers, args.seed)
    ts = tasks(args.tasks, args.seed)
    times = []
    for _ in range(max(1, args.repeat)):
        start = time.perf_counter()
        pool = prepare_pool(vs)
        prepared = time.perf_counter()
        plan = solve(pool, ts)
        end = time.perf_counter()
        times.append((end - start, prepared - start))
    batch_s, prepare_s = sorted(times)[len(times) // 2]
    places = sum(t.people for t in ts)
    filled = len(plan.assignments)
    empty = sum(u.missing for u in plan.unassigned)
    codes: dict[str, int] = {}
    for u in plan.unassigned:
        codes[u.reasons[0].code] = codes.get(u.reasons[0].code, 0) + u.missing
    print(
        f"batch: {len(ts):,} tasks ({places:,} places) among {len(vs):,} volunteers: "
        f"{batch_s:.3f} s median of {len(times)} (pool {prepare_s:.3f} s, solve "
        f"{batch_s - prepare_s:.3f} s); {filled:,} places filled, {empty:,} empty {codes}"
    )

    if args.check:
        start = time.perf_counter()
        exact = solve(prepare_pool(vs), ts, keep=None)
        print(
            f"exact (every feasible volunteer kept): cost {exact.cost:.4f} vs pruned "
            f"{plan.cost:.4f} (+{(plan.cost / exact.cost - 1) * 100 if exact.cost else 0:.2f}%), "
            f"{len(exact.assignments):,} places filled, {time.perf_counter() - start:.1f} s"
        )

    big = volunteers(args.urgent_pool, args.seed + 100)
    urgent = [
        Task(
            id=t.id,
            skills=t.skills,
            languages=t.languages,
            point=t.point,
            window=t.window,
            people=1,
            priority=5,
            involves_minor=t.involves_minor,
            radius_km=t.radius_km,
        )
        for t in tasks(args.urgent_tasks, args.seed + 200)
    ]
    engine_p95 = urgent_engine(big, urgent)
    service_p95 = urgent_service(big, urgent, args.database_url)
    print(
        f"urgent: engine ranking p95 {engine_p95:.2f} ms; dispatch service p95 {service_p95:.2f} ms"
    )
    print(json.dumps({"batch_s": round(batch_s, 3), "urgent_ms": round(service_p95, 2)}))


if __name__ == "__main__":
    main()
