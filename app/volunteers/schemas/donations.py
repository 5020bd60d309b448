"""Input and output schemas for donors' offers and their pairings with needs."""

from __future__ import annotations

from datetime import UTC
from typing import Any

import marshmallow as ma
from marshmallow import validate

from app.common.fields import Phone, Text, language_tag, point_errors
from app.common.pagination import PageArgsSchema, page_schema
from app.volunteers.assign.supply import load_categories
from app.volunteers.models.donations import OFFER_STATUSES

# A shelter's bed count or a truck's litres of water, not a typo of six more zeros.
MAX_QUANTITY = 10_000_000
_CURRENCY = validate.Regexp(r"^[A-Za-z]{3}$", error="Use an ISO 4217 code such as USD or EUR.")


def _quantity(**kwargs: Any) -> ma.fields.Integer:
    return ma.fields.Integer(
        strict=True,
        validate=validate.Range(min=1, max=MAX_QUANTITY, error="Must be from 1 to {max}."),
        **kwargs,
    )


class DonorInSchema(ma.Schema):
    """Who offers: a person or an organization, reachable by SMS."""

    class Meta:
        unknown = ma.RAISE

    name = Text(max_length=200, required=True, allow_none=False)
    phone = Phone(required=True, allow_none=False)
    organization = Text(max_length=200)
    language = ma.fields.String(
        allow_none=True, validate=language_tag, metadata={"description": "For the SMS, e.g. es"}
    )
    location = Text(max_length=500, metadata={"description": "Town or address, geocoded offline"})
    lat = ma.fields.Float(allow_none=True, validate=validate.Range(min=-90, max=90))
    lon = ma.fields.Float(allow_none=True, validate=validate.Range(min=-180, max=180))

    @ma.validates_schema
    def _check_point(self, data: dict[str, Any], **kwargs: Any) -> None:
        if errors := point_errors(data):
            raise ma.ValidationError(errors)

    @ma.post_load
    def _normalize(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        if data.get("language"):
            data["language"] = data["language"].replace("_", "-").lower()
        return data


class OfferFieldsSchema(ma.Schema):
    """What is offered, how much, where and when (shared by registration and corrections)."""

    class Meta:
        unknown = ma.RAISE

    quantity = _quantity(metadata={"description": "Whole units of the category's unit"})
    currency = ma.fields.String(
        allow_none=True, validate=_CURRENCY, metadata={"description": "Money pledges only"}
    )
    description = Text(max_length=2000, multiline=True)
    location = Text(max_length=500, metadata={"description": "Where the goods are"})
    lat = ma.fields.Float(allow_none=True, validate=validate.Range(min=-90, max=90))
    lon = ma.fields.Float(allow_none=True, validate=validate.Range(min=-180, max=180))
    available_from = ma.fields.AwareDateTime(allow_none=True, default_timezone=UTC)
    available_until = ma.fields.AwareDateTime(allow_none=True, default_timezone=UTC)
    expires_at = ma.fields.AwareDateTime(allow_none=True, default_timezone=UTC)

    @ma.validates_schema
    def _check_whole(self, data: dict[str, Any], **kwargs: Any) -> None:
        errors: dict[str, list[str]] = {}
        errors.update(point_errors(data))
        start, end = data.get("available_from"), data.get("available_until")
        if start is not None and end is not None and end <= start:
            errors["available_until"] = ["Must be after available_from."]
        if errors:
            raise ma.ValidationError(errors)

    @ma.post_load
    def _normalize(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        if data.get("currency"):
            data["currency"] = data["currency"].upper()
        return data


class OfferInSchema(OfferFieldsSchema):
    """A donor registering an offer (themselves, or a coordinator on their behalf)."""

    class Meta:
        unknown = ma.RAISE

    donor = ma.fields.Nested(DonorInSchema, required=True)
    category = ma.fields.String(
        required=True,
        validate=validate.Length(max=40),
        metadata={"description": "A category id of docs/volunteers.md, e.g. water, shelter_beds"},
    )
    quantity = _quantity(required=True)

    @ma.validates("category")
    def _check_category(self, value: str, **kwargs: Any) -> None:
        if load_categories().unknown([value]):
            raise ma.ValidationError(f"Unknown category: {value}.")

    @ma.validates_schema
    def _check_currency(self, data: dict[str, Any], **kwargs: Any) -> None:
        category = data.get("category")
        if category not in load_categories().kinds:
            return
        money = load_categories().kinds[category] == "money"
        if money and not data.get("currency"):
            raise ma.ValidationError({"currency": ["A money pledge needs its currency."]})
        if not money and data.get("currency"):
            raise ma.ValidationError({"currency": ["Only a money pledge has a currency."]})


class OfferPatchSchema(OfferFieldsSchema):
    """Corrections by a coordinator; `version`, when given, must be the one they read."""

    class Meta:
        unknown = ma.RAISE

    version = ma.fields.Integer(
        load_only=True,
        metadata={"description": "The version read; a different current one is a 409"},
    )


class ReasonInSchema(ma.Schema):
    """An optional reason (withdrawing an offer, accepting a pairing)."""

    class Meta:
        unknown = ma.RAISE

    reason = Text(max_length=500)


class RequiredReasonInSchema(ma.Schema):
    """A reason that must be given (rejecting or cancelling a pairing)."""

    class Meta:
        unknown = ma.RAISE

    reason = Text(max_length=500, required=True, allow_none=False)


class OfferCreatedSchema(ma.Schema):
    """What a registering donor gets back: the offer's id, nothing about anyone else."""

    id = ma.fields.String()
    created_at = ma.fields.AwareDateTime(default_timezone=UTC)


class DonorOutSchema(ma.Schema):
    """A donor as coordinators see one."""

    id = ma.fields.String()
    name = ma.fields.String()
    phone = ma.fields.String()
    organization = ma.fields.String(allow_none=True)
    language = ma.fields.String(allow_none=True)
    location = ma.fields.String(allow_none=True)
    lat = ma.fields.Float(allow_none=True)
    lon = ma.fields.Float(allow_none=True)


class OfferOutSchema(ma.Schema):
    """An offer as coordinators see one, with its donor."""

    id = ma.fields.String()
    donor = ma.fields.Nested(DonorOutSchema)
    category = ma.fields.String()
    quantity = ma.fields.Integer()
    remaining = ma.fields.Integer()
    unit = ma.fields.String()
    currency = ma.fields.String(allow_none=True)
    description = ma.fields.String(allow_none=True)
    location = ma.fields.String(allow_none=True)
    lat = ma.fields.Float(allow_none=True)
    lon = ma.fields.Float(allow_none=True)
    available_from = ma.fields.AwareDateTime(allow_none=True, default_timezone=UTC)
    available_until = ma.fields.AwareDateTime(allow_none=True, default_timezone=UTC)
    expires_at = ma.fields.AwareDateTime(allow_none=True, default_timezone=UTC)
    status = ma.fields.String()
    created_by = ma.fields.String()
    created_at = ma.fields.AwareDateTime(default_timezone=UTC)
    updated_at = ma.fields.AwareDateTime(default_timezone=UTC)
    closed_at = ma.fields.AwareDateTime(allow_none=True, default_timezone=UTC)
    version = ma.fields.Integer()


class OfferListArgsSchema(PageArgsSchema):
    """Filters for the offer list."""

    status = ma.fields.String(load_default=None, validate=validate.OneOf(OFFER_STATUSES))
    category = ma.fields.String(load_default=None, validate=validate.Length(max=40))


OfferPageSchema = page_schema(OfferOutSchema, "OfferPage")


class ReasonOutSchema(ma.Schema):
    code = ma.fields.String()
    text = ma.fields.String()
    data = ma.fields.Dict()


class CandidatesArgsSchema(ma.Schema):
    task_id = ma.fields.String(required=True, validate=validate.Length(max=26))
    limit = ma.fields.Integer(load_default=20, validate=validate.Range(min=1, max=200))


class CandidateOutSchema(ma.Schema):
    """A feasible offer for the need: what it would give, its cost (lower is better), why."""

    offer = ma.fields.Nested(OfferOutSchema)
    give = ma.fields.Integer()
    cost = ma.fields.Float()
    distance_km = ma.fields.Float(allow_none=True)
    reasons = ma.fields.List(ma.fields.Nested(ReasonOutSchema))


class ProposalPartSchema(ma.Schema):
    offer_id = ma.fields.String()
    give = ma.fields.Integer()
    cost = ma.fields.Float()
    distance_km = ma.fields.Float(allow_none=True)
    reasons = ma.fields.List(ma.fields.Nested(ReasonOutSchema))


class ProposalOutSchema(ma.Schema):
    """The offers that would cover what is missing: one, or the need split across several."""

    parts = ma.fields.List(ma.fields.Nested(ProposalPartSchema))
    covered = ma.fields.Integer()
    missing = ma.fields.Integer()
    reasons = ma.fields.List(ma.fields.Nested(ReasonOutSchema))


class CandidatesOutSchema(ma.Schema):
    task_id = ma.fields.String()
    category = ma.fields.String()
    unit = ma.fields.String()
    quantity = ma.fields.Integer(metadata={"description": "What the need asks for"})
    outstanding = ma.fields.Integer(metadata={"description": "What accepted pairings leave"})
    candidates = ma.fields.List(ma.fields.Nested(CandidateOutSchema))
    proposal = ma.fields.Nested(ProposalOutSchema)


class PairingInSchema(ma.Schema):
    """Propose pairings for a need: one offer (and quantity), or the ranking's covering set."""

    class Meta:
        unknown = ma.RAISE

    task_id = ma.fields.String(required=True, validate=validate.Length(max=26))
    offer_id = ma.fields.String(load_default=None, validate=validate.Length(max=26))
    quantity = _quantity(load_default=None, allow_none=True)


class PairingOutSchema(ma.Schema):
    id = ma.fields.String()
    reference = ma.fields.String()
    offer_id = ma.fields.String()
    task_id = ma.fields.String()
    quantity = ma.fields.Integer()
    status = ma.fields.String()
    cost = ma.fields.Float(allow_none=True)
    distance_km = ma.fields.Float(allow_none=True)
    reasons = ma.fields.List(ma.fields.Nested(ReasonOutSchema))
    proposed_by = ma.fields.String()
    created_at = ma.fields.AwareDateTime(default_timezone=UTC)
    decided_by = ma.fields.String(allow_none=True)
    decided_at = ma.fields.AwareDateTime(allow_none=True, default_timezone=UTC)
    reason = ma.fields.String(allow_none=True)
    version = ma.fields.Integer()


class PairingListArgsSchema(ma.Schema):
    task_id = ma.fields.String(load_default=None, validate=validate.Length(max=26))
    offer_id = ma.fields.String(load_default=None, validate=validate.Length(max=26))

    @ma.validates_schema
    def _one_of(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not data.get("task_id") and not data.get("offer_id"):
            raise ma.ValidationError({"task_id": ["Give task_id or offer_id."]})


class PairingListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(PairingOutSchema))
