"""Reports API: public submission and status check; everything else needs a token."""

from __future__ import annotations

import json
from typing import Any

import marshmallow as ma
from flask import current_app, jsonify, request, url_for
from flask.views import MethodView

from app.auth import service as auth_service
from app.auth.context import BEARER_SECURITY, audit, current_principal, requires
from app.auth.principal import Principal
from app.auth.schemas import AuditPageSchema
from app.common.blueprint import Blueprint
from app.common.idempotency import transactional
from app.common.jobs import after_commit
from app.common.pagination import PageArgsSchema, decode_cursor, page_of
from app.errors import Forbidden, ValidationError, envelope
from app.extensions import limit
from app.matching import service as matching_service
from app.matching.tasks import geocode_online_after_commit
from app.reports import roster, service
from app.reports.models import Note, Report
from app.reports.schemas import (
    REDACTED_NOTE_FIELDS,
    REDACTED_REPORT_FIELDS,
    DeletionConfirmInSchema,
    DeletionConfirmOutSchema,
    DeletionRequestInSchema,
    DeletionRequestOutSchema,
    ExpiryInSchema,
    NoteInSchema,
    NoteOutSchema,
    NotePageSchema,
    ReportCreatedSchema,
    ReportDetailSchema,
    ReportInSchema,
    ReportListArgsSchema,
    ReportOutSchema,
    ReportPageSchema,
    ReportPatchSchema,
    RosterMappingInSchema,
    RosterOutSchema,
    RosterUploadSchema,
    StatusCheckInSchema,
    StatusCheckOutSchema,
)
from app.reports.tasks import import_roster_task
from app.sms import service as sms_service

blp = Blueprint(
    "reports", __name__, url_prefix="/api/v1/reports", description="Missing and found persons"
)
_REPORT_FIELDS = tuple(ReportOutSchema().fields)
_NOTE_FIELDS = tuple(NoteOutSchema().fields)


def _note_view(note: Note, principal: Principal) -> Note | dict[str, Any]:
    if principal.can("reports:read_full"):
        return note
    return {f: getattr(note, f) for f in _NOTE_FIELDS if f not in REDACTED_NOTE_FIELDS}


def _report_view(
    report: Report, principal: Principal, *, with_notes: bool = False
) -> Report | dict[str, Any]:
    """Full for coordinators and full_read keys; without contact and location otherwise."""
    if principal.can("reports:read_full"):
        return report
    view = {f: getattr(report, f) for f in _REPORT_FIELDS if f not in REDACTED_REPORT_FIELDS}
    if report.date_of_birth:
        view["date_of_birth"] = report.date_of_birth[:4]
    if with_notes:
        view["notes"] = [_note_view(note, principal) for note in report.notes]
    return view


def _readable_report(report_id: str, principal: Principal) -> Report:
    return service.get_report(
        report_id=report_id, include_minors=principal.can("reports:read_minors")
    )


@blp.route("")
class Reports(MethodView):
    @limit("RATE_LIMIT_REPORTS")
    @transactional
    @blp.arguments(ReportInSchema)
    @blp.response(201, ReportCreatedSchema)
    def post(self, data):
        """Submit a missing or found person report (public: no token needed).

        Send an `Idempotency-Key` header so that a retry returns the first answer and creates
        nothing twice.
        """
        principal = current_principal()
        report = service.submit_report(data=data, created_by=principal.label)
        # Matched in the request (never failing it), so coordinators see candidates at once.
        matching_service.refresh_matches(report=report)
        geocode_online_after_commit(report)
        audit("report.create", "report", [report.id])
        return report, 201, {"Location": url_for("reports.ReportItem", report_id=report.id)}

    @transactional
    @requires("reports:read")
    @blp.doc(security=BEARER_SECURITY)
    @blp.arguments(ReportListArgsSchema, location="query")
    @blp.response(200, ReportPageSchema)
    def get(self, args):
        """List reports, newest first (coordinators and partner keys with read scope)."""
        principal = current_principal()
        rows = service.list_reports(
            limit=args["limit"],
            after_id=decode_cursor(args.get("cursor")),
            kind=args.get("kind"),
            status=args.get("status"),
            country=args.get("country"),
            since=args.get("since"),
            reference=args.get("reference"),
            include_minors=principal.can("reports:read_minors"),
        )
        page = page_of(rows, args["limit"])
        audit("report.list", "report", [r.id for r in page["items"]])
        page["items"] = [_report_view(r, principal) for r in page["items"]]
        return page


@blp.route("/<report_id>")
class ReportItem(MethodView):
    @transactional
    @requires("reports:read")
    @blp.doc(security=BEARER_SECURITY)
    @blp.response(200, ReportDetailSchema)
    def get(self, report_id):
        """One report with its notes."""
        principal = current_principal()
        report = _readable_report(report_id, principal)
        audit("report.read", "report", [report.id])
        return _report_view(report, principal, with_notes=True)

    @transactional
    @requires("reports:write")
    @blp.doc(security=BEARER_SECURITY)
    @blp.arguments(ReportPatchSchema(partial=True))
    @blp.response(200, ReportDetailSchema)
    def patch(self, changes, report_id):
        """Correct a report (audited with the names of the changed fields).

        Partner keys with write scope may correct only the reports they submitted.
        """
        principal = current_principal()
        report = _readable_report(report_id, principal)
        if principal.kind == "key" and report.created_by != principal.label:
            raise Forbidden("A partner key may correct only the reports it submitted.")
        changed = service.update_report(report=report, changes=changes)
        matching_service.refresh_matches(report=report, changed=changed)
        geocode_online_after_commit(report)
        audit("report.update", "report", [report.id], details={"fields": sorted(changed)})
        return _report_view(report, principal, with_notes=True)


@blp.route("/<report_id>/verify")
class ReportVerification(MethodView):
    @transactional
    @requires("reports:verify")
    @blp.doc(security=BEARER_SECURITY)
    @blp.response(200, ReportDetailSchema)
    def post(self, report_id):
        """Mark a report that arrived unverified (by SMS) as checked by a coordinator.

        Until then none of its matches can be confirmed. Verifying twice changes nothing.
        """
        principal = current_principal()
        report = _readable_report(report_id, principal)
        if service.verify_report(report=report, actor=principal.label):
            audit("report.verify", "report", [report.id])
        return _report_view(report, principal, with_notes=True)


@blp.route("/<report_id>/notes")
class ReportNotes(MethodView):
    @transactional
    @requires("reports:write")
    @blp.doc(security=BEARER_SECURITY)
    @blp.arguments(NoteInSchema)
    @blp.response(201, NoteOutSchema)
    def post(self, data, report_id):
        """Add a note: a new status, a message, a last known location."""
        principal = current_principal()
        report = _readable_report(report_id, principal)
        location = report.last_known_location
        note = service.add_note(report=report, data=data, created_by=principal.label)
        if report.last_known_location != location:
            matching_service.refresh_matches(report=report, changed=["last_known_location"])
            geocode_online_after_commit(report)
        audit("note.create", "report", [report.id], details={"note_id": note.id})
        return note

    @transactional
    @requires("reports:read")
    @blp.doc(security=BEARER_SECURITY)
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, NotePageSchema)
    def get(self, args, report_id):
        """A report's notes, oldest first."""
        principal = current_principal()
        report = _readable_report(report_id, principal)
        rows = service.list_notes(
            report=report, limit=args["limit"], after_id=decode_cursor(args.get("cursor"))
        )
        audit("note.list", "report", [report.id])
        page = page_of(rows, args["limit"])
        page["items"] = [_note_view(n, principal) for n in page["items"]]
        return page


@blp.route("/<report_id>/audit")
class ReportAudit(MethodView):
    @transactional
    @requires("audit:read")
    @blp.doc(security=BEARER_SECURITY)
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, AuditPageSchema)
    def get(self, args, report_id):
        """Who read or changed this report, newest first (admins only)."""
        report = service.get_report(report_id=report_id)
        rows = auth_service.list_audit(
            subject_type="report",
            subject_id=report.id,
            limit=args["limit"],
            after_id=decode_cursor(args.get("cursor")),
        )
        page = page_of(rows, args["limit"])
        audit("audit.read", "report", [report.id])
        return page


@blp.route("/status")
class ReportStatus(MethodView):
    @limit("RATE_LIMIT_STATUS_CHECK")
    @transactional
    @blp.arguments(StatusCheckInSchema)
    @blp.response(200, StatusCheckOutSchema)
    def post(self, data):
        """Check a report's status with its reference and the reporter's phone (public).

        Answers status and date only: never a name, never a location.
        """
        report = service.check_status(reference=data["reference"], phone=data["phone"])
        audit("report.status_check", "report", [report.id])
        return report


@blp.route("/<report_id>/expiry")
class ReportExpiry(MethodView):
    @transactional
    @requires("reports:expiry")
    @blp.doc(security=BEARER_SECURITY)
    @blp.arguments(ExpiryInSchema)
    @blp.response(200, ReportDetailSchema)
    def post(self, data, report_id):
        """Move a report's expiry date, e.g. extend it while the search goes on (coordinators).

        After that date the report and its notes are gone for every reader and export.
        """
        principal = current_principal()
        report = _readable_report(report_id, principal)
        if service.extend_expiry(report=report, expiry_date=data["expiry_date"]):
            audit("report.expiry", "report", [report.id])
        return _report_view(report, principal, with_notes=True)


_DELETION_ANSWER = (
    "If the reference and phone number match a report, a code has been sent to that phone by SMS."
)


@blp.route("/deletion-requests")
class DeletionRequests(MethodView):
    @limit("RATE_LIMIT_DELETION")
    @transactional
    @blp.arguments(DeletionRequestInSchema)
    @blp.response(202, DeletionRequestOutSchema)
    def post(self, data):
        """Ask to delete a report (public): its reference and the reporter's phone.

        The same answer whether or not they match; when they do, a six-digit code is texted to
        that phone, to be sent to `/deletion-requests/confirm`.
        """
        found = service.request_deletion(reference=data["reference"], phone=data["phone"])
        if found is not None:
            report, request, code = found
            sms_service.queue_message(
                to=data["phone"],
                template="deletion_code",
                language=report.language,
                params={"reference": report.reference, "code": code},
                dedupe_key=f"deletion:{request.id}",
                validity_s=current_app.config["DELETION_CODE_TTL_MINUTES"] * 60,
            )
            audit("report.deletion_request", "report", [report.id])
        return {"message": _DELETION_ANSWER}, 202


@blp.route("/deletion-requests/confirm")
class DeletionConfirmation(MethodView):
    @limit("RATE_LIMIT_DELETION")
    @transactional
    @blp.arguments(DeletionConfirmInSchema)
    @blp.response(200, DeletionConfirmOutSchema)
    def post(self, data):
        """Confirm a deletion with the texted code (public): the report expires at once.

        It is gone for every reader from now, partners receive PFIF's expired placeholder, and
        the data is purged with the other expired reports.
        """
        report = service.confirm_deletion(reference=data["reference"], code=data["code"])
        if report is None:
            # Answered, not raised: the failed attempt is committed, so guessing runs out.
            response = jsonify(
                envelope("not_found", "No deletion request matches this reference and code.")
            )
            response.status_code = 404
            return response
        matching_service.unindex_reports(report_ids=[report.id])
        audit("report.delete", "report", [report.id])
        return {"reference": report.reference, "deleted": True}


rosters_blp = Blueprint(
    "rosters",
    __name__,
    url_prefix="/api/v1/rosters",
    description="Shelter rosters (CSV, XLSX): upload, preview, import",
)
_ROSTER_FORM = {
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file", "source_name"],
                "properties": {
                    "file": {"type": "string", "format": "binary"},
                    **{
                        name: {"type": "string"}
                        for name in RosterUploadSchema().fields
                        if name != "source_name"
                    },
                    "source_name": {"type": "string"},
                },
            }
        }
    }
}


def _roster_view(job, table: roster.Table | None = None) -> dict[str, Any]:
    view = {name: getattr(job, name) for name in RosterOutSchema().fields if name != "preview"}
    view["preview"] = None
    if job.status == "previewed" and job.content is not None:
        view["preview"] = roster.job_preview(job, table)
        audit("roster.preview", "import", [job.id])
    return view


@rosters_blp.route("")
class Rosters(MethodView):
    @transactional
    @requires("reports:import")
    @rosters_blp.doc(security=BEARER_SECURITY, requestBody=_ROSTER_FORM)
    @rosters_blp.response(201, RosterOutSchema)
    def post(self):
        """Upload a roster (CSV or XLSX) and see how it would be imported (coordinators).

        Columns are mapped by their headers (English, Spanish, French, Swedish); the answer
        shows the mapping, the first rows as reports and the problems found in the first 500
        rows. Nothing is imported until `POST /rosters/{id}/import`.
        """
        request.max_content_length = current_app.config["IMPORT_MAX_BODY_BYTES"]
        upload = request.files.get("file")
        if upload is None:
            raise ValidationError(errors={"file": ["Send the roster as the form field file."]})
        try:
            form = RosterUploadSchema().load(request.form.to_dict())
        except ma.ValidationError as error:
            raise ValidationError(errors=error.messages) from None
        fmt = roster.format_of(upload.filename, upload.mimetype)
        content = upload.read()
        table = roster.read_table(content, fmt)
        try:
            wanted = json.loads(form.get("mapping") or "{}")
        except ValueError:
            raise ValidationError(errors={"mapping": ["Not JSON."]}) from None
        if not isinstance(wanted, dict):
            raise ValidationError(errors={"mapping": ["Give an object of header: field."]})
        mapping = roster.check_mapping(table.headers, wanted)
        defaults = {
            name: form[name]
            for name in ("source_name", "last_known_location", "home_country", "language")
            if form.get(name)
        }
        job = service.create_import_job(
            content=content,
            fmt=fmt,
            kind=form["kind"],
            mapping=mapping,
            defaults=defaults,
            total_rows=len(table.rows),
            created_by=current_principal().label,
        )
        return _roster_view(job, table), 201


@rosters_blp.route("/<job_id>")
class RosterItem(MethodView):
    @transactional
    @requires("reports:import")
    @rosters_blp.doc(security=BEARER_SECURITY)
    @rosters_blp.response(200, RosterOutSchema)
    def get(self, job_id):
        """An import's state and progress (rows processed and loaded, bad rows with reasons)."""
        return _roster_view(service.get_import_job(job_id=job_id))


@rosters_blp.route("/<job_id>/mapping")
class RosterMapping(MethodView):
    @transactional
    @requires("reports:import")
    @rosters_blp.doc(security=BEARER_SECURITY)
    @rosters_blp.arguments(RosterMappingInSchema)
    @rosters_blp.response(200, RosterOutSchema)
    def put(self, data, job_id):
        """Correct the column mapping (and the kind) and see the preview again."""
        job = service.get_import_job(job_id=job_id)
        if job.content is None:
            raise ValidationError(errors={"mapping": ["This import has finished."]})
        table = roster.read_table(job.content, job.format)
        mapping = roster.check_mapping(table.headers, data["mapping"])
        service.set_import_mapping(job=job, mapping=mapping, kind=data.get("kind") or job.kind)
        return _roster_view(job, table)


@rosters_blp.route("/<job_id>/import")
class RosterImport(MethodView):
    @transactional
    @requires("reports:import")
    @rosters_blp.doc(security=BEARER_SECURITY)
    @rosters_blp.response(202, RosterOutSchema)
    def post(self, job_id):
        """Import the roster in the background; follow its progress with `GET /rosters/{id}`.

        Good rows land a batch at a time and are matched; bad rows are listed with reasons.
        """
        job = service.get_import_job(job_id=job_id)
        service.queue_import_job(job=job)
        audit("roster.import", "import", [job.id])
        after_commit(import_roster_task, job.id)

        return _roster_view(job), 202
