"""Volunteers' tables: volunteers, tasks with their history and dispatches, donors' offers."""

from app.volunteers.models.volunteers import Volunteer

__all__ = ["Volunteer"]
