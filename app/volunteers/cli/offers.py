"""`flask offers ...`: list donors' offers, rank them for a need, pair one with a need."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.common.phones import mask_phone
from app.errors import AppError
from app.extensions import db
from app.volunteers.service import donations as service

offers_cli = AppGroup("offers", help="Donors' offers and their pairing with needs.")


@offers_cli.command("list")
@click.option("--limit", default=50, show_default=True, help="How many, newest first.")
@click.option("--status", default=None, help="open, exhausted, withdrawn or expired.")
@click.option("--category", default=None, help="A category id, e.g. water.")
def list_command(limit: int, status: str | None, category: str | None) -> None:
    """Print offers, newest first, with masked phone numbers."""
    for o in service.list_offers(limit=limit, status=status, category=category)[:limit]:
        amount = f"{o.remaining}/{o.quantity} {o.currency or o.unit}"
        click.echo(
            f"{o.id}  {o.category}  {amount}  {o.status}  {mask_phone(o.donor.phone)}"
            f"  {o.location or '-'}"
        )


@offers_cli.command("candidates")
@click.argument("task_id")
@click.option("--limit", default=20, show_default=True, help="How many offers, best first.")
def candidates_command(task_id: str, limit: int) -> None:
    """Rank the open offers for need TASK_ID and show the set proposed to cover it."""
    try:
        found = service.offer_candidates(task_id=task_id, limit=limit)
    except AppError as exc:
        raise click.ClickException(exc.message) from None
    task = found.task
    click.echo(
        f"{task.id}: {task.supply_quantity} {task.supply_category}, {found.outstanding} missing"
    )
    for offer, ranked in found.ranked:
        why = "; ".join(r.text for r in ranked.reasons)
        click.echo(f"  {offer.id}  gives {ranked.give}  cost {ranked.cost:.3f}  {why}")
    proposal = found.proposal
    parts = ", ".join(f"{p.offer_id} x {p.give}" for p in proposal.parts) or "none"
    click.echo(f"proposed: {parts} ({'; '.join(r.text for r in proposal.reasons)})")


@offers_cli.command("pair")
@click.argument("offer_id")
@click.argument("task_id")
@click.argument("quantity", type=click.IntRange(min=1))
@click.option("--by", "actor", default="cli", show_default=True, help="Recorded as decided_by.")
@click.option("--propose-only", is_flag=True, help="Propose, leave the decision to others.")
def pair_command(
    offer_id: str, task_id: str, quantity: int, actor: str, propose_only: bool
) -> None:
    """Pair QUANTITY of offer OFFER_ID with need TASK_ID and accept it (both sides get an SMS)."""
    try:
        (pairing,) = service.propose_pairings(
            task_id=task_id, offer_id=offer_id, quantity=quantity, actor=actor
        )
        if not propose_only:
            pairing = service.accept_pairing(pairing_id=pairing.id, actor=actor)
    except AppError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from None
    db.session.commit()
    click.echo(f"{pairing.id} ({pairing.reference}): {pairing.quantity} {pairing.status}")


@offers_cli.command("expire")
def expire_command() -> None:
    """Mark the offers past their expiry expired."""
    count = service.expire_offers()
    db.session.commit()
    click.echo(f"{count} offers expired")
