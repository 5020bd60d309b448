"""`flask sms ...`: send a test message, inspect the outbox, run the sweep by hand."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.common.ids import new_id
from app.common.phones import mask_phone
from app.errors import ValidationError
from app.extensions import db
from app.sms import service
from app.sms.models import STATUSES

sms_cli = AppGroup("sms", help="SMS outbox and gateway.")


@sms_cli.command("send-test")
@click.argument("phone")
@click.option("--language", default="en", show_default=True, help="Template language.")
def send_test(phone: str, language: str) -> None:
    """Queue a test message to PHONE (E.164) and send it now through the configured backend."""
    try:
        row = service.queue_message(
            to=phone,
            template="test",
            language=language,
            params={},
            dedupe_key=f"send-test:{new_id()}",
        )
    except ValidationError:
        raise click.BadParameter(
            "not a phone number (use +countrycode…)", param_hint="PHONE"
        ) from None
    outbox_id = row.id
    db.session.commit()  # a running worker may send it first: the claim decides who does
    outcome = service.send_message(outbox_id=outbox_id)
    row = service.get_outbox_message(outbox_id=outbox_id)
    click.echo(
        f"outbox {outbox_id}: {row.status} via {service.gateway().name}"
        f" ({row.segments} segment(s), {row.encoding})"
        + (f", {row.reason}" if row.reason else "")
        + (f", retry in {outcome.retry_in:.0f}s" if outcome.retry_in else "")
    )


@sms_cli.command("receive")
@click.argument("phone")
@click.argument("text")
def receive(phone: str, text: str) -> None:
    """Handle TEXT as if PHONE had sent it (for demos and drills, where Twilio cannot post to
    /sms/inbound); prints what it was read as and the reply queued."""
    try:
        row = service.receive_message(message_sid=f"CLI{new_id()}", from_phone=phone, body=text)
    except ValidationError:
        raise click.BadParameter("not a phone number", param_hint="PHONE") from None
    assert row is not None  # a fresh sid
    command = service.handle_inbound(inbound_id=row.id)  # the queued task will find it done
    reply = service.find_reply(inbound_id=row.id)
    db.session.commit()
    click.echo(f"read as {command}; reply queued: {reply.body if reply else '(none)'}")


@sms_cli.command("outbox")
@click.option(
    "--status",
    type=click.Choice(["stuck", *STATUSES]),
    default="stuck",
    show_default=True,
    help="stuck: every row not yet delivered, undelivered, failed or expired.",
)
@click.option("--limit", default=50, show_default=True)
def outbox(status: str, limit: int) -> None:
    """List outbox rows, newest first, and the count per status."""
    counts = service.count_outbox()
    click.echo("  ".join(f"{name}={counts.get(name, 0)}" for name in STATUSES))
    for row in service.list_outbox(status=status, limit=limit):
        click.echo(
            f"{row.id}  {row.status:<11} attempts={row.attempts} {row.template}/{row.language}"
            f" to={mask_phone(row.to_phone)} next={row.next_attempt_at:%Y-%m-%d %H:%M:%S}"
            f" {row.reason or ''}".rstrip()
        )


@sms_cli.command("sweep")
def sweep() -> None:
    """Run the periodic sweep now: reclaim, expire, enqueue what is due, and enqueue a
    delivery check with Twilio for each message silent past SMS_DELIVERY_TIMEOUT_HOURS."""
    from app.sms.tasks import sweep_outbox_task

    click.echo(sweep_outbox_task.call_local())
