"""Input and output schemas for volunteers (the OpenAPI document is built from these)."""

from __future__ import annotations

from datetime import UTC
from typing import Any

import marshmallow as ma
from marshmallow import validate

from app.common.fields import Phone, Text, language_tag, point_errors
from app.common.pagination import PageArgsSchema, page_schema
from app.volunteers.assign import load_taxonomy

MAX_TASKS = 20


class WindowSchema(ma.Schema):
    """A span of time the volunteer is available, start inclusive, end exclusive."""

    class Meta:
        unknown = ma.RAISE

    start = ma.fields.AwareDateTime(required=True, default_timezone=UTC)
    end = ma.fields.AwareDateTime(required=True, default_timezone=UTC)

    @ma.validates_schema
    def _check_order(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data["end"] <= data["start"]:
            raise ma.ValidationError({"end": ["Must be after start."]})

    @ma.post_load
    def _to_text(self, data: dict[str, Any], **kwargs: Any) -> dict[str, str]:
        # Stored as JSON: ISO 8601 in UTC, so the strings also sort in time order.
        return {k: data[k].astimezone(UTC).isoformat() for k in ("start", "end")}


class VolunteerInSchema(ma.Schema):
    """A volunteer registering (themselves, or a coordinator on their behalf)."""

    class Meta:
        unknown = ma.RAISE

    name = Text(max_length=200, required=True, allow_none=False)
    phone = Phone(required=True, allow_none=False)
    languages = ma.fields.List(
        ma.fields.String(validate=language_tag),
        validate=validate.Length(max=20),
        metadata={"description": "Language codes spoken, e.g. es, en, ht"},
    )
    skills = ma.fields.List(
        ma.fields.String(validate=validate.Length(max=60)),
        validate=validate.Length(max=40),
        metadata={"description": "Skill ids from the taxonomy, e.g. first_aid, interpretation:ar"},
    )
    home_location = Text(
        max_length=500, metadata={"description": "Town or address, geocoded offline"}
    )
    lat = ma.fields.Float(allow_none=True, validate=validate.Range(min=-90, max=90))
    lon = ma.fields.Float(allow_none=True, validate=validate.Range(min=-180, max=180))
    availability = ma.fields.List(
        ma.fields.Nested(WindowSchema),
        validate=validate.Length(max=50),
        metadata={"description": "When they can help; empty means any time"},
    )
    max_tasks = ma.fields.Integer(validate=validate.Range(min=1, max=MAX_TASKS))

    @ma.validates_schema
    def _check_whole(self, data: dict[str, Any], **kwargs: Any) -> None:
        errors: dict[str, list[str]] = {}
        errors.update(point_errors(data))
        unknown = load_taxonomy().unknown(data.get("skills") or ())
        if unknown:
            errors["skills"] = [f"Unknown skill: {skill}." for skill in unknown]
        if errors:
            raise ma.ValidationError(errors)

    @ma.post_load
    def _normalize(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        if "languages" in data:
            data["languages"] = list(
                dict.fromkeys(lang.replace("_", "-").lower() for lang in data["languages"])
            )
        if "skills" in data:
            data["skills"] = list(dict.fromkeys(data["skills"]))
        return data


class VolunteerPatchSchema(VolunteerInSchema):
    """Corrections by a coordinator; `version`, when given, must be the one they read."""

    class Meta:
        unknown = ma.RAISE

    opted_out = ma.fields.Boolean(metadata={"description": "Never offer this volunteer a task"})
    version = ma.fields.Integer(
        load_only=True,
        metadata={"description": "The version read; a different current one is a 409"},
    )


class VetInSchema(ma.Schema):
    """Mark a volunteer vetted (or withdraw it)."""

    class Meta:
        unknown = ma.RAISE

    vetted = ma.fields.Boolean(load_default=True)


class VolunteerCreatedSchema(ma.Schema):
    """What registering gets back: `received` for the public (nothing about anyone), the new
    id for a coordinator."""

    status = ma.fields.String(metadata={"enum": ["received", "registered"]})
    id = ma.fields.String()
    created_at = ma.fields.AwareDateTime(default_timezone=UTC)


class VolunteerOutSchema(ma.Schema):
    """A volunteer as coordinators see one."""

    id = ma.fields.String()
    name = ma.fields.String()
    phone = ma.fields.String()
    languages = ma.fields.List(ma.fields.String())
    skills = ma.fields.List(ma.fields.String())
    home_location = ma.fields.String(allow_none=True)
    lat = ma.fields.Float(allow_none=True)
    lon = ma.fields.Float(allow_none=True)
    availability = ma.fields.List(ma.fields.Dict())
    max_tasks = ma.fields.Integer()
    vetted = ma.fields.Boolean()
    vetted_by = ma.fields.String(allow_none=True)
    vetted_at = ma.fields.AwareDateTime(allow_none=True, default_timezone=UTC)
    opted_out = ma.fields.Boolean()
    created_by = ma.fields.String()
    created_at = ma.fields.AwareDateTime(default_timezone=UTC)
    updated_at = ma.fields.AwareDateTime(default_timezone=UTC)
    version = ma.fields.Integer()


class VolunteerListArgsSchema(PageArgsSchema):
    """Filters for the volunteer list."""

    vetted = ma.fields.Boolean(load_default=None)


VolunteerPageSchema = page_schema(VolunteerOutSchema, "VolunteerPage")
