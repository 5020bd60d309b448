"""Tasks (needs): create, read, correct, start, finish, cancel, with their history.

A task's `status` is never set by hand: `settle` derives it from the task's dispatches after
every change (open → offered → assigned → in progress → done, or cancelled), and each change
writes one line of history with the status before and after. Flushes, never commits.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update

from app.common.fields import point_errors
from app.common.ids import is_id
from app.common.jobs import after_commit
from app.common.locks import lock_row
from app.common.phones import PhoneError, normalize_phone
from app.common.time import utcnow
from app.errors import Conflict, NotFound, ValidationError
from app.extensions import db
from app.matching import service as matching_service
from app.sms import service as sms_service
from app.volunteers import assign
from app.volunteers.models import Dispatch, Task, TaskEvent
from app.volunteers.models.tasks import DISPATCH_HOLDING, TASK_CLOSED

# What a coordinator may correct after creation (status, rounds and history are the service's).
EDITABLE = frozenset(
    {
        "title",
        "description",
        "skills",
        "preferred_skills",
        "languages",
        "location",
        "lat",
        "lon",
        "radius_km",
        "window_start",
        "window_end",
        "people",
        "priority",
        "involves_minor",
        "supply_category",
        "supply_quantity",
        "contact_name",
        "contact_phone",
    }
)
# A confirmed match's follow-up: a verification visit, and the escort home if it checks out.
MATCH_TASK_TITLE = "Reunification escort / verification visit"
MATCH_TASK_WINDOW = timedelta(hours=48)


def _check(task: Task, *, now: datetime) -> None:
    """Refuse what no volunteer could ever do (422, nothing written)."""
    errors: dict[str, list[str]] = {}
    taxonomy = assign.load_taxonomy()
    for name in ("skills", "preferred_skills"):
        if unknown := taxonomy.unknown(getattr(task, name) or []):
            errors[name] = [f"Unknown skills: {', '.join(sorted(unknown))}."]
    if task.window_start and task.window_end and task.window_end <= task.window_start:
        errors["window_end"] = ["Must be after window_start."]
    elif task.window_end and task.window_end <= now:
        errors["window_end"] = ["The window has already ended."]
    if task.supply_category is not None:
        from app.volunteers.assign.supply import load_categories

        if load_categories().unknown([task.supply_category]):
            errors["supply_category"] = ["Unknown category."]
    if (task.supply_quantity is None) != (task.supply_category is None):
        errors.setdefault("supply_quantity", []).append(
            "Give supply_category and supply_quantity together."
        )
    if task.contact_phone:
        try:
            task.contact_phone = normalize_phone(task.contact_phone)
        except PhoneError:
            errors["contact_phone"] = ["Not a phone number."]
    errors.update(point_errors({"lat": task.lat, "lon": task.lon}))
    if errors:
        raise ValidationError(errors=errors)


def _locate(task: Task) -> None:
    """Geocode the location offline, as matching and volunteer registration do."""
    point = matching_service.geocode(task.location, None)
    task.lat, task.lon = point if point else (None, None)


def create_task(*, data: dict[str, Any], created_by: str, source: str = "coordinator") -> Task:
    """A new open task from validated input; explicit lat/lon win over geocoding."""
    now = utcnow()
    task = Task(
        **{k: v for k, v in data.items() if k in EDITABLE or k in ("report_id", "match_id")},
        source=source,
        status="open",
        # Until request_dispatch: a task saved without offers waits for a coordinator.
        on_hold=True,
        rounds=0,
        created_by=created_by,
        created_at=now,
        updated_at=now,
    )
    task.skills = list(task.skills or [])
    task.preferred_skills = list(task.preferred_skills or [])
    task.languages = list(task.languages or [])
    task.people = task.people or 1
    task.priority = task.priority or 3
    task.radius_km = task.radius_km or 25.0
    task.involves_minor = bool(task.involves_minor)
    if task.lat is None and task.location:
        _locate(task)
    _check(task, now=now)
    db.session.add(task)
    db.session.flush()
    record_event(task, actor=created_by, event="created", before=None)
    return task


def create_task_for_match(*, match_id: str, missing_report: Any, found_report: Any) -> Task:
    """The task a confirmed missing/found match creates: someone visits the found person to
    verify, then escorts them (or hands a child over) to the family. Idempotent per match.

    It needs a vetted volunteer when either report concerns a minor. The found person's place
    is where the visit happens: it goes to the volunteer, never to the family.
    """
    existing = db.session.scalar(select(Task).where(Task.match_id == match_id))
    if existing is not None:
        return existing
    minor = bool(missing_report.is_minor or found_report.is_minor)
    languages = [
        code
        for code in dict.fromkeys(
            (r.language or "").split("-")[0].lower() for r in (found_report, missing_report)
        )
        if code
    ][:1]
    now = utcnow()
    data: dict[str, Any] = {
        "title": MATCH_TASK_TITLE,
        "description": f"Confirmed match of reports {missing_report.reference} and "
        f"{found_report.reference}: verify identity, then escort.",
        "match_id": match_id,
        "report_id": found_report.id,
        "preferred_skills": ["psychosocial", "childcare"] if minor else ["psychosocial"],
        "languages": languages,
        "location": found_report.last_known_location,
        "lat": found_report.lat,
        "lon": found_report.lon,
        "window_start": now,
        "window_end": now + MATCH_TASK_WINDOW,
        "people": 1,
        "priority": 4 if minor else 3,
        "involves_minor": minor,
    }
    task = create_task(data=data, created_by="system", source="match")
    request_dispatch(task)
    return task


def request_dispatch(task: Task) -> None:
    """Send the task's first round of offers once this transaction has committed (and, should
    that hand-over be lost, the minute's sweep sends it)."""
    from app.volunteers.tasks import dispatch_task_job  # the tasks module imports this one

    task.on_hold = False
    after_commit(dispatch_task_job, task.id)


def get_task(*, task_id: str) -> Task:
    """A task by id."""
    task = db.session.get(Task, task_id) if is_id(task_id) else None
    if task is None:
        raise NotFound("No task with this id.", code="task_not_found")
    return task


def list_tasks(
    *,
    limit: int,
    after_id: str | None = None,
    status: str | None = None,
    escalated: bool | None = None,
) -> list[Task]:
    """Tasks newest first; limit + 1 rows so the caller can paginate. `escalated=True` is the
    coordinators' queue: unfinished tasks that dispatch could not fill."""
    query = select(Task)
    if status:
        query = query.where(Task.status == status)
    if escalated is True:
        query = query.where(Task.escalated_at.is_not(None), Task.status.not_in(TASK_CLOSED))
    elif escalated is False:
        query = query.where(Task.escalated_at.is_(None))
    if after_id:
        query = query.where(Task.id < after_id)
    return list(db.session.scalars(query.order_by(Task.id.desc()).limit(limit + 1)))


def task_history(*, task: Task) -> list[TaskEvent]:
    """The task's history, oldest first."""
    query = select(TaskEvent).where(TaskEvent.task_id == task.id)
    return list(db.session.scalars(query.order_by(TaskEvent.at, TaskEvent.id)))


def task_dispatches(*, task: Task) -> list[Dispatch]:
    """Every offer of the task, oldest first."""
    query = select(Dispatch).where(Dispatch.task_id == task.id)
    return list(db.session.scalars(query.order_by(Dispatch.created_at, Dispatch.id)))


def dispatch_counts(task_id: str) -> Counter[str]:
    """How many of the task's dispatches are in each status."""
    rows = db.session.execute(
        select(Dispatch.status, func.count())
        .where(Dispatch.task_id == task_id)
        .group_by(Dispatch.status)
    )
    return Counter({status: count for status, count in rows})


def lock_task(task_id: str) -> Task:
    """Take the task's row for this transaction and read it afresh (app.common.locks): a
    second YES for the same task waits here, then counts the first one's place."""
    task = lock_row(Task, task_id)
    if task is None:
        raise NotFound("No task with this id.", code="task_not_found")
    return task


def settle(task: Task) -> str:
    """Derive the task's status from its dispatches (closed tasks stay closed)."""
    if task.status in TASK_CLOSED:
        return task.status
    db.session.flush()
    counts = dispatch_counts(task.id)
    holding = sum(counts[s] for s in DISPATCH_HOLDING)
    if holding >= task.people and counts["done"] == holding:
        status = "done"
    elif counts["started"] or (task.status == "in_progress" and holding):
        status = "in_progress"
    elif holding >= task.people:
        status = "assigned"
    elif counts["offered"]:
        status = "offered"
    else:
        status = "open"
    if status != task.status:
        task.status = status
        task.updated_at = utcnow()
        if status in TASK_CLOSED:
            task.closed_at = task.updated_at
    return status


def record_event(
    task: Task,
    *,
    actor: str,
    event: str,
    before: str | None,
    volunteer_id: str | None = None,
    dispatch_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> TaskEvent:
    """One line of history: `before` is the status the change started from."""
    row = TaskEvent(
        task_id=task.id,
        at=utcnow(),
        actor=actor,
        event=event,
        from_status=before,
        to_status=task.status,
        volunteer_id=volunteer_id,
        dispatch_id=dispatch_id,
        detail=detail or {},
    )
    db.session.add(row)
    db.session.flush()
    return row


def update_task(
    *, task: Task, changes: dict[str, Any], actor: str, expected_version: int | None = None
) -> list[str]:
    """Correct an unfinished task; returns the fields that changed. Offers already out keep
    their wording; places and requirements apply to the next offers."""
    if expected_version is not None and expected_version != task.version:
        raise Conflict(
            "The task was changed since you read it; reload and retry.",
            code="version_conflict",
            errors={"version": [f"The current version is {task.version}."]},
        )
    if task.status in TASK_CLOSED:
        raise Conflict("The task is closed.", code="task_closed")
    changed = [k for k, v in changes.items() if k in EDITABLE and getattr(task, k) != v]
    before = {k: getattr(task, k) for k in changed}
    for name in changed:
        setattr(task, name, changes[name])
    if "location" in changed and "lat" not in changes:
        _locate(task)
    try:
        _check(task, now=utcnow())
    except ValidationError:
        for name, value in before.items():
            setattr(task, name, value)
        raise
    if changed:
        status = task.status
        task.updated_at = utcnow()
        settle(task)
        record_event(task, actor=actor, event="updated", before=status, detail={"fields": changed})
    return changed


def start_task(*, task: Task, actor: str) -> bool:
    """The volunteers are on their way: accepted places become started."""
    task = lock_task(task.id)
    if task.status != "assigned" and not (
        task.status == "offered" and dispatch_counts(task.id)["accepted"]
    ):
        if task.status == "in_progress":
            return False
        raise Conflict("Only a task with accepted volunteers can start.", code="task_not_assigned")
    before = task.status
    now = utcnow()
    db.session.execute(
        update(Dispatch)
        .where(Dispatch.task_id == task.id, Dispatch.status == "accepted")
        .values(status="started")
        .execution_options(synchronize_session=False)
    )
    task.status = "in_progress"
    task.updated_at = now
    settle(task)
    record_event(task, actor=actor, event="started", before=before)
    return True


def complete_task(*, task: Task, actor: str) -> bool:
    """A coordinator closes the task as done; the volunteers holding it are done too."""
    task = lock_task(task.id)
    if task.status == "done":
        return False
    if task.status == "cancelled":
        raise Conflict("The task was cancelled.", code="task_closed")
    if not sum(dispatch_counts(task.id)[s] for s in DISPATCH_HOLDING):
        raise Conflict("No volunteer holds this task.", code="task_not_assigned")
    before = task.status
    now = utcnow()
    db.session.execute(
        update(Dispatch)
        .where(Dispatch.task_id == task.id, Dispatch.status.in_(("accepted", "started")))
        .values(status="done", finished_at=now, reason="completed_by_coordinator")
        .execution_options(synchronize_session=False)
    )
    close_offers(task, reason="task_done")
    task.status, task.updated_at, task.closed_at = "done", now, now
    record_event(task, actor=actor, event="completed", before=before)
    return True


def cancel_task(*, task: Task, actor: str, reason: str | None = None) -> bool:
    """Cancel an unfinished task: open offers are withdrawn and everyone who was offered or
    holds a place is told by SMS that they are no longer needed."""
    task = lock_task(task.id)
    if task.status == "cancelled":
        return False
    if task.status == "done":
        raise Conflict("The task is already done.", code="task_closed")
    before = task.status
    now = utcnow()
    held = list(
        db.session.scalars(
            select(Dispatch).where(
                Dispatch.task_id == task.id, Dispatch.status.in_(("accepted", "started"))
            )
        )
    )
    for dispatch in held:
        dispatch.status, dispatch.finished_at, dispatch.reason = "cancelled", now, "task_cancelled"
        notify_volunteer(dispatch, "task_cancelled")
    close_offers(task, reason="task_cancelled")
    task.status, task.updated_at, task.closed_at = "cancelled", now, now
    record_event(
        task, actor=actor, event="cancelled", before=before, detail={"reason": reason or ""}
    )
    return True


def close_offers(task: Task, *, reason: str) -> list[Dispatch]:
    """Withdraw the task's unanswered offers and tell each volunteer not to come."""
    pending = list(
        db.session.scalars(
            select(Dispatch).where(Dispatch.task_id == task.id, Dispatch.status == "offered")
        )
    )
    now = utcnow()
    for dispatch in pending:
        dispatch.status, dispatch.finished_at, dispatch.reason = "withdrawn", now, reason
        notify_volunteer(dispatch, "offer_withdrawn")
    db.session.flush()
    return pending


def notify_volunteer(dispatch: Dispatch, template: str) -> None:
    """Queue one SMS about an offer to its volunteer (once per offer and template)."""
    from app.volunteers.models import Volunteer

    volunteer = db.session.get(Volunteer, dispatch.volunteer_id)
    if volunteer is None:
        return
    sms_service.queue_message(
        to=volunteer.phone,
        template=template,
        language=(volunteer.languages or [None])[0],
        params={"code": dispatch.code},
        dedupe_key=f"dispatch:{dispatch.id}:{template}",
    )


def escalate(task: Task, *, reason: str, actor: str = "system") -> bool:
    """Put an unfilled task in the coordinators' queue (once until they re-dispatch it)."""
    if task.escalated_at is not None or task.status in TASK_CLOSED:
        return False
    task.escalated_at = utcnow()
    task.escalation = reason[:60]
    record_event(
        task, actor=actor, event="escalated", before=task.status, detail={"reason": reason}
    )
    return True


def engine_task(task: Task, *, people: int | None = None) -> assign.Task:
    """The task as the assignment engine sees it (`people`: the places still to fill)."""
    point = (task.lat, task.lon) if task.lat is not None and task.lon is not None else None
    window = (
        assign.Window(task.window_start, task.window_end)
        if task.window_start and task.window_end
        else None
    )
    return assign.Task(
        id=task.id,
        skills=frozenset(task.skills or ()),
        languages=frozenset(task.languages or ()),
        preferred_skills=frozenset(task.preferred_skills or ()),
        point=point,
        window=window,
        people=max(1, people if people is not None else task.people),
        priority=task.priority,
        involves_minor=task.involves_minor,
        radius_km=task.radius_km,
    )


def count_tasks() -> dict[str, int]:
    """Unfinished tasks, and those among them in the coordinators' escalated queue."""
    unfinished = Task.status.not_in(TASK_CLOSED)
    return {
        "open": db.session.scalar(select(func.count(Task.id)).where(unfinished)) or 0,
        "escalated": db.session.scalar(
            select(func.count(Task.id)).where(unfinished, Task.escalated_at.is_not(None))
        )
        or 0,
    }


def volunteer_dispatches(*, volunteer_id: str, limit: int = 50) -> list[tuple[Dispatch, Task]]:
    """A volunteer's offers with their tasks, newest first (a coordinator's volunteer page)."""
    query = (
        select(Dispatch, Task)
        .join(Task, Task.id == Dispatch.task_id)
        .where(Dispatch.volunteer_id == volunteer_id)
        .order_by(Dispatch.created_at.desc(), Dispatch.id.desc())
        .limit(limit)
    )
    return [(dispatch, task) for dispatch, task in db.session.execute(query)]
