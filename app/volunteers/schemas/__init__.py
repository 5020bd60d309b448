"""Volunteers domain schemas: volunteers, tasks, donors' offers."""
