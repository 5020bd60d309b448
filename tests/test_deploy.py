"""deploy/gunicorn.conf.py serves the app from a migrated database (starts real processes)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONF = ROOT / "deploy" / "gunicorn.conf.py"
# The tools of the virtualenv running the tests, wherever it lives.
BIN = Path(sys.executable).parent
READY_WITHIN = 90.0  # the master loads the gazetteer (seconds) before forking


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _wait_for_health(process: subprocess.Popen, port: int, log: Path) -> None:
    deadline = time.monotonic() + READY_WITHIN
    while time.monotonic() < deadline:
        assert process.poll() is None, f"gunicorn exited early:\n{log.read_text()}"
        with contextlib.suppress(OSError):
            if _get(port, "/healthz")[0] == 200:
                return
        time.sleep(0.2)
    pytest.fail(f"/healthz did not answer 200 within {READY_WITHIN:.0f}s:\n{log.read_text()}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        # gunicorn runs in its own session: the group is the master and its workers.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@pytest.mark.slow
def test_gunicorn_serves_a_migrated_database(tmp_path):
    port = _free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PORT", "WEB_CONCURRENCY", "GUNICORN_THREADS", "HUEY_IMMEDIATE"}
    }
    # Production settings, as deployed, on a private SQLite file whatever TEST_DATABASE_URL says.
    # Nothing here enqueues a job, so the web process never connects to REDIS_URL.
    env.update(
        REUNITE_ENV="production",
        SECRET_KEY="deploy-test-secret",
        DATABASE_URL=f"sqlite:///{tmp_path / 'reunite.db'}",
        REDIS_URL="redis://127.0.0.1:6379/15",
        BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY="2",
    )
    migrated = subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert migrated.returncode == 0, migrated.stderr

    log = tmp_path / "gunicorn.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [str(BIN / "gunicorn"), "-c", str(CONF), "wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_for_health(process, port, log)
        status, body = _get(port, "/readyz")
        assert status == 200, body
        # A query string can carry a name; the access log must keep only the path.
        status, _ = _get(
            port, "/healthz?full_name=Marisol%20Qui%C3%B1ones", {"X-Request-ID": "deploy-probe-1"}
        )
        assert status == 200
    finally:
        _stop(process)

    assert process.returncode == 0, log.read_text()
    output = log.read_text()
    assert f"127.0.0.1:{port}" in output
    access = [line for line in output.splitlines() if "rid=deploy-probe-1" in line]
    assert access and '"GET /healthz" 200' in access[0], output
    assert "Marisol" not in output and "full_name" not in output
