"""Fixtures for the web pages: CSRF tokens, a coordinator's session, a live server, a browser."""

from __future__ import annotations

import re
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from tests.conftest import PASSWORD

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


@pytest.fixture(autouse=True)
def photo_dir(app: Flask, tmp_path: Path) -> Path:
    """Photos go to the test's own directory."""
    folder = tmp_path / "photos"
    app.config["PHOTO_DIR"] = str(folder)
    return folder


def csrf_token(client: FlaskClient, path: str) -> str:
    """The CSRF token of the form on a page (the session cookie stays in the client)."""
    response = client.get(path)
    match = _TOKEN.search(response.get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


@pytest.fixture
def post_form(client: FlaskClient) -> Callable[..., Any]:
    """post_form(path, data) sends a form with the page's own CSRF token."""

    def post(path: str, data: dict[str, Any], *, form_page: str | None = None, **kwargs: Any):
        token = csrf_token(client, form_page or path)
        return client.post(path, data={**data, "csrf_token": token}, **kwargs)

    return post


@pytest.fixture
def logged_in(client: FlaskClient, coordinator: dict[str, str], post_form) -> dict[str, str]:
    """The test client holds a coordinator's session."""
    response = post_form(
        "/coordinator/login", {"email": coordinator["email"], "password": PASSWORD}
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    return coordinator


def page_text(response: Any) -> str:
    return response.get_data(as_text=True)


# --- A real server and a real browser ---------------------------------------------------------


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The app served by werkzeug in a thread, on the test database; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


def _browser_available() -> bool:
    return bool(shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER))


@pytest.fixture(scope="session")
def _driver() -> Iterator[Any]:
    """One headless Chromium for the session (starting one costs about two seconds)."""
    if not _browser_available():
        pytest.fail(
            "Browser tests need Debian's chromium and chromium-driver "
            "(apt-get install chromium chromium-driver; .ci/run installs them)."
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=420,900",
        "--disable-extensions",
        "--no-first-run",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def browser(_driver: Any) -> Iterator[Any]:
    """The session's browser with no cookies left from an earlier test."""
    _driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
    yield _driver
    _driver.execute_cdp_cmd("Network.clearBrowserCookies", {})


PEPE = {
    "kind": "missing",
    "full_name": "Pepe García",
    "given_name": None,
    "family_name": None,
    "sex": "male",
    "age": "34",
    "home_city": "Yauco",
    "home_country": "PR",
    "author_phone": "+15555550123",
    "language": "es",
}
JOSE_AT_SHELTER = {
    "kind": "found",
    "full_name": "GARCIA LOPEZ, JOSE",
    "given_name": None,
    "family_name": None,
    "sex": "male",
    "age": "30-40",
    "last_known_location": "Escuela Luis Muñoz Rivera, Guánica",
    "home_city": None,
    "home_country": "PR",
    "author_name": "Refugio Guánica",
    "author_phone": "+15555550188",
    "language": "es",
}


@pytest.fixture
def pair(app: Flask, make_report) -> dict[str, Any]:
    """Pepe García reported missing by his family, José García López found at a shelter, and
    the candidate matching made of them: {"missing", "found", "match_id"}."""
    from app.matching.models import MatchCandidate

    found = make_report(**JOSE_AT_SHELTER)
    missing = make_report(**PEPE)
    with app.app_context():
        from app.extensions import db

        match_id = db.session.scalar(
            sa.select(MatchCandidate.id).where(
                MatchCandidate.left_report_id == missing["id"],
                MatchCandidate.right_report_id == found["id"],
            )
        )
    assert match_id, "matching found no candidate for the pair"
    return {"missing": missing, "found": found, "match_id": match_id}
