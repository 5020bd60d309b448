"""Request ids, and logs that never carry names, phones or free text."""

from __future__ import annotations

import logging
import re

from app.reports import service
from tests.conftest import bearer, report_payload
from tests.helpers import assert_envelope

NAME = "Wòbèn Jozèf Sen-Fò"
PHONE = "+15005550006"
NOTE_TEXT = "Li te nan lopital Sen Mikèl ak pitit fi li."
DESCRIPTION = "Tatoo zwazo sou ponyèt dwat."


def test_request_id_is_generated_per_request(client):
    first = client.get("/healthz").headers["X-Request-ID"]
    second = client.get("/healthz").headers["X-Request-ID"]

    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert first != second


def test_a_clean_incoming_request_id_is_kept(client):
    response = client.get("/healthz", headers={"X-Request-ID": "lb-7f3a.01_x"})

    assert response.headers["X-Request-ID"] == "lb-7f3a.01_x"


def test_an_unsafe_incoming_request_id_is_replaced(client, subtests):
    for unsafe in ("x" * 65, "a b", "id;drop", "ñ", "<script>", ""):
        with subtests.test(unsafe=unsafe):
            response = client.get("/healthz", headers={"X-Request-ID": unsafe})

            assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])


def test_logs_never_carry_names_phones_or_free_text(app, client, coordinator, caplog, monkeypatch):
    caplog.set_level(logging.INFO)
    token = coordinator["token"]

    created = client.post(
        "/api/v1/reports",
        json=report_payload(
            full_name=NAME,
            given_name=None,
            family_name=None,
            author_phone=PHONE,
            description=DESCRIPTION,
        ),
        headers={"Idempotency-Key": "log-test"},
    )
    report_id = created.get_json()["id"]
    client.get(f"/api/v1/reports/{report_id}", headers=bearer(token))
    client.get(
        "/api/v1/reports",
        query_string={"reference": created.get_json()["reference"]},
        headers=bearer(token),
    )
    client.post(
        f"/api/v1/reports/{report_id}/notes",
        json={"text": NOTE_TEXT, "author_phone": PHONE, "status": "believed_alive"},
        headers=bearer(token),
    )
    client.post("/api/v1/reports", json=report_payload(full_name=NAME, author_phone="not a phone"))
    client.post(
        "/api/v1/reports/status",
        json={"reference": created.get_json()["reference"], "phone": PHONE},
    )

    def failing_add_note(**kwargs):
        data = kwargs["data"]
        raise RuntimeError(f"cannot store note {data['text']} about {NAME} from {PHONE}")

    monkeypatch.setattr(service, "add_note", failing_add_note)
    crashed = client.post(
        f"/api/v1/reports/{report_id}/notes",
        json={"text": NOTE_TEXT, "author_phone": PHONE},
        headers=bearer(token),
    )

    body = assert_envelope(crashed, 500, "internal_error")
    assert crashed.headers["X-Request-ID"] in body["message"]
    logged = caplog.text + "\n".join(str(r.args) for r in caplog.records)
    assert f"POST /api/v1/reports/{report_id}/notes 500" in logged
    assert f"GET /api/v1/reports/{report_id} 200" in logged
    assert "POST /api/v1/reports 201" in logged
    assert crashed.headers["X-Request-ID"] in logged
    for secret in (
        NAME,
        "Wòbèn",
        "Sen-Fò",
        PHONE,
        "5005550006",
        NOTE_TEXT,
        "lopital",
        DESCRIPTION,
        "not a phone",
    ):
        assert secret not in logged, secret
    assert created.get_json()["reference"] not in logged  # query strings are not logged
