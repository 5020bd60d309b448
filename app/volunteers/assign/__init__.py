"""The pure assignment engine: volunteers and tasks in, assignments with reasons out.

No Flask, no SQLAlchemy, no configuration globals (an import-linter contract checks it).
`prepare_pool` turns volunteers into arrays once; `rank` orders the feasible volunteers of one
urgent task, best first; `solve` assigns many open tasks at once, optimally. See
docs/volunteers.md.
"""

from app.volunteers.assign.model import (
    Assignment,
    Plan,
    Ranked,
    Reason,
    Task,
    Unassigned,
    Volunteer,
    Window,
)
from app.volunteers.assign.pool import Pool, prepare_pool
from app.volunteers.assign.solve import rank, solve
from app.volunteers.assign.taxonomy import Taxonomy, load_taxonomy

__all__ = [
    "Assignment",
    "Plan",
    "Pool",
    "Ranked",
    "Reason",
    "Task",
    "Taxonomy",
    "Unassigned",
    "Volunteer",
    "Window",
    "load_taxonomy",
    "prepare_pool",
    "rank",
    "solve",
]
