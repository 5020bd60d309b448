"""Volunteers API: volunteers, tasks and donors' offers (one blueprint per resource)."""
