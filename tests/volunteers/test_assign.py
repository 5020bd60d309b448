"""The pure assignment engine: filters, costs, reasons, optimality (no app, no database)."""

from __future__ import annotations

import itertools
import json
import math
import random
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp

from app.geo.distance import distance_km
from app.volunteers.assign import (
    Task,
    Volunteer,
    Window,
    load_taxonomy,
    prepare_pool,
    rank,
    solve,
)
from app.volunteers.assign.cost import (
    DECLINES_CAP,
    MAX_COST,
    UNASSIGNED_STEP,
    W_DECLINES,
    W_DISTANCE,
    W_LOAD,
    W_SKILL,
    unassigned_cost,
)
from app.volunteers.assign.filters import feasible, haversine_km
from app.volunteers.assign.solve import why_none

YAUCO = (18.0347, -66.8497)
PONCE = (18.0111, -66.6141)  # about 25 km east of Yauco
ANTAKYA = (36.2021, 36.1600)
T0 = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)


def near(point: tuple[float, float], km_north: float = 0.0, km_east: float = 0.0):
    """A point so many km north and east of another."""
    lat = point[0] + km_north / 111.195
    return (lat, point[1] + km_east / (111.195 * math.cos(math.radians(point[0]))))


def volunteer(id: str, **fields) -> Volunteer:
    fields.setdefault("skills", frozenset({"first_aid"}))
    fields.setdefault("languages", frozenset({"es"}))
    fields.setdefault("point", YAUCO)
    return Volunteer(id=id, **fields)


def task(id: str = "t-escort", **fields) -> Task:
    fields.setdefault("skills", frozenset({"first_aid"}))
    fields.setdefault("point", YAUCO)
    return Task(id=id, **fields)


def ids(ranked) -> list[str]:
    return [r.volunteer_id for r in ranked]


# Hard filters


@pytest.mark.parametrize(
    ("who", "need", "code"),
    [
        ({"skills": frozenset({"driving"})}, {}, "no_skill"),
        ({"languages": frozenset({"en"})}, {"languages": frozenset({"es"})}, "no_language"),
        ({"vetted": False}, {"involves_minor": True}, "not_vetted"),
        ({"opted_out": True}, {}, "opted_out"),
        ({"max_tasks": 2, "current_tasks": 2}, {}, "at_capacity"),
        ({"max_tasks": 0}, {}, "at_capacity"),
        ({"point": near(YAUCO, km_north=30)}, {}, "too_far"),
        ({"point": None}, {}, "too_far"),
        ({"point": near(YAUCO, km_east=8), "travel_km": 5.0}, {}, "too_far"),
        (
            {"availability": (Window(T0, T0 + timedelta(hours=4)),)},
            {"window": Window(T0 + timedelta(hours=4), T0 + timedelta(hours=6))},
            "unavailable",
        ),
    ],
)
def test_each_hard_filter_excludes_and_says_why(who, need, code):
    assert ids(rank([volunteer("v-lucia", **who)], task(**need))) == []
    reasons = why_none([volunteer("v-lucia", **who)], task(**need))
    assert reasons[0].code == code
    # The same volunteer without the obstacle qualifies.
    assert ids(rank([volunteer("v-lucia")], task(**need) if code != "not_vetted" else task())) == [
        "v-lucia"
    ]


def test_every_required_skill_and_language_is_needed():
    both = volunteer(
        "v-amina",
        skills=frozenset({"first_aid", "interpretation:ar"}),
        languages=frozenset({"ar", "tr"}),
        point=ANTAKYA,
    )
    one = volunteer(
        "v-mehmet", skills=frozenset({"first_aid"}), languages=frozenset({"tr"}), point=ANTAKYA
    )
    need = task(
        skills=frozenset({"first_aid", "interpretation:ar"}),
        languages=frozenset({"tr", "ar"}),
        point=ANTAKYA,
    )
    assert ids(rank([one, both], need)) == ["v-amina"]


def test_vetted_volunteers_take_tasks_with_minors():
    vetted = volunteer("v-rosa", vetted=True, point=near(YAUCO, km_east=10))
    not_vetted = volunteer("v-pedro", vetted=False)
    assert ids(rank([vetted, not_vetted], task(involves_minor=True))) == ["v-rosa"]
    assert ids(rank([vetted, not_vetted], task())) == ["v-pedro", "v-rosa"]


def test_availability_windows_must_overlap_the_task():
    morning = Window(T0, T0 + timedelta(hours=4))
    evening = Window(T0 + timedelta(hours=10), T0 + timedelta(hours=14))
    need = task(window=Window(T0 + timedelta(hours=3), T0 + timedelta(hours=5)))
    pool = [
        volunteer("v-ana", availability=(evening, morning)),  # the second window overlaps
        volunteer("v-bea", availability=(evening,)),
        volunteer("v-cruz"),  # no windows given: any time
    ]
    assert sorted(ids(rank(pool, need))) == ["v-ana", "v-cruz"]
    # A task with no window only asks for spare capacity.
    assert len(rank(pool, task())) == 3


def test_a_remote_task_takes_volunteers_anywhere_even_without_a_location():
    phone = task(skills=frozenset({"interpretation:ar"}), point=None)
    pool = [
        volunteer("v-karim", skills=frozenset({"interpretation:ar"}), point=None),
        volunteer("v-layla", skills=frozenset({"interpretation:ar"}), point=ANTAKYA),
    ]
    ranked = rank(pool, phone)
    assert sorted(ids(ranked)) == ["v-karim", "v-layla"]
    assert all(r.distance_km is None for r in ranked)


def test_vectorized_distance_agrees_with_app_geo():
    rng = random.Random(3)
    points = [(rng.uniform(-80, 80), rng.uniform(-179, 179)) for _ in range(200)]
    pool = prepare_pool([volunteer(f"v{i}", point=p) for i, p in enumerate(points)])
    rows = np.arange(len(pool))
    km = haversine_km(pool, rows, YAUCO)
    for row, d in zip(rows, km, strict=True):
        assert d == pytest.approx(distance_km(YAUCO, pool.volunteers[row].point), abs=1e-6)


def test_the_radius_is_great_circle_not_a_latitude_box():
    # 20 km north and 20 km east is 28 km away: outside 25 km though inside the band.
    pool = [
        volunteer("v-diag", point=near(YAUCO, 20, 20)),
        volunteer("v-in", point=near(YAUCO, 17)),
    ]
    assert ids(rank(pool, task())) == ["v-in"]


# Cost and ranking


def test_closer_ranks_first_and_ties_break_by_id():
    pool = [
        volunteer("v-far", point=near(YAUCO, km_east=12)),
        volunteer("v-b", point=near(YAUCO, km_east=3)),
        volunteer("v-a", point=near(YAUCO, km_east=3)),
    ]
    ranked = rank(pool, task())
    assert ids(ranked) == ["v-a", "v-b", "v-far"]
    assert ranked[0].cost == pytest.approx(ranked[1].cost)
    assert ranked[2].distance_km == pytest.approx(12, abs=0.01)


def test_recent_declines_outweigh_a_few_km():
    pool = [
        volunteer("v-declines", recent_declines=2),
        volunteer("v-further", point=near(YAUCO, km_east=5)),
    ]
    assert ids(rank(pool, task())) == ["v-further", "v-declines"]


def test_load_spreads_work():
    pool = [
        volunteer("v-busy", max_tasks=3, current_tasks=2),
        volunteer("v-idle", max_tasks=3, point=near(YAUCO, km_east=2)),
    ]
    assert ids(rank(pool, task())) == ["v-idle", "v-busy"]


def test_specialists_are_kept_for_tasks_only_they_can_do():
    driver = volunteer("v-driver", skills=frozenset({"driving"}), point=near(YAUCO, km_east=1))
    doctor = volunteer("v-doctor", skills=frozenset({"driving", "medical"}))
    assert ids(rank([driver, doctor], task(skills=frozenset({"driving"})))) == [
        "v-driver",
        "v-doctor",
    ]


def test_preferred_skills_lower_the_cost():
    plain = volunteer("v-plain", skills=frozenset({"driving"}))
    kind = volunteer(
        "v-kind", skills=frozenset({"driving", "psychosocial"}), point=near(YAUCO, km_east=1)
    )
    need = task(skills=frozenset({"driving"}), preferred_skills=frozenset({"psychosocial"}))
    assert ids(rank([plain, kind], need)) == ["v-kind", "v-plain"]


def test_cost_is_the_documented_weighted_sum():
    v = volunteer(
        "v-x",
        point=near(YAUCO, km_east=10),
        max_tasks=4,
        current_tasks=1,
        recent_declines=5,
        skills=frozenset({"first_aid", "driving"}),
    )
    (ranked,) = rank([v], task(radius_km=40.0))
    expected = W_DISTANCE * 10 / 40 + W_SKILL * 0.5 * 0.5 + W_LOAD * 1 / 4 + W_DECLINES * 1.0
    assert ranked.cost == pytest.approx(expected, abs=1e-3)
    assert DECLINES_CAP == 3
    assert MAX_COST < UNASSIGNED_STEP


def test_rank_limit_and_reasons_say_why_this_volunteer():
    pool = [volunteer(f"v{i:02d}", point=near(YAUCO, km_east=i)) for i in range(20)]
    ranked = rank(pool, task(languages=frozenset({"es"})), limit=5)
    assert ids(ranked) == ["v00", "v01", "v02", "v03", "v04"]
    reasons = {r.code: r for r in ranked[3].reasons}
    assert reasons["distance"].data["km"] == pytest.approx(3.0, abs=0.01)
    assert reasons["distance"].text == "3.0 km away (limit 25 km)"
    assert reasons["skills"].text == "Has First aid"
    assert reasons["languages"].text == "Speaks Spanish"
    assert reasons["load"].text == "0 of 1 task in hand"
    assert reasons["declines"].text == "No recent declines"
    assert reasons["cost"].data["place"] == 4 and reasons["cost"].data["feasible"] == 20
    assert len(rank(pool, task(), limit=None)) == 20
    assert rank(pool, task(), limit=0) == rank(pool, task(), limit=-3) == []
    assert len(solve(pool, [task(people=2)], keep=0).assignments) == 2  # keeps 2 × people


# Batch


def test_a_task_needing_k_people_gets_k_different_volunteers():
    pool = [volunteer(f"v{i}", max_tasks=3, point=near(YAUCO, km_east=i)) for i in range(4)]
    plan = solve(pool, [task(people=3)])
    assert sorted(a.volunteer_id for a in plan.assignments) == ["v0", "v1", "v2"]
    assert plan.unassigned == ()


def test_a_volunteer_never_fills_two_places_of_one_task_but_may_take_two_tasks():
    lucia = volunteer("v-lucia", max_tasks=2)
    plan = solve([lucia], [task("t-1", people=2), task("t-2", people=2)])
    assert sorted((a.task_id, a.volunteer_id) for a in plan.assignments) == [
        ("t-1", "v-lucia"),
        ("t-2", "v-lucia"),
    ]
    assert {(u.task_id, u.missing) for u in plan.unassigned} == {("t-1", 1), ("t-2", 1)}
    assert all(u.reasons[0].code == "too_few" for u in plan.unassigned)


def test_capacity_counts_tasks_in_hand():
    jose = volunteer("v-jose", max_tasks=3, current_tasks=2)
    plan = solve([jose], [task(f"t-{i}") for i in range(3)])
    assert len(plan.assignments) == 1


def test_high_priority_is_served_first_even_when_farther():
    only = volunteer("v-only", point=near(YAUCO, km_east=1))
    urgent = task("t-urgent", priority=5, point=near(YAUCO, km_east=20))
    routine = task("t-routine", priority=1, point=YAUCO)
    plan = solve([only], [routine, urgent])
    assert [(a.task_id, a.volunteer_id) for a in plan.assignments] == [("t-urgent", "v-only")]
    (left,) = plan.unassigned
    assert left.task_id == "t-routine" and left.reasons[0].code == "taken"


def test_the_batch_is_better_than_greedy():
    # Greedy gives the near volunteer to the first task and leaves the second one empty.
    a = volunteer("v-both", point=YAUCO)
    b = volunteer("v-east", point=near(YAUCO, km_east=12))
    t1 = task("t-1", point=near(YAUCO, km_east=6))
    t2 = task("t-2", point=near(YAUCO, km_north=-10, km_east=-2), radius_km=12.0)
    plan = solve([a, b], [t1, t2])
    assert sorted((x.task_id, x.volunteer_id) for x in plan.assignments) == [
        ("t-1", "v-east"),
        ("t-2", "v-both"),
    ]
    batch_reason = {r.code: r for r in plan.assignments[0].reasons}["cost"]
    assert batch_reason.data["feasible"] >= 1


def test_unassigned_tasks_say_which_filter_left_no_one():
    pool = [
        volunteer(
            "v-ayse", skills=frozenset({"first_aid"}), languages=frozenset({"tr"}), point=ANTAKYA
        ),
        volunteer(
            "v-omar",
            skills=frozenset({"driving"}),
            languages=frozenset({"ar"}),
            point=near(ANTAKYA, km_east=3),
        ),
    ]
    plan = solve(
        pool,
        [
            task("t-medical", skills=frozenset({"medical"}), point=ANTAKYA),
            task(
                "t-arabic-aid",
                skills=frozenset({"first_aid"}),
                languages=frozenset({"ar"}),
                point=ANTAKYA,
            ),
            task("t-yauco", point=YAUCO),
        ],
    )
    why = {u.task_id: u.reasons[0] for u in plan.unassigned}
    assert why["t-medical"].code == "no_skill"
    assert why["t-medical"].text == "No volunteer within 25 km has Medical"
    assert why["t-arabic-aid"].code == "no_language"
    assert "Arabic" in why["t-arabic-aid"].text
    assert why["t-yauco"].code == "too_far"
    assert plan.assignments == ()


# Bad input never crashes


def test_no_volunteers_no_tasks():
    empty = solve([], [])
    assert empty.assignments == () and empty.unassigned == () and empty.cost == 0
    plan = solve([], [task(people=3)])
    assert plan.unassigned[0].missing == 3
    assert plan.unassigned[0].reasons[0].code == "no_volunteers"
    assert solve([volunteer("v-1")], []).assignments == ()
    assert rank([], task()) == []


def test_more_people_needed_than_exist():
    pool = [volunteer(f"v{i}") for i in range(3)]
    plan = solve(pool, [task(people=1000)])
    assert len(plan.assignments) == 3
    assert plan.unassigned[0].missing == 997
    assert plan.unassigned[0].reasons[0].text == "Needs 1000; only 3 volunteers qualify"


@pytest.mark.parametrize(
    "odd",
    [
        {"people": 0},
        {"people": -2},
        {"radius_km": -5.0},
        {"radius_km": float("nan")},
        {"point": (float("nan"), 1.0)},
        {"point": (123.0, 500.0)},
        {"priority": 99},
        {"priority": -3},
        {"skills": frozenset({"juggling"})},
        {"skills": frozenset()},
        {"window": Window(T0 + timedelta(hours=5), T0)},
        {"languages": frozenset({"🙂"})},
    ],
)
def test_odd_tasks_are_planned_without_crashing(odd):
    pool = [
        volunteer("v-ok", availability=(Window(T0, T0 + timedelta(hours=8)),)),
        volunteer("v-nowhere", point=None),
        volunteer("v-bad-point", point=(float("inf"), 0.0)),
        volunteer("v-zero", max_tasks=0),
        volunteer("v-negative", max_tasks=-1, current_tasks=-4, recent_declines=-2),
        volunteer("v-ok", skills=frozenset({"medical"})),  # a repeated id: first one wins
    ]
    plan = solve(pool, [task(**odd), task("t-normal")])
    for a in plan.assignments:
        assert a.volunteer_id == "v-ok"
    assert len(plan.assignments) + sum(u.missing for u in plan.unassigned) == 1 + max(
        0, odd.get("people", 1)
    )
    rank(pool, task(**odd))
    why_none(pool, task(**odd))


def test_a_task_at_an_impossible_point_is_not_remote():
    plan = solve([volunteer("v-nowhere", point=None)], [task(point=(95.0, 10.0))])
    assert plan.unassigned[0].reasons[0].code == "bad_location"


def test_repeated_task_ids_are_planned_once():
    plan = solve([volunteer("v-1"), volunteer("v-2")], [task("t-1"), task("t-1")])
    assert len(plan.assignments) == 1
    assert [u.reasons[0].code for u in plan.unassigned] == ["duplicate"]


# Optimality


def _reference_optimum(volunteers: list[Volunteer], tasks: list[Task]) -> float:
    """The exact optimum by an independent route: plain-Python filters and costs, then a MILP."""
    pairs, costs = [], []
    for vi, v in enumerate(volunteers):
        remaining = max(0, v.max_tasks - max(0, v.current_tasks))
        for ti, t in enumerate(tasks):
            if v.opted_out or remaining == 0 or not (t.skills <= v.skills):
                continue
            if not (t.languages <= v.languages) or (t.involves_minor and not v.vetted):
                continue
            if (
                t.window
                and v.availability
                and not any(w.overlaps(t.window) for w in v.availability)
            ):
                continue
            km = distance_km(v.point, t.point)
            limit = t.radius_km if v.travel_km is None else min(t.radius_km, v.travel_km)
            if km > limit:
                continue
            own = len(v.skills)
            spare = (own - len(t.skills)) / own if own else 0.0
            load = min(max(0, v.current_tasks), v.max_tasks) / v.max_tasks
            cost = (
                W_DISTANCE * min(km / t.radius_km, 1.0)
                + W_SKILL * 0.5 * spare
                + W_LOAD * load
                + W_DECLINES * min(v.recent_declines, DECLINES_CAP) / DECLINES_CAP
            )
            pairs.append((vi, ti))
            costs.append(cost)
    n_x, n_u = len(pairs), len(tasks)
    c = np.array(costs + [unassigned_cost(t) for t in tasks])
    rows = []
    lower, upper = [], []
    for ti, t in enumerate(tasks):  # places filled + left empty = people
        row = np.zeros(n_x + n_u)
        row[[j for j, (_, tj) in enumerate(pairs) if tj == ti]] = 1
        row[n_x + ti] = 1
        rows.append(row)
        lower.append(t.people)
        upper.append(t.people)
    for vi, v in enumerate(volunteers):  # at most the volunteer's free places
        row = np.zeros(n_x + n_u)
        row[[j for j, (vj, _) in enumerate(pairs) if vj == vi]] = 1
        rows.append(row)
        lower.append(0)
        upper.append(max(0, v.max_tasks - max(0, v.current_tasks)))
    result = milp(
        c,
        constraints=LinearConstraint(np.array(rows), lower, upper),
        integrality=np.ones(n_x + n_u),
        bounds=Bounds(np.zeros(n_x + n_u), np.r_[np.ones(n_x), np.full(n_u, np.inf)]),
    )
    assert result.success
    return float(result.fun)


def _random_instance(seed: int, n_volunteers: int, n_tasks: int):
    rng = random.Random(seed)
    skills = ["first_aid", "driving", "psychosocial", "interpretation:ar"]
    vs = [
        Volunteer(
            id=f"v{i:03d}",
            skills=frozenset(rng.sample(skills, rng.randint(1, 3))),
            languages=frozenset(rng.sample(["es", "ar", "en"], rng.randint(1, 2))),
            point=near(YAUCO, rng.uniform(-20, 20), rng.uniform(-20, 20)),
            availability=(
                Window(
                    T0 + timedelta(hours=rng.randrange(24)),
                    T0 + timedelta(hours=rng.randrange(24, 48)),
                ),
            )
            if rng.random() < 0.3
            else (),
            max_tasks=rng.choice([1, 1, 2, 3]),
            current_tasks=rng.choice([0, 0, 1]),
            vetted=rng.random() < 0.5,
            recent_declines=rng.choice([0, 0, 1, 4]),
            travel_km=rng.choice([None, None, 15.0]),
        )
        for i in range(n_volunteers)
    ]
    ts = [
        Task(
            id=f"t{i:03d}",
            skills=frozenset(rng.sample(skills, rng.randint(0, 2))),
            languages=frozenset(rng.sample(["es", "ar"], rng.randint(0, 1))),
            point=near(YAUCO, rng.uniform(-15, 15), rng.uniform(-15, 15)),
            window=Window(
                T0 + timedelta(hours=rng.randrange(40)), T0 + timedelta(hours=rng.randrange(40, 60))
            )
            if rng.random() < 0.5
            else None,
            people=rng.choice([1, 1, 2, 3]),
            priority=rng.randint(1, 5),
            involves_minor=rng.random() < 0.2,
            radius_km=rng.choice([10.0, 25.0]),
        )
        for i in range(n_tasks)
    ]
    return vs, ts


@pytest.mark.parametrize("seed", range(12))
def test_pruned_sparse_solution_equals_the_dense_optimum(seed):
    vs, ts = _random_instance(seed, n_volunteers=25, n_tasks=10)
    optimum = _reference_optimum(vs, ts)
    # keep=100 covers every feasible volunteer of these tasks: the pruned problem is exact.
    for keep, method in [(None, "dense"), (None, "sparse"), (100, "sparse"), (100, "auto")]:
        plan = solve(vs, ts, keep=keep, method=method)
        assert plan.cost == pytest.approx(optimum, abs=1e-6), (keep, method)
        _check_plan(vs, ts, plan)
    # Keeping fewer may lose the optimum, never feasibility.
    tight = solve(vs, ts, keep=2, method="sparse")
    assert tight.cost >= optimum - 1e-6
    _check_plan(vs, ts, tight)


def _check_plan(vs, ts, plan):
    """Capacities, people per task, one place per volunteer per task, every pair feasible."""
    pool = prepare_pool(vs)
    by_id = {v.id: v for v in vs}
    taken: dict[str, int] = {}
    for t in ts:
        sent = [a.volunteer_id for a in plan.assignments if a.task_id == t.id]
        assert len(sent) == len(set(sent)) <= t.people
        allowed = {pool.volunteers[r].id for r in feasible(pool, t).rows}
        assert set(sent) <= allowed
        missing = sum(u.missing for u in plan.unassigned if u.task_id == t.id)
        assert len(sent) + missing == t.people
        for v in sent:
            taken[v] = taken.get(v, 0) + 1
    for v, n in taken.items():
        assert n <= by_id[v].max_tasks - by_id[v].current_tasks


def test_brute_force_agrees_on_tiny_instances():
    # Every way to fill the places, capacities and distinctness respected, on tiny instances.
    for seed in range(6):
        vs, ts = _random_instance(100 + seed, n_volunteers=4, n_tasks=3)
        pool = prepare_pool(vs)
        options = []
        for t in ts:
            found = feasible(pool, t)
            rank_costs = {r.volunteer_id: r.cost for r in rank(pool, t, limit=None)}
            choices = []
            for k in range(min(t.people, len(found.rows)) + 1):
                for group in itertools.combinations(sorted(rank_costs), k):
                    cost = sum(rank_costs[v] for v in group)
                    choices.append((group, cost + (t.people - k) * unassigned_cost(t)))
            options.append(choices)
        best = math.inf
        for combo in itertools.product(*options):
            load: dict[str, int] = {}
            for group, _ in combo:
                for v in group:
                    load[v] = load.get(v, 0) + 1
            if all(n <= _free(vs, v) for v, n in load.items()):
                best = min(best, sum(c for _, c in combo))
        assert solve(vs, ts, keep=None).cost == pytest.approx(best, abs=1e-9)


def _free(vs, vid):
    v = next(v for v in vs if v.id == vid)
    return max(0, v.max_tasks - max(0, v.current_tasks))


# Taxonomy


def test_taxonomy_lists_the_issue_skills_with_interpretation_per_language():
    taxonomy = load_taxonomy()
    for skill in [
        "search_rescue",
        "first_aid",
        "medical",
        "psychosocial",
        "driving",
        "childcare",
        "shelter_ops",
        "logistics",
        "it_data",
        "interpretation:ar",
        "interpretation:ht",
        "interpretation:es",
    ]:
        assert skill in taxonomy.skills
    assert "interpretation" not in taxonomy.skills
    assert taxonomy.unknown(["first_aid", "juggling", "interpretation:xx"]) == [
        "interpretation:xx",
        "juggling",
    ]
    assert taxonomy.label("interpretation:ar") == "Interpretation (Arabic)"
    assert all(taxonomy.descriptions[s] for s in taxonomy.labels)


def test_the_benchmark_runs_and_ends_with_its_json():
    # Tiny sizes: this checks the script works, not how fast (timings are not tests).
    script = Path(__file__).resolve().parents[2] / "scripts" / "bench_assign.py"
    args = ["--volunteers", "300", "--tasks", "40", "--urgent-pool", "500", "--urgent-tasks", "30"]
    out = subprocess.run(
        [sys.executable, str(script), *args, "--repeat", "1", "--check"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    last = json.loads(out.strip().splitlines()[-1])
    assert set(last) == {"batch_s", "urgent_ms"}
    assert "urgent (engine)" in out
    # The urgent figure is the whole dispatch through the service, offer rows committed.
    assert "urgent (service, SQLite)" in out and "offers sent" in out
