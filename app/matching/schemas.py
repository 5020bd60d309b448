"""Input and output schemas for match candidates and the review queue."""

from __future__ import annotations

from datetime import UTC

import marshmallow as ma
from marshmallow import validate

from app.common.fields import Text
from app.common.pagination import PageArgsSchema, page_schema
from app.matching.models import KINDS, STATUSES


class MatchListArgsSchema(PageArgsSchema):
    """The review queue's filters."""

    status = ma.fields.String(load_default="potential", validate=validate.OneOf(STATUSES))
    kind = ma.fields.String(
        validate=validate.OneOf(KINDS),
        metadata={"description": "match: missing and found; duplicate: two reports of one kind"},
    )


class ReportMatchesArgsSchema(PageArgsSchema):
    include_rejected = ma.fields.Boolean(load_default=False)


class ConfirmInSchema(ma.Schema):
    """Confirming a match; the reason is optional."""

    class Meta:
        unknown = ma.RAISE

    reason = Text(max_length=1000, multiline=True)


class RejectInSchema(ma.Schema):
    """Rejecting a match needs a reason: the pair is never suggested again."""

    class Meta:
        unknown = ma.RAISE

    reason = Text(max_length=1000, multiline=True, required=True, allow_none=False)


class MatchReportBriefSchema(ma.Schema):
    """Which report: enough to recognise it in a list."""

    id = ma.fields.String()
    reference = ma.fields.String()
    kind = ma.fields.String()
    display_name = ma.fields.String(allow_none=True)
    is_minor = ma.fields.Boolean()


class MatchReportSchema(MatchReportBriefSchema):
    """A report as a coordinator compares it: who, how old, where; no contact details."""

    full_name = ma.fields.String(allow_none=True)
    given_name = ma.fields.String(allow_none=True)
    family_name = ma.fields.String(allow_none=True)
    alternate_names = ma.fields.List(ma.fields.String())
    sex = ma.fields.String(allow_none=True)
    age = ma.fields.String(allow_none=True)
    date_of_birth = ma.fields.String(allow_none=True)
    home_neighborhood = ma.fields.String(allow_none=True)
    home_city = ma.fields.String(allow_none=True)
    home_state = ma.fields.String(allow_none=True)
    home_country = ma.fields.String(allow_none=True)
    last_known_location = ma.fields.String(allow_none=True)
    lat = ma.fields.Float(allow_none=True)
    lon = ma.fields.Float(allow_none=True)
    description = ma.fields.String(allow_none=True)
    photo_url = ma.fields.String(allow_none=True)
    status = ma.fields.String(allow_none=True)
    source_name = ma.fields.String(allow_none=True)
    created_at = ma.fields.AwareDateTime(default_timezone=UTC)


class _MatchBaseSchema(ma.Schema):
    id = ma.fields.String()
    kind = ma.fields.String(metadata={"description": "match or duplicate"})
    score = ma.fields.Float(metadata={"description": "Probability that both are the same person"})
    band = ma.fields.String(metadata={"description": "high (alert), medium (>= 0.5) or low"})
    status = ma.fields.String(metadata={"description": "potential, confirmed or rejected"})
    explanation = ma.fields.Dict(
        metadata={"description": "Per field (name, age, sex, location), from left to right"}
    )
    left_report_id = ma.fields.String()
    right_report_id = ma.fields.String()
    decided_by = ma.fields.String(allow_none=True)
    decided_at = ma.fields.AwareDateTime(allow_none=True, default_timezone=UTC)
    reason = ma.fields.String(allow_none=True)
    created_at = ma.fields.AwareDateTime(default_timezone=UTC)
    updated_at = ma.fields.AwareDateTime(default_timezone=UTC)
    version = ma.fields.Integer()


class MatchOutSchema(_MatchBaseSchema):
    """A candidate in the review queue (the missing report on the left for a match)."""

    left_report = ma.fields.Nested(MatchReportBriefSchema)
    right_report = ma.fields.Nested(MatchReportBriefSchema)


class MatchDetailSchema(_MatchBaseSchema):
    """A candidate with both reports side by side, and the numbers the model scored."""

    left_report = ma.fields.Nested(MatchReportSchema)
    right_report = ma.fields.Nested(MatchReportSchema)
    features = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Float())


class ReportMatchSchema(_MatchBaseSchema):
    """A candidate seen from one of its reports."""

    side = ma.fields.String(metadata={"description": "Which side of the pair this report is"})
    other_report = ma.fields.Nested(MatchReportBriefSchema)


MatchPageSchema = page_schema(MatchOutSchema, "MatchPage")
ReportMatchPageSchema = page_schema(ReportMatchSchema, "ReportMatchPage")


class ConsentAnswerSchema(ma.Schema):
    """A found person's answer to the consent request a confirmed match sent (never the code or
    the number)."""

    id = ma.fields.String()
    report_id = ma.fields.String(allow_none=True)
    status = ma.fields.String(metadata={"enum": ["pending", "granted", "refused"]})
    created_at = ma.fields.AwareDateTime(default_timezone=UTC)
    expires_at = ma.fields.AwareDateTime(default_timezone=UTC)
    decided_at = ma.fields.AwareDateTime(allow_none=True, default_timezone=UTC)


class ConsentAnswerListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(ConsentAnswerSchema))
