"""The coordinators' pages: login, dashboard, match review, search, case, SMS log, map.

The session holds a bearer token issued by the same login as POST /api/v1/tokens (password
check, lockout), so revoking it, its expiry and the audit log work as for the API. Every read of
personal data is audited as the API audits it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from typing import Any

import marshmallow as ma
from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from flask_babel import gettext as _

from app.auth import service as auth_service
from app.auth.context import audit
from app.common.idempotency import committed
from app.common.time import utcnow
from app.errors import Conflict, NotFound, TooManyRequests, Unauthorized, ValidationError
from app.extensions import db, limiter
from app.matching import service as matching_service
from app.reports import service as reports_service
from app.reports.models import KINDS, STATUSES
from app.reports.schemas import NoteInSchema
from app.sms import service as sms_service
from app.sms.models import STATUSES as SMS_STATUSES
from app.volunteers.service import tasks as tasks_service
from app.web import pages, photos

bp = Blueprint("coordinator", __name__, url_prefix="/coordinator")
pages.install(bp)
PERMISSION = "matches:review"
PAGE = 25
MAP_LIMIT = 500


@bp.before_request
def _load_principal() -> None:
    """The coordinator behind the session's token; a revoked or expired one ends the session."""
    secret = session.get("token")
    if not secret:
        return
    try:
        g.principal = auth_service.principal_from_bearer(secret=secret)
    except Unauthorized:
        session.pop("token", None)


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Coordinators and admins only; others go to the login page (and back afterwards)."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        principal = g.get("principal")
        if principal is None or not principal.can(PERMISSION):
            return redirect(url_for("coordinator.login", next=request.full_path.rstrip("?")))
        return pages.no_store(make_response(view(*args, **kwargs)))

    return wrapper


def _may_see_minors() -> bool:
    return g.principal.can("reports:read_minors")


def _report_ids(matches: list[Any]) -> list[str]:
    return list(dict.fromkeys(i for m in matches for i in (m.left_report_id, m.right_report_id)))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATE_LIMIT_LOGIN"], methods=["POST"])
@committed
def login():
    """E-mail and password; five wrong passwords lock the account for a while."""
    target = pages.safe_next(request.values.get("next"), url_for("coordinator.dashboard"))
    if request.method == "GET":
        return pages.no_store(make_response(render_template("coordinator/login.html", email="")))
    email = request.form.get("email", "").strip()
    config = current_app.config
    try:
        token, secret = auth_service.login(
            email=email,
            password=request.form.get("password", ""),
            max_failures=config["LOGIN_MAX_FAILURES"],
            lockout=timedelta(minutes=config["LOGIN_LOCKOUT_MINUTES"]),
            ttl_days=config["WEB_SESSION_DAYS"],
        )
    except Unauthorized:
        db.session.commit()  # the failed-attempt counter must survive the error page
        error = _("The e-mail or the password is wrong.")
        return _login_page(email, error, 401)
    except TooManyRequests:
        error = _("Too many wrong passwords: this account is locked for a while. Try again later.")
        return _login_page(email, error, 429)
    audit("user.login", "user", [token.user_id])
    session.clear()  # a fresh session: nothing from before the login carries over
    session["token"] = secret
    return redirect(target, 303)


def _login_page(email: str, error: str, status: int):
    page = render_template("coordinator/login.html", email=email, error=error)
    return pages.no_store(make_response(page, status))


@bp.post("/logout")
@committed
def logout():
    """End the session and revoke its token."""
    secret = session.get("token")
    if secret:
        auth_service.revoke_token(secret=secret)
    session.clear()
    flash(_("You are logged out."))
    return redirect(url_for("coordinator.login"), 303)


@bp.get("/")
@committed
@login_required
def dashboard():
    """Counts and the best candidates of the review queue."""
    counts = _dashboard_counts()
    rows = matching_service.list_matches(
        status="potential", limit=5, include_minors=_may_see_minors()
    )[:5]
    audit("match.list", "report", _report_ids(rows))
    return render_template("coordinator/dashboard.html", counts=counts, matches=rows)


def _dashboard_counts() -> dict[str, int]:
    """Each domain's counts for the dashboard; "today" starts at midnight UTC."""
    midnight = datetime.combine(utcnow().astimezone(UTC).date(), time(), tzinfo=UTC)
    reports = reports_service.report_counts()
    matches = matching_service.match_counts(confirmed_since=midnight)
    tasks = tasks_service.count_tasks()
    return {
        "open_missing": reports["open_missing"],
        "found": reports["found"],
        "unverified": reports["unverified"],
        "potential_matches": matches["potential"],
        "confirmed_today": matches["confirmed"],
        "open_tasks": tasks["open"],
        "escalated_tasks": tasks["escalated"],
    }


@bp.get("/matches")
@committed
@login_required
def matches():
    """The review queue, best first."""
    kind = request.args.get("kind") if request.args.get("kind") in ("match", "duplicate") else None
    status = request.args.get("status", "potential")
    if status not in ("potential", "confirmed", "rejected"):
        status = "potential"
    cursor = request.args.get("after") or None
    try:
        rows = matching_service.list_matches(
            status=status,
            kind=kind,
            limit=PAGE,
            after=cursor,
            include_minors=_may_see_minors(),
        )
    except ValidationError:
        rows = []
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    audit("match.list", "report", _report_ids(rows))
    return render_template(
        "coordinator/matches.html",
        matches=rows,
        kind=kind,
        status=status,
        next_after=rows[-1].queue_key if more else None,
    )


@bp.get("/matches/<match_id>")
@committed
@login_required
def match(match_id: str):
    """Both reports side by side, the explanation per field, confirm or reject."""
    candidate = matching_service.get_match(match_id=match_id, include_minors=_may_see_minors())
    audit("match.read", "report", _report_ids([candidate]), details={"match_id": candidate.id})
    following = [
        m
        for m in matching_service.list_matches(
            status="potential",
            limit=2,
            after=candidate.queue_key,
            include_minors=_may_see_minors(),
        )
        if m.id != candidate.id
    ]
    return render_template(
        "coordinator/match.html",
        match=candidate,
        left=candidate.left_report,
        right=candidate.right_report,
        next_match=following[0] if following else None,
        reason=request.args.get("reason", ""),
    )


@bp.post("/matches/<match_id>/<any(confirm, reject):decision>")
@committed
@login_required
def decide(match_id: str, decision: str):
    """Confirm (reason optional) or reject (reason required); then the next candidate."""
    reason = (request.form.get("reason") or "").strip()
    next_id = request.form.get("next") or None
    try:
        if decision == "confirm":
            decided = matching_service.confirm_match(
                match_id=match_id,
                actor=g.principal.label,
                reason=reason or None,
                include_minors=_may_see_minors(),
            )
            flash(_("Match confirmed. The family will get a text message if they gave a phone."))
        else:
            decided = matching_service.reject_match(
                match_id=match_id,
                actor=g.principal.label,
                reason=reason,
                include_minors=_may_see_minors(),
            )
            flash(_("Match rejected. This pair will not be suggested again."))
    except ValidationError:
        flash(_("Say why the two reports are not the same person."), "error")
        return redirect(url_for("coordinator.match", match_id=match_id), 303)
    except Conflict as exc:
        if exc.code == "report_unverified":
            flash(_("Verify the report that came by SMS before confirming this match."), "error")
        else:
            flash(_("This match was already decided, perhaps by someone else."), "error")
        return redirect(url_for("coordinator.match", match_id=match_id), 303)
    audit(f"match.{decision}", "report", _report_ids([decided]), details={"match_id": decided.id})
    if next_id:
        return redirect(url_for("coordinator.match", match_id=next_id), 303)
    return redirect(url_for("coordinator.matches"), 303)


@bp.get("/reports")
@committed
@login_required
def reports():
    """Search by name, nickname or reference, kind and status."""
    text = (request.args.get("q") or "").strip()[:200]
    kind = request.args.get("kind") if request.args.get("kind") in KINDS else None
    status = request.args.get("status") if request.args.get("status") in STATUSES else None
    rows = reports_service.search_reports(
        text=text or None,
        kind=kind,
        status=status,
        limit=50,
        include_minors=_may_see_minors(),
    )
    audit("report.list", "report", [r.id for r in rows])
    return render_template(
        "coordinator/reports.html", reports=rows, q=text, kind=kind, status=status
    )


@bp.get("/reports/<report_id>")
@committed
@login_required
def case(report_id: str):
    """One report: its details, notes, SMS sent and received, and match candidates."""
    report = reports_service.get_report(report_id=report_id, include_minors=_may_see_minors())
    candidates = matching_service.matches_for_report(
        report=report, limit=20, include_rejected=True, include_minors=_may_see_minors()
    )[:20]
    audit("report.read", "report", [report.id])
    audit("match.list", "report", [report.id, *_report_ids(candidates)])
    phones = [p for p in {report.author_phone, report.contact_phone} if p]
    messages = sms_service.messages_about_report(report_id=report.id, phones=phones)
    return render_template(
        "coordinator/case.html",
        report=report,
        notes=report.notes,
        candidates=candidates,
        messages=messages,
    )


@bp.post("/reports/<report_id>/notes")
@committed
@login_required
def add_note(report_id: str):
    """A coordinator's note on the case: a message and, if it changed, the status."""
    report = reports_service.get_report(report_id=report_id, include_minors=_may_see_minors())
    fields = {"text": request.form.get("text", "")}
    if request.form.get("status") in STATUSES:
        fields["status"] = request.form["status"]
    try:
        data = NoteInSchema().load(fields)
    except ma.ValidationError:
        flash(_("Write the note."), "error")
        return redirect(url_for("coordinator.case", report_id=report.id), 303)
    note = reports_service.add_note(report=report, data=data, created_by=g.principal.label)
    audit("note.create", "report", [report.id], details={"note_id": note.id})
    flash(_("The note is added."))
    return redirect(url_for("coordinator.case", report_id=report.id), 303)


@bp.post("/reports/<report_id>/verify")
@committed
@login_required
def verify(report_id: str):
    """Mark a report received by SMS as checked, so its matches can be confirmed."""
    report = reports_service.get_report(report_id=report_id, include_minors=_may_see_minors())
    if reports_service.verify_report(report=report, actor=g.principal.label):
        audit("report.verify", "report", [report.id])
    flash(_("The report is marked as verified."))
    return redirect(url_for("coordinator.case", report_id=report.id), 303)


@bp.get("/photos/<photo_id>.jpg")
@committed
@login_required
def photo(photo_id: str):
    """A photo sent with a report (coordinators only)."""
    path = photos.path_of(photo_id, current_app.config["PHOTO_DIR"])
    if path is None:
        raise NotFound()
    audit("photo.read", "photo", [photo_id])
    return send_file(path, mimetype="image/jpeg", max_age=0)


@bp.get("/sms")
@committed
@login_required
def sms_log():
    """The outbox: counts per status, then the newest messages."""
    status = request.args.get("status")
    if status not in (*SMS_STATUSES, "stuck"):
        status = None
    rows = sms_service.list_outbox(status=status, limit=100)
    audit("sms.list", "sms", [m.id for m in rows])
    return render_template(
        "coordinator/sms.html",
        counts=sms_service.count_outbox(),
        messages=rows,
        status=status,
        statuses=SMS_STATUSES,
    )


def _shelters() -> list[dict[str, Any]]:
    """Where found people are, as places and counts (never names); audited as shelter.list."""
    places = reports_service.shelter_places(limit=MAP_LIMIT, include_minors=_may_see_minors())
    shelters = []
    for place in places:
        point = (
            (place.lat, place.lon)
            if place.lat is not None and place.lon is not None
            else matching_service.geocode(place.place, None)
        )
        lat, lon = (round(point[0], 4), round(point[1], 4)) if point else (None, None)
        label = _("%(place)s: %(count)s people", place=place.place, count=place.people)
        shelters.append({"place": place, "lat": lat, "lon": lon, "label": label})
    audit(
        "shelter.list",
        "place",
        ["found-report-places"],
        details={"places": len(places), "people": sum(p.people for p in places)},
    )
    return shelters


@bp.get("/map")
@committed
@login_required
def map_view():
    """Reports with a known place, and the places where found people are (shelters), on a map
    when tiles are configured, always as lists."""
    rows = reports_service.list_reports(limit=MAP_LIMIT, include_minors=_may_see_minors())
    placed = []
    for report in rows[:MAP_LIMIT]:
        point = (
            (report.lat, report.lon)
            if report.lat is not None and report.lon is not None
            else matching_service.geocode(
                report.last_known_location or report.home_city, report.home_country
            )
        )
        if point:
            placed.append({"report": report, "lat": round(point[0], 4), "lon": round(point[1], 4)})
    audit("report.list", "report", [p["report"].id for p in placed])
    markers = [
        {
            "lat": p["lat"],
            "lon": p["lon"],
            "kind": p["report"].kind,
            "label": p["report"].reference,
            "url": url_for("coordinator.case", report_id=p["report"].id),
        }
        for p in placed
    ]
    shelters = _shelters()
    return render_template(
        "coordinator/map.html",
        placed=placed,
        markers=markers,
        shelters=shelters,
        shelter_markers=[
            {"lat": s["lat"], "lon": s["lon"], "label": s["label"]} for s in shelters if s["lat"]
        ],
        tile_url=current_app.config["MAP_TILE_URL"],
        attribution=current_app.config["MAP_TILE_ATTRIBUTION"],
    )
