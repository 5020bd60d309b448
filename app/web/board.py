"""The coordinators' volunteer and task board: tasks (the escalated queue first), a task's
offers, history and donor pairings with its buttons, who would be asked next, the batch plan of
all open tasks, a new task, volunteers and vetting.

Only the volunteers domain's services are called; every read of personal data and every change
is audited with the API's action names (task.list, task.read, task.dispatches, task.history,
task.candidates, task.create, task.dispatch, task.start, task.complete, task.cancel,
task.answer, task.plan, offer.list, pairing.accept, pairing.reject, pairing.cancel, pairing.fulfil,
volunteer.list, volunteer.read,
volunteer.vet).
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from app.auth.context import audit
from app.common.idempotency import committed
from app.errors import Conflict, Forbidden, NotFound, ValidationError
from app.volunteers import service as volunteers_service
from app.volunteers import tasks as _jobs  # noqa: F401 - hands committed tasks to the queue
from app.volunteers.assign.supply import load_categories
from app.volunteers.models.tasks import TASK_STATUSES
from app.volunteers.schemas.tasks import MAX_PEOPLE, CancelInSchema, TaskCreateSchema
from app.volunteers.service import dispatch as dispatch_service
from app.volunteers.service import donations as donations_service
from app.volunteers.service import tasks as tasks_service
from app.web import volunteer_form
from app.web.coordinator import PAGE, bp, login_required

# What a coordinator may record for a volunteer who answered by phone (AnswerInSchema's).
ANSWERS = ("yes", "no", "done")
CANDIDATES = 10
TASK_TEXT_FIELDS = (
    "title",
    "description",
    "location",
    "people",
    "priority",
    "supply_category",
    "supply_quantity",
    "contact_name",
    "contact_phone",
)


# The goods taxonomy's labels and units in the catalogues (app/volunteers/data/categories.json
# keeps the ids and the English); a category added there without a line here shows its English.
CATEGORY_LABELS = {
    "water": lazy_gettext("Drinking water"),
    "food": lazy_gettext("Food"),
    "hygiene": lazy_gettext("Hygiene kits"),
    "blankets": lazy_gettext("Blankets"),
    "clothing": lazy_gettext("Clothing"),
    "medical_supplies": lazy_gettext("Medical supplies"),
    "baby_supplies": lazy_gettext("Baby supplies"),
    "tools": lazy_gettext("Tools"),
    "tarpaulins": lazy_gettext("Tarpaulins and tents"),
    "fuel": lazy_gettext("Fuel"),
    "shelter_beds": lazy_gettext("Shelter beds"),
    "transport_seats": lazy_gettext("Transport seats"),
    "money": lazy_gettext("Money pledge"),
}
UNIT_LABELS = {
    "litre": lazy_gettext("litres"),
    "ration": lazy_gettext("rations"),
    "kit": lazy_gettext("kits"),
    "piece": lazy_gettext("pieces"),
    "bed": lazy_gettext("beds"),
    "seat": lazy_gettext("seats"),
    "currency": lazy_gettext("currency units"),
}


def category_label(category: str | None) -> str:
    """A goods category and its unit in the reader's language: "Drinking water (litres)"."""
    if not category:
        return ""
    categories = load_categories()
    name = CATEGORY_LABELS.get(category) or categories.labels.get(category, category)
    unit = categories.units.get(category, "")
    return f"{name} ({UNIT_LABELS.get(unit) or unit})" if unit else str(name)


def _require(permission: str) -> None:
    if not g.principal.can(permission):
        raise Forbidden()


def _volunteers_by_id(ids: list[str]) -> dict[str, Any]:
    found = {}
    for volunteer_id in dict.fromkeys(ids):
        found[volunteer_id] = volunteers_service.get_volunteer(volunteer_id=volunteer_id)
    return found


# --- Tasks ------------------------------------------------------------------------------------


@bp.get("/tasks")
@committed
@login_required
def tasks():
    """The escalated queue first, then every task (filter by status, escalated), newest first."""
    _require("tasks:read")
    status = request.args.get("status") if request.args.get("status") in TASK_STATUSES else None
    escalated = {"1": True, "0": False}.get(request.args.get("escalated", ""))
    cursor = request.args.get("after") or None
    queue = []
    if not cursor and escalated is None:
        queue = tasks_service.list_tasks(limit=PAGE, escalated=True)[:PAGE]
    rows = tasks_service.list_tasks(limit=PAGE, after_id=cursor, status=status, escalated=escalated)
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    audit("task.list", "task", list(dict.fromkeys(t.id for t in [*queue, *rows])))
    return render_template(
        "coordinator/tasks.html",
        queue=queue,
        tasks=rows,
        status=status,
        escalated=request.args.get("escalated", ""),
        statuses=TASK_STATUSES,
        next_after=rows[-1].id if more else None,
    )


def task_payload(form: Any) -> dict[str, Any]:
    """The new-task form as TaskCreateSchema's input (blank fields left out)."""
    data: dict[str, Any] = {}
    for name in TASK_TEXT_FIELDS:
        value = (form.get(name) or "").strip()
        if value:
            data[name] = value
    for name in ("window_start", "window_end"):
        if value := (form.get(name) or "").strip():
            data[name] = volunteer_form.local_to_iso(value)
    languages = [c.strip() for c in (form.get("languages") or "").replace(";", ",").split(",")]
    if languages := [c for c in languages if c]:
        data["languages"] = languages
    if skills := volunteer_form.expand_skills(form.getlist("skills"), languages):
        data["skills"] = skills
    data["involves_minor"] = form.get("involves_minor") == "1"
    data["dispatch"] = form.get("dispatch", "1") == "1"
    return data


def _task_errors(messages: Any) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for field, raw in messages.items():
        target = "title" if field == "_schema" else field
        if target in ("lat", "lon"):
            target = "location"
        for text in volunteer_form.flatten(raw):
            message = _task_message(target, text)
            if message not in errors.setdefault(target, []):
                errors[target].append(message)
    return errors


def _task_message(field: str, text: str) -> str:
    if field == "title" and "required" in text.lower():
        return _("Give the task a title.")
    if field in ("window_start", "window_end"):
        if "ended" in text:
            return _("This time has already passed.")
        if "after" in text:
            return _("The end must come after the start.")
        return _("Give a date and a time.")
    if field == "supply_quantity" and "together" in text:
        return _("Give the category and the quantity together.")
    if field == "people":
        return _("Give a number from 1 to %(max)s.", max=MAX_PEOPLE)
    if field == "supply_quantity":
        return _("Give a whole number, at least 1.")
    if field == "languages":
        return _("Write language codes such as es, en or ht, separated by commas.")
    if field == "contact_phone":
        return _("Enter a phone number with its country code, such as +1 555 555 0123.")
    return volunteer_form.friendly(field, text)


def _task_form(form: Any, errors: dict[str, list[str]], status: int = 200):
    categories = load_categories()
    page = render_template(
        "coordinator/task_form.html",
        form=form,
        errors=errors,
        skills=volunteer_form.skill_choices(),
        categories=[(c, category_label(c)) for c in categories.labels],
        max_people=MAX_PEOPLE,
    )
    return page, status


@bp.route("/tasks/new", methods=["GET", "POST"])
@committed
@login_required
def new_task():
    """Create a task; its first offers go out by SMS once it is saved (unless told not to)."""
    _require("tasks:write")
    if request.method == "GET":
        return _task_form({}, {})
    form = request.form
    try:
        data = TaskCreateSchema().load(task_payload(form))
    except ma.ValidationError as exc:
        return _task_form(form, _task_errors(exc.normalized_messages()), 422)
    if volunteer_form.interpretation_without_language(form, data):
        return _task_form(form, {"skills": [volunteer_form.interpretation_message()]}, 422)
    send = data.pop("dispatch")
    try:
        task = tasks_service.create_task(data=data, created_by=g.principal.label)
    except ValidationError as exc:
        return _task_form(form, _task_errors(exc.errors), 422)
    if send:
        tasks_service.request_dispatch(task)
    audit("task.create", "task", [task.id])
    flash(_("The task is created.") + (" " + _("Offers go out by SMS now.") if send else ""))
    return redirect(url_for("coordinator.task", task_id=task.id), 303)


@bp.get("/tasks/<task_id>")
@committed
@login_required
def task(task_id: str):
    """A task: details, its offers with why each volunteer, its history, its donor pairings."""
    _require("tasks:read")
    found = tasks_service.get_task(task_id=task_id)
    offers = tasks_service.task_dispatches(task=found)
    history = tasks_service.task_history(task=found)
    pairings = donations_service.list_pairings(task_id=found.id)
    audit("task.read", "task", [found.id])
    audit("task.dispatches", "volunteer", [d.volunteer_id for d in offers])
    audit("offer.list", "offer", list(dict.fromkeys(p.offer_id for p in pairings)))
    audit("task.history", "task", [found.id])
    return render_template(
        "coordinator/task.html",
        task=found,
        offers=offers,
        volunteers=_volunteers_by_id([d.volunteer_id for d in offers]),
        history=history,
        pairings=pairings,
        skill_label=volunteer_form.skill_label,
        language_name=volunteer_form.language_name,
        category_label=category_label,
    )


@bp.get("/tasks/<task_id>/candidates")
@committed
@login_required
def candidates(task_id: str):
    """Who the next offers would go to, best first, with why; nothing is sent."""
    _require("tasks:read")
    found = tasks_service.get_task(task_id=task_id)
    ranked, why_none = dispatch_service.list_candidates(task=found, limit=CANDIDATES)
    audit("task.candidates", "volunteer", [r.volunteer_id for r in ranked])
    return render_template(
        "coordinator/candidates.html",
        task=found,
        ranked=ranked,
        why_none=why_none,
        volunteers=_volunteers_by_id([r.volunteer_id for r in ranked]),
    )


@bp.route("/tasks/plan", methods=["GET", "POST"])
@committed
@login_required
def plan():
    """Every open place of every unfilled task at once, at least total cost, with why each
    volunteer and why each empty place (nothing sent); the button sends the plan by SMS."""
    _require("tasks:write")
    send = request.method == "POST"
    result = dispatch_service.plan_open_tasks(actor=g.principal.label, send=send)
    audit(
        "task.plan",
        "task",
        sorted({a.task_id for a in result.plan.assignments}),
        details={"send": send, "offers": len(result.offers)},
    )
    if send:
        if result.offers:
            flash(_("%(count)s offers sent by SMS.", count=len(result.offers)))
        else:
            flash(_("No offers were sent: nobody could be offered a task now."), "error")
        return redirect(url_for("coordinator.plan"), 303)
    task_ids = [a.task_id for a in result.plan.assignments]
    task_ids += [u.task_id for u in result.plan.unassigned]
    by_task: dict[str, list[Any]] = {}
    for assignment in result.plan.assignments:
        by_task.setdefault(assignment.task_id, []).append(assignment)
    return render_template(
        "coordinator/plan.html",
        plan=result.plan,
        by_task=by_task,
        tasks={i: tasks_service.get_task(task_id=i) for i in dict.fromkeys(task_ids)},
        volunteers=_volunteers_by_id([a.volunteer_id for a in result.plan.assignments]),
    )


@bp.post("/tasks/<task_id>/<any(dispatch, start, complete, cancel):action>")
@committed
@login_required
def task_action(task_id: str, action: str):
    """Dispatch now, start, complete, or cancel with a reason."""
    _require("tasks:write")
    found = tasks_service.get_task(task_id=task_id)
    actor = g.principal.label
    try:
        if action == "dispatch":
            result = dispatch_service.redispatch_task(task=found, actor=actor)
            audit("task.dispatch", "task", [found.id], details={"offers": len(result.offers)})
            if result.offers:
                flash(_("%(count)s offers sent by SMS.", count=len(result.offers)))
            else:
                flash(_("Nobody could be offered this task now."), "error")
        elif action == "start":
            tasks_service.start_task(task=found, actor=actor)
            audit("task.start", "task", [found.id])
            flash(_("The task is in progress."))
        elif action == "complete":
            tasks_service.complete_task(task=found, actor=actor)
            audit("task.complete", "task", [found.id])
            flash(_("The task is done."))
        else:
            try:
                reason = CancelInSchema().load({"reason": request.form.get("reason") or None})
            except ma.ValidationError:
                flash(_("The reason is too long or has special characters."), "error")
                return redirect(url_for("coordinator.task", task_id=found.id), 303)
            tasks_service.cancel_task(task=found, actor=actor, reason=reason.get("reason"))
            audit("task.cancel", "task", [found.id])
            flash(_("The task is cancelled. The volunteers are told by SMS."))
    except Conflict as exc:
        flash(_conflict_message(exc.code), "error")
    return redirect(url_for("coordinator.task", task_id=found.id), 303)


@bp.post("/tasks/<task_id>/offers/<dispatch_id>/answer")
@committed
@login_required
def answer(task_id: str, dispatch_id: str):
    """A volunteer's YES, NO or DONE taken by phone, applied exactly as their SMS would be."""
    _require("tasks:write")
    found = tasks_service.get_task(task_id=task_id)
    command = request.form.get("answer")
    offer = next(
        (d for d in tasks_service.task_dispatches(task=found) if d.id == dispatch_id), None
    )
    if offer is None or command not in ANSWERS:
        raise NotFound()
    outcome = dispatch_service.answer_dispatch(
        dispatch=offer, command=command, actor=g.principal.label
    )
    audit("task.answer", "task", [found.id], details={"answer": command})
    flash(_answer_message(outcome))
    return redirect(url_for("coordinator.task", task_id=found.id), 303)


@bp.post("/tasks/<task_id>/pairings")
@committed
@login_required
def propose(task_id: str):
    """Propose the donors' offers that together cover the need (the ranking's covering set);
    nothing is taken from an offer until a coordinator accepts."""
    _require("offers:write")
    found = tasks_service.get_task(task_id=task_id)
    try:
        proposed = donations_service.propose_pairings(task_id=found.id, actor=g.principal.label)
    except Conflict as exc:
        flash(_pairing_message(exc.code), "error")
    else:
        flash(_("%(count)s pairings proposed: accept or reject each.", count=len(proposed)))
    return redirect(url_for("coordinator.task", task_id=found.id), 303)


@bp.post("/pairings/<pairing_id>/<any(accept, reject, cancel, fulfil):decision>")
@committed
@login_required
def decide_pairing(pairing_id: str, decision: str):
    """Accept a proposed pairing (the donor and the desk are told by SMS), reject or cancel it
    with a reason, or record that its goods were handed over."""
    _require("offers:write")
    pairing = donations_service.get_pairing(pairing_id=pairing_id)
    reason = (request.form.get("reason") or "").strip()[:500] or None
    actor = g.principal.label
    if decision in ("reject", "cancel") and reason is None:
        flash(_("Say why."), "error")
        return redirect(url_for("coordinator.task", task_id=pairing.task_id), 303)
    try:
        if decision == "accept":
            donations_service.accept_pairing(pairing_id=pairing.id, actor=actor, reason=reason)
            flash(_("The pairing is accepted. The donor is told by SMS."))
        elif decision == "reject":
            donations_service.reject_pairing(pairing_id=pairing.id, actor=actor, reason=reason)
            flash(_("The pairing is rejected."))
        elif decision == "cancel":
            donations_service.cancel_pairing(pairing_id=pairing.id, actor=actor, reason=reason)
            flash(_("The pairing is cancelled; what it took goes back to the offer."))
        else:
            donations_service.fulfil_pairing(pairing_id=pairing.id, actor=actor)
            flash(_("The goods are recorded as handed over."))
    except Conflict as exc:
        flash(_pairing_message(exc.code), "error")
    else:
        audit(f"pairing.{decision}", "pairing", [pairing.id], details={"offer": pairing.offer_id})
    return redirect(url_for("coordinator.task", task_id=pairing.task_id), 303)


def _pairing_message(code: str) -> str:
    messages = {
        "need_covered": _("Accepted pairings cover this need already."),
        "no_offers": _("No open donor's offer can serve this need now."),
        "task_not_a_need": _("This task asks for no goods."),
        "task_closed": _("This task is already closed."),
        "pairing_decided": _("This pairing was already decided, perhaps by someone else."),
        "pairing_not_accepted": _("Only an accepted pairing can be handed over."),
    }
    return messages.get(code, _("The offer cannot serve this need any more."))


def _answer_message(outcome: str) -> str:
    messages = {
        "offer_accepted": _("The answer is recorded: the volunteer holds a place."),
        "offer_declined": _("The answer is recorded: the volunteer declined."),
        "offer_filled": _("The places were filled already: the volunteer is not needed."),
        "offer_expired": _("The offer had expired: it goes to the next volunteer."),
        "task_done": _("The answer is recorded: the volunteer's part is done."),
        "offer_not_held": _("This volunteer holds no place in this task."),
    }
    return messages.get(outcome, _("The answer is recorded."))


def _conflict_message(code: str) -> str:
    if code == "task_not_assigned":
        return _("No volunteer has accepted this task yet.")
    if code == "task_closed":
        return _("This task is already closed.")
    return _("Someone changed this at the same moment. Please look again.")


# --- Volunteers -------------------------------------------------------------------------------


@bp.get("/volunteers")
@committed
@login_required
def volunteers():
    """Volunteers newest first; filter vetted or not."""
    _require("volunteers:read")
    vetted = {"1": True, "0": False}.get(request.args.get("vetted", ""))
    cursor = request.args.get("after") or None
    rows = volunteers_service.list_volunteers(limit=PAGE, after_id=cursor, vetted=vetted)
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    audit("volunteer.list", "volunteer", [v.id for v in rows])
    return render_template(
        "coordinator/volunteers.html",
        volunteers=rows,
        vetted=request.args.get("vetted", ""),
        next_after=rows[-1].id if more else None,
        skill_label=volunteer_form.skill_label,
    )


@bp.get("/volunteers/<volunteer_id>")
@committed
@login_required
def volunteer(volunteer_id: str):
    """One volunteer: languages, skills, place, availability, vetting."""
    _require("volunteers:read")
    found = volunteers_service.get_volunteer(volunteer_id=volunteer_id)
    offers = tasks_service.volunteer_dispatches(volunteer_id=found.id)
    audit("volunteer.read", "volunteer", [found.id])
    return render_template(
        "coordinator/volunteer.html",
        volunteer=found,
        offers=offers,
        skill_label=volunteer_form.skill_label,
        language_name=volunteer_form.language_name,
        parse_time=volunteer_form.parse_time,
    )


@bp.post("/volunteers/<volunteer_id>/vet")
@committed
@login_required
def vet(volunteer_id: str):
    """Mark a volunteer vetted (who and when are recorded), or withdraw it."""
    _require("volunteers:vet")
    found = volunteers_service.get_volunteer(volunteer_id=volunteer_id)
    vetted = request.form.get("vetted") == "1"
    if volunteers_service.set_vetted(volunteer=found, vetted=vetted, actor=g.principal.label):
        audit("volunteer.vet", "volunteer", [found.id], details={"vetted": vetted})
    flash(_("The volunteer is vetted.") if vetted else _("The vetting is withdrawn."))
    return redirect(url_for("coordinator.volunteer", volunteer_id=found.id), 303)
