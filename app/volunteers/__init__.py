"""Volunteers, their tasks and donors' offers; `assign/` is the pure assignment engine."""
