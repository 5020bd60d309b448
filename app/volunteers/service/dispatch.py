"""Dispatch by SMS: offer a task to the best volunteers, take their YES / NO / DONE <code>.

One round offers each open place to DISPATCH_FANOUT volunteers, best first, each offer with a
four-digit reply code and an expiry. The first YES takes a place under the task's row lock and
a capacity check; a YES for a place already taken is thanked and released. A NO or an expiry
sends the next best; after DISPATCH_MAX_ROUNDS rounds an unfilled task escalates to the
coordinators' queue. Flushes, never commits.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from app.common.bulk import chunked
from app.common.ids import new_id
from app.common.time import utcnow
from app.extensions import db
from app.sms import service as sms_service
from app.volunteers import assign
from app.volunteers.assign.solve import why_none
from app.volunteers.models import Dispatch, Task, Volunteer
from app.volunteers.models.tasks import DISPATCH_IN_HAND, TASK_CLOSED
from app.volunteers.service import tasks as task_service
from app.volunteers.service.volunteers import to_engine_volunteer

log = logging.getLogger(__name__)

# Stage one ranks from the process's pool this many candidates per offer wanted (at least
# CANDIDATES_MIN); stage two re-ranks them with their live load, declines and opt-outs.
CANDIDATES_PER_OFFER = 10
CANDIDATES_MIN = 50
# The pool is rebuilt when this many volunteers changed since it was built, or it is this old;
# until then the changed volunteers join every stage two from the database.
POOL_MAX_CHANGED = 500
POOL_MAX_AGE_S = 600.0


@dataclass
class _CachedPool:
    pool: assign.Pool
    built_at: float
    stamp: datetime | None  # the newest updated_at among the volunteers it holds
    last_id: str | None  # and the newest id (ids grow with time: a new volunteer moves it)
    size: int


@dataclass
class DispatchResult:
    """What one round did: the offers sent, and why the places it could not offer are empty."""

    offers: list[Dispatch] = field(default_factory=list)
    open_places: int = 0
    escalated: bool = False
    reasons: list[dict[str, Any]] = field(default_factory=list)


# One pool per application (in app.extensions), built under this lock.
POOL_KEY = "dispatch_pool"
_pool_lock = threading.Lock()


def _settings() -> dict[str, int]:
    config = current_app.config
    return {
        name: int(config[name])
        for name in (
            "DISPATCH_OFFER_MINUTES",
            "DISPATCH_FANOUT",
            "DISPATCH_MAX_ROUNDS",
            "DISPATCH_DECLINE_DAYS",
        )
    }


def _stamp() -> tuple[datetime | None, str | None]:
    """The newest change and the newest id among volunteers: two index lookups (each its own
    subquery, so SQLite answers both from an index instead of scanning the table)."""
    newest = select(func.max(Volunteer.updated_at)).scalar_subquery()
    last = select(func.max(Volunteer.id)).scalar_subquery()
    return db.session.execute(select(newest, last)).one()


def _build_pool() -> _CachedPool:
    """Every volunteer's lasting attributes as one engine pool (loads and declines are
    applied in stage two, from the database, for the few candidates it ranks)."""
    started = time.monotonic()
    stamp: datetime | None = None
    last_id: str | None = None
    engine_volunteers = []
    rows = db.session.execute(
        select(
            Volunteer.id,
            Volunteer.skills,
            Volunteer.languages,
            Volunteer.lat,
            Volunteer.lon,
            Volunteer.availability,
            Volunteer.max_tasks,
            Volunteer.vetted,
            Volunteer.opted_out,
            Volunteer.updated_at,
        ).execution_options(yield_per=5000)
    )
    for row in rows:
        engine_volunteers.append(to_engine_volunteer(row))  # type: ignore[arg-type]
        stamp = row.updated_at if stamp is None or row.updated_at > stamp else stamp
        last_id = row.id if last_id is None or row.id > last_id else last_id
    pool = assign.prepare_pool(engine_volunteers)
    log.info(
        "dispatch.pool volunteers=%d build_ms=%.0f",
        len(pool),
        (time.monotonic() - started) * 1000,
    )
    return _CachedPool(pool, time.monotonic(), stamp, last_id, len(pool))


def warm_pool() -> int:
    """Build this application's pool now unless it has one (start-up, benchmark); returns its
    size. Several worker threads starting at once build it once."""
    with _pool_lock:
        cached = current_app.extensions.get(POOL_KEY)
        if cached is None:
            current_app.extensions[POOL_KEY] = cached = _build_pool()
    return cached.size


def _pool_and_changed() -> tuple[assign.Pool, list[str]]:
    """This process's pool, and the ids of volunteers changed since it was built."""
    cached: _CachedPool | None = current_app.extensions.get(POOL_KEY)
    changed: list[str] = []
    if cached is not None and time.monotonic() - cached.built_at < POOL_MAX_AGE_S:
        stamp, last_id = _stamp()
        if stamp == cached.stamp and last_id == cached.last_id:
            return cached.pool, changed
        query = select(Volunteer.id).limit(POOL_MAX_CHANGED + 1)
        if cached.stamp is not None:
            query = query.where(Volunteer.updated_at >= cached.stamp)
        changed = list(db.session.scalars(query))
        if len(changed) <= POOL_MAX_CHANGED:
            return cached.pool, changed
    with _pool_lock:
        current_app.extensions[POOL_KEY] = cached = _build_pool()
    return cached.pool, []


def _recent_declines(ids: Sequence[str], since: datetime) -> dict[str, int]:
    counts: dict[str, int] = {}
    for chunk in chunked(list(ids)):
        rows = db.session.execute(
            select(Dispatch.volunteer_id, func.count())
            .where(
                Dispatch.volunteer_id.in_(chunk),
                Dispatch.status.in_(("declined", "expired")),
                Dispatch.finished_at >= since,
            )
            .group_by(Dispatch.volunteer_id)
        )
        counts.update({vid: n for vid, n in rows})
    return counts


def _in_hand(ids: Sequence[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for chunk in chunked(list(ids)):
        rows = db.session.execute(
            select(Dispatch.volunteer_id, func.count())
            .where(Dispatch.volunteer_id.in_(chunk), Dispatch.status.in_(DISPATCH_IN_HAND))
            .group_by(Dispatch.volunteer_id)
        )
        counts.update({vid: n for vid, n in rows})
    return counts


def rank_candidates(
    task: Task,
    *,
    wanted: int,
    now: datetime,
    pool: tuple[assign.Pool, list[str]] | None = None,
) -> tuple[list[assign.Ranked], dict[str, Volunteer]]:
    """The best volunteers for the task's next offers, with live load, declines and opt-outs.

    Stage one ranks from the process's pool by the lasting attributes (skills, languages,
    place, hours, vetting); stage two reads those candidates (and anyone changed since the
    pool was built) from the database and ranks them again as they are now. Volunteers who
    were already offered this task, whatever they answered, are not asked again. Returns the
    ranking and the volunteers' rows read for it.
    """
    settings = _settings()
    pool_, changed = pool or _pool_and_changed()
    asked = set(
        db.session.scalars(select(Dispatch.volunteer_id).where(Dispatch.task_id == task.id))
    )
    engine_task = task_service.engine_task(task)
    limit = max(CANDIDATES_MIN, wanted * CANDIDATES_PER_OFFER) + len(asked)
    first = [r.volunteer_id for r in assign.rank(pool_, engine_task, limit=limit)]
    ids = [vid for vid in dict.fromkeys([*first, *changed]) if vid not in asked]
    if not ids:
        return [], {}
    volunteers = [
        v
        for chunk in chunked(ids)
        for v in db.session.scalars(select(Volunteer).where(Volunteer.id.in_(chunk)))
    ]
    loads = _in_hand(ids)
    declines = _recent_declines(ids, now - timedelta(days=settings["DISPATCH_DECLINE_DAYS"]))
    stopped = sms_service.opted_out_phones(phones=[v.phone for v in volunteers])
    live = [
        to_engine_volunteer(
            v,
            current_tasks=loads.get(v.id, 0),
            recent_declines=declines.get(v.id, 0),
            sms_opted_out=v.phone in stopped,
        )
        for v in volunteers
    ]
    return assign.rank(live, engine_task, limit=wanted), {v.id: v for v in volunteers}


def _new_codes(volunteer_ids: Sequence[str]) -> dict[str, str]:
    """For each volunteer, four digits never sent to them before (codes are unique per
    volunteer, so a late answer still finds its own offer); one query for all of them."""
    used: dict[str, set[str]] = {vid: set() for vid in volunteer_ids}
    rows = db.session.execute(
        select(Dispatch.volunteer_id, Dispatch.code).where(Dispatch.volunteer_id.in_(used))
    )
    for volunteer_id, code in rows:
        used[volunteer_id].add(code)
    codes = {}
    for volunteer_id, taken in used.items():
        if len(taken) >= 9000:
            raise RuntimeError("volunteer has exhausted the four-digit reply codes")
        code = str(1000 + secrets.randbelow(9000))
        while code in taken:
            code = str(1000 + secrets.randbelow(9000))
        codes[volunteer_id] = code
    return codes


def _when(task: Task) -> str:
    if task.window_start:
        return task.window_start.strftime("%d %b %H:%M UTC")
    return "now"


def dispatch_task(*, task: Task, actor: str, now: datetime | None = None) -> DispatchResult:
    """One round of offers for the task's open places (nothing when none is open).

    When the rounds are used up, or nobody qualifies, and no offer is still out, the task
    escalates to the coordinators' queue with the engine's reason.
    """
    now = now or utcnow()
    settings = _settings()
    # The pool first: building it reads every volunteer, which must not happen under the lock.
    pool = _pool_and_changed()
    task = task_service.lock_task(task.id)
    result = DispatchResult()
    if task.status in TASK_CLOSED:
        return result
    counts = task_service.dispatch_counts(task.id)
    holding = counts["accepted"] + counts["started"] + counts["done"]
    unfilled = task.people - holding
    result.open_places = max(0, unfilled)
    wanted = unfilled * settings["DISPATCH_FANOUT"] - counts["offered"]
    if unfilled <= 0 or wanted <= 0:
        return result
    if task.window_end is not None and task.window_end <= now:
        # Nobody can still make it: a coordinator decides (move the window, or cancel).
        if not counts["offered"]:
            result.escalated = task_service.escalate(task, reason="window_passed")
        return result
    if task.rounds >= settings["DISPATCH_MAX_ROUNDS"]:
        if not counts["offered"]:
            result.escalated = task_service.escalate(
                task, reason=f"unfilled_after_{task.rounds}_rounds"
            )
        return result
    ranked, rows = rank_candidates(task, wanted=wanted, now=now, pool=pool)
    if not ranked:
        if not counts["offered"]:
            why = _why_none(pool[0], task)
            result.reasons = why
            result.escalated = task_service.escalate(
                task, reason=why[0]["code"] if why else "no_candidates"
            )
        return result
    result.offers = _send_round(task, ranked, rows, actor=actor, now=now)
    return result


def _send_round(
    task: Task,
    choices: Sequence[assign.Ranked],
    rows: dict[str, Volunteer],
    *,
    actor: str,
    now: datetime,
    detail: dict[str, Any] | None = None,
) -> list[Dispatch]:
    """One round of offers to these volunteers (the task locked by the caller): a dispatch row
    with its code and an SMS each, the round counted, the status settled, one history line."""
    before = task.status
    round_no = task.rounds + 1
    expires = now + timedelta(minutes=_settings()["DISPATCH_OFFER_MINUTES"])
    codes = _new_codes([choice.volunteer_id for choice in choices])
    offers = [
        _offer(
            task,
            choice,
            rows[choice.volunteer_id],
            code=codes[choice.volunteer_id],
            round_no=round_no,
            expires=expires,
            now=now,
        )
        for choice in choices
    ]
    # Set after the offers, so the task's row is written once with them. A task offered is
    # no longer held: from now on the sweep sends its next rounds.
    task.rounds, task.updated_at, task.on_hold = round_no, now, False
    task_service.settle(task)
    task_service.record_event(
        task,
        actor=actor,
        event="offered",
        before=before,
        detail={
            "round": task.rounds,
            "volunteers": [c.volunteer_id for c in choices],
            **(detail or {}),
        },
    )
    return offers


def _why_none(pool: assign.Pool, task: Task) -> list[dict[str, Any]]:
    return [r.as_dict() for r in why_none(pool, task_service.engine_task(task))]


def _offer(
    task: Task,
    choice: assign.Ranked,
    volunteer: Volunteer,
    *,
    code: str,
    round_no: int,
    expires: datetime,
    now: datetime,
) -> Dispatch:
    """One offer: its SMS queued first (the dispatch's id is known before its row), then the
    dispatch row that points at it, written with the round's other rows."""
    dispatch_id = new_id()
    language = (volunteer.languages or [None])[0]
    message = sms_service.queue_message(
        to=volunteer.phone,
        template="task_offer",
        language=language,
        params={
            "title": sms_service.task_title(task.source, language) or task.title,
            "place": task.location or "-",
            "when": _when(task),
            "code": code,
            "minutes": max(1, round((expires - now).total_seconds() / 60)),
        },
        dedupe_key=f"dispatch:{dispatch_id}:offer",
        validity_s=int((expires - now).total_seconds()),
    )
    dispatch = Dispatch(
        id=dispatch_id,
        task_id=task.id,
        volunteer_id=choice.volunteer_id,
        code=code,
        status="offered",
        round=round_no,
        cost=choice.cost,
        distance_km=choice.distance_km,
        reasons=[r.as_dict() for r in choice.reasons],
        outbox_id=message.id,
        created_at=now,
        expires_at=expires,
    )
    if message.status == "failed":  # the number opted out since stage two read it
        dispatch.status, dispatch.finished_at, dispatch.reason = "withdrawn", now, "sms_failed"
    db.session.add(dispatch)
    return dispatch


# ---- Replies -------------------------------------------------------------------------------


def answer_offer(*, phone: str, command: str, code: str, now: datetime | None = None) -> str | None:
    """YES, NO or DONE <code> from a phone; returns the template to answer with, or None
    when no offer of this number has that code (the caller answers "unknown code").

    The code is looked up among this number's offers only: a code sent to someone else is
    unknown here. Nothing changes for an answer that comes too late or to a closed offer: the
    volunteer is told so, politely.
    """
    volunteer_id = db.session.scalar(select(Volunteer.id).where(Volunteer.phone == phone))
    if volunteer_id is None:
        return None
    dispatch = db.session.scalar(
        select(Dispatch).where(Dispatch.volunteer_id == volunteer_id, Dispatch.code == code)
    )
    if dispatch is None:
        return None
    return answer_dispatch(dispatch=dispatch, command=command, now=now)


def answer_dispatch(
    *, dispatch: Dispatch, command: str, actor: str | None = None, now: datetime | None = None
) -> str:
    """Apply a YES / NO / DONE to one offer (by SMS, or taken by a coordinator on the phone);
    returns the template of the answer the volunteer gets."""
    now = now or utcnow()
    actor = actor or f"volunteer:{dispatch.volunteer_id}"
    if command == "done":
        return _done(dispatch, actor=actor, now=now)
    if dispatch.status not in ("offered", "accepted", "started"):
        return _late_answer(dispatch, command)
    task = task_service.lock_task(dispatch.task_id)
    db.session.refresh(dispatch)
    if command == "no" and dispatch.status in ("accepted", "started"):
        return _step_back(dispatch, task, actor=actor, now=now)
    if dispatch.status != "offered":
        return _late_answer(dispatch, command)
    if dispatch.expires_at <= now:
        _expire(dispatch, task, now=now)
        dispatch_task(task=task, actor="system", now=now)
        return "offer_expired"
    if command == "no":
        return _decline(dispatch, task, actor=actor, now=now)
    return _accept(dispatch, task, actor=actor, now=now)


def _late_answer(dispatch: Dispatch, command: str) -> str:
    if dispatch.status in ("accepted", "started"):
        return "offer_accepted"
    if dispatch.status == "done":
        return "task_done"
    if dispatch.status == "expired":
        return "offer_expired"
    if dispatch.status == "declined":
        return "offer_declined"
    return "offer_filled"  # released, withdrawn, cancelled: nothing for them to do


def _accept(dispatch: Dispatch, task: Task, *, actor: str, now: datetime) -> str:
    before = task.status
    counts = task_service.dispatch_counts(task.id)
    holding = counts["accepted"] + counts["started"] + counts["done"]
    if task.status in TASK_CLOSED or holding >= task.people:
        dispatch.status, dispatch.answered_at, dispatch.finished_at = "released", now, now
        dispatch.reason = "places_taken" if task.status not in TASK_CLOSED else "task_closed"
        _changed(dispatch, task, actor=actor, event="released", before=before)
        return "offer_filled"
    dispatch.status, dispatch.answered_at = "accepted", now
    task.updated_at = now
    if holding + 1 >= task.people:
        task.escalated_at, task.escalation = None, None
    _changed(dispatch, task, actor=actor, event="accepted", before=before)
    if holding + 1 >= task.people:
        for other in _pending(task.id):
            other.status, other.finished_at, other.reason = "released", now, "places_taken"
            task_service.notify_volunteer(other, "offer_filled")
    return "offer_accepted"


def _decline(dispatch: Dispatch, task: Task, *, actor: str, now: datetime) -> str:
    before = task.status
    dispatch.status, dispatch.answered_at, dispatch.finished_at = "declined", now, now
    dispatch.reason = "declined"
    _changed(dispatch, task, actor=actor, event="declined", before=before)
    dispatch_task(task=task, actor="system", now=now)
    return "offer_declined"


def _done(dispatch: Dispatch, *, actor: str, now: datetime) -> str:
    if dispatch.status == "done":
        return "task_done"
    if dispatch.status not in ("accepted", "started"):
        return "offer_not_held"
    task = task_service.lock_task(dispatch.task_id)
    db.session.refresh(dispatch)
    if dispatch.status not in ("accepted", "started"):
        return _late_answer(dispatch, "done")
    before = task.status
    dispatch.status, dispatch.finished_at, dispatch.reason = "done", now, "reported_done"
    _changed(dispatch, task, actor=actor, event="done", before=before)
    if task.status == "done":
        task_service.close_offers(task, reason="task_done")
    return "task_done"


def _step_back(dispatch: Dispatch, task: Task, *, actor: str, now: datetime) -> str:
    """A volunteer who had said YES says NO: the place opens again for the next best."""
    before = task.status
    dispatch.status, dispatch.finished_at, dispatch.reason = "cancelled", now, "volunteer_withdrew"
    _changed(dispatch, task, actor=actor, event="stepped_back", before=before)
    dispatch_task(task=task, actor="system", now=now)
    return "offer_declined"


def _changed(dispatch: Dispatch, task: Task, *, actor: str, event: str, before: str) -> None:
    """After an offer changed: the task's status settled again, and one line of history."""
    task_service.settle(task)
    task_service.record_event(
        task,
        actor=actor,
        event=event,
        before=before,
        volunteer_id=dispatch.volunteer_id,
        dispatch_id=dispatch.id,
    )


def _pending(task_id: str) -> list[Dispatch]:
    query = select(Dispatch).where(Dispatch.task_id == task_id, Dispatch.status == "offered")
    return list(db.session.scalars(query))


def _expire(dispatch: Dispatch, task: Task, *, now: datetime) -> None:
    before = task.status
    dispatch.status, dispatch.finished_at, dispatch.reason = "expired", now, "no_answer"
    _changed(dispatch, task, actor="system", event="expired", before=before)


@sms_service.on_offer_reply
def _on_sms_reply(reply: Any) -> str | None:
    """YES / NO / DONE <code> by SMS (registered with the SMS domain's reply hook)."""
    code = reply.code.strip()
    if not (code.isdigit() and len(code) == 4):
        return None  # not a dispatch code (consent codes are six letters and digits)
    return answer_offer(phone=reply.phone, command=reply.command, code=code)


# ---- Timeouts ------------------------------------------------------------------------------


def sweep_offers(*, now: datetime | None = None, limit: int = 500) -> dict[str, int]:
    """Expire unanswered offers past their time and send the next round for their tasks; give
    open tasks that have no offer out (new, or after a restart) their next round."""
    now = now or utcnow()
    expired = 0
    due = list(
        db.session.scalars(
            select(Dispatch)
            .where(Dispatch.status == "offered", Dispatch.expires_at <= now)
            .order_by(Dispatch.expires_at)
            .limit(limit)
        )
    )
    task_ids: list[str] = []
    for dispatch in due:
        task = task_service.lock_task(dispatch.task_id)
        db.session.refresh(dispatch)
        if dispatch.status != "offered":
            continue
        _expire(dispatch, task, now=now)
        expired += 1
        task_ids.append(task.id)
    waiting = db.session.scalars(
        select(Task.id)
        .where(Task.status == "open", Task.escalated_at.is_(None), Task.on_hold.is_(False))
        .order_by(Task.priority.desc(), Task.created_at)
        .limit(limit)
    )
    offered = 0
    for task_id in dict.fromkeys([*task_ids, *waiting]):
        task = db.session.get(Task, task_id)
        if task is not None and task.status not in TASK_CLOSED:
            offered += len(dispatch_task(task=task, actor="system", now=now).offers)
    return {"expired": expired, "offered": offered}


def redispatch_task(*, task: Task, actor: str) -> DispatchResult:
    """A coordinator sends an escalated (or stalled) task out again: the rounds start over."""
    task = task_service.lock_task(task.id)
    if task.status in TASK_CLOSED:
        from app.errors import Conflict

        raise Conflict("The task is closed.", code="task_closed")
    before = task.status
    task.rounds, task.on_hold = 0, False
    task.escalated_at, task.escalation = None, None
    task_service.record_event(task, actor=actor, event="redispatched", before=before)
    return dispatch_task(task=task, actor=actor)


def list_candidates(*, task: Task, limit: int) -> tuple[list[assign.Ranked], list[dict[str, Any]]]:
    """Who the next offers would go to, best first, and why; or why nobody qualifies. Sends
    nothing (the coordinator's preview)."""
    ranked, _ = rank_candidates(task, wanted=limit, now=utcnow())
    if ranked:
        return ranked, []
    pool, _ = _pool_and_changed()
    return [], _why_none(pool, task)


# ---- Many tasks at once --------------------------------------------------------------------


@dataclass
class BatchResult:
    """The optimal plan for the open places of many tasks, and the offers it sent."""

    plan: assign.Plan
    offers: list[Dispatch] = field(default_factory=list)
    skipped: int = 0  # planned pairs not sent: the volunteer was already asked for that task


def _live_volunteers(now: datetime) -> tuple[list[assign.Volunteer], dict[str, Volunteer]]:
    """Every volunteer with their live load, recent declines and SMS opt-out (a few queries)."""
    settings = _settings()
    rows = list(db.session.scalars(select(Volunteer)))
    loads = dict(
        db.session.execute(
            select(Dispatch.volunteer_id, func.count())
            .where(Dispatch.status.in_(DISPATCH_IN_HAND))
            .group_by(Dispatch.volunteer_id)
        ).all()
    )
    since = now - timedelta(days=settings["DISPATCH_DECLINE_DAYS"])
    declines = dict(
        db.session.execute(
            select(Dispatch.volunteer_id, func.count())
            .where(Dispatch.status.in_(("declined", "expired")), Dispatch.finished_at >= since)
            .group_by(Dispatch.volunteer_id)
        ).all()
    )
    stopped = sms_service.opted_out_phones(phones=[v.phone for v in rows])
    engine = [
        to_engine_volunteer(
            v,
            current_tasks=loads.get(v.id, 0),
            recent_declines=declines.get(v.id, 0),
            sms_opted_out=v.phone in stopped,
        )
        for v in rows
    ]
    return engine, {v.id: v for v in rows}


def plan_open_tasks(*, actor: str, send: bool, now: datetime | None = None) -> BatchResult:
    """Assign the open places of every unfilled task at once, at least total cost (the
    engine's `solve`: one volunteer per place, higher priorities first when volunteers are
    scarce). With `send`, each planned place gets its offer by SMS as one round of its task.
    Tasks saved on hold are planned too: running the plan is a coordinator's decision.

    Escalated tasks wait for a coordinator, and tasks whose rounds are used up are left out.
    A volunteer already asked for a task is not asked again for it: that place waits for the
    task's next round.
    """
    now = now or utcnow()
    settings = _settings()
    candidates = list(
        db.session.scalars(
            select(Task).where(
                Task.status.in_(("open", "offered")),
                Task.escalated_at.is_(None),
                Task.rounds < settings["DISPATCH_MAX_ROUNDS"],
            )
        )
    )
    counts: dict[str, dict[str, int]] = {}
    for task_id, status, n in db.session.execute(
        select(Dispatch.task_id, Dispatch.status, func.count())
        .where(Dispatch.task_id.in_([t.id for t in candidates]))
        .group_by(Dispatch.task_id, Dispatch.status)
    ):
        counts.setdefault(task_id, {})[status] = n
    open_places: dict[str, int] = {}
    for task in candidates:
        c = counts.get(task.id, {})
        held = sum(c.get(s, 0) for s in ("accepted", "started", "done", "offered"))
        if task.people - held > 0:
            open_places[task.id] = task.people - held
    by_id = {t.id: t for t in candidates if t.id in open_places}
    engine_tasks = [
        task_service.engine_task(task, people=open_places[task.id]) for task in by_id.values()
    ]
    volunteers, rows = _live_volunteers(now)
    plan = assign.solve(volunteers, engine_tasks)
    result = BatchResult(plan=plan)
    if not send or not plan.assignments:
        return result
    asked = {
        (task_id, volunteer_id)
        for task_id, volunteer_id in db.session.execute(
            select(Dispatch.task_id, Dispatch.volunteer_id).where(Dispatch.task_id.in_(list(by_id)))
        )
    }
    chosen: dict[str, list[assign.Assignment]] = {}
    for a in plan.assignments:
        if (a.task_id, a.volunteer_id) in asked:
            result.skipped += 1
        else:
            chosen.setdefault(a.task_id, []).append(a)
    for task_id, assignments in chosen.items():
        task = task_service.lock_task(task_id)
        if task.status in TASK_CLOSED:
            continue
        choices = [
            assign.Ranked(a.volunteer_id, a.cost, a.distance_km, a.reasons) for a in assignments
        ]
        result.offers.extend(
            _send_round(task, choices, rows, actor=actor, now=now, detail={"plan": True})
        )
    return result
