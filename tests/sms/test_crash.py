"""A worker killed (SIGKILL) mid-batch loses nothing and sends nothing twice once restarted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from app.common import jobs
from app.common.time import utcnow
from app.extensions import db
from app.sms import service
from app.sms.models import OutboxMessage
from tests.sms.conftest import twilio_settings
from tests.sms.twilio_stub import Reply

ROOT = Path(__file__).resolve().parents[2]
WORKER = """
import json, sys
from app import create_app
from app.sms import service
settings, ids = json.loads(sys.argv[1]), json.loads(sys.argv[2])
app = create_app(settings)
with app.app_context():
    for outbox_id in ids:
        service.send_message(outbox_id=outbox_id)
"""


def test_sigkill_mid_batch_then_restart(app, twilio, database_url, outbox):
    phones = [f"+1555555{2000 + i}" for i in range(6)]
    with app.app_context():
        ids = [
            service.queue_message(
                to=phone, template="test", language="en", params={}, dedupe_key=f"crash:{phone}"
            ).id
            for phone in phones
        ]
        db.session.info.pop(jobs.PENDING)  # the worker below is the only sender
        db.session.commit()
    twilio.will(*[Reply(delay=1.0)] * 6)  # slow answers: the worker dies waiting for one
    settings = {
        **twilio_settings(twilio.url),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REUNITE_ENV": "test",
        "SECRET_KEY": "test",
        "SMS_SEND_TIMEOUT_S": 2.0,  # the stub's delay is an answer coming, not a timeout
    }
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER, json.dumps(settings), json.dumps(ids)],
        cwd=ROOT,
        env={**os.environ, "HUEY_IMMEDIATE": "1"},
    )
    try:
        deadline = time.monotonic() + 30
        while len(twilio.received) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(twilio.received) >= 3
        os.kill(worker.pid, signal.SIGKILL)  # the third message is in flight
    finally:
        worker.wait(timeout=10)
    twilio.plan.clear()
    statuses = Counter(outbox(outbox_id).status for outbox_id in ids)
    assert statuses["sending"] == 1 and statuses["sent"] >= 2 and statuses["queued"] >= 1

    # Restarted after the dead worker's lease has run out: the sweep takes the row back.
    with app.app_context():
        db.session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.status == "sending")
            .values(lease_until=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
        due = service.sweep_outbox().due
        db.session.commit()
        for outbox_id in due:
            service.send_message(outbox_id=outbox_id)

    assert {outbox(outbox_id).status for outbox_id in ids} == {"sent"}
    sends = Counter(request.params["To"] for request in twilio.accepted)
    assert sends == Counter(phones)  # each exactly once
    for outbox_id in ids:
        row = outbox(outbox_id)
        assert row.provider_sid in {
            r.sid for r in twilio.accepted if r.params["To"] == row.to_phone
        }
