"""Volunteers' tables: volunteers, tasks with their history and dispatches, donors' offers."""

from app.volunteers.models.donations import DonationOffer, Donor, Pairing
from app.volunteers.models.tasks import Dispatch, Task, TaskEvent
from app.volunteers.models.volunteers import Volunteer

__all__ = [
    "Dispatch",
    "DonationOffer",
    "Donor",
    "Pairing",
    "Task",
    "TaskEvent",
    "Volunteer",
]
