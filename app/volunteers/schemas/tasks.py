"""Input and output schemas for tasks, their history and their SMS offers (dispatches)."""

from __future__ import annotations

from datetime import UTC
from typing import Any

import marshmallow as ma
from marshmallow import validate

from app.common.fields import Phone, Text, language_tag, point_errors
from app.common.pagination import PageArgsSchema, page_schema
from app.volunteers.assign import load_taxonomy
from app.volunteers.models.tasks import DISPATCH_STATUSES, TASK_STATUSES

MAX_PEOPLE = 100


def _skills(description: str) -> ma.fields.List:
    return ma.fields.List(
        ma.fields.String(validate=validate.Length(max=60)),
        validate=validate.Length(max=20),
        metadata={"description": description},
    )


class TaskInSchema(ma.Schema):
    """A need a coordinator (or a shelter's desk) asks volunteers for."""

    class Meta:
        unknown = ma.RAISE

    title = Text(max_length=200, required=True, allow_none=False)
    description = Text(max_length=5000, multiline=True, allow_none=True)
    skills = _skills("Skill ids every volunteer sent must hold, e.g. first_aid")
    preferred_skills = _skills("Skill ids that make a volunteer a better fit")
    languages = ma.fields.List(
        ma.fields.String(validate=language_tag),
        validate=validate.Length(max=5),
        metadata={"description": "Languages every volunteer sent must speak"},
    )
    location = Text(max_length=500, allow_none=True, metadata={"description": "Geocoded offline"})
    lat = ma.fields.Float(allow_none=True, validate=validate.Range(min=-90, max=90))
    lon = ma.fields.Float(allow_none=True, validate=validate.Range(min=-180, max=180))
    radius_km = ma.fields.Float(validate=validate.Range(min=0.1, max=1000))
    window_start = ma.fields.AwareDateTime(allow_none=True, default_timezone=UTC)
    window_end = ma.fields.AwareDateTime(allow_none=True, default_timezone=UTC)
    people = ma.fields.Integer(validate=validate.Range(min=1, max=MAX_PEOPLE))
    priority = ma.fields.Integer(
        validate=validate.Range(min=1, max=5),
        metadata={"description": "1 low … 5 life-saving"},
    )
    involves_minor = ma.fields.Boolean(
        metadata={"description": "Only vetted volunteers are offered it"}
    )
    supply_category = ma.fields.String(
        allow_none=True,
        validate=validate.Length(max=40),
        metadata={"description": "Goods the need asks of donors (see /api/v1/offers)"},
    )
    supply_quantity = ma.fields.Integer(allow_none=True, validate=validate.Range(min=1))
    contact_name = Text(max_length=200, allow_none=True)
    contact_phone = Phone(allow_none=True)
    report_id = ma.fields.String(allow_none=True, validate=validate.Length(equal=26))

    @ma.validates_schema
    def _check_whole(self, data: dict[str, Any], **kwargs: Any) -> None:
        errors: dict[str, list[str]] = {}
        errors.update(point_errors(data))
        taxonomy = load_taxonomy()
        for name in ("skills", "preferred_skills"):
            if unknown := taxonomy.unknown(data.get(name) or ()):
                errors[name] = [f"Unknown skill: {skill}." for skill in unknown]
        start, end = data.get("window_start"), data.get("window_end")
        if start and end and end <= start:
            errors["window_end"] = ["Must be after window_start."]
        if errors:
            raise ma.ValidationError(errors)

    @ma.post_load
    def _normalize(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        if "languages" in data:
            data["languages"] = list(
                dict.fromkeys(lang.replace("_", "-").lower() for lang in data["languages"])
            )
        for name in ("skills", "preferred_skills"):
            if name in data:
                data[name] = list(dict.fromkeys(data[name]))
        return data


class TaskCreateSchema(TaskInSchema):
    """A new task; with `dispatch` (the default) its first offers go out as soon as it is saved."""

    class Meta:
        unknown = ma.RAISE

    dispatch = ma.fields.Boolean(load_default=True)


class TaskPatchSchema(TaskInSchema):
    """Corrections; `version`, when given, must be the one read."""

    class Meta:
        unknown = ma.RAISE

    version = ma.fields.Integer(load_only=True)


class TaskOutSchema(ma.Schema):
    id = ma.fields.String()
    title = ma.fields.String()
    description = ma.fields.String(allow_none=True)
    source = ma.fields.String()
    match_id = ma.fields.String(allow_none=True)
    report_id = ma.fields.String(allow_none=True)
    skills = ma.fields.List(ma.fields.String())
    preferred_skills = ma.fields.List(ma.fields.String())
    languages = ma.fields.List(ma.fields.String())
    location = ma.fields.String(allow_none=True)
    lat = ma.fields.Float(allow_none=True)
    lon = ma.fields.Float(allow_none=True)
    radius_km = ma.fields.Float()
    window_start = ma.fields.AwareDateTime(allow_none=True, default_timezone=UTC)
    window_end = ma.fields.AwareDateTime(allow_none=True, default_timezone=UTC)
    people = ma.fields.Integer()
    priority = ma.fields.Integer()
    involves_minor = ma.fields.Boolean()
    supply_category = ma.fields.String(allow_none=True)
    supply_quantity = ma.fields.Integer(allow_none=True)
    contact_name = ma.fields.String(allow_none=True)
    contact_phone = ma.fields.String(allow_none=True)
    status = ma.fields.String(metadata={"enum": list(TASK_STATUSES)})
    on_hold = ma.fields.Boolean(
        metadata={"description": "Saved without offers: waits for a coordinator to dispatch it"}
    )
    rounds = ma.fields.Integer(metadata={"description": "Rounds of offers sent so far"})
    escalated_at = ma.fields.AwareDateTime(allow_none=True, default_timezone=UTC)
    escalation = ma.fields.String(allow_none=True)
    created_by = ma.fields.String()
    created_at = ma.fields.AwareDateTime(default_timezone=UTC)
    updated_at = ma.fields.AwareDateTime(default_timezone=UTC)
    closed_at = ma.fields.AwareDateTime(allow_none=True, default_timezone=UTC)
    version = ma.fields.Integer()


class ReasonSchema(ma.Schema):
    code = ma.fields.String()
    text = ma.fields.String()
    data = ma.fields.Dict()


class DispatchOutSchema(ma.Schema):
    """One SMS offer of a task to a volunteer, and how it ended."""

    id = ma.fields.String()
    task_id = ma.fields.String()
    volunteer_id = ma.fields.String()
    code = ma.fields.String()
    status = ma.fields.String(metadata={"enum": list(DISPATCH_STATUSES)})
    round = ma.fields.Integer()
    cost = ma.fields.Float(allow_none=True)
    distance_km = ma.fields.Float(allow_none=True)
    reasons = ma.fields.List(ma.fields.Nested(ReasonSchema))
    reason = ma.fields.String(allow_none=True)
    outbox_id = ma.fields.String(allow_none=True)
    created_at = ma.fields.AwareDateTime(default_timezone=UTC)
    expires_at = ma.fields.AwareDateTime(default_timezone=UTC)
    answered_at = ma.fields.AwareDateTime(allow_none=True, default_timezone=UTC)
    finished_at = ma.fields.AwareDateTime(allow_none=True, default_timezone=UTC)


class DispatchListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(DispatchOutSchema))


class DispatchResultSchema(ma.Schema):
    """What a round of offers did."""

    offers = ma.fields.List(ma.fields.Nested(DispatchOutSchema))
    open_places = ma.fields.Integer()
    escalated = ma.fields.Boolean()
    reasons = ma.fields.List(
        ma.fields.Nested(ReasonSchema),
        metadata={"description": "Why nobody qualifies, when no offer could go out"},
    )


class TaskEventOutSchema(ma.Schema):
    id = ma.fields.String()
    at = ma.fields.AwareDateTime(default_timezone=UTC)
    actor = ma.fields.String()
    event = ma.fields.String()
    from_status = ma.fields.String(allow_none=True)
    to_status = ma.fields.String(allow_none=True)
    volunteer_id = ma.fields.String(allow_none=True)
    dispatch_id = ma.fields.String(allow_none=True)
    detail = ma.fields.Dict()


class TaskHistorySchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(TaskEventOutSchema))


class CandidateSchema(ma.Schema):
    """A volunteer who qualifies for the task, with why (nothing is sent)."""

    volunteer_id = ma.fields.String()
    cost = ma.fields.Float()
    distance_km = ma.fields.Float(allow_none=True)
    reasons = ma.fields.List(ma.fields.Nested(ReasonSchema))


class CandidateListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(CandidateSchema))
    reasons = ma.fields.List(
        ma.fields.Nested(ReasonSchema),
        metadata={"description": "Why nobody qualifies, when the list is empty"},
    )


class CandidateArgsSchema(ma.Schema):
    limit = ma.fields.Integer(load_default=10, validate=validate.Range(min=1, max=100))


class TaskListArgsSchema(PageArgsSchema):
    status = ma.fields.String(load_default=None, validate=validate.OneOf(TASK_STATUSES))
    escalated = ma.fields.Boolean(
        load_default=None,
        metadata={"description": "true: the coordinators' queue of tasks dispatch could not fill"},
    )


class CancelInSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    reason = Text(max_length=500, allow_none=True)


class AnswerInSchema(ma.Schema):
    """A volunteer's answer taken by phone: what their SMS would have said."""

    class Meta:
        unknown = ma.RAISE

    answer = ma.fields.String(required=True, validate=validate.OneOf(("yes", "no", "done")))


class AnswerOutSchema(ma.Schema):
    outcome = ma.fields.String(metadata={"description": "The SMS template the answer earned"})
    dispatch = ma.fields.Nested(DispatchOutSchema)


class PlanInSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    send = ma.fields.Boolean(
        load_default=False,
        metadata={"description": "Send the planned offers by SMS (false: only show the plan)"},
    )


class PlannedSchema(ma.Schema):
    task_id = ma.fields.String()
    volunteer_id = ma.fields.String()
    cost = ma.fields.Float()
    distance_km = ma.fields.Float(allow_none=True)
    reasons = ma.fields.List(ma.fields.Nested(ReasonSchema))


class UnplannedSchema(ma.Schema):
    task_id = ma.fields.String()
    missing = ma.fields.Integer(metadata={"description": "Places left empty"})
    people = ma.fields.Integer()
    reasons = ma.fields.List(ma.fields.Nested(ReasonSchema))


class PlanOutSchema(ma.Schema):
    """The least-cost assignment of every open place, and the offers sent for it."""

    assignments = ma.fields.List(ma.fields.Nested(PlannedSchema), attribute="plan.assignments")
    unassigned = ma.fields.List(ma.fields.Nested(UnplannedSchema), attribute="plan.unassigned")
    cost = ma.fields.Float(attribute="plan.cost")
    offers = ma.fields.List(ma.fields.Nested(DispatchOutSchema))
    skipped = ma.fields.Integer(
        metadata={"description": "Planned places not offered: the volunteer was asked before"}
    )


TaskPageSchema = page_schema(TaskOutSchema, "TaskPage")
