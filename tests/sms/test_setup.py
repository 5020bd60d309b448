"""SMS configuration, pacing per sender, and the operators' CLI."""

from __future__ import annotations

import uuid

import pytest

from app.config import ConfigError, load_config
from app.sms import pacing
from app.sms.pacing import LocalPacer, RedisPacer

TWILIO = {
    "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
    "TWILIO_AUTH_TOKEN": "secret",
    "TWILIO_FROM": "+15005550006",
    "PUBLIC_BASE_URL": "https://reunite.example.org",
}


def test_console_is_the_default_and_twilio_follows_its_credentials():
    assert load_config({})["SMS_BACKEND"] == "console"
    config = load_config(TWILIO)
    assert config["SMS_BACKEND"] == "twilio"
    assert config["TWILIO_API_BASE_URL"] is None
    assert load_config({**TWILIO, "SMS_BACKEND": "console"})["SMS_BACKEND"] == "console"


@pytest.mark.parametrize("name", sorted(TWILIO))
def test_twilio_refuses_to_start_without(name):
    env = {k: v for k, v in TWILIO.items() if k != name} | {"SMS_BACKEND": "twilio"}
    with pytest.raises(ConfigError, match=name):
        load_config(env)


@pytest.mark.parametrize(
    "env, message",
    [
        ({"SMS_BACKEND": "carrier-pigeon"}, "SMS_BACKEND"),
        ({"SMS_SEGMENTS_PER_SECOND": "0"}, "SMS_SEGMENTS_PER_SECOND"),
        ({"SMS_SEGMENTS_PER_SECOND": "fast"}, "SMS_SEGMENTS_PER_SECOND"),
        ({"SMS_LEASE_S": "10", "SMS_SEND_TIMEOUT_S": "15"}, "SMS_LEASE_S"),
        ({"TWILIO_API_BASE_URL": "localhost:8080"}, "TWILIO_API_BASE_URL"),
        ({"SMS_MAX_ATTEMPTS": "0"}, "SMS_MAX_ATTEMPTS"),
    ],
)
def test_settings_that_cannot_work_stop_the_start(env, message):
    with pytest.raises(ConfigError, match=message):
        load_config(env)


def test_local_pacer_spaces_segments_at_the_rate(monkeypatch):
    monkeypatch.setattr(pacing.time, "monotonic", lambda: 50.0)
    pacer = LocalPacer(rate=10.0)
    waits = [pacer.reserve("+15005550006", 2, max_wait=5) for _ in range(10)]
    # One second of sends goes at once (the burst), then 2 segments every 0.2 s.
    assert waits[:6] == pytest.approx([0.0] * 6, abs=1e-9)
    assert waits[6:] == pytest.approx([0.2, 0.4, 0.6, 0.8])
    assert pacer.reserve("+15005550006", 100, max_wait=0.5) < 0  # too far ahead: not booked
    assert pacer.reserve("+15005550007", 1, max_wait=0) == 0  # another sender, its own bucket


def test_redis_pacer_is_shared_by_every_worker():
    url = "redis://127.0.0.1:6379/15"
    sender = f"test-{uuid.uuid4().hex}"
    first, second = RedisPacer(url, rate=5.0), RedisPacer(url, rate=5.0)
    waits = [pacer.reserve(sender, 1, max_wait=5) for pacer in (first, second) * 5]
    assert waits[:6] == pytest.approx([0.0] * 6, abs=0.01)  # the burst: one second's worth
    assert waits[9] == pytest.approx(0.8, abs=0.1)  # the 10th segment at 5/s, shared
    assert first.reserve(sender, 1, max_wait=0.1) < 0


def test_send_test_and_outbox_commands(app, twilio):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["sms", "send-test", "+15555550142", "--language", "sv"])
    assert result.exit_code == 0, result.output
    assert "sent via twilio (1 segment(s), GSM-7)" in result.output
    [request] = twilio.received
    assert request.params["Body"].startswith("Reunite: testmeddelande")

    result = runner.invoke(args=["sms", "outbox", "--status", "sent"])
    assert result.exit_code == 0
    assert "queued=0  sending=0  sent=1" in result.output
    assert "test/sv" in result.output and "+15…42" in result.output
    assert "5555550142" not in result.output

    result = runner.invoke(args=["sms", "receive", "+15555550143", "ESTADO ABC-DEF"])
    assert result.exit_code == 0, result.output
    assert "read as status; reply queued: Reunite: no hay ningún reporte" in result.output

    result = runner.invoke(args=["sms", "send-test", "not-a-number"])
    assert result.exit_code == 2 and "not a phone number" in result.output
