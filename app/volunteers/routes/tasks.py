"""Tasks API (coordinators): needs, their SMS offers to volunteers, and their history.

A partner key with the `tasks` scope (a shelter's desk) may create tasks, e.g. a request for an
interpreter; everything else is for coordinators.
"""

from __future__ import annotations

from flask import url_for
from flask.views import MethodView

from app.auth.context import BEARER_SECURITY, audit, current_principal, require, requires
from app.common.blueprint import Blueprint
from app.common.idempotency import transactional
from app.common.pagination import decode_cursor, page_of
from app.errors import NotFound
from app.volunteers import tasks as _jobs  # noqa: F401 - hands committed tasks to the queue
from app.volunteers.schemas.tasks import (
    AnswerInSchema,
    AnswerOutSchema,
    CancelInSchema,
    CandidateArgsSchema,
    CandidateListSchema,
    DispatchListSchema,
    DispatchResultSchema,
    PlanInSchema,
    PlanOutSchema,
    TaskCreateSchema,
    TaskHistorySchema,
    TaskListArgsSchema,
    TaskOutSchema,
    TaskPageSchema,
    TaskPatchSchema,
)
from app.volunteers.service import dispatch as dispatch_service
from app.volunteers.service import tasks as service

blp = Blueprint("tasks", __name__, url_prefix="/api/v1/tasks", description="Volunteer tasks")


@blp.route("")
class Tasks(MethodView):
    @transactional
    @blp.doc(security=BEARER_SECURITY)
    @blp.arguments(TaskCreateSchema)
    @blp.response(201, TaskOutSchema)
    def post(self, data):
        """Create a task; unless `dispatch` is false, its first offers go out once it is saved.

        Coordinators (`tasks:write`), or a shelter's partner key (`tasks:request`). Unknown
        skills or categories, impossible windows and quantities below 1 are 422.
        """
        principal = current_principal()
        source = "coordinator"
        if not principal.can("tasks:write"):
            require("tasks:request")
            source = "shelter"
        send = data.pop("dispatch")
        task = service.create_task(data=data, created_by=principal.label, source=source)
        if send:
            service.request_dispatch(task)
        audit("task.create", "task", [task.id])
        return task, 201, {"Location": url_for("tasks.TaskItem", task_id=task.id)}

    @transactional
    @requires("tasks:read")
    @blp.doc(security=BEARER_SECURITY)
    @blp.arguments(TaskListArgsSchema, location="query")
    @blp.response(200, TaskPageSchema)
    def get(self, args):
        """List tasks newest first; `escalated=true` is the queue dispatch could not fill."""
        rows = service.list_tasks(
            limit=args["limit"],
            after_id=decode_cursor(args.get("cursor")),
            status=args.get("status"),
            escalated=args.get("escalated"),
        )
        page = page_of(rows, args["limit"])
        audit("task.list", "task", [t.id for t in page["items"]])
        return page


@blp.route("/plan")
class TaskPlan(MethodView):
    @transactional
    @requires("tasks:write")
    @blp.doc(security=BEARER_SECURITY)
    @blp.arguments(PlanInSchema)
    @blp.response(200, PlanOutSchema)
    def post(self, data):
        """Assign every open place of every unfilled task at once, at least total cost, with
        why each volunteer and why each empty place; `send` offers the plan by SMS."""
        result = dispatch_service.plan_open_tasks(
            actor=current_principal().label, send=data["send"]
        )
        audit(
            "task.plan",
            "task",
            sorted({a.task_id for a in result.plan.assignments}),
            details={"send": data["send"], "offers": len(result.offers)},
        )
        return result


@blp.route("/<task_id>")
class TaskItem(MethodView):
    @transactional
    @requires("tasks:read")
    @blp.doc(security=BEARER_SECURITY)
    @blp.response(200, TaskOutSchema)
    def get(self, task_id):
        """One task."""
        task = service.get_task(task_id=task_id)
        audit("task.read", "task", [task.id])
        return task

    @transactional
    @requires("tasks:write")
    @blp.doc(security=BEARER_SECURITY)
    @blp.arguments(TaskPatchSchema(partial=True))
    @blp.response(200, TaskOutSchema)
    def patch(self, changes, task_id):
        """Correct an unfinished task (send the `version` you read; another one is a 409)."""
        task = service.get_task(task_id=task_id)
        expected = changes.pop("version", None)
        changed = service.update_task(
            task=task,
            changes=changes,
            actor=current_principal().label,
            expected_version=expected,
        )
        audit("task.update", "task", [task.id], details={"fields": sorted(changed)})
        return task


@blp.route("/<task_id>/dispatch")
class TaskDispatch(MethodView):
    @transactional
    @requires("tasks:write")
    @blp.doc(security=BEARER_SECURITY)
    @blp.response(200, DispatchResultSchema)
    def post(self, task_id):
        """Send a round of offers now; an escalated task starts its rounds over."""
        task = service.get_task(task_id=task_id)
        result = dispatch_service.redispatch_task(task=task, actor=current_principal().label)
        audit("task.dispatch", "task", [task.id], details={"offers": len(result.offers)})
        return result


@blp.route("/<task_id>/candidates")
class TaskCandidates(MethodView):
    @transactional
    @requires("tasks:read")
    @blp.doc(security=BEARER_SECURITY)
    @blp.arguments(CandidateArgsSchema, location="query")
    @blp.response(200, CandidateListSchema)
    def get(self, args, task_id):
        """Who the next offers would go to, best first, with why (sends nothing)."""
        task = service.get_task(task_id=task_id)
        ranked, reasons = dispatch_service.list_candidates(task=task, limit=args["limit"])
        audit("task.candidates", "volunteer", [r.volunteer_id for r in ranked])
        return {"items": ranked, "reasons": reasons}


@blp.route("/<task_id>/start")
class TaskStart(MethodView):
    @transactional
    @requires("tasks:write")
    @blp.doc(security=BEARER_SECURITY)
    @blp.response(200, TaskOutSchema)
    def post(self, task_id):
        """The volunteers are on their way: the task is in progress."""
        task = service.get_task(task_id=task_id)
        service.start_task(task=task, actor=current_principal().label)
        audit("task.start", "task", [task.id])
        return service.get_task(task_id=task_id)


@blp.route("/<task_id>/complete")
class TaskComplete(MethodView):
    @transactional
    @requires("tasks:write")
    @blp.doc(security=BEARER_SECURITY)
    @blp.response(200, TaskOutSchema)
    def post(self, task_id):
        """Close the task as done (its volunteers' places are done too)."""
        task = service.get_task(task_id=task_id)
        service.complete_task(task=task, actor=current_principal().label)
        audit("task.complete", "task", [task.id])
        return service.get_task(task_id=task_id)


@blp.route("/<task_id>/cancel")
class TaskCancel(MethodView):
    @transactional
    @requires("tasks:write")
    @blp.doc(security=BEARER_SECURITY)
    @blp.arguments(CancelInSchema)
    @blp.response(200, TaskOutSchema)
    def post(self, data, task_id):
        """Cancel the task: every volunteer offered it or holding it is told by SMS."""
        task = service.get_task(task_id=task_id)
        service.cancel_task(task=task, actor=current_principal().label, reason=data.get("reason"))
        audit("task.cancel", "task", [task.id])
        return service.get_task(task_id=task_id)


@blp.route("/<task_id>/history")
class TaskHistory(MethodView):
    @transactional
    @requires("tasks:read")
    @blp.doc(security=BEARER_SECURITY)
    @blp.response(200, TaskHistorySchema)
    def get(self, task_id):
        """Every change of the task, oldest first: who, what, the status before and after."""
        task = service.get_task(task_id=task_id)
        audit("task.history", "task", [task.id])
        return {"items": service.task_history(task=task)}


@blp.route("/<task_id>/dispatches")
class TaskDispatches(MethodView):
    @transactional
    @requires("tasks:read")
    @blp.doc(security=BEARER_SECURITY)
    @blp.response(200, DispatchListSchema)
    def get(self, task_id):
        """Every offer of the task, with its code, answer and why that volunteer."""
        task = service.get_task(task_id=task_id)
        rows = service.task_dispatches(task=task)
        audit("task.dispatches", "volunteer", [d.volunteer_id for d in rows])
        return {"items": rows}


@blp.route("/<task_id>/dispatches/<dispatch_id>/answer")
class TaskDispatchAnswer(MethodView):
    @transactional
    @requires("tasks:write")
    @blp.doc(security=BEARER_SECURITY)
    @blp.arguments(AnswerInSchema)
    @blp.response(200, AnswerOutSchema)
    def post(self, data, task_id, dispatch_id):
        """Record a volunteer's answer taken by phone, exactly as if they had sent the SMS."""
        task = service.get_task(task_id=task_id)
        dispatch = next(
            (d for d in service.task_dispatches(task=task) if d.id == dispatch_id), None
        )
        if dispatch is None:
            raise NotFound("No offer with this id for this task.", code="dispatch_not_found")
        outcome = dispatch_service.answer_dispatch(
            dispatch=dispatch, command=data["answer"], actor=current_principal().label
        )
        audit("task.answer", "task", [task.id], details={"answer": data["answer"]})
        return {"outcome": outcome, "dispatch": dispatch}
