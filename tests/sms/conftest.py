"""SMS fixtures: the local Twilio stub, an app pointed at it, signed webhook requests."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from twilio.request_validator import RequestValidator

from app.extensions import db
from app.sms import service
from app.sms.models import OutboxMessage
from tests.sms.twilio_stub import ACCOUNT_SID, AUTH_TOKEN, TwilioStub

PUBLIC_BASE_URL = "https://reunite.example.org"
# Twilio's magic test number for a valid sender.
SENDER = "+15005550006"


def twilio_settings(stub_url: str) -> dict[str, Any]:
    """Settings that point the twilio backend at a stub (also used by subprocesses)."""
    return {
        "SMS_BACKEND": "twilio",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM": SENDER,
        "TWILIO_API_BASE_URL": stub_url,
        "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        "SMS_SEND_TIMEOUT_S": 0.3,
        "SMS_LEASE_S": 5.0,
        "SMS_RETRY_BASE_S": 1.0,
        "SMS_SEGMENTS_PER_SECOND": 10_000.0,
    }


@pytest.fixture
def stub() -> Iterator[TwilioStub]:
    with TwilioStub() as running:
        yield running


@pytest.fixture
def twilio(app: Flask, stub: TwilioStub) -> TwilioStub:
    """The app sends through the twilio backend to the stub; returns the stub."""
    app.config.update(twilio_settings(stub.url))
    return stub


@pytest.fixture
def queue(app: Flask) -> Callable[..., str]:
    """queue(to=..., template=..., ...) in a committed transaction; returns the outbox id."""

    def make(**overrides: Any) -> str:
        fields: dict[str, Any] = {
            "to": "+15555550101",
            "template": "match_confirmed",
            "language": "en",
            "params": {"reference": "RX7-K2M"},
            "dedupe_key": f"test:{overrides.get('to', '')}:{len(overrides)}",
        }
        fields.update(overrides)
        with app.app_context():
            row = service.queue_message(**fields)
            outbox_id = row.id
            db.session.commit()
        return outbox_id

    return make


@pytest.fixture
def outbox(app: Flask) -> Callable[[str], OutboxMessage]:
    """The outbox row as stored now (detached)."""

    def get(outbox_id: str) -> OutboxMessage:
        with app.app_context():
            row = db.session.get(OutboxMessage, outbox_id)
            db.session.expunge(row)
            return row

    return get


@pytest.fixture
def signed(client: FlaskClient) -> Callable[..., Any]:
    """POST a form to a webhook with Twilio's signature over PUBLIC_BASE_URL + path."""

    def post(path: str, form: dict[str, str], *, token: str = AUTH_TOKEN) -> Any:
        signature = RequestValidator(token).compute_signature(PUBLIC_BASE_URL + path, form)
        return client.post(path, data=form, headers={"X-Twilio-Signature": signature})

    return post


_sids = itertools.count(1)


@pytest.fixture
def sms(app, signed):
    """sms(body, sender=...) posts a signed incoming message; replies go to the console."""
    app.config.update(TWILIO_AUTH_TOKEN=AUTH_TOKEN, PUBLIC_BASE_URL=PUBLIC_BASE_URL)

    def send(body: str, sender: str = "+15555550123", sid: str | None = None):
        form = {
            "MessageSid": sid or f"SM{next(_sids):032x}",
            "From": sender,
            "To": "+15005550006",
            "Body": body,
            "NumMedia": "0",
        }
        response = signed("/sms/inbound", form)
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.mimetype == "text/xml" and b"<Response>" in response.data
        return response

    return send
