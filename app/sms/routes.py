"""Twilio's webhooks: delivery receipts (/sms/status/<outbox id>) and incoming SMS (/sms/inbound).

Both check Twilio's signature against PUBLIC_BASE_URL (403 otherwise), commit once, and leave
the work to the queue, so Twilio gets its answer in milliseconds.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request
from twilio.request_validator import RequestValidator

from app.errors import Forbidden
from app.extensions import db
from app.sms import service
from app.sms import tasks as _tasks  # noqa: F401 - hands committed work to the queue

bp = Blueprint("sms", __name__, url_prefix="/sms")
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def _check_signature() -> None:
    """Twilio signs the public URL it called and the form fields with our auth token."""
    token = current_app.config.get("TWILIO_AUTH_TOKEN")
    base = current_app.config.get("PUBLIC_BASE_URL")
    signature = request.headers.get("X-Twilio-Signature", "")
    if not token or not base or not signature:
        raise Forbidden("Missing or invalid Twilio signature.", code="bad_signature")
    url = base + request.path
    if request.query_string:
        url += "?" + request.query_string.decode("latin-1")
    # The form itself (a MultiDict): the validator signs every value of a repeated field.
    if not RequestValidator(token).validate(url, request.form, signature):
        raise Forbidden("Missing or invalid Twilio signature.", code="bad_signature")


@bp.post("/status/<outbox_id>")
def status(outbox_id: str):
    """A delivery receipt for one outbox message."""
    _check_signature()
    code = request.form.get("ErrorCode", "")
    service.apply_status_callback(
        outbox_id=outbox_id,
        message_sid=request.form.get("MessageSid", ""),
        message_status=request.form.get("MessageStatus", ""),
        error_code=int(code) if code.isdigit() else None,
    )
    db.session.commit()
    return Response(status=204)


@bp.post("/inbound")
def inbound():
    """An incoming SMS: stored once per MessageSid, answered through the outbox."""
    _check_signature()
    sid = request.form.get("MessageSid", "")
    sender = request.form.get("From", "")
    if sid and sender:
        service.receive_message(
            message_sid=sid[:64], from_phone=sender, body=request.form.get("Body", "")
        )
        db.session.commit()
    # Replies go through the outbox (retried, paced, recorded), not in the TwiML.
    return Response(EMPTY_TWIML, mimetype="text/xml")
