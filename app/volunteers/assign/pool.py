"""Volunteers turned into arrays once, so each task is filtered and costed with numpy."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from app.volunteers.assign.model import Volunteer

SKILL = "s:"
LANGUAGE = "l:"

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class Pool:
    """Volunteers sorted by latitude (those without a location last), as column arrays.

    Sorting by latitude makes "within R km north or south of the task" a contiguous slice found
    by binary search, and keeps every member list below (ascending pool positions) sliceable
    the same way: a task only ever looks at the volunteers in its latitude band who hold its
    rarest requirement.
    """

    volunteers: tuple[Volunteer, ...]
    located: int  # volunteers[:located] have a point
    lat_deg: FloatArray
    lat: FloatArray  # radians
    lon: FloatArray
    cos_lat: FloatArray
    travel_km: FloatArray  # inf when the volunteer set no limit
    remaining: IntArray  # free places: max_tasks - current_tasks, at least 0
    load: FloatArray  # current_tasks / max_tasks, in [0, 1]
    declines: IntArray
    vetted: BoolArray
    opted_in: BoolArray
    skill_count: IntArray
    id_rank: IntArray  # position of the id in sorted order, to break cost ties by id
    members: dict[str, IntArray]  # "s:first_aid" / "l:ar" -> ascending pool positions
    has: dict[str, BoolArray]  # the same as masks
    win_ptr: IntArray  # volunteer i's windows are win_start/win_end[win_ptr[i]:win_ptr[i+1]]
    win_start: FloatArray  # POSIX seconds
    win_end: FloatArray

    def __len__(self) -> int:
        return len(self.volunteers)


def prepare_pool(volunteers: Iterable[Volunteer]) -> Pool:
    """Sort and index volunteers; a repeated id keeps its first occurrence."""
    seen: set[str] = set()
    unique: list[Volunteer] = []
    for volunteer in volunteers:
        if volunteer.id not in seen:
            seen.add(volunteer.id)
            unique.append(volunteer)
    lat_in = np.array([_point(v)[0] for v in unique] if unique else [], dtype=np.float64).reshape(
        -1
    )
    # NaN (no point) sorts last; a stable sort keeps input order among equal latitudes.
    order = np.argsort(lat_in, kind="stable")
    ordered = tuple(unique[i] for i in order)
    n = len(ordered)
    points = [_point(v) for v in ordered]
    lat_deg = np.array([p[0] for p in points], dtype=np.float64).reshape(n)
    lon_deg = np.array([p[1] for p in points], dtype=np.float64).reshape(n)
    located = int(np.count_nonzero(~np.isnan(lat_deg)))
    lat = np.radians(lat_deg)
    max_tasks = np.array([v.max_tasks for v in ordered], dtype=np.int64).reshape(n)
    current = np.array([max(0, v.current_tasks) for v in ordered], dtype=np.int64).reshape(n)
    capacity = np.maximum(max_tasks, 0)
    load = np.where(capacity > 0, np.minimum(current, capacity) / np.maximum(capacity, 1), 1.0)
    travel = [v.travel_km for v in ordered]
    index: dict[str, list[int]] = {}
    for i, v in enumerate(ordered):
        for skill in v.skills:
            index.setdefault(SKILL + skill, []).append(i)
        for language in v.languages:
            index.setdefault(LANGUAGE + language, []).append(i)
    members = {key: np.array(rows, dtype=np.int64) for key, rows in index.items()}
    has = {}
    for key, rows in members.items():
        mask = np.zeros(n, dtype=bool)
        mask[rows] = True
        has[key] = mask
    counts = np.array([len(v.availability) for v in ordered], dtype=np.int64).reshape(n)
    win_ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=win_ptr[1:])
    windows = [w for v in ordered for w in v.availability]
    return Pool(
        volunteers=ordered,
        located=located,
        lat_deg=lat_deg,
        lat=lat,
        lon=np.radians(lon_deg),
        cos_lat=np.cos(lat),
        travel_km=np.array(
            [t if t is not None and t >= 0 else np.inf for t in travel], dtype=np.float64
        ).reshape(n),
        remaining=np.maximum(capacity - current, 0),
        load=load.astype(np.float64),
        declines=np.array([max(0, v.recent_declines) for v in ordered], dtype=np.int64).reshape(n),
        vetted=np.array([v.vetted for v in ordered], dtype=bool).reshape(n),
        opted_in=np.array([not v.opted_out for v in ordered], dtype=bool).reshape(n),
        skill_count=np.array([len(v.skills) for v in ordered], dtype=np.int64).reshape(n),
        id_rank=np.argsort(np.argsort(np.array([v.id for v in ordered], dtype=object)))
        .astype(np.int64)
        .reshape(n),
        members=members,
        has=has,
        win_ptr=win_ptr,
        win_start=np.array([w.start.timestamp() for w in windows], dtype=np.float64),
        win_end=np.array([w.end.timestamp() for w in windows], dtype=np.float64),
    )


def valid_point(point: object) -> tuple[float, float] | None:
    """(lat, lon) as floats, or None when missing or not a place on Earth (NaN, out of range)."""
    if point is None:
        return None
    try:
        lat, lon = float(point[0]), float(point[1])  # type: ignore[index]
    except (TypeError, ValueError, IndexError):
        return None
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        return None
    return (lat, lon)


def _point(volunteer: Volunteer) -> tuple[float, float]:
    """The volunteer's (lat, lon), or NaNs (sorted last) when it has no valid point."""
    return valid_point(volunteer.point) or (np.nan, np.nan)
