"""Reasons: why this volunteer, and why a task (or some of its places) stayed empty."""

from __future__ import annotations

import numpy as np

from app.volunteers.assign.cost import W_DECLINES, W_DISTANCE, W_LOAD, W_SKILL
from app.volunteers.assign.filters import (
    available,
    bad_point,
    band,
    haversine_km,
    radius_km,
    task_point,
)
from app.volunteers.assign.model import Reason, Task, Volunteer
from app.volunteers.assign.pool import LANGUAGE, SKILL, IntArray, Pool
from app.volunteers.assign.taxonomy import load_taxonomy


def _skills(skills: frozenset[str]) -> str:
    taxonomy = load_taxonomy()
    return ", ".join(taxonomy.label(s) for s in sorted(skills))


def _language(code: str) -> str:
    return load_taxonomy().languages.get(code, code)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def chosen(
    volunteer: Volunteer,
    task: Task,
    km: float | None,
    cost: float,
    part: dict[str, float],
    place: int,
    feasible: int,
    batch: bool = False,
) -> tuple[Reason, ...]:
    """Why this volunteer: distance, skills, languages, vetting, load, declines, the cost."""
    reasons = []
    if km is None:
        reasons.append(Reason("distance", "Remote task: distance does not count", {"km": None}))
    else:
        reasons.append(
            Reason(
                "distance",
                f"{km:.1f} km away (limit {radius_km(task):g} km)",
                {"km": round(km, 2), "radius_km": radius_km(task)},
            )
        )
    if task.skills:
        reasons.append(
            Reason("skills", f"Has {_skills(task.skills)}", {"required": sorted(task.skills)})
        )
    preferred = task.preferred_skills - task.skills
    if preferred:
        held = sorted(preferred & volunteer.skills)
        text = (
            f"Also has {_skills(frozenset(held))}" if held else "Has none of the preferred skills"
        )
        reasons.append(
            Reason("preferred_skills", text, {"held": held, "preferred": sorted(preferred)})
        )
    if task.languages:
        names = ", ".join(_language(code) for code in sorted(task.languages))
        reasons.append(
            Reason("languages", f"Speaks {names}", {"languages": sorted(task.languages)})
        )
    if task.involves_minor:
        reasons.append(Reason("vetted", "Vetted for tasks with minors", {}))
    current = max(0, volunteer.current_tasks)
    reasons.append(
        Reason(
            "load",
            f"{current} of {_plural(volunteer.max_tasks, 'task')} in hand",
            {"current": current, "max": volunteer.max_tasks},
        )
    )
    declines = max(0, volunteer.recent_declines)
    reasons.append(
        Reason(
            "declines",
            f"Declined {declines} offer{'s' if declines != 1 else ''} lately"
            if declines
            else "No recent declines",
            {"count": declines},
        )
    )
    qualifying = f"{_plural(feasible, 'qualifying volunteer')}"
    if place == 1:
        rank_text = f"Lowest cost of {qualifying}"
    elif batch:
        rank_text = (
            f"{_ordinal(place)} lowest cost of {qualifying}: those before were better used "
            "on other tasks"
        )
    else:
        rank_text = f"{_ordinal(place)} lowest cost of {qualifying}"
    reasons.append(
        Reason(
            "cost",
            f"{rank_text} (cost {cost:.2f})",
            {
                "cost": round(cost, 4),
                "place": place,
                "feasible": feasible,
                "parts": {k: round(v, 4) for k, v in part.items()},
                "weights": {
                    "distance": W_DISTANCE,
                    "skill": W_SKILL,
                    "load": W_LOAD,
                    "declines": W_DECLINES,
                },
            },
        )
    )
    return tuple(reasons)


def funnel(pool: Pool, task: Task) -> list[tuple[str, str, int]]:
    """How many volunteers remain after each hard filter in turn: (code, text if none, count)."""
    steps: list[tuple[str, str, int]] = []
    point = task_point(task)
    r = radius_km(task)
    where = f" within {r:g} km" if point is not None else ""
    if point is not None:
        lo, hi = band(pool, task)
        rows: IntArray = np.arange(lo, hi, dtype=np.int64)
        km = haversine_km(pool, rows, point)
        rows = rows[km <= np.minimum(r, pool.travel_km[rows])]
        unlocated = len(pool) - pool.located
        note = f" ({unlocated} have no location)" if unlocated else ""
        steps.append(("too_far", f"No volunteer is within {r:g} km{note}", len(rows)))
    else:
        rows = np.arange(len(pool), dtype=np.int64)
    for skill in sorted(task.skills):
        mask = pool.has.get(SKILL + skill)
        rows = rows[mask[rows]] if mask is not None else rows[:0]
        steps.append(
            ("no_skill", f"No volunteer{where} has {_skills(frozenset({skill}))}", len(rows))
        )
    for code in sorted(task.languages):
        mask = pool.has.get(LANGUAGE + code)
        rows = rows[mask[rows]] if mask is not None else rows[:0]
        steps.append(
            (
                "no_language",
                f"No volunteer{where}{' with those skills' if task.skills else ''} "
                f"speaks {_language(code)}",
                len(rows),
            )
        )
    if task.involves_minor:
        rows = rows[pool.vetted[rows]]
        steps.append(
            ("not_vetted", "None of the qualifying volunteers is vetted for minors", len(rows))
        )
    rows = rows[pool.opted_in[rows]]
    steps.append(("opted_out", "Every qualifying volunteer has opted out", len(rows)))
    rows = rows[pool.remaining[rows] > 0]
    steps.append(
        ("at_capacity", "Every qualifying volunteer is at their maximum of tasks", len(rows))
    )
    if task.window is not None:
        rows = rows[available(pool, rows, task)]
        when = f"{task.window.start:%Y-%m-%d %H:%M}–{task.window.end:%H:%M}"
        steps.append(("unavailable", f"No qualifying volunteer is available {when}", len(rows)))
    return steps


def unfilled(pool: Pool, task: Task, people: int, filled: int, feasible: int) -> tuple[Reason, ...]:
    """Why `people - filled` places of the task stayed empty."""
    if len(pool) == 0:
        return (Reason("no_volunteers", "No volunteers are registered", {}),)
    if bad_point(task):
        text = "The task's location is not a place on Earth"
        return (Reason("bad_location", text, {"point": repr(task.point)}),)
    steps = funnel(pool, task)
    counts = {"funnel": [{"filter": code, "remaining": n} for code, _, n in steps]}
    if feasible == 0:
        code, text = next(
            ((c, t) for c, t, n in steps if n == 0), ("no_match", "No volunteer qualifies")
        )
        return (Reason(code, text, counts),)
    if feasible < people:
        return (
            Reason(
                "too_few",
                f"Needs {people}; only {feasible} volunteer{'s' if feasible != 1 else ''} qualify",
                {"needed": people, "feasible": feasible, **counts},
            ),
        )
    return (
        Reason(
            "taken",
            f"{_plural(feasible, 'volunteer')} qualif{'ies' if feasible == 1 else 'y'}, "
            f"{filled} sent; the others were needed for tasks of higher priority or that suit "
            "them better",
            {"needed": people, "filled": filled, "feasible": feasible, **counts},
        ),
    )
