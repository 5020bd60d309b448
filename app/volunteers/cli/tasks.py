"""`flask tasks ...`: create, list, show, dispatch, cancel tasks and run the offer sweep."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask.cli import AppGroup

from app.errors import AppError
from app.extensions import db
from app.volunteers import tasks as _jobs  # noqa: F401 - hands committed tasks to the queue
from app.volunteers.models.tasks import TASK_STATUSES
from app.volunteers.service import dispatch as dispatch_service
from app.volunteers.service import tasks as service

tasks_cli = AppGroup("tasks", help="Volunteer tasks and their SMS offers.")


def _fail(error: AppError) -> click.ClickException:
    details = "; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in (error.errors or {}).items())
    return click.ClickException(f"{error.message} {details}".strip())


def _task(task_id: str):
    try:
        return service.get_task(task_id=task_id)
    except AppError as exc:
        raise _fail(exc) from None


@tasks_cli.command("create")
@click.argument("title")
@click.option("--skill", "skills", multiple=True, help="Required skill id (repeatable).")
@click.option("--language", "languages", multiple=True, help="Required language (repeatable).")
@click.option("--location", help="Town or address (geocoded offline).")
@click.option("--people", default=1, show_default=True, type=click.IntRange(1, 100))
@click.option("--priority", default=3, show_default=True, type=click.IntRange(1, 5))
@click.option("--minor", is_flag=True, help="Involves a minor: vetted volunteers only.")
@click.option("--hours", type=float, help="Window: from now, for this many hours.")
@click.option("--no-dispatch", is_flag=True, help="Save it without sending offers.")
def create_command(title, skills, languages, location, people, priority, minor, hours, no_dispatch):
    """Create a task and (unless --no-dispatch) send its first offers."""
    data = {
        "title": title,
        "skills": list(skills),
        "languages": list(languages),
        "location": location,
        "people": people,
        "priority": priority,
        "involves_minor": minor,
    }
    if hours:
        from datetime import timedelta

        now = datetime.now(UTC)
        data.update(window_start=now, window_end=now + timedelta(hours=hours))
    try:
        task = service.create_task(data=data, created_by="cli")
        offers = (
            [] if no_dispatch else dispatch_service.dispatch_task(task=task, actor="cli").offers
        )
    except AppError as exc:
        db.session.rollback()
        raise _fail(exc) from None
    db.session.commit()
    click.echo(f"{task.id}  {task.status}  offers sent: {len(offers)}")


@tasks_cli.command("list")
@click.option("--limit", default=50, show_default=True)
@click.option("--status", type=click.Choice(TASK_STATUSES))
@click.option("--escalated", is_flag=True, help="Only the coordinators' queue.")
def list_command(limit: int, status: str | None, escalated: bool) -> None:
    """Print tasks, newest first."""
    rows = service.list_tasks(limit=limit, status=status, escalated=True if escalated else None)
    for t in rows[:limit]:
        flag = f"  ESCALATED ({t.escalation})" if t.escalated_at else ""
        click.echo(
            f"{t.id}  {t.status:<11}  p{t.priority}  {t.people} people  "
            f"[{', '.join(t.skills) or '-'}]  {t.title}{flag}"
        )


@tasks_cli.command("show")
@click.argument("task_id")
def show_command(task_id: str) -> None:
    """Print a task's offers and history."""
    task = _task(task_id)
    click.echo(f"{task.id}  {task.status}  round {task.rounds}  {task.title}")
    for d in service.task_dispatches(task=task):
        click.echo(
            f"  offer {d.code}  {d.status:<9}  volunteer {d.volunteer_id}  "
            f"round {d.round}  cost {d.cost:.3f}  {d.reason or ''}"
        )
    for e in service.task_history(task=task):
        click.echo(f"  {e.at:%Y-%m-%d %H:%M:%S}  {e.event:<12} {e.from_status} → {e.to_status}")


@tasks_cli.command("dispatch")
@click.argument("task_id")
def dispatch_command(task_id: str) -> None:
    """Send a round of offers now (an escalated task starts its rounds over)."""
    try:
        result = dispatch_service.redispatch_task(task=_task(task_id), actor="cli")
    except AppError as exc:
        db.session.rollback()
        raise _fail(exc) from None
    db.session.commit()
    click.echo(f"offers sent: {len(result.offers)}; open places: {result.open_places}")
    for reason in result.reasons:
        click.echo(f"  {reason['text']}")


@tasks_cli.command("cancel")
@click.argument("task_id")
@click.option("--reason", default=None)
def cancel_command(task_id: str, reason: str | None) -> None:
    """Cancel a task; its volunteers are told by SMS."""
    try:
        changed = service.cancel_task(task=_task(task_id), actor="cli", reason=reason)
    except AppError as exc:
        db.session.rollback()
        raise _fail(exc) from None
    db.session.commit()
    click.echo("cancelled" if changed else "already cancelled")


@tasks_cli.command("plan")
@click.option("--send", is_flag=True, help="Send the planned offers by SMS.")
def plan_command(send: bool) -> None:
    """Assign every open place of every unfilled task at once (least total cost)."""
    result = dispatch_service.plan_open_tasks(actor="cli", send=send)
    db.session.commit()
    plan = result.plan
    empty = sum(u.missing for u in plan.unassigned)
    click.echo(
        f"{len(plan.assignments)} places planned, {empty} left empty, cost {plan.cost:.3f}"
        + (f"; offers sent: {len(result.offers)}, skipped: {result.skipped}" if send else "")
    )
    for u in plan.unassigned:
        click.echo(f"  {u.task_id}: {u.missing} of {u.people} empty: {u.reasons[0].text}")


@tasks_cli.command("sweep")
def sweep_command() -> None:
    """Expire unanswered offers and send the next rounds now (the worker does it each minute)."""
    result = dispatch_service.sweep_offers()
    db.session.commit()
    click.echo(f"expired: {result['expired']}; offers sent: {result['offered']}")
