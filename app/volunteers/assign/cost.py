"""The cost of sending a feasible volunteer to a task (lower is better).

cost = 1.0 × distance + 0.3 × skill fit + 0.3 × load + 0.5 × declines, each part in [0, 1]:

- distance: km / the task's radius. Travel time is most of the minutes between an offer and a
  volunteer on site, so it weighs most; a volunteer at the edge of the radius costs one unit.
- skill fit: half the share of the task's preferred skills the volunteer lacks, half the share
  of the volunteer's own skills the task does not use. The second half keeps the doctor who
  also drives for the task that needs a doctor, when a plain driver is about as close.
- load: tasks in hand / maximum concurrent tasks. Spreads work (Crisis Cleanup's limits
  against hoarding), and a volunteer with nothing in hand answers sooner.
- declines: recent declines, capped at 3, over 3. A volunteer who said NO twice this week is
  likely to again, and each NO or silence costs a round of the offer's expiry (20 minutes);
  that weighs more than load, less than several km.

The parts add up to at most 2.1 (MAX_COST). Leaving a place of a task empty costs
UNASSIGNED_STEP × priority with a step of 3 > MAX_COST, so filling a place always beats
leaving it empty, and a place of a higher-priority task is never left empty to fill a
lower-priority one with the same volunteer: moving the volunteer saves at least 3 in penalty
and costs at most 2.1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.volunteers.assign.filters import radius_km, task_point
from app.volunteers.assign.model import Task
from app.volunteers.assign.pool import SKILL, FloatArray, IntArray, Pool

W_DISTANCE = 1.0
W_SKILL = 0.3
W_LOAD = 0.3
W_DECLINES = 0.5
DECLINES_CAP = 3
MAX_COST = W_DISTANCE + W_SKILL + W_LOAD + W_DECLINES
UNASSIGNED_STEP = 3.0
PRIORITIES = (1, 5)


@dataclass(frozen=True, slots=True)
class Parts:
    """Each part of the cost, per volunteer, before weighting."""

    distance: FloatArray
    skill: FloatArray
    load: FloatArray
    declines: FloatArray

    def total(self) -> FloatArray:
        """The weighted sum."""
        return (
            W_DISTANCE * self.distance
            + W_SKILL * self.skill
            + W_LOAD * self.load
            + W_DECLINES * self.declines
        )


def parts(pool: Pool, task: Task, rows: IntArray, km: FloatArray) -> Parts:
    """The cost parts of the given feasible volunteers for the task."""
    n = len(rows)
    r = radius_km(task)
    if task_point(task) is None:
        distance = np.zeros(n)
    else:
        distance = np.minimum(km / r, 1.0) if r > 0 else np.zeros(n)
    preferred = sorted(task.preferred_skills - task.skills)
    held = np.zeros(n)
    for skill in preferred:
        mask = pool.has.get(SKILL + skill)
        if mask is not None:
            held += mask[rows]
    missing = (len(preferred) - held) / len(preferred) if preferred else np.zeros(n)
    own = pool.skill_count[rows]
    used = len(task.skills) + held
    spare = np.where(own > 0, (own - used) / np.maximum(own, 1), 0.0)
    return Parts(
        distance=distance,
        skill=0.5 * missing + 0.5 * np.clip(spare, 0.0, 1.0),
        load=pool.load[rows],
        declines=np.minimum(pool.declines[rows], DECLINES_CAP) / DECLINES_CAP,
    )


def priority(task: Task) -> int:
    """The task's priority clamped to 1..5."""
    return min(max(int(task.priority), PRIORITIES[0]), PRIORITIES[1])


def unassigned_cost(task: Task) -> float:
    """What leaving one place of the task empty costs."""
    return UNASSIGNED_STEP * priority(task)
