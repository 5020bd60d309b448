"""Donors' offers API: public registration; reading, correcting, ranking for a need and pairing
for coordinators."""

from __future__ import annotations

from flask import url_for
from flask.views import MethodView

from app.auth.context import BEARER_SECURITY, audit, current_principal, requires
from app.common.blueprint import Blueprint
from app.common.idempotency import transactional
from app.common.pagination import decode_cursor, page_of
from app.extensions import limit
from app.volunteers.assign.supply import load_categories
from app.volunteers.schemas.donations import (
    CandidatesArgsSchema,
    CandidatesOutSchema,
    OfferCreatedSchema,
    OfferInSchema,
    OfferListArgsSchema,
    OfferOutSchema,
    OfferPageSchema,
    OfferPatchSchema,
    PairingInSchema,
    PairingListArgsSchema,
    PairingListSchema,
    PairingOutSchema,
    ReasonInSchema,
    RequiredReasonInSchema,
)
from app.volunteers.service import donations as service

blp = Blueprint("offers", __name__, url_prefix="/api/v1/offers", description="Donors' offers")

DONOR_FIELDS = ("name", "phone", "organization", "language", "location", "lat", "lon")


@blp.route("")
class Offers(MethodView):
    @limit("RATE_LIMIT_REPORTS")
    @transactional
    @blp.arguments(OfferInSchema)
    @blp.response(201, OfferCreatedSchema)
    def post(self, data):
        """Register an offer (public: no token needed). Answers the new offer's id only.

        Categories and their units are listed in docs/volunteers.md. A donor is known by phone:
        a second offer from the same number joins the first donor's record unchanged.
        """
        donor = data.pop("donor")
        offer = service.register_offer(
            donor=donor, offer=data, created_by=current_principal().label
        )
        audit("offer.create", "offer", [offer.id])
        return offer, 201, {"Location": url_for("offers.OfferItem", offer_id=offer.id)}

    @transactional
    @requires("offers:read")
    @blp.doc(security=BEARER_SECURITY)
    @blp.arguments(OfferListArgsSchema, location="query")
    @blp.response(200, OfferPageSchema)
    def get(self, args):
        """List offers, newest first (coordinators)."""
        rows = service.list_offers(
            limit=args["limit"],
            after_id=decode_cursor(args.get("cursor")),
            status=args.get("status"),
            category=args.get("category"),
        )
        page = page_of(rows, args["limit"])
        audit("offer.list", "offer", [o.id for o in page["items"]])
        return page


@blp.route("/candidates")
class OfferCandidates(MethodView):
    @transactional
    @requires("offers:read")
    @blp.doc(security=BEARER_SECURITY)
    @blp.arguments(CandidatesArgsSchema, location="query")
    @blp.response(200, CandidatesOutSchema)
    def get(self, args):
        """The open offers that may serve a need, best first, and the set proposed to cover it.

        Hard filters: same category, something left, within the need's radius (money pledges
        and needs without a place: anywhere), available in the need's window, not expired.
        """
        found = service.offer_candidates(task_id=args["task_id"], limit=args["limit"])
        audit("offer.list", "offer", [offer.id for offer, _ in found.ranked])
        category = found.task.supply_category
        return {
            "task_id": found.task.id,
            "category": category,
            "unit": load_categories().units.get(category, ""),
            "quantity": found.task.supply_quantity,
            "outstanding": found.outstanding,
            "candidates": [
                {
                    "offer": offer,
                    "give": r.give,
                    "cost": r.cost,
                    "distance_km": r.distance_km,
                    "reasons": r.reasons,
                }
                for offer, r in found.ranked
            ],
            "proposal": found.proposal,
        }


@blp.route("/<offer_id>")
class OfferItem(MethodView):
    @transactional
    @requires("offers:read")
    @blp.doc(security=BEARER_SECURITY)
    @blp.response(200, OfferOutSchema)
    def get(self, offer_id):
        """One offer, with its donor."""
        offer = service.get_offer(offer_id=offer_id)
        audit("offer.read", "offer", [offer.id])
        return offer

    @transactional
    @requires("offers:write")
    @blp.doc(security=BEARER_SECURITY)
    @blp.arguments(OfferPatchSchema(partial=True))
    @blp.response(200, OfferOutSchema)
    def patch(self, changes, offer_id):
        """Correct an offer (audited with the names of the changed fields).

        Send the `version` you read: if someone changed the offer since, the answer is 409. A
        new quantity may not drop below what accepted pairings have taken.
        """
        offer = service.get_offer(offer_id=offer_id)
        expected = changes.pop("version", None)
        changed = service.update_offer(offer=offer, changes=changes, expected_version=expected)
        audit("offer.update", "offer", [offer.id], details={"fields": sorted(changed)})
        return offer


@blp.route("/<offer_id>/withdraw")
class OfferWithdrawal(MethodView):
    @transactional
    @requires("offers:write")
    @blp.doc(security=BEARER_SECURITY)
    @blp.arguments(ReasonInSchema)
    @blp.response(200, OfferOutSchema)
    def post(self, data, offer_id):
        """Withdraw an offer; its proposed pairings are cancelled, accepted ones stand."""
        offer = service.get_offer(offer_id=offer_id)
        cancelled = service.withdraw_offer(
            offer=offer, actor=current_principal().label, reason=data.get("reason")
        )
        audit("offer.withdraw", "offer", [offer.id], details={"cancelled": len(cancelled)})
        return offer


@blp.route("/pairings")
class Pairings(MethodView):
    @transactional
    @requires("offers:write")
    @blp.doc(security=BEARER_SECURITY)
    @blp.arguments(PairingInSchema)
    @blp.response(201, PairingListSchema)
    def post(self, data):
        """Propose pairings for a need: `offer_id` (and `quantity`) for one offer, or neither for
        the ranking's covering set. Nothing is taken from an offer until a coordinator accepts.
        """
        pairings = service.propose_pairings(
            task_id=data["task_id"],
            offer_id=data.get("offer_id"),
            quantity=data.get("quantity"),
            actor=current_principal().label,
        )
        return {"items": pairings}, 201

    @transactional
    @requires("offers:read")
    @blp.doc(security=BEARER_SECURITY)
    @blp.arguments(PairingListArgsSchema, location="query")
    @blp.response(200, PairingListSchema)
    def get(self, args):
        """The pairings of a need (`task_id`) or of an offer (`offer_id`), oldest first."""
        return {"items": service.list_pairings(task_id=args["task_id"], offer_id=args["offer_id"])}


@blp.route("/pairings/<pairing_id>/accept")
class PairingAcceptance(MethodView):
    @transactional
    @requires("offers:write")
    @blp.doc(security=BEARER_SECURITY)
    @blp.arguments(ReasonInSchema)
    @blp.response(200, PairingOutSchema)
    def post(self, data, pairing_id):
        """Accept a proposed pairing: its quantity is taken from the offer, and the donor and the
        desk that asked are told by SMS (409 `offer_insufficient` if not enough is left)."""
        pairing = service.accept_pairing(
            pairing_id=pairing_id, actor=current_principal().label, reason=data.get("reason")
        )
        audit("pairing.accept", "pairing", [pairing.id], details={"offer": pairing.offer_id})
        return pairing


@blp.route("/pairings/<pairing_id>/reject")
class PairingRejection(MethodView):
    @transactional
    @requires("offers:write")
    @blp.doc(security=BEARER_SECURITY)
    @blp.arguments(RequiredReasonInSchema)
    @blp.response(200, PairingOutSchema)
    def post(self, data, pairing_id):
        """Reject a proposed pairing, with a reason; nothing is taken from the offer."""
        pairing = service.reject_pairing(
            pairing_id=pairing_id, actor=current_principal().label, reason=data["reason"]
        )
        audit("pairing.reject", "pairing", [pairing.id], details={"offer": pairing.offer_id})
        return pairing


@blp.route("/pairings/<pairing_id>/cancel")
class PairingCancellation(MethodView):
    @transactional
    @requires("offers:write")
    @blp.doc(security=BEARER_SECURITY)
    @blp.arguments(RequiredReasonInSchema)
    @blp.response(200, PairingOutSchema)
    def post(self, data, pairing_id):
        """Cancel a pairing, with a reason; an accepted one gives its quantity back to the offer."""
        pairing = service.cancel_pairing(
            pairing_id=pairing_id, actor=current_principal().label, reason=data["reason"]
        )
        audit("pairing.cancel", "pairing", [pairing.id], details={"offer": pairing.offer_id})
        return pairing


@blp.route("/pairings/<pairing_id>/fulfil")
class PairingFulfilment(MethodView):
    @transactional
    @requires("offers:write")
    @blp.doc(security=BEARER_SECURITY)
    @blp.response(200, PairingOutSchema)
    def post(self, pairing_id):
        """Record that the goods of an accepted pairing were handed over."""
        pairing = service.fulfil_pairing(pairing_id=pairing_id, actor=current_principal().label)
        audit("pairing.fulfil", "pairing", [pairing.id], details={"offer": pairing.offer_id})
        return pairing
