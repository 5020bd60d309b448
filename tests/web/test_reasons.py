""" "Why this volunteer" in the reader's language: the engine's reasons written from their code
and numbers through the catalogues, the engine's English kept for a code we do not know."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.volunteers.assign.model import Reason
from app.volunteers.models import Dispatch
from app.web.reasons import reason_text
from tests.web.conftest import page_text
from tests.web.test_tasks_board import DRIVE, _volunteer


def _in(app, language: str, reason, **kwargs):
    with app.test_request_context(f"/?lang={language}"):
        return reason_text(reason, **kwargs)


def test_known_codes_are_written_in_the_readers_language(app):
    distance = {
        "code": "distance",
        "text": "1.1 km away (limit 25 km)",
        "data": {"km": 1.11, "radius_km": 25.0},
    }
    assert _in(app, "es", distance).text == "a 1.1 km (límite 25 km)"
    assert _in(app, "es", distance).lang is None
    assert _in(app, "en", distance).text == "1.1 km away (limit 25 km)"
    speaks = Reason("languages", "Speaks Spanish", {"languages": ["es"]})
    assert _in(app, "fr", speaks).text == "Parle espagnol"
    cost = Reason("cost", "2nd lowest cost of 3 …", {"cost": 0.63, "place": 2, "feasible": 3})
    assert "ceux d'avant" in _in(app, "fr", cost, batch=True).text
    assert "ceux d'avant" not in _in(app, "fr", cost).text
    assert _in(app, "ar", {"code": "declines", "text": "", "data": {"count": 0}}).text == (
        "لا رفض مؤخرًا"
    )


def test_an_unknown_code_or_missing_numbers_keep_the_engines_english(app):
    unknown = {"code": "moon_phase", "text": "The moon is full", "data": {}}
    assert (_in(app, "sv", unknown).text, _in(app, "sv", unknown).lang) == (
        "The moon is full",
        "en",
    )
    # Which skill nobody has is not in the numbers: the engine's sentence says it.
    no_skill = Reason("no_skill", "No volunteer within 25 km has Driving", {"funnel": []})
    assert _in(app, "es", no_skill).text == "No volunteer within 25 km has Driving"
    broken = {"code": "load", "text": "0 of 2 tasks in hand", "data": {"current": "x"}}
    assert _in(app, "es", broken).lang == "en"


def test_the_task_page_says_why_in_spanish(app, client, logged_in, post_form):
    _volunteer(app)
    post_form("/coordinator/tasks/new", DRIVE)
    with app.app_context():
        [offer] = db.session.scalars(sa.select(Dispatch))
        task_id = offer.task_id
    page = page_text(client.get(f"/coordinator/tasks/{task_id}?lang=es"))
    offers = page.split('id="offers"')[1].split("</table>")[0]
    assert "a 1.1 km (límite 25 km)" in offers and "Tiene Conducción y transporte" in offers
    assert "Tareas en curso: 0 de 2 como máximo" in offers and 'lang="en"' not in offers
    assert "km away" not in offers and "in hand" not in offers
