"""Benchmark the SMS outbox end to end against the local Twilio stub (not a test).

    .venv/bin/python scripts/bench_sms.py [--messages 600] [--delay 0.2] [--rate 100]
                                          [--workers 24] [--queue sqlite|redis]

Starts tests/sms/twilio_stub.py answering every send after --delay seconds, a fresh migrated
SQLite database, and a real Huey consumer (`huey_consumer app.worker.huey`, thread workers) with
the twilio backend pointed at the stub and pacing at --rate segments per second. Queues
--messages one-segment messages in one transaction (the after-commit hook enqueues them) and
times how long until the stub has accepted them all and every row is `sent`.

Then the dispatcher's own cost: the same with the stub answering at once and no pacing; the
consumer's CPU seconds (user + system, read when it exits), less those of a consumer that started
and stopped with nothing to send (imports, start-up, polling), divided by the messages it sent.
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.sms.twilio_stub import ACCOUNT_SID, AUTH_TOKEN, TwilioStub  # noqa: E402


def run(*, messages: int, delay: float, rate: float, workers: int, queue: str) -> dict:
    """One timed run in a fresh database and queue; returns its numbers."""
    with tempfile.TemporaryDirectory() as tmp, TwilioStub(delay=delay) as stub:
        env = {
            **os.environ,
            "REUNITE_ENV": "development",
            "DATABASE_URL": f"sqlite:///{tmp}/bench.db",
            "HUEY_SQLITE_PATH": f"{tmp}/huey.db",
            "HUEY_IMMEDIATE": "0",
            "SMS_BACKEND": "twilio",
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "TWILIO_FROM": "+15005550006",
            "TWILIO_API_BASE_URL": stub.url,
            "PUBLIC_BASE_URL": "https://reunite.example.org",
            "SMS_SEGMENTS_PER_SECOND": str(rate),
            "LOG_LEVEL": "WARNING",
        }
        if queue == "sqlite":
            env.pop("REDIS_URL", None)
        else:
            env.setdefault("REDIS_URL", "redis://127.0.0.1:6379/14")
        flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
        upgrade = [*flask, "db", "upgrade"]
        subprocess.run(upgrade, env=env, cwd=ROOT, check=True, capture_output=True)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        consumer = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "huey_consumer"),
                "app.worker.huey",
                "--workers",
                str(workers),
                "--worker-type",
                "thread",
                "--quiet",
            ],
            env=env,
            cwd=ROOT,
        )
        try:
            time.sleep(3)  # the consumer imports the app and starts its workers
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "-c", _QUEUE, str(messages)], env=env, cwd=ROOT, check=True
            )
            queued = time.perf_counter()
            deadline = started + max(120, messages / rate * 3)
            while len(stub.accepted) < messages and time.perf_counter() < deadline:
                time.sleep(0.01)
            finished = time.perf_counter()
        finally:
            consumer.send_signal(signal.SIGINT)
            consumer.wait(timeout=60)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        statuses = json.loads(
            subprocess.run(
                [sys.executable, "-c", _COUNT], env=env, cwd=ROOT, check=True, capture_output=True
            ).stdout
        )
        if queue == "redis":
            import redis

            redis.Redis.from_url(env["REDIS_URL"]).flushdb()
    accepted = len(stub.accepted)
    seconds = finished - queued
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "messages": messages,
        "accepted": accepted,
        "duplicates": accepted - len({r.params["To"] for r in stub.accepted}),
        "statuses": statuses,
        "queue_s": round(queued - started, 2),
        "send_s": round(seconds, 2),
        "per_s": round(accepted / seconds, 1) if accepted else None,
        "consumer_cpu_s": round(cpu, 3),
    }


# Queue n messages in one transaction: the after-commit hook hands them to Huey.
_QUEUE = """
import sys
from app import create_app
from app.extensions import db
from app.sms import service
app = create_app()
with app.app_context():
    for i in range(int(sys.argv[1])):
        service.queue_message(to=f"+1555{i:07d}", template="test", language="en", params={},
                              dedupe_key=f"bench:{i}")
    db.session.commit()
"""
_COUNT = """
import json
from app import create_app
from app.sms import service
with create_app().app_context():
    print(json.dumps(service.count_outbox()))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--delay", type=float, default=0.2, help="stub answer time, seconds")
    parser.add_argument("--rate", type=float, default=100.0, help="segments per second")
    parser.add_argument("--workers", type=int, default=24, help="consumer threads")
    parser.add_argument("--queue", choices=("sqlite", "redis"), default="sqlite")
    args = parser.parse_args()

    paced = run(
        messages=args.messages,
        delay=args.delay,
        rate=args.rate,
        workers=args.workers,
        queue=args.queue,
    )
    print(
        f"paced at {args.rate:g} segments/s, stub {args.delay * 1000:.0f} ms, "
        f"{args.workers} workers: {paced['accepted']}/{paced['messages']} in {paced['send_s']} s "
        f"= {paced['per_s']}/s, duplicates {paced['duplicates']}, {paced['statuses']}"
    )
    idle = run(messages=0, delay=0.0, rate=1e6, workers=4, queue=args.queue)
    overhead = run(messages=args.messages, delay=0.0, rate=1e6, workers=4, queue=args.queue)
    spent = overhead["consumer_cpu_s"] - idle["consumer_cpu_s"]
    overhead["cpu_ms_per_message"] = round(spent * 1000 / max(overhead["accepted"], 1), 2)
    print(
        f"unpaced, stub instant, 4 workers: {overhead['per_s']}/s, consumer CPU "
        f"{overhead['cpu_ms_per_message']} ms per message (less {idle['consumer_cpu_s']} s idle)"
    )
    print(json.dumps({"queue": args.queue, "paced": paced, "overhead": overhead, "idle": idle}))


if __name__ == "__main__":
    main()
