"""Gunicorn settings for Reunite: `gunicorn -c deploy/gunicorn.conf.py wsgi:app`.

Environment variables read by this file, and no others:

    PORT              port to listen on at 127.0.0.1 (default 8000)
    BIND              the whole listen address; overrides PORT
                      (e.g. "127.0.0.1:9000", "unix:/run/reunite/web.sock")
    WEB_CONCURRENCY   worker processes (default 2 x CPU cores + 1, at most 8)
    GUNICORN_THREADS  threads per worker (default 1; more than 1 selects gunicorn's gthread worker)

app/config.py is the only module of the application that reads os.environ. This file is the one
exception: gunicorn reads it before the application exists, and what it sets (sockets, processes,
access log) is the server's business, not the application's configuration.
"""

from __future__ import annotations

import os

# Never more than this many workers by default: every worker holds its own copy of the app and
# its own database pool, and past a few per core they only add memory and lock contention.
MAX_DEFAULT_WORKERS = 8


def _positive_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, got {raw!r}") from None
    if value < 1:
        raise SystemExit(f"{name} must be at least 1, got {value}")
    return value


def _default_workers() -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return min(2 * (cores or 1) + 1, MAX_DEFAULT_WORKERS)


# Loopback by default: nginx terminates TLS in front; nothing else should reach gunicorn.
bind = [os.environ.get("BIND") or f"127.0.0.1:{_positive_int('PORT', 8000)}"]
workers = _positive_int("WEB_CONCURRENCY", _default_workers())
threads = _positive_int("GUNICORN_THREADS", 1)

# A request that takes this long is stuck (a lost database lock, a hung socket): kill the worker.
timeout = 30
# On SIGTERM or a max_requests recycle, let requests in flight finish; systemd waits longer.
graceful_timeout = 20
# nginx keeps idle upstream connections for 4 s (deploy/nginx/reunite.conf); gunicorn must hold
# them longer, or nginx can send a request down a connection gunicorn has just closed.
keepalive = 5
# Recycle workers now and then so a slow leak cannot grow without bound; the jitter keeps them
# from all restarting at once. Not sooner: a worker takes about a second of CPU to boot, and at
# 1000 requests that cost a fifth of a 2-core machine under surge load (scripts/bench_reports.py).
max_requests = 10000
max_requests_jitter = 1000

# The app is loaded once in the master, which then loads the matching data (the offline
# gazetteer: seconds of CPU and ~100 MB) before forking, so every worker shares it copy-on-write
# and a recycled worker starts at once. Nothing opens a database connection before the fork
# (the engine connects lazily), and post_fork drops any pool a worker inherits all the same.
preload_app = True


def when_ready(server):
    """Load the matching data in the master, once, before the workers fork."""
    import gc

    from app.matching.service import warm_up

    warm_up()
    # The gazetteer and lexicons are millions of objects that live as long as the process: out of
    # the collector's sight, a full collection no longer walks them all in the middle of a
    # request, and the workers' pages stay shared (the use gc.freeze() was made for).
    gc.freeze()


def post_fork(server, worker):
    """A worker never uses database connections inherited from the master."""
    from app.extensions import db
    from wsgi import app

    with app.app_context():
        db.engine.dispose(close=False)


# The heartbeat file is touched constantly; on a disk-backed /tmp that can stall a worker.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None

# Only nginx on this host may set X-Forwarded-Proto. Pinned here, so gunicorn's own
# FORWARDED_ALLOW_IPS environment variable cannot widen it unnoticed.
forwarded_allow_ips = "127.0.0.1,::1"

# Gunicorn 25.1+ opens a control socket at ~/.gunicorn/gunicorn.ctl by default. Two servers on one
# machine (the tests, the benchmark, a second checkout) would take it from each other, and under
# systemd's ProtectSystem=strict the service user cannot create it. Nothing here uses it.
control_socket_disable = True

proc_name = "reunite-web"

# Access log to stdout (journald under systemd), errors to stderr. The access log names the path
# only, never the query string, the referrer or the body: those can carry names and phone numbers.
# The request id matches the app's own log lines and nginx's access log.
accesslog = "-"
errorlog = "-"
loglevel = "info"
access_log_format = '%(t)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms rid=%({x-request-id}o)s'
