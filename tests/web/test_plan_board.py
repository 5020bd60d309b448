"""The batch plan on the task board: who goes where and why, empty places and why, then send."""

from __future__ import annotations

import sqlalchemy as sa

from app.auth.models import AuditEvent
from app.extensions import db
from app.volunteers.models import Dispatch, Task
from tests.web.conftest import csrf_token, page_text
from tests.web.test_tasks_board import DRIVE, _audited, _outbox, _volunteer


def _task(post_form, **fields) -> None:
    response = post_form("/coordinator/tasks/new", {**DRIVE, "dispatch": "0", **fields})
    assert response.status_code == 303, page_text(response)


def _task_id(app, title: str) -> str:
    with app.app_context():
        return db.session.scalar(sa.select(Task.id).where(Task.title == title))


def test_the_plan_needs_a_coordinator(client):
    response = client.get("/coordinator/tasks/plan")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/coordinator/login?next=")
    assert client.post("/coordinator/tasks/plan").status_code in (302, 400)


def test_the_plan_shows_who_goes_where_then_sends_it(app, client, logged_in, post_form):
    _volunteer(app, name="Synthetic Driver Ana")
    _task(post_form)
    _task(post_form, title="Interpret in Yoruba at the clinic", skills=[], languages="yo")
    drive, yoruba = (
        _task_id(app, DRIVE["title"]),
        _task_id(app, "Interpret in Yoruba at the clinic"),
    )
    assert "/coordinator/tasks/plan" in page_text(client.get("/coordinator/tasks"))

    page = page_text(client.get("/coordinator/tasks/plan"))
    plan = page.split('id="plan"')[1].split("</table>")[0]
    assert DRIVE["title"] in plan and "Synthetic Driver Ana" in plan and "km away" in plan
    empty = page.split('id="unassigned"')[1].split("</table>")[0]
    assert "Interpret in Yoruba at the clinic" in empty and "speaks yo<" in empty
    assert _outbox(app, "task_offer") == []  # showing the plan sends nothing
    assert _audited(app, "task.plan") == [drive]

    token = csrf_token(client, "/coordinator/tasks/plan")
    response = client.post("/coordinator/tasks/plan", data={"csrf_token": token})
    assert response.status_code == 303
    assert len(_outbox(app, "task_offer")) == 1
    with app.app_context():
        [offer] = db.session.scalars(sa.select(Dispatch))
        assert offer.task_id == drive and offer.task_id != yoruba
    with app.app_context():
        events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "task.plan"))
        sent = [e for e in events if e.details["send"]]
    assert [(e.subject_id, e.details["offers"]) for e in sent] == [(drive, 1)]
    assert "1 offers sent by SMS." in page_text(client.get("/coordinator/tasks/plan"))


def test_the_plan_in_swedish(app, client, logged_in, post_form):
    _volunteer(app)
    _task(post_form)
    page = page_text(client.get("/coordinator/tasks/plan?lang=sv"))
    assert "Planera alla öppna uppgifter" in page and DRIVE["title"] in page
