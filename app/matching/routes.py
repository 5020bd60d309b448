"""Matching API: candidates per report, the review queue, confirm and reject (coordinators)."""

from __future__ import annotations

from typing import Any

from flask import request
from flask.views import MethodView

from app.auth.context import BEARER_SECURITY, audit, current_principal, requires
from app.common.blueprint import Blueprint
from app.common.idempotency import transactional
from app.common.pagination import decode_cursor, page_of
from app.matching import service
from app.matching.models import MatchCandidate
from app.matching.schemas import (
    ConfirmInSchema,
    ConsentAnswerListSchema,
    MatchDetailSchema,
    MatchListArgsSchema,
    MatchOutSchema,
    MatchPageSchema,
    RejectInSchema,
    ReportMatchesArgsSchema,
    ReportMatchPageSchema,
)
from app.reports import service as reports_service

blp = Blueprint(
    "matching", __name__, url_prefix="/api/v1", description="Match candidates and their review"
)
PERMISSION = "matches:review"
_MATCH_FIELDS = tuple(
    f for f in MatchOutSchema().fields if f not in ("left_report", "right_report")
)


@blp.before_app_request
def _warm_up_matching() -> None:
    """Reports are matched inside their transaction: load the matching data before it begins."""
    if request.blueprint == "reports" and request.method in ("POST", "PATCH"):
        service.warm_up()


def _may_see_minors() -> bool:
    # Every reviewer may see minors today; this keeps them hidden from a future role that may not.
    return current_principal().can("reports:read_minors")


def _report_ids(matches: list[MatchCandidate]) -> list[str]:
    return list(dict.fromkeys(i for m in matches for i in (m.left_report_id, m.right_report_id)))


def _seen_from(match: MatchCandidate, report_id: str) -> dict[str, Any]:
    view = {name: getattr(match, name) for name in _MATCH_FIELDS}
    view["side"] = "left" if match.left_report_id == report_id else "right"
    view["other_report"] = match.other_report(report_id)
    return view


@blp.route("/reports/<report_id>/matches")
class ReportMatches(MethodView):
    @transactional
    @requires(PERMISSION)
    @blp.doc(security=BEARER_SECURITY)
    @blp.arguments(ReportMatchesArgsSchema, location="query")
    @blp.response(200, ReportMatchPageSchema)
    def get(self, args, report_id):
        """A report's match and duplicate candidates, best first (coordinators)."""
        report = reports_service.get_report(report_id=report_id, include_minors=_may_see_minors())
        rows = service.matches_for_report(
            report=report,
            limit=args["limit"],
            after=decode_cursor(args.get("cursor")),
            include_rejected=args["include_rejected"],
            include_minors=_may_see_minors(),
        )
        page = page_of(rows, args["limit"], key="queue_key")
        audit("match.list", "report", [report.id, *_report_ids(page["items"])])
        page["items"] = [_seen_from(m, report.id) for m in page["items"]]
        return page


@blp.route("/matches")
class Matches(MethodView):
    @transactional
    @requires(PERMISSION)
    @blp.doc(security=BEARER_SECURITY)
    @blp.arguments(MatchListArgsSchema, location="query")
    @blp.response(200, MatchPageSchema)
    def get(self, args):
        """The review queue: candidates of a status (potential by default), best first."""
        rows = service.list_matches(
            status=args["status"],
            kind=args.get("kind"),
            limit=args["limit"],
            after=decode_cursor(args.get("cursor")),
            include_minors=_may_see_minors(),
        )
        page = page_of(rows, args["limit"], key="queue_key")
        audit("match.list", "report", _report_ids(page["items"]))
        return page


@blp.route("/matches/<match_id>")
class MatchItem(MethodView):
    @transactional
    @requires(PERMISSION)
    @blp.doc(security=BEARER_SECURITY)
    @blp.response(200, MatchDetailSchema)
    def get(self, match_id):
        """One candidate with both reports side by side."""
        match = service.get_match(match_id=match_id, include_minors=_may_see_minors())
        audit("match.read", "report", _report_ids([match]), details={"match_id": match.id})
        return match


@blp.route("/matches/<match_id>/consent")
class MatchConsent(MethodView):
    @transactional
    @requires(PERMISSION)
    @blp.doc(security=BEARER_SECURITY)
    @blp.response(200, ConsentAnswerListSchema)
    def get(self, match_id):
        """The found person's answers to the SMS consent request that confirming sent:
        `pending`, `granted` (a coordinator may share their contact) or `refused`."""
        match = service.get_match(match_id=match_id, include_minors=_may_see_minors())
        answers = service.consent_answers(match=match)
        audit("match.consent", "report", _report_ids([match]), details={"match_id": match.id})
        return {"items": answers}


@blp.route("/matches/<match_id>/confirm")
class MatchConfirm(MethodView):
    @transactional
    @requires(PERMISSION)
    @blp.doc(security=BEARER_SECURITY)
    @blp.arguments(ConfirmInSchema, required=False)
    @blp.response(200, MatchOutSchema)
    def post(self, data, match_id):
        """Confirm that both reports are the same person: each gets a note linking the other.

        A candidate already confirmed or rejected is a 409; of two concurrent decisions on the
        same candidate, one wins and the other gets a 409.
        """
        match = service.confirm_match(
            match_id=match_id,
            actor=current_principal().label,
            reason=data.get("reason"),
            include_minors=_may_see_minors(),
        )
        audit("match.confirm", "report", _report_ids([match]), details={"match_id": match.id})
        return match


@blp.route("/matches/<match_id>/reject")
class MatchReject(MethodView):
    @transactional
    @requires(PERMISSION)
    @blp.doc(security=BEARER_SECURITY)
    @blp.arguments(RejectInSchema)
    @blp.response(200, MatchOutSchema)
    def post(self, data, match_id):
        """Reject a candidate (a reason is required): the pair is never suggested again."""
        match = service.reject_match(
            match_id=match_id,
            actor=current_principal().label,
            reason=data["reason"],
            include_minors=_may_see_minors(),
        )
        audit("match.reject", "report", _report_ids([match]), details={"match_id": match.id})
        return match
