"""The coordinators' volunteer and task board: tasks, offers by SMS, cancelling, vetting."""

from __future__ import annotations

import itertools
import re

import sqlalchemy as sa

from app.auth.models import AuditEvent
from app.extensions import db
from app.sms.models import OutboxMessage
from app.volunteers.models import Dispatch, Task, Volunteer
from app.volunteers.service import tasks as task_service
from app.volunteers.service import volunteers as volunteers_service
from tests.web.conftest import page_text

YAUCO = (18.035, -66.850)
_phones = itertools.count(400)
DRIVE = {
    "title": "Drive water to the school shelter",
    "skills": ["driving"],
    "location": "Yauco",
    "people": "1",
    "priority": "4",
    "dispatch": "1",
}


def _volunteer(app, *, name: str = "Synthetic Volunteer", vetted: bool = False, **extra) -> str:
    data = {
        "name": name,
        "phone": f"+1555555{next(_phones):04d}",
        "languages": ["es", "en"],
        "skills": ["driving", "first_aid"],
        "lat": YAUCO[0] + 0.01,
        "lon": YAUCO[1],
        "availability": [],
        "max_tasks": 2,
        **extra,
    }
    with app.app_context():
        volunteer = volunteers_service.register_volunteer(data=data, created_by="test")
        if vetted:
            volunteers_service.set_vetted(volunteer=volunteer, vetted=True, actor="test")
        db.session.commit()
        return volunteer.id


def _audited(app, action: str) -> list[str]:
    with app.app_context():
        query = sa.select(AuditEvent.subject_id).where(AuditEvent.action == action)
        return list(db.session.scalars(query))


def _outbox(app, template: str) -> list[str]:
    with app.app_context():
        query = sa.select(OutboxMessage.to_phone).where(OutboxMessage.template == template)
        return list(db.session.scalars(query))


def _only_task(app) -> Task:
    with app.app_context():
        [task] = db.session.scalars(sa.select(Task))
        db.session.expunge(task)
        return task


def test_the_board_needs_a_login(client):
    for path in (
        "/coordinator/tasks",
        "/coordinator/tasks/new",
        "/coordinator/volunteers",
        "/coordinator/tasks/01HZZZZZZZZZZZZZZZZZZZZZZZ",
    ):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/coordinator/login?next=")
    assert client.post("/coordinator/tasks/new", data=DRIVE).status_code in (302, 400)


def test_a_task_created_on_the_board_offers_it_by_sms(app, client, logged_in, post_form):
    near = _volunteer(app)
    with app.app_context():
        phone = db.session.get(Volunteer, near).phone
    response = post_form("/coordinator/tasks/new", DRIVE)
    assert response.status_code == 303, page_text(response)
    task = _only_task(app)
    assert response.headers["Location"] == f"/coordinator/tasks/{task.id}"
    assert task.source == "coordinator" and task.lat is not None  # Yauco, geocoded offline
    assert _outbox(app, "task_offer") == [phone]
    assert _audited(app, "task.create") == [task.id]

    volunteer_page = page_text(client.get(f"/coordinator/volunteers/{near}"))
    assert DRIVE["title"] in volunteer_page and 'id="volunteer-offers"' in volunteer_page
    page = page_text(client.get(response.headers["Location"]))
    assert "Synthetic Volunteer" in page and phone in page
    with app.app_context():
        [offer] = db.session.scalars(sa.select(Dispatch))
        assert offer.code in page and offer.reasons
        assert offer.reasons[0]["text"] in page  # why this volunteer
    assert "created" in page  # the history
    assert _audited(app, "task.read") == [task.id]
    assert _audited(app, "task.dispatches") == [near]
    assert _audited(app, "task.history") == [task.id]


def test_cancelling_tells_the_volunteers(app, client, logged_in, post_form):
    _volunteer(app)
    post_form("/coordinator/tasks/new", DRIVE)
    task = _only_task(app)
    [offered] = _outbox(app, "task_offer")
    response = post_form(
        f"/coordinator/tasks/{task.id}/cancel",
        {"reason": "The road is closed"},
        form_page=f"/coordinator/tasks/{task.id}",
    )
    assert response.status_code == 303
    assert _only_task(app).status == "cancelled"
    assert _outbox(app, "offer_withdrawn") == [offered]
    assert _audited(app, "task.cancel") == [task.id]
    page = page_text(client.get(f"/coordinator/tasks/{task.id}"))
    assert "The road is closed" in page


def test_start_without_volunteers_is_refused_in_plain_words(app, client, logged_in, post_form):
    post_form("/coordinator/tasks/new", {**DRIVE, "dispatch": "0"})
    task = _only_task(app)
    assert _outbox(app, "task_offer") == [] and task.on_hold is True
    assert "on hold" in page_text(client.get(f"/coordinator/tasks/{task.id}"))
    response = post_form(
        f"/coordinator/tasks/{task.id}/start", {}, form_page=f"/coordinator/tasks/{task.id}"
    )
    assert response.status_code == 303
    page = page_text(client.get(response.headers["Location"]))
    assert "No volunteer has accepted this task yet." in page
    assert _only_task(app).status == "open"


def test_dispatch_now_sends_offers(app, client, logged_in, post_form):
    post_form("/coordinator/tasks/new", {**DRIVE, "dispatch": "0"})
    task = _only_task(app)
    phone_id = _volunteer(app)
    response = post_form(
        f"/coordinator/tasks/{task.id}/dispatch", {}, form_page=f"/coordinator/tasks/{task.id}"
    )
    assert response.status_code == 303
    with app.app_context():
        phone = db.session.get(Volunteer, phone_id).phone
    assert _outbox(app, "task_offer") == [phone]
    assert _audited(app, "task.dispatch") == [task.id]


def test_the_new_task_form_shows_errors_next_to_fields(app, client, logged_in, post_form):
    response = post_form("/coordinator/tasks/new?lang=fr", {**DRIVE, "title": ""})
    assert response.status_code == 422
    page = page_text(response)
    assert 'id="title-error"' in page and 'aria-invalid="true"' in page
    assert 'value="Yauco"' in page and 'value="driving" checked' in page
    assert "Give the task a title." not in page  # in French
    response = post_form(
        "/coordinator/tasks/new",
        {**DRIVE, "window_start": "2031-05-02T18:00", "window_end": "2031-05-02T09:00"},
    )
    assert response.status_code == 422
    assert 'id="window_end-error"' in page_text(response)
    # The service's own check (category and quantity go together) lands next to its field too.
    response = post_form("/coordinator/tasks/new", {**DRIVE, "supply_category": "water"})
    assert response.status_code == 422
    assert 'id="supply_quantity-error"' in page_text(response)
    assert "Give the category and the quantity together." in page_text(response)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Task.id))) == 0


def test_the_list_puts_the_escalated_queue_first(app, client, logged_in):
    with app.app_context():
        calm = task_service.create_task(data={"title": "Sort blankets"}, created_by="test")
        stuck = task_service.create_task(data={"title": "Interpret in Tagalog"}, created_by="test")
        task_service.escalate(stuck, reason="no_candidates")
        db.session.commit()
        calm_id, stuck_id = calm.id, stuck.id
    page = page_text(client.get("/coordinator/tasks"))
    queue, _, rest = page.partition("All tasks")
    assert "Interpret in Tagalog" in queue and "Sort blankets" not in queue
    assert "Sort blankets" in rest
    assert set(_audited(app, "task.list")) == {calm_id, stuck_id}
    only = page_text(client.get("/coordinator/tasks?escalated=0"))
    assert "Sort blankets" in only.partition("All tasks")[2]
    assert "Interpret in Tagalog" not in only.partition("All tasks")[2]


def test_the_dashboard_counts_open_and_escalated_tasks(app, client, logged_in):
    with app.app_context():
        task_service.create_task(data={"title": "Sort blankets"}, created_by="test")
        stuck = task_service.create_task(data={"title": "Interpret"}, created_by="test")
        task_service.escalate(stuck, reason="no_candidates")
        db.session.commit()
    page = page_text(client.get("/coordinator/"))
    counts = {
        label.strip(): int(number)
        for number, label in re.findall(r"<strong>(\d+)</strong> ([^<]+)<", page)
    }
    assert counts["open tasks"] == 2
    assert counts["tasks nobody could be found for"] == 1


def test_volunteers_list_and_vetting(app, client, logged_in, post_form):
    amina = _volunteer(app, name="Amina Haddad")
    _volunteer(app, name="Nguyễn Thị Lan", vetted=True)
    page = page_text(client.get("/coordinator/volunteers?vetted=0"))
    assert "Amina Haddad" in page and "Nguyễn Thị Lan" not in page
    assert _audited(app, "volunteer.list") == [amina]
    page = page_text(client.get(f"/coordinator/volunteers/{amina}"))
    assert "Mark as vetted" in page and _audited(app, "volunteer.read") == [amina]
    response = post_form(
        f"/coordinator/volunteers/{amina}/vet",
        {"vetted": "1"},
        form_page=f"/coordinator/volunteers/{amina}",
    )
    assert response.status_code == 303
    with app.app_context():
        assert db.session.get(Volunteer, amina).vetted is True
    assert _audited(app, "volunteer.vet") == [amina]


def test_board_actions_need_the_csrf_token(app, client, logged_in):
    amina = _volunteer(app)
    assert (
        client.post(f"/coordinator/volunteers/{amina}/vet", data={"vetted": "1"}).status_code == 400
    )
    assert client.post("/coordinator/tasks/new", data=DRIVE).status_code == 400
    with app.app_context():
        assert db.session.get(Volunteer, amina).vetted is False
        assert db.session.scalar(sa.select(sa.func.count(Task.id))) == 0


def test_board_pages_render_in_spanish(app, client, logged_in):
    _volunteer(app)
    for path in ("/coordinator/tasks", "/coordinator/tasks/new", "/coordinator/volunteers"):
        page = page_text(client.get(f"{path}?lang=es"))
        assert 'lang="es"' in page
    assert "Tareas" in page_text(client.get("/coordinator/tasks?lang=es"))


def test_interpretation_needs_a_language(app, client, logged_in, post_form):
    response = post_form("/coordinator/tasks/new", {**DRIVE, "skills": ["interpretation"]})
    assert response.status_code == 422
    assert 'id="skills-error"' in page_text(response)
    response = post_form(
        "/coordinator/tasks/new", {**DRIVE, "skills": ["interpretation"], "languages": "ar"}
    )
    assert response.status_code == 303
    assert _only_task(app).skills == ["interpretation:ar"]


def test_a_confirmed_match_brings_its_task_to_the_board(app, client, logged_in, post_form, pair):
    response = post_form(
        f"/coordinator/matches/{pair['match_id']}/confirm",
        {"reason": "Misma edad y pueblo"},
        form_page=f"/coordinator/matches/{pair['match_id']}",
    )
    assert response.status_code == 303
    task = _only_task(app)
    assert task.match_id == pair["match_id"]
    assert task.title in page_text(client.get("/coordinator/tasks"))
    page = page_text(client.get(f"/coordinator/tasks/{task.id}"))
    assert f'href="/coordinator/reports/{pair["found"]["id"]}"' in page


def test_an_answer_taken_by_phone_then_start_and_done(app, client, logged_in, post_form):
    _volunteer(app)
    post_form("/coordinator/tasks/new", DRIVE)
    task = _only_task(app)
    with app.app_context():
        [offer] = db.session.scalars(sa.select(Dispatch))
        offer_id = offer.id
    page = f"/coordinator/tasks/{task.id}"
    response = post_form(f"{page}/offers/{offer_id}/answer", {"answer": "yes"}, form_page=page)
    assert response.status_code == 303
    assert "the volunteer holds a place" in page_text(client.get(page))
    assert _only_task(app).status == "assigned"
    assert _audited(app, "task.answer") == [task.id]
    post_form(f"{page}/start", {}, form_page=page)
    assert _only_task(app).status == "in_progress"
    post_form(f"{page}/complete", {}, form_page=page)
    assert _only_task(app).status == "done"
    assert _audited(app, "task.start") == [task.id] == _audited(app, "task.complete")
    # A closed task has no buttons left, and an unknown answer is refused.
    assert "Send offers now" not in page_text(client.get(page))
    response = post_form(f"{page}/offers/{offer_id}/answer", {"answer": "maybe"}, form_page=page)
    assert response.status_code == 404


def test_who_would_be_asked_sends_nothing(app, client, logged_in, post_form):
    post_form("/coordinator/tasks/new", {**DRIVE, "dispatch": "0"})
    task = _only_task(app)
    page = page_text(client.get(f"/coordinator/tasks/{task.id}/candidates"))
    assert "Nobody qualifies now" in page and 'id="why-none"' in page
    near = _volunteer(app, name="Oluwaseun Adeyemi")
    page = page_text(client.get(f"/coordinator/tasks/{task.id}/candidates"))
    assert "Oluwaseun Adeyemi" in page and "km" in page
    assert _audited(app, "task.candidates") == [near]
    assert _outbox(app, "task_offer") == []


def test_a_need_for_goods_in_spanish(app, client, logged_in, post_form):
    form = post_form(
        "/coordinator/tasks/new",
        {
            "title": "Agua para el refugio de Ponce",
            "location": "Ponce",
            "supply_category": "water",
            "supply_quantity": "40",
            "dispatch": "0",
        },
    )
    assert form.status_code == 303
    task = _only_task(app)
    assert (task.supply_category, task.supply_quantity) == ("water", 40)
    page = page_text(client.get(f"/coordinator/tasks/{task.id}?lang=es"))
    assert "Agua potable (litros)" in page
    assert "Agua potable (litros)" in page_text(client.get("/coordinator/tasks/new?lang=es"))


def test_donors_offers_are_proposed_and_accepted_on_the_board(app, client, logged_in, post_form):
    from app.volunteers.models import DonationOffer
    from app.volunteers.service import donations

    with app.app_context():
        offer = donations.register_offer(
            donor={
                "name": "Colmado Rivera",
                "phone": "+15555550111",
                "organization": "Colmado Rivera e Hijos",
                "language": "es",
                "location": "Ponce",
            },
            offer={"category": "water", "quantity": 100},
            created_by="test",
        )
        db.session.commit()
        offer_id = offer.id
    post_form(
        "/coordinator/tasks/new",
        {
            "title": "Agua para el refugio de Ponce",
            "location": "Ponce",
            "supply_category": "water",
            "supply_quantity": "40",
            "contact_phone": "+15555550199",
            "dispatch": "0",
        },
    )
    task = _only_task(app)
    page = f"/coordinator/tasks/{task.id}"
    assert post_form(f"{page}/pairings", {}, form_page=page).status_code == 303
    text = page_text(client.get(page))
    assert "Colmado Rivera e Hijos" in text and 'id="pairings"' in text
    assert _audited(app, "offer.list") == [offer_id]
    with app.app_context():
        [pairing] = donations.list_pairings(task_id=task.id)
        pairing_id, quantity = pairing.id, pairing.quantity
    assert quantity == 40
    # A rejection needs a reason; an acceptance takes the quantity and tells the donor.
    post_form(f"/coordinator/pairings/{pairing_id}/reject", {"reason": ""}, form_page=page)
    assert "Say why." in page_text(client.get(page))
    response = post_form(f"/coordinator/pairings/{pairing_id}/accept", {}, form_page=page)
    assert response.status_code == 303 and response.headers["Location"] == page
    with app.app_context():
        assert db.session.get(DonationOffer, offer_id).remaining == 60
    assert _outbox(app, "pairing_donor") == ["+15555550111"]
    assert _audited(app, "pairing.accept") == [pairing_id]
    post_form(f"{page}/pairings", {}, form_page=page)
    assert "Accepted pairings cover this need already." in page_text(client.get(page))
    # Cancelling needs a reason and gives the quantity back; a cancelled one is not handed over.
    post_form(f"/coordinator/pairings/{pairing_id}/cancel", {"reason": ""}, form_page=page)
    with app.app_context():
        assert db.session.get(DonationOffer, offer_id).remaining == 60
    post_form(
        f"/coordinator/pairings/{pairing_id}/cancel",
        {"reason": "El camión no llegó"},
        form_page=page,
    )
    with app.app_context():
        assert db.session.get(DonationOffer, offer_id).remaining == 100
    assert _audited(app, "pairing.cancel") == [pairing_id]
    post_form(f"/coordinator/pairings/{pairing_id}/fulfil", {}, form_page=page)
    assert "Only an accepted pairing can be handed over." in page_text(client.get(page))
    assert _audited(app, "pairing.fulfil") == []
    post_form(f"{page}/pairings", {}, form_page=page)
    with app.app_context():
        again = [p.id for p in donations.list_pairings(task_id=task.id) if p.status == "proposed"]
    post_form(f"/coordinator/pairings/{again[0]}/accept", {}, form_page=page)
    post_form(f"/coordinator/pairings/{again[0]}/fulfil", {}, form_page=page)
    with app.app_context():
        assert donations.get_pairing(pairing_id=again[0]).status == "fulfilled"
    assert _audited(app, "pairing.fulfil") == again
