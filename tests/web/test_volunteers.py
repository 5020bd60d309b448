"""The public volunteer sign-up page: the same answer for a new and a known number."""

from __future__ import annotations

import sqlalchemy as sa

from app.auth.models import AuditEvent
from app.extensions import db
from app.sms.models import OutboxMessage
from app.volunteers.models import Volunteer
from tests.web.conftest import page_text

AMINA = {
    "name": "Amina Haddad",
    "phone": "+1 555 555 0301",
    "languages": ["ar", "fr"],
    "skills": ["first_aid", "interpretation"],
    "home_location": "Yauco",
    "max_tasks": "2",
    "consent": "yes",
}


def _volunteers(app) -> list[Volunteer]:
    with app.app_context():
        rows = list(db.session.scalars(sa.select(Volunteer)))
        db.session.expunge_all()
        return rows


def _outbox(app, template: str) -> list[OutboxMessage]:
    with app.app_context():
        rows = list(
            db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.template == template))
        )
        db.session.expunge_all()
        return rows


def test_the_home_page_links_to_the_sign_up(client):
    assert 'href="/volunteer"' in page_text(client.get("/"))


def test_the_page_renders_in_arabic_with_translated_skills(client):
    page = page_text(client.get("/volunteer?lang=ar"))
    assert 'dir="rtl"' in page
    assert "First aid" not in page and "الإسعافات الأولية" in page
    assert "STOP" in page  # the consent says how to end the messages


def test_a_new_volunteer_is_registered_and_gets_the_welcome(app, client, post_form):
    response = post_form("/volunteer", AMINA)
    assert response.status_code == 303
    assert response.headers["Location"] == "/volunteer/thanks"
    [volunteer] = _volunteers(app)
    assert volunteer.phone == "+15555550301"
    assert volunteer.languages == ["ar", "fr"]
    assert set(volunteer.skills) == {"first_aid", "interpretation:ar", "interpretation:fr"}
    assert volunteer.max_tasks == 2 and volunteer.vetted is False
    assert [m.to_phone for m in _outbox(app, "join_received")] == ["+15555550301"]
    with app.app_context():
        events = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "volunteer.create")
        )
        assert [e.subject_id for e in events] == [volunteer.id]


def test_a_known_number_gets_the_same_answer_and_no_second_volunteer(app, client, post_form):
    first = post_form("/volunteer", AMINA)
    again = post_form("/volunteer", {**AMINA, "name": "Someone Else"})
    assert first.status_code == again.status_code == 303
    assert first.headers["Location"] == again.headers["Location"]
    assert len(_volunteers(app)) == 1
    assert len(_outbox(app, "join_already")) == 1
    new_page = page_text(client.get(first.headers["Location"]))
    known_page = page_text(client.get(again.headers["Location"]))
    assert new_page == known_page


def test_errors_are_next_to_their_fields_and_the_data_survives(app, client, post_form):
    response = post_form(
        "/volunteer?lang=es",
        {**AMINA, "phone": "not a phone", "max_tasks": "99", "consent": "", "name": "Ana 🌺"},
    )
    assert response.status_code == 422
    page = page_text(response)
    assert 'id="phone-error"' in page and 'aria-describedby="phone-hint phone-error"' in page
    assert 'id="max_tasks-error"' in page and 'id="consent-error"' in page
    assert 'aria-invalid="true"' in page
    assert 'value="Ana 🌺"' in page and 'value="not a phone"' in page
    assert 'value="first_aid" checked' in page and 'value="ar" checked' in page
    assert "Enter a phone number" not in page  # in Spanish
    assert _volunteers(app) == []


def test_availability_windows_are_checked_and_kept(app, client, post_form):
    response = post_form(
        "/volunteer",
        {**AMINA, "start-0": "2030-05-02T18:00", "end-0": "2030-05-02T09:00"},
    )
    assert response.status_code == 422
    assert 'id="start-0-error"' in page_text(response)
    assert "The end must come after the start." in page_text(response)
    response = post_form(
        "/volunteer", {**AMINA, "start-0": "2030-05-02T09:00", "end-0": "2030-05-02T18:00"}
    )
    assert response.status_code == 303
    [volunteer] = _volunteers(app)
    assert volunteer.availability == [
        {"start": "2030-05-02T09:00:00+00:00", "end": "2030-05-02T18:00:00+00:00"}
    ]


def test_the_sign_up_needs_the_csrf_token(app, client):
    response = client.post("/volunteer", data=AMINA)
    assert response.status_code == 400
    assert _volunteers(app) == []


def test_a_bot_filling_the_honeypot_is_thanked_and_nothing_is_kept(app, post_form):
    response = post_form("/volunteer", {**AMINA, "website": "http://spam.example"})
    assert response.status_code == 303 and _volunteers(app) == []


def test_interpretation_without_a_language_is_refused(app, post_form):
    response = post_form("/volunteer", {**AMINA, "languages": [], "skills": ["interpretation"]})
    assert response.status_code == 422
    assert 'id="skills-error"' in page_text(response)
    assert _volunteers(app) == []


def test_the_sign_up_is_rate_limited_but_not_the_page(app, client, post_form):
    from app.extensions import limiter

    app.config.update(RATELIMIT_ENABLED=True, RATE_LIMIT_REPORTS="2/minute")
    limiter.init_app(app)
    limiter.reset()
    try:
        statuses = [post_form("/volunteer", AMINA).status_code for _ in range(3)]
        assert statuses == [303, 303, 429]
        assert client.get("/volunteer").status_code == 200
    finally:
        limiter.reset()
