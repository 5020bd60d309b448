"""Hard filters: who may take a task at all (vectorized over a prepared pool)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from app.geo.distance import EARTH_RADIUS_KM
from app.volunteers.assign.model import Task
from app.volunteers.assign.pool import (
    LANGUAGE,
    SKILL,
    BoolArray,
    FloatArray,
    IntArray,
    Pool,
    valid_point,
)

KM_PER_DEGREE = EARTH_RADIUS_KM * math.pi / 180.0


@dataclass(frozen=True, slots=True)
class Feasible:
    """The volunteers who pass every hard filter for a task: pool positions and km away."""

    rows: IntArray
    km: FloatArray  # zeros for a remote task


def task_point(task: Task) -> tuple[float, float] | None:
    """The task's (lat, lon), or None when it has none or it is not a place on Earth."""
    return valid_point(task.point)


def bad_point(task: Task) -> bool:
    """True when the task gives a point that is not a place on Earth (it is not remote)."""
    return task.point is not None and task_point(task) is None


def radius_km(task: Task) -> float:
    """The task's search radius; a negative or NaN one counts as 0 km."""
    r = float(task.radius_km)
    return r if r > 0 else 0.0


def requirements(task: Task) -> list[str]:
    """The pool keys a volunteer must all hold: every skill and every language."""
    return [SKILL + s for s in sorted(task.skills)] + [
        LANGUAGE + lang for lang in sorted(task.languages)
    ]


def band(pool: Pool, task: Task) -> tuple[int, int]:
    """Pool positions [lo, hi) that may be within the task's radius (everyone if remote)."""
    point = task_point(task)
    if point is None:
        return 0, len(pool)
    reach = radius_km(task) / KM_PER_DEGREE
    located = pool.lat_deg[: pool.located]
    lo = int(np.searchsorted(located, point[0] - reach, side="left"))
    hi = int(np.searchsorted(located, point[0] + reach, side="right"))
    return lo, hi


def haversine_km(pool: Pool, rows: IntArray, point: tuple[float, float]) -> FloatArray:
    """Great-circle km from a point to the given volunteers (app.geo.distance_km, vectorized)."""
    lat0 = math.radians(point[0])
    lon0 = math.radians(point[1])
    lat = pool.lat[rows]
    h = (
        np.sin((lat - lat0) / 2) ** 2
        + math.cos(lat0) * pool.cos_lat[rows] * np.sin((pool.lon[rows] - lon0) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(h)))


def available(pool: Pool, rows: IntArray, task: Task) -> BoolArray:
    """Which of the volunteers have a window overlapping the task's (no windows: any time)."""
    if task.window is None or len(rows) == 0:
        return np.ones(len(rows), dtype=bool)
    start = task.window.start.timestamp()
    end = task.window.end.timestamp()
    first = pool.win_ptr[rows]
    counts = pool.win_ptr[rows + 1] - first
    ok = counts == 0
    with_windows = np.flatnonzero(~ok)
    if len(with_windows) == 0 or end <= start:
        return ok & (end > start)
    c = counts[with_windows]
    # Flat positions of every window of those volunteers, in one array.
    offsets = np.arange(int(c.sum())) - np.repeat(np.cumsum(c) - c, c)
    flat = np.repeat(first[with_windows], c) + offsets
    overlap = (pool.win_start[flat] < end) & (pool.win_end[flat] > start)
    ok[with_windows] = np.add.reduceat(overlap.astype(np.int64), np.cumsum(c) - c) > 0
    return ok


def feasible(pool: Pool, task: Task) -> Feasible:
    """Everyone who passes all hard filters, in ascending pool position."""
    empty = Feasible(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64))
    lo, hi = band(pool, task)
    keys = requirements(task)
    if hi <= lo or bad_point(task) or any(key not in pool.members for key in keys):
        return empty
    if keys:
        # Start from the rarest requirement inside the band: the fewest rows to look at.
        slices = []
        for key in keys:
            m = pool.members[key]
            slices.append(m[np.searchsorted(m, lo) : np.searchsorted(m, hi)])
        rows = min(slices, key=len)
    else:
        rows = np.arange(lo, hi, dtype=np.int64)
    keep = pool.opted_in[rows] & (pool.remaining[rows] > 0)
    for key in keys:
        keep &= pool.has[key][rows]
    if task.involves_minor:
        keep &= pool.vetted[rows]
    rows = rows[keep]
    point = task_point(task)
    if point is not None:
        km = haversine_km(pool, rows, point)
        near = km <= np.minimum(radius_km(task), pool.travel_km[rows])
        rows, km = rows[near], km[near]
    else:
        km = np.zeros(len(rows), dtype=np.float64)
    ok = available(pool, rows, task)
    return Feasible(rows[ok], km[ok])
