"""PFIF over HTTP: partners push documents in and pull this repository's records out."""

from __future__ import annotations

from flask import Response, current_app, jsonify, request
from flask.views import MethodView

from app.auth.context import BEARER_SECURITY, audit, current_principal, requires
from app.common.blueprint import Blueprint
from app.common.idempotency import transactional
from app.common.jobs import after_commit
from app.errors import AppError, Forbidden, NotFound
from app.matching.tasks import match_reports_task
from app.pfif import format as pfif
from app.pfif import service
from app.pfif.schemas import ExportArgsSchema, ImportJobOutSchema, ImportOutSchema
from app.pfif.tasks import import_pfif_task
from app.reports import service as reports_service

blp = Blueprint(
    "pfif", __name__, url_prefix="/api/v1/pfif", description="PFIF 1.4 exchange with partners"
)
_XML_TYPES = (pfif.MIME_TYPE, "application/xml", "text/xml")


class UnsupportedMediaType(AppError):
    status, code, message = 415, "unsupported_media_type", "Send application/pfif+xml."


def _in_background(data: bytes, created_by: str) -> Response:
    """Keep the document for the worker (a web worker must not spend minutes on it)."""
    job = reports_service.create_import_job(
        content=data,
        fmt="pfif",
        kind="mixed",
        mapping={},
        defaults={},
        total_rows=0,
        created_by=created_by,
    )
    reports_service.queue_import_job(job=job)
    audit("pfif.import_queued", "import", [job.id])
    after_commit(import_pfif_task, job.id)
    response = jsonify(ImportJobOutSchema().dump(job))
    response.status_code = 202
    response.headers["Location"] = f"/api/v1/pfif/imports/{job.id}"
    return response


@blp.route("/imports/<job_id>")
class PfifImport(MethodView):
    @transactional
    @requires("pfif:import")
    @blp.doc(security=BEARER_SECURITY)
    @blp.response(200, ImportJobOutSchema)
    def get(self, job_id):
        """A PFIF document imported in the background: its state and, once done, its answer."""
        job = reports_service.get_import_job(job_id=job_id)
        if job.format != "pfif":
            raise NotFound("No PFIF import with this id.", code="import_not_found")
        principal = current_principal()
        if principal.kind == "key" and job.created_by != principal.label:
            raise Forbidden("A partner key follows only the imports it sent.")
        return job


@blp.route("")
class Pfif(MethodView):
    @transactional
    @requires("pfif:import")
    @blp.doc(
        security=BEARER_SECURITY,
        requestBody={"content": {pfif.MIME_TYPE: {"schema": {"type": "string"}}}},
    )
    @blp.response(200, ImportOutSchema)
    @blp.alt_response(202, schema=ImportJobOutSchema, description="Imported in the background")
    def post(self):
        """Import a PFIF 1.1-1.4 document (coordinators, partner keys with write).

        Every valid record is imported; each invalid one is listed under `errors` (which one,
        why). A document that is not PFIF is a 422 and imports nothing. A record already held
        is updated only by a copy with a newer source_date; an expired placeholder deletes it.
        Imported reports are matched in the background. A document larger than
        `PFIF_INLINE_MAX_BYTES` is imported in the background too: the answer is then 202 with
        a job to follow at `GET /pfif/imports/{id}`, whose `result` is this same answer.
        """
        if request.mimetype not in _XML_TYPES:
            raise UnsupportedMediaType()
        request.max_content_length = current_app.config["IMPORT_MAX_BODY_BYTES"]
        principal = current_principal()
        data = request.get_data()
        if len(data) > current_app.config["PFIF_INLINE_MAX_BYTES"]:
            return _in_background(data, principal.label)
        summary = service.import_pfif(data=data, created_by=principal.label)
        if summary.report_ids:
            after_commit(match_reports_task, summary.report_ids)
        if summary.report_ids or summary.expired_ids:
            audit(
                "report.import",
                "report",
                [*summary.report_ids, *summary.expired_ids],
                details={"format": "pfif"},
            )
        return summary.as_dict()

    @transactional
    @requires("pfif:export")
    @blp.doc(
        security=BEARER_SECURITY,
        responses={"200": {"content": {pfif.MIME_TYPE: {"schema": {"type": "string"}}}}},
    )
    @blp.arguments(ExportArgsSchema, location="query")
    def get(self, args):
        """This repository's records in PFIF 1.4, oldest entry_date first (partner keys only).

        With the full_read scope the records carry contact fields and exact places; with read
        they are redacted (no phones, e-mails, street, postal code, last known place or date of
        birth; age as a five-year range). Minors are never exported. Expired and deleted
        records appear as PFIF's expired placeholder.
        """
        principal = current_principal()
        if principal.kind != "key":
            raise Forbidden("PFIF export is for partner keys.")
        records, read, _ = service.export_records(
            since=args.get("min_entry_date"),
            skip=args["skip"],
            limit=args["max_results"],
            full=principal.can("reports:read_full"),
        )
        if read:
            audit("report.export", "report", read, details={"format": "pfif"})
        return Response(service.export_document(records), mimetype=pfif.MIME_TYPE)
