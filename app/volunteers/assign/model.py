"""What the assignment engine takes and gives: plain frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Window:
    """A span of time, start inclusive, end exclusive (timezone-aware or all naive)."""

    start: datetime
    end: datetime

    def overlaps(self, other: Window) -> bool:
        """True when the two spans share some time."""
        return self.start < other.end and other.start < self.end


@dataclass(frozen=True, slots=True)
class Volunteer:
    """A volunteer as the engine sees one.

    `availability` empty means "any time" (someone who joined by SMS gave no hours);
    `current_tasks` counts tasks offered or assigned and not yet done; `recent_declines` counts
    offers declined or left to expire lately (the service chooses the period).
    """

    id: str
    skills: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset()
    point: tuple[float, float] | None = None
    availability: tuple[Window, ...] = ()
    max_tasks: int = 1
    current_tasks: int = 0
    vetted: bool = False
    opted_out: bool = False
    recent_declines: int = 0
    # How far the volunteer is willing to travel; None leaves it to the task's radius.
    travel_km: float | None = None


@dataclass(frozen=True, slots=True)
class Task:
    """An open need: who is required, where, when, how many, how urgent.

    Every required skill and every language is needed by each person sent. `preferred_skills`
    only lower the cost. A task without a point is remote (a phone interpretation): distance
    is then no filter and no cost. A task without a window is "as soon as possible": it only
    asks for volunteers with spare capacity. `priority` runs from 1 (low) to 5 (life-saving).
    """

    id: str
    skills: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset()
    preferred_skills: frozenset[str] = frozenset()
    point: tuple[float, float] | None = None
    window: Window | None = None
    people: int = 1
    priority: int = 3
    involves_minor: bool = False
    radius_km: float = 25.0


@dataclass(frozen=True, slots=True)
class Reason:
    """One reason for a choice: a code for programs, a sentence for coordinators, the numbers."""

    code: str
    text: str
    data: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The reason as stored and served: {code, text, data}."""
        return {"code": self.code, "text": self.text, "data": self.data}


@dataclass(frozen=True, slots=True)
class Ranked:
    """A feasible volunteer for a task, with the cost that ranks it (lower is better)."""

    volunteer_id: str
    cost: float
    distance_km: float | None
    reasons: tuple[Reason, ...]


@dataclass(frozen=True, slots=True)
class Assignment:
    """One volunteer sent to one task, and why this volunteer."""

    task_id: str
    volunteer_id: str
    cost: float
    distance_km: float | None
    reasons: tuple[Reason, ...]


@dataclass(frozen=True, slots=True)
class Unassigned:
    """Places of a task left empty (`missing` of `people`), and why."""

    task_id: str
    missing: int
    people: int
    reasons: tuple[Reason, ...]


@dataclass(frozen=True, slots=True)
class Plan:
    """The result of a batch: assignments (by task, then cost) and the places left empty."""

    assignments: tuple[Assignment, ...]
    unassigned: tuple[Unassigned, ...]
    cost: float
