"""The volunteers domain's services: `volunteers` (registration), `tasks`, `dispatch` (SMS
offers and replies) and `donations` (donors' offers paired with needs). Flush, never commit.

Volunteer registration's functions are re-exported here, so `from app.volunteers import service`
keeps reading as before.
"""

from app.volunteers.service import dispatch, tasks
from app.volunteers.service.volunteers import (
    engine_volunteers,
    get_volunteer,
    list_volunteers,
    register_publicly,
    register_volunteer,
    set_vetted,
    to_engine_volunteer,
    update_volunteer,
)

__all__ = [
    "dispatch",
    "tasks",
    "engine_volunteers",
    "get_volunteer",
    "list_volunteers",
    "register_publicly",
    "register_volunteer",
    "set_vetted",
    "to_engine_volunteer",
    "update_volunteer",
]
