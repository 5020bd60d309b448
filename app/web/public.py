"""The families' pages: home, the missing and found forms, the confirmation, Check a report."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import (
    Blueprint,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from werkzeug.exceptions import RequestEntityTooLarge

from app.auth.context import audit, current_principal
from app.common.idempotency import committed
from app.errors import NotFound
from app.extensions import limiter
from app.matching import service as matching_service
from app.matching.tasks import geocode_online_after_commit
from app.reports import service as reports_service
from app.reports.schemas import StatusCheckInSchema
from app.sms import service as sms_service
from app.web import forms, pages, photos
from app.web.i18n import COOKIE, COOKIE_MAX_AGE, LANGUAGES, country_choices, supported

bp = Blueprint(
    "web",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/assets",
)
pages.install(bp)
# The form's own fields and a multipart envelope, beyond the photo itself.
_FORM_ALLOWANCE = 256 * 1024
# The SMS that confirms a report filed on the web, per kind (templates in app/sms/data).
_RECEIVED_TEMPLATE = {"missing": "find_received", "found": "found_received"}


def config_limit(setting: str):
    """A per-address limit on POSTs, read from the configuration at request time."""
    return limiter.limit(lambda: current_app.config[setting], methods=["POST"])


@bp.get("/")
def home():
    """Three paths: looking for someone, safe or found someone, check a report."""
    return render_template("home.html")


@bp.get("/language/<code>")
def choose_language(code: str):
    """The switcher: remember the language in a cookie, then go back where the reader was."""
    target = pages.safe_next(request.args.get("next"), url_for("web.home"))
    response = redirect(target, 303)
    if language := supported(code):
        response.set_cookie(COOKIE, language, max_age=COOKIE_MAX_AGE, samesite="Lax", httponly=True)
    return response


def _render_form(
    kind: str,
    form: Any,
    errors: dict[str, list[str]],
    *,
    photo_id: str | None = None,
    status: int = 200,
):
    language = str(get_locale())
    response = make_response(
        render_template(
            "report_form.html",
            kind=kind,
            form=form,
            errors=errors,
            photo_id=photo_id,
            countries=country_choices(language),
            report_languages=LANGUAGES,
            default_language=language,
            tile_url=current_app.config["MAP_TILE_URL"],
            attribution=current_app.config["MAP_TILE_ATTRIBUTION"],
        ),
        status,
    )
    return pages.no_store(response)


# A photo up to PHOTO_MAX_BYTES, with the rest of the form, reaches the view (CSRF included);
# a larger one gets the form back with the photo's error.
pages.allow_large_upload("web.report_form", "PHOTO_MAX_BYTES", extra=_FORM_ALLOWANCE)


@bp.route("/report/<any(missing, found):kind>", methods=["GET", "POST"])
@config_limit("RATE_LIMIT_REPORTS")
@committed
def report_form(kind: str):
    """The missing or found form; a valid one files the report and shows its reference."""
    if request.method == "GET":
        return _render_form(kind, {}, {})
    config = current_app.config
    try:
        form = request.form
        upload = request.files.get("photo")
    except RequestEntityTooLarge:
        return _render_form(kind, {}, {"photo": [_photo_message("too_large")]}, status=413)
    if form.get(forms.HONEYPOT):
        # A bot filled the field people never see: thank it and keep nothing.
        return redirect(url_for("web.done"), 303)

    data, errors = forms.validate(forms.payload_from_form(form, kind=kind))
    photo_id = _kept_photo(form.get("photo_id"))
    if upload is not None and upload.filename:
        try:
            image = photos.reencode(upload.read(), max_bytes=config["PHOTO_MAX_BYTES"])
            photo_id = photos.save(image, config["PHOTO_DIR"])
        except photos.PhotoError as exc:
            errors["photo"] = [_photo_message(exc.reason)]
    if form.get("consent") != "yes":
        errors["consent"] = [_("Tick this box to agree, or we cannot keep the report.")]
    if errors or data is None:
        return _render_form(kind, form, errors, photo_id=photo_id, status=422)

    if photo_id:
        data["photo_url"] = _photo_url(photo_id)
    data.setdefault("language", str(get_locale()))
    report = _file_report(data)
    sms = _confirm_by_sms(report)
    session["done"] = {"reference": report.reference, "kind": report.kind, "sms": sms}
    return redirect(url_for("web.done"), 303)


def _photo_url(photo_id: str) -> str:
    """Absolute, as the API's photo_url is: on PUBLIC_BASE_URL when set, else this host."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    path = url_for("coordinator.photo", photo_id=photo_id)
    return (
        f"{base}{path}" if base else url_for("coordinator.photo", photo_id=photo_id, _external=True)
    )


def _mb() -> str:
    return f"{current_app.config['PHOTO_MAX_BYTES'] / (1024 * 1024):.3g}"


def _photo_message(reason: str) -> str:
    if reason == "too_large":
        return _("This photo is too large. Choose one under %(size)s MB.", size=_mb())
    return _("This file is not a photo we can read. Choose a JPEG or PNG picture.")


def _kept_photo(photo_id: str | None) -> str | None:
    """A photo sent with an earlier try of this form (kept so it need not be sent again)."""
    if photo_id and photos.path_of(photo_id, current_app.config["PHOTO_DIR"]):
        return photo_id
    return None


def _file_report(data: dict[str, Any]):
    """File the report as POST /api/v1/reports does: submit, match, audit."""
    matching_service.warm_up()
    report = reports_service.submit_report(data=data, created_by=current_principal().label)
    matching_service.refresh_matches(report=report)
    geocode_online_after_commit(report)
    audit("report.create", "report", [report.id])
    return report


def _confirm_by_sms(report) -> bool:
    """Text the reference to whoever filed the report, if they gave a phone."""
    if not report.author_phone:
        return False
    sms_service.queue_message(
        to=report.author_phone,
        template=_RECEIVED_TEMPLATE[report.kind],
        language=report.language,
        params={"reference": report.reference},
        dedupe_key=f"report-received:{report.id}",
    )
    return True


@bp.get("/report/done")
def done():
    """The reference, large, and what happens next."""
    # Shown once: on a shared phone or a shelter's computer the next family must not see it.
    outcome = session.pop("done", None) or {}
    return pages.no_store(make_response(render_template("done.html", outcome=outcome)))


@bp.route("/check", methods=["GET", "POST"])
@config_limit("RATE_LIMIT_STATUS_CHECK")
@committed
def check():
    """Status and date of a report, for whoever has its reference and phone; never a location."""
    if request.method == "GET":
        return pages.no_store(make_response(render_template("check.html", form={}, errors={})))
    form = request.form
    errors: dict[str, list[str]] = {}
    try:
        data = StatusCheckInSchema().load(
            {"reference": form.get("reference", "").strip(), "phone": form.get("phone", "")}
        )
    except ma.ValidationError as exc:
        messages = exc.normalized_messages()
        if "reference" in messages:
            errors["reference"] = [_("Enter the reference you were given, such as RX7-K2M.")]
        if "phone" in messages:
            errors["phone"] = [
                _("Enter a phone number with its country code, such as +1 555 555 0123.")
            ]
        return _render_check(form, errors, None, 422)
    try:
        report = reports_service.check_status(reference=data["reference"], phone=data["phone"])
    except NotFound:
        errors["reference"] = [_("No report matches this reference and phone number.")]
        return _render_check(form, errors, None, 404)
    audit("report.status_check", "report", [report.id])
    result = {
        "reference": report.reference,
        "kind": report.kind,
        "status": report.status,
        "updated_at": report.updated_at,
    }
    return _render_check(form, {}, result, 200)


def _render_check(form: Any, errors: dict[str, list[str]], result: Any, status: int):
    response = make_response(
        render_template("check.html", form=form, errors=errors, result=result), status
    )
    return pages.no_store(response)
