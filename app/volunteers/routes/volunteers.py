"""Volunteers API: public self-registration; reading, correcting and vetting for coordinators."""

from __future__ import annotations

from flask import url_for
from flask.views import MethodView

from app.auth.context import BEARER_SECURITY, audit, current_principal, requires
from app.common.blueprint import Blueprint
from app.common.idempotency import transactional
from app.common.pagination import decode_cursor, page_of
from app.extensions import limit
from app.volunteers import service
from app.volunteers.schemas.volunteers import (
    VetInSchema,
    VolunteerCreatedSchema,
    VolunteerInSchema,
    VolunteerListArgsSchema,
    VolunteerOutSchema,
    VolunteerPageSchema,
    VolunteerPatchSchema,
)

blp = Blueprint("volunteers", __name__, url_prefix="/api/v1/volunteers", description="Volunteers")


@blp.route("")
class Volunteers(MethodView):
    @limit("RATE_LIMIT_REPORTS")
    @transactional
    @blp.arguments(VolunteerInSchema)
    @blp.response(201, VolunteerCreatedSchema)
    @blp.alt_response(202, schema=VolunteerCreatedSchema, description="Public registration")
    def post(self, data):
        """Register as a volunteer. Skills come from the taxonomy in docs/volunteers.md; a
        coordinator vets volunteers later.

        Public (no token): always 202 `{"status": "received"}`, whether the number was new or
        already registered, so nobody can learn who volunteers; the number itself gets an SMS
        (welcome, or "already registered") and can answer STOP. A coordinator
        (`volunteers:write`) gets 201 with the id, or 409 `duplicate_phone`.
        """
        principal = current_principal()
        if not principal.can("volunteers:write"):
            volunteer = service.register_publicly(data=data)
            if volunteer is not None:
                audit("volunteer.create", "volunteer", [volunteer.id])
            return {"status": "received"}, 202
        volunteer = service.register_volunteer(data=data, created_by=principal.label)
        audit("volunteer.create", "volunteer", [volunteer.id])
        location = url_for("volunteers.VolunteerItem", volunteer_id=volunteer.id)
        return (
            {"id": volunteer.id, "created_at": volunteer.created_at, "status": "registered"},
            201,
            {"Location": location},
        )

    @transactional
    @requires("volunteers:read")
    @blp.doc(security=BEARER_SECURITY)
    @blp.arguments(VolunteerListArgsSchema, location="query")
    @blp.response(200, VolunteerPageSchema)
    def get(self, args):
        """List volunteers, newest first (coordinators)."""
        rows = service.list_volunteers(
            limit=args["limit"],
            after_id=decode_cursor(args.get("cursor")),
            vetted=args.get("vetted"),
        )
        page = page_of(rows, args["limit"])
        audit("volunteer.list", "volunteer", [v.id for v in page["items"]])
        return page


@blp.route("/<volunteer_id>")
class VolunteerItem(MethodView):
    @transactional
    @requires("volunteers:read")
    @blp.doc(security=BEARER_SECURITY)
    @blp.response(200, VolunteerOutSchema)
    def get(self, volunteer_id):
        """One volunteer."""
        volunteer = service.get_volunteer(volunteer_id=volunteer_id)
        audit("volunteer.read", "volunteer", [volunteer.id])
        return volunteer

    @transactional
    @requires("volunteers:write")
    @blp.doc(security=BEARER_SECURITY)
    @blp.arguments(VolunteerPatchSchema(partial=True))
    @blp.response(200, VolunteerOutSchema)
    def patch(self, changes, volunteer_id):
        """Correct a volunteer (audited with the names of the changed fields).

        Send the `version` you read: if someone changed the volunteer since, the answer is 409.
        """
        volunteer = service.get_volunteer(volunteer_id=volunteer_id)
        expected = changes.pop("version", None)
        changed = service.update_volunteer(
            volunteer=volunteer, changes=changes, expected_version=expected
        )
        audit("volunteer.update", "volunteer", [volunteer.id], details={"fields": sorted(changed)})
        return volunteer


@blp.route("/<volunteer_id>/vet")
class VolunteerVetting(MethodView):
    @transactional
    @requires("volunteers:vet")
    @blp.doc(security=BEARER_SECURITY)
    @blp.arguments(VetInSchema)
    @blp.response(200, VolunteerOutSchema)
    def post(self, data, volunteer_id):
        """Mark a volunteer vetted (who and when are recorded); `{"vetted": false}` withdraws it.

        Only vetted volunteers may take tasks that involve minors.
        """
        principal = current_principal()
        volunteer = service.get_volunteer(volunteer_id=volunteer_id)
        if service.set_vetted(volunteer=volunteer, vetted=data["vetted"], actor=principal.label):
            audit("volunteer.vet", "volunteer", [volunteer.id], details={"vetted": data["vetted"]})
        else:
            audit("volunteer.read", "volunteer", [volunteer.id])
        return volunteer
