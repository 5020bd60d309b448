"""The public volunteer sign-up page: the same registration as POST /api/v1/volunteers.

Whether the number was new or registered already, the page answers the same thing (thank
you, we sent you a text message): it never tells anyone who volunteers.
"""

from __future__ import annotations

from typing import Any

from flask import make_response, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from app.auth.context import audit
from app.common.idempotency import committed
from app.volunteers import service as volunteers_service
from app.volunteers.schemas.volunteers import MAX_TASKS
from app.web import pages, volunteer_form
from app.web.public import bp, config_limit


def _render(form: Any, errors: dict[str, list[str]], status: int = 200):
    language = str(get_locale())
    page = render_template(
        "volunteer_form.html",
        form=form,
        errors=errors,
        skills=volunteer_form.skill_choices(),
        language_choices=volunteer_form.language_choices(language),
        default_language=language.split("-")[0],
        windows=range(volunteer_form.WINDOWS),
        max_tasks=MAX_TASKS,
    )
    return pages.no_store(make_response(page, status))


@bp.route("/volunteer", methods=["GET", "POST"])
@config_limit("RATE_LIMIT_REPORTS")
@committed
def volunteer():
    """Sign up as a volunteer; a valid form registers the number and shows the same thanks."""
    if request.method == "GET":
        return _render({}, {})
    form = request.form
    if form.get(volunteer_form.HONEYPOT):
        return redirect(url_for("web.volunteer_thanks"), 303)
    data, errors = volunteer_form.validate(volunteer_form.payload_from_form(form))
    if data is not None and volunteer_form.interpretation_without_language(form, data):
        errors["skills"] = [volunteer_form.interpretation_message()]
    if form.get("consent") != "yes":
        errors["consent"] = [_("Tick this box to agree, or we cannot register you.")]
    if errors or data is None:
        return _render(form, errors, 422)
    registered = volunteers_service.register_publicly(data=data)
    if registered is not None:  # as the API audits it; the page says the same either way
        audit("volunteer.create", "volunteer", [registered.id])
    return redirect(url_for("web.volunteer_thanks"), 303)


@bp.get("/volunteer/thanks")
def volunteer_thanks():
    """The one answer to every sign-up: thank you, a text message is on its way."""
    return render_template("volunteer_thanks.html")
