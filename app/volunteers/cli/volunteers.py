"""`flask volunteers ...`: list volunteers, vet one, load the demo volunteers and tasks."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import AppGroup

from app.common.phones import mask_phone
from app.errors import NotFound
from app.extensions import db
from app.volunteers import service

volunteers_cli = AppGroup("volunteers", help="Registered volunteers.")
DEMO_FILE = Path(__file__).resolve().parents[1] / "data" / "demo.json"


@volunteers_cli.command("list")
@click.option("--limit", default=50, show_default=True, help="How many, newest first.")
@click.option("--vetted/--not-vetted", default=None, help="Only vetted (or only not vetted).")
def list_command(limit: int, vetted: bool | None) -> None:
    """Print volunteers, newest first, with masked phone numbers."""
    for v in service.list_volunteers(limit=limit, vetted=vetted)[:limit]:
        flags = ("vetted" if v.vetted else "not vetted") + (", opted out" if v.opted_out else "")
        click.echo(
            f"{v.id}  {mask_phone(v.phone)}  {v.name}  [{', '.join(v.skills) or '-'}]"
            f"  {v.home_location or '-'}  ({flags})"
        )


@volunteers_cli.command("vet")
@click.argument("volunteer_id")
@click.option("--by", "actor", default="cli", show_default=True, help="Recorded as vetted_by.")
def vet_command(volunteer_id: str, actor: str) -> None:
    """Mark volunteer VOLUNTEER_ID vetted."""
    try:
        volunteer = service.get_volunteer(volunteer_id=volunteer_id)
    except NotFound:
        raise click.BadParameter("no volunteer with this id", param_hint="ID") from None
    changed = service.set_vetted(volunteer=volunteer, vetted=True, actor=actor)
    db.session.commit()
    click.echo(
        f"{volunteer.id} ({mask_phone(volunteer.phone)}): "
        + ("vetted" if changed else "already vetted")
    )


@volunteers_cli.command("demo")
@click.option("--if-empty", is_flag=True, help="Load nothing when volunteers exist already.")
def demo_command(if_empty: bool) -> None:
    """Load synthetic demo volunteers and open tasks, on hold until a coordinator dispatches
    them (try `flask tasks plan --send`)."""
    if if_empty and service.list_volunteers(limit=1):
        click.echo("demo: volunteers exist; nothing loaded")
        return
    data = json.loads(DEMO_FILE.read_text(encoding="utf-8"))
    for entry in data["volunteers"]:
        vetted = entry.pop("vetted", False)
        volunteer = service.register_volunteer(data=entry, created_by="demo")
        if vetted:
            service.set_vetted(volunteer=volunteer, vetted=True, actor="demo")
    for entry in data["tasks"]:
        service.tasks.create_task(data=entry, created_by="demo")
    db.session.commit()
    click.echo(f"demo: loaded {len(data['volunteers'])} volunteers and {len(data['tasks'])} tasks")
