"""Shelter roster imports for coordinators: upload a CSV or XLSX, check the column mapping, the
first rows and the problems, import in the background, follow the progress.

The same functions as /api/v1/rosters (app.reports.roster to read and preview, the reports
service to keep, correct and queue the job, import_roster_task after the commit), audited with
the API's action names (roster.preview, roster.import).
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from app.auth.context import audit
from app.common.idempotency import committed
from app.common.jobs import after_commit
from app.errors import Conflict, Forbidden, NotFound, ValidationError
from app.reports import roster
from app.reports import service as reports_service
from app.reports.models import KINDS
from app.reports.schemas import RosterUploadSchema
from app.reports.tasks import import_roster_task
from app.web import pages
from app.web.coordinator import bp, login_required

PERMISSION = "reports:import"
# Seconds between reloads of a running import's page.
REFRESH_SECONDS = 3
# Bad rows listed on a finished import's page (the job keeps up to MAX_JOB_ERRORS).
SHOWN_ERRORS = 200
UPLOAD_FIELDS = ("source_name", "kind", "last_known_location", "home_country", "language")
DEFAULT_FIELDS = ("source_name", "last_known_location", "home_country", "language")

# The report fields a column may go to, in the reader's language.
FIELD_LABELS = {
    "source_record_id": lazy_gettext("The shelter's own number"),
    "full_name": lazy_gettext("Full name"),
    "given_name": lazy_gettext("Given name"),
    "family_name": lazy_gettext("Family name"),
    "alternate_names": lazy_gettext("Other names"),
    "sex": lazy_gettext("Sex"),
    "age": lazy_gettext("Age"),
    "date_of_birth": lazy_gettext("Date of birth"),
    "home_street": lazy_gettext("Home street"),
    "home_neighborhood": lazy_gettext("Home neighbourhood"),
    "home_city": lazy_gettext("Home town or city"),
    "home_state": lazy_gettext("Home state or region"),
    "home_postal_code": lazy_gettext("Home postal code"),
    "home_country": lazy_gettext("Home country"),
    "description": lazy_gettext("Description"),
    "last_known_location": lazy_gettext("Last known place"),
    "contact_phone": lazy_gettext("Contact phone"),
    "language": lazy_gettext("Language"),
    "_schema": lazy_gettext("The row"),
}

pages.allow_large_upload("coordinator.roster_upload", "IMPORT_MAX_BODY_BYTES")


def _require() -> None:
    if not g.principal.can(PERMISSION):
        raise Forbidden()


def field_label(field: str | None) -> str:
    """A report field's name for the mapping, in the reader's language."""
    return str(FIELD_LABELS.get(field or "", field or ""))


def _upload_errors(messages: dict[str, Any]) -> dict[str, list[str]]:
    """The upload schema's and the reader's messages in plain words, one per field."""
    plain = {
        "source_name": _("Give the shelter's name (at most 200 characters)."),
        "kind": _("Choose one of the options."),
        "last_known_location": _("At most 500 characters."),
        "home_country": _("Use a two-letter country code, such as PR or MX."),
        "language": _("Use a language code, such as es or en."),
        "file": _("Choose a CSV or XLSX file with a row of column headers."),
    }
    return {field: [plain.get(field, plain["file"])] for field in messages}


def _upload_form(form: Any, errors: dict[str, list[str]], status: int = 200):
    page = render_template(
        "coordinator/roster_new.html",
        form=form,
        errors=errors,
        kinds=KINDS,
        max_mb=current_app.config["IMPORT_MAX_BODY_BYTES"] // (1024 * 1024),
    )
    return page, status


@bp.route("/rosters/new", methods=["GET", "POST"], endpoint="roster_upload")
@committed
@login_required
def upload():
    """Upload a roster: nothing is imported until the preview is checked."""
    _require()
    if request.method == "GET":
        return _upload_form({}, {})
    form = request.form
    fields = {name: form[name].strip() for name in UPLOAD_FIELDS if form.get(name, "").strip()}
    if "home_country" in fields:
        fields["home_country"] = fields["home_country"].upper()
    errors: dict[str, Any] = {}
    try:
        data = RosterUploadSchema().load(fields)
    except ma.ValidationError as exc:
        errors.update(exc.normalized_messages())
        data = {}
    file = request.files.get("file")
    content, fmt, table = b"", "", None
    if file is None or not file.filename:
        errors["file"] = ["missing"]
    else:
        try:
            fmt = roster.format_of(file.filename, file.mimetype)
            content = file.read()
            table = roster.read_table(content, fmt)
        except ValidationError:
            errors["file"] = ["unreadable"]
    if errors or table is None:
        return _upload_form(form, _upload_errors(errors), 422)
    job = reports_service.create_import_job(
        content=content,
        fmt=fmt,
        kind=data["kind"],
        # The detected mapping, even without a name column: the preview says what to correct.
        mapping=roster.detect_mapping(table.headers),
        defaults={name: data[name] for name in DEFAULT_FIELDS if data.get(name)},
        total_rows=len(table.rows),
        created_by=g.principal.label,
    )
    return redirect(url_for("coordinator.roster", job_id=job.id), 303)


def _mapping_problems(table: roster.Table, mapping: dict[str, Any]) -> list[str]:
    try:
        roster.check_mapping(table.headers, mapping)
    except ValidationError as exc:
        if "mapping" in exc.errors and any("name" in m for m in exc.errors["mapping"]):
            return [_("Choose the column with the person's name (or a description).")]
        return [_("Each field can go to one column only.")]
    return []


@bp.get("/rosters/<job_id>", endpoint="roster")
@committed
@login_required
def job_page(job_id: str):
    """A roster before its import (mapping, first rows, problems) or its import's progress."""
    _require()
    job = reports_service.get_import_job(job_id=job_id)
    if job.format not in roster.FORMATS:  # a PFIF document's job has no roster page
        raise NotFound()
    context: dict[str, Any] = {"job": job, "running": job.status in ("queued", "running")}
    if job.status == "previewed" and job.content is not None:
        table = roster.read_table(job.content, job.format)
        context["preview"] = roster.job_preview(job, table)
        context["mapping_problems"] = _mapping_problems(table, job.mapping)
        audit("roster.preview", "import", [job.id])
    errors = sorted(job.errors.items(), key=lambda item: int(item[0]))
    return render_template(
        "coordinator/roster.html",
        **context,
        errors=errors[:SHOWN_ERRORS],
        fields=roster.FIELDS,
        kinds=KINDS,
        field_label=field_label,
        refresh=REFRESH_SECONDS,
    )


@bp.post("/rosters/<job_id>", endpoint="roster_decide")
@committed
@login_required
def decide(job_id: str):
    """Save the corrected mapping and kind; with "Import", start the import as well."""
    _require()
    job = reports_service.get_import_job(job_id=job_id)
    if job.content is None or job.status != "previewed":
        flash(_("This import has started already."), "error")
        return redirect(url_for("coordinator.roster", job_id=job.id), 303)
    table = roster.read_table(job.content, job.format)
    wanted = {
        header: (request.form.get(f"column-{index}") or None)
        for index, header in enumerate(table.headers)
        if f"column-{index}" in request.form
    }
    kind = request.form.get("kind") if request.form.get("kind") in KINDS else job.kind
    try:
        mapping = roster.check_mapping(table.headers, wanted)
    except ValidationError:
        mapping = None
    if mapping is None:
        # Keep what the coordinator chose, so the preview shows it with the problem.
        chosen = {**job.mapping, **{h: f for h, f in wanted.items() if f in (*roster.FIELDS, None)}}
        reports_service.set_import_mapping(job=job, mapping=chosen, kind=kind)
        flash(_mapping_problems(table, chosen)[0], "error")
        return redirect(url_for("coordinator.roster", job_id=job.id), 303)
    reports_service.set_import_mapping(job=job, mapping=mapping, kind=kind)
    if request.form.get("action") != "import":
        return redirect(url_for("coordinator.roster", job_id=job.id), 303)
    try:
        reports_service.queue_import_job(job=job)
    except Conflict:
        flash(_("This import has started already."), "error")
        return redirect(url_for("coordinator.roster", job_id=job.id), 303)
    audit("roster.import", "import", [job.id])
    after_commit(import_roster_task, job.id)
    flash(_("The import has started. This page shows its progress."))
    return redirect(url_for("coordinator.roster", job_id=job.id), 303)
