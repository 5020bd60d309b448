"""Fixtures for the matching tests."""

from __future__ import annotations

import logging

import pytest


@pytest.fixture(autouse=True)
def matching_never_fails_silently(caplog):
    """refresh_matches swallows errors by design; a test must not pass because of that.

    Tests that provoke a failure on purpose clear the log once they have checked it.
    """
    caplog.set_level(logging.ERROR, logger="app.matching.service")
    yield
    failures = [r.getMessage() for r in caplog.records if r.name == "app.matching.service"]
    assert not failures, failures
