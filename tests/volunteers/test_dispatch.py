"""Dispatch by SMS: offers with reply codes, YES / NO / DONE, timeouts, escalation, the race."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.common.time import utcnow
from app.extensions import db
from app.sms import service as sms_service
from app.volunteers.models import Dispatch, Task, Volunteer
from app.volunteers.service import dispatch as dispatch_service
from app.volunteers.service import tasks as task_service
from tests.volunteers.conftest import YAUCO


def _task(app, **overrides):
    data = {
        "title": "Drive water to the school shelter",
        "skills": ["driving"],
        "lat": YAUCO[0],
        "lon": YAUCO[1],
        "people": 1,
    }
    data.update(overrides)
    with app.app_context():
        task = task_service.create_task(data=data, created_by="user:test")
        db.session.commit()
        return task.id


def _dispatch(app, task_id):
    with app.app_context():
        result = dispatch_service.dispatch_task(
            task=task_service.get_task(task_id=task_id), actor="user:test"
        )
        db.session.commit()
        return [(d.volunteer_id, d.code) for d in result.offers]


def _offers(app, task_id):
    with app.app_context():
        rows = db.session.scalars(
            sa.select(Dispatch).where(Dispatch.task_id == task_id).order_by(Dispatch.created_at)
        )
        return [(d.volunteer_id, d.code, d.status, d.round) for d in rows]


def _status(app, task_id):
    with app.app_context():
        task = db.session.get(Task, task_id)
        return task.status, task.escalated_at is not None


def _phone(app, volunteer_id):
    with app.app_context():
        return db.session.get(Volunteer, volunteer_id).phone


def test_a_round_offers_each_place_to_the_nearest_qualified_volunteers_by_sms(
    app, place_volunteer, sent
):
    near = place_volunteer(1)
    middle = place_volunteer(3)
    place_volunteer(6)  # third: only two offers per place
    place_volunteer(0.5, skills=["first_aid"])  # cannot drive
    task_id = _task(app, people=1)
    offers = _dispatch(app, task_id)
    assert [vid for vid, _ in offers] == [near["id"], middle["id"]]
    assert _status(app, task_id) == ("offered", False)
    codes = {code for _, code in offers}
    assert all(code.isdigit() and len(code) == 4 for code in codes)
    [message] = sent(to=near["phone"])
    assert message.template == "task_offer" and message.language == "es"
    code = offers[0][1]
    assert f"SI {code}" in message.body and f"NO {code}" in message.body
    assert message.validity_s == 20 * 60  # the offer's expiry travels with the SMS
    # A second call with every place offered sends nothing more.
    assert _dispatch(app, task_id) == []


def test_yes_takes_the_place_and_the_other_offers_are_released(app, place_volunteer, text_in, sent):
    first, second = place_volunteer(1), place_volunteer(2)
    task_id = _task(app)
    offers = dict(_dispatch(app, task_id))
    assert text_in(first["phone"], f"SI {offers[first['id']]}") == "offer_accepted"
    assert _status(app, task_id) == ("assigned", False)
    by_volunteer = {vid: status for vid, _, status, _ in _offers(app, task_id)}
    assert by_volunteer == {first["id"]: "accepted", second["id"]: "released"}
    assert [m.template for m in sent(to=second["phone"])] == ["task_offer", "offer_filled"]
    # Answering after the place is gone: thanked, nothing changes.
    assert text_in(second["phone"], f"YES {offers[second['id']]}") == "offer_filled"
    assert _status(app, task_id) == ("assigned", False)


def test_no_sends_the_offer_to_the_next_best(app, place_volunteer, text_in):
    a, b, c = place_volunteer(1), place_volunteer(2), place_volunteer(3)
    task_id = _task(app)
    offers = dict(_dispatch(app, task_id))
    assert set(offers) == {a["id"], b["id"]}
    assert text_in(a["phone"], f"NO {offers[a['id']]}") == "offer_declined"
    rows = _offers(app, task_id)
    assert [(vid, status, rnd) for vid, _, status, rnd in rows] == [
        (a["id"], "declined", 1),
        (b["id"], "offered", 1),
        (c["id"], "offered", 2),
    ]


def test_unanswered_offers_expire_then_the_task_escalates_after_the_last_round(
    app, place_volunteer, client, coordinator
):
    app.config["DISPATCH_MAX_ROUNDS"] = 2
    for km in (1, 2, 3, 4, 5):
        place_volunteer(km)
    task_id = _task(app)
    _dispatch(app, task_id)
    later = utcnow() + timedelta(minutes=21)
    with app.app_context():
        assert dispatch_service.sweep_offers(now=later) == {"expired": 2, "offered": 2}
        db.session.commit()
    even_later = later + timedelta(minutes=21)
    with app.app_context():
        assert dispatch_service.sweep_offers(now=even_later) == {"expired": 2, "offered": 0}
        db.session.commit()
    assert _status(app, task_id) == ("open", True)
    statuses = [status for _, _, status, _ in _offers(app, task_id)]
    assert statuses == ["expired"] * 4
    queue = client.get(
        "/api/v1/tasks?escalated=true", headers={"Authorization": f"Bearer {coordinator['token']}"}
    ).get_json()
    assert [t["id"] for t in queue["items"]] == [task_id]
    assert queue["items"][0]["escalation"] == "unfilled_after_2_rounds"
    with app.app_context():
        events = [e.event for e in task_service.task_history(task=db.session.get(Task, task_id))]
    assert events == ["created", "offered", "expired", "expired", "offered", "expired"] + [
        "expired",
        "escalated",
    ]


def test_a_task_nobody_qualifies_for_escalates_with_the_reason(app, place_volunteer):
    place_volunteer(1, skills=["driving"])
    task_id = _task(app, skills=["medical"])
    with app.app_context():
        result = dispatch_service.dispatch_task(
            task=task_service.get_task(task_id=task_id), actor="test"
        )
        db.session.commit()
    assert result.offers == [] and result.escalated
    assert "Medical" in result.reasons[0]["text"] or "medical" in result.reasons[0]["text"]
    assert _status(app, task_id) == ("open", True)


def test_a_late_yes_expires_the_offer_and_re_dispatches(app, place_volunteer):
    a, _b, c = place_volunteer(1), place_volunteer(2), place_volunteer(3)
    task_id = _task(app)
    offers = dict(_dispatch(app, task_id))
    with app.app_context():
        outcome = dispatch_service.answer_offer(
            phone=a["phone"],
            command="yes",
            code=offers[a["id"]],
            now=utcnow() + timedelta(minutes=25),
        )
        db.session.commit()
    assert outcome == "offer_expired"
    rows = {vid: status for vid, _, status, _ in _offers(app, task_id)}
    assert rows[a["id"]] == "expired" and rows[c["id"]] == "offered"


def test_done_closes_the_task_and_codes_of_other_numbers_change_nothing(
    app, place_volunteer, text_in
):
    a, b = place_volunteer(1), place_volunteer(2)
    task_id = _task(app)
    offers = dict(_dispatch(app, task_id))
    code_a = offers[a["id"]]
    # b texts a's code: a code of another number is unknown for b's; nothing changes.
    if offers[b["id"]] != code_a:  # codes are unique per volunteer, so they may coincide
        assert text_in(b["phone"], f"YES {code_a}") == "code_unknown"
    rows = {vid: status for vid, _, status, _ in _offers(app, task_id)}
    assert rows[a["id"]] == "offered"
    assert text_in(a["phone"], "YES 0000") == "code_unknown"
    assert text_in(a["phone"], f"DONE {code_a}") == "offer_not_held"
    assert text_in(a["phone"], f"YES {code_a}") == "offer_accepted"
    assert text_in(a["phone"], f"DONE {code_a}") == "task_done"
    assert _status(app, task_id) == ("done", False)
    assert text_in(a["phone"], f"DONE {code_a}") == "task_done"  # repeated: same answer


def test_one_volunteer_with_two_offers_is_never_confused(app, place_volunteer, text_in):
    volunteer = place_volunteer(1, max_tasks=3)
    first = _task(app, title="First")
    second = _task(app, title="Second")
    [(_, code_1)] = _dispatch(app, first)
    [(_, code_2)] = _dispatch(app, second)
    assert code_1 != code_2
    assert text_in(volunteer["phone"], f"NO {code_2}") == "offer_declined"
    assert text_in(volunteer["phone"], f"YES {code_1}") == "offer_accepted"
    assert _offers(app, first)[0][2] == "accepted"
    assert _offers(app, second)[0][2] == "declined"


def test_minors_only_go_to_vetted_volunteers(app, place_volunteer):
    place_volunteer(0.5)  # nearest, not vetted
    vetted = place_volunteer(4, vetted=True)
    task_id = _task(app, involves_minor=True)
    assert [vid for vid, _ in _dispatch(app, task_id)] == [vetted["id"]]


def test_stop_full_load_and_earlier_offers_keep_volunteers_out(app, place_volunteer, text_in):
    stopped = place_volunteer(0.5)
    busy = place_volunteer(1, max_tasks=1)
    free = place_volunteer(5)
    assert text_in(stopped["phone"], "STOP") is None
    _dispatch(app, _task(app, title="Busy one", lat=YAUCO[0] + 1 / 111.2))  # busy gets it
    task_id = _task(app)
    offered = [vid for vid, _ in _dispatch(app, task_id)]
    assert stopped["id"] not in offered and busy["id"] not in offered
    assert free["id"] in offered


def test_a_volunteer_who_steps_back_is_replaced(app, place_volunteer, text_in):
    a, b, c = place_volunteer(1), place_volunteer(2), place_volunteer(3)
    task_id = _task(app)
    offers = dict(_dispatch(app, task_id))
    assert text_in(a["phone"], f"YES {offers[a['id']]}") == "offer_accepted"
    assert text_in(a["phone"], f"NO {offers[a['id']]}") == "offer_declined"
    rows = {vid: status for vid, _, status, _ in _offers(app, task_id)}
    assert rows[a["id"]] == "cancelled"
    assert rows[c["id"]] == "offered" and rows[b["id"]] == "released"
    assert _status(app, task_id)[0] == "offered"


def test_cancelling_tells_everyone_offered_or_assigned(app, place_volunteer, text_in, sent):
    a, b = place_volunteer(1), place_volunteer(2)
    task_id = _task(app, people=2)
    _dispatch(app, task_id)
    offers = {vid: code for vid, code, _, _ in _offers(app, task_id)}
    assert text_in(a["phone"], f"YES {offers[a['id']]}") == "offer_accepted"
    with app.app_context():
        assert task_service.cancel_task(
            task=task_service.get_task(task_id=task_id), actor="user:test", reason="road closed"
        )
        db.session.commit()
    assert _status(app, task_id)[0] == "cancelled"
    assert sent(to=a["phone"])[-1].template == "task_cancelled"
    assert sent(to=b["phone"])[-1].template == "offer_withdrawn"
    assert text_in(b["phone"], f"YES {offers[b['id']]}") == "offer_filled"


def test_the_pool_sees_volunteers_who_joined_after_it_was_built(app, place_volunteer):
    place_volunteer(5)
    _dispatch(app, _task(app, title="Builds the pool"))
    newcomer = place_volunteer(0.2)
    task_id = _task(app)
    assert newcomer["id"] in [vid for vid, _ in _dispatch(app, task_id)]


def test_join_by_sms_registers_a_volunteer_once(app, text_in, sent):
    phone = "+15555550777"
    assert text_in(phone, "UNIRME Ana Díaz, Yauco") == "join_received"
    assert text_in(phone, "JOIN Ana Díaz") == "join_already"
    assert text_in("+15555550778", "JOIN") == "join_help"
    with app.app_context():
        volunteer = db.session.scalar(sa.select(Volunteer).where(Volunteer.phone == phone))
        assert volunteer.name == "Ana Díaz" and volunteer.languages == ["es"]
        assert volunteer.home_location == "Yauco" and volunteer.lat is not None
        assert not volunteer.vetted and volunteer.created_by.startswith("sms:")
    assert sent(to=phone)[0].language == "es"


def _answer_together(app, answers):
    """Each (phone, code) answers YES from its own thread and session, released together."""
    barrier = threading.Barrier(len(answers))
    outcomes: list[str | None] = [None] * len(answers)
    errors: list[BaseException] = []

    def run(index, phone, code):
        try:
            with app.app_context():
                barrier.wait(timeout=10)
                outcomes[index] = dispatch_service.answer_offer(
                    phone=phone, command="yes", code=code
                )
                db.session.commit()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=run, args=(i, phone, code))
        for i, (phone, code) in enumerate(answers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    return outcomes


@pytest.mark.parametrize("attempt", range(3))
def test_two_yes_for_the_last_place_at_once_exactly_one_wins(app, place_volunteer, attempt):
    """Real concurrency: two sessions answer YES for a one-place task at the same instant.

    On PostgreSQL the second waits on the task's row lock and then sees the first's place; on
    SQLite the writers are serialized. Exactly one is accepted, the other thanked and released.
    """
    a, b = place_volunteer(1), place_volunteer(2)
    task_id = _task(app)
    offers = dict(_dispatch(app, task_id))
    outcomes = _answer_together(app, [(a["phone"], offers[a["id"]]), (b["phone"], offers[b["id"]])])
    assert sorted(outcomes) == ["offer_accepted", "offer_filled"]
    statuses = sorted(status for _, _, status, _ in _offers(app, task_id))
    assert statuses == ["accepted", "released"]
    assert _status(app, task_id)[0] == "assigned"


def test_a_reply_for_a_consent_code_is_not_taken_for_an_offer(app, place_volunteer, text_in):
    volunteer = place_volunteer(1)
    _dispatch(app, _task(app))
    # Six characters: a consent code's shape, not a dispatch code; unknown here.
    assert text_in(volunteer["phone"], "YES K7Q2MX") == "code_unknown"
    with app.app_context():
        assert sms_service.opted_out_phones(phones=[volunteer["phone"]]) == set()


def test_a_task_whose_window_has_passed_is_not_offered_but_escalated(app, place_volunteer):
    place_volunteer(1)
    start = utcnow() + timedelta(minutes=5)
    task_id = _task(app, window_start=start, window_end=start + timedelta(hours=1))
    with app.app_context():
        result = dispatch_service.dispatch_task(
            task=task_service.get_task(task_id=task_id),
            actor="system",
            now=start + timedelta(hours=2),
        )
        db.session.commit()
    assert result.offers == [] and result.escalated
    with app.app_context():
        assert db.session.get(Task, task_id).escalation == "window_passed"


def test_the_background_jobs_sweep_offers_and_expire_donors_offers(app, place_volunteer):
    from app.volunteers import tasks as jobs

    place_volunteer(1)
    task_id = _task(app)
    with app.app_context():
        assert jobs.dispatch_task_job.call_local(task_id) == 1
        assert jobs.sweep_offers_task.call_local() == {"expired": 0, "offered": 0}
        assert jobs.expire_donation_offers_task.call_local() == 0
    assert _status(app, task_id)[0] == "offered"


def test_the_sweep_leaves_tasks_on_hold_and_sends_the_others(app, place_volunteer):
    place_volunteer(1)
    place_volunteer(2)
    with app.app_context():
        held = task_service.create_task(
            data={"title": "Held", "lat": YAUCO[0], "lon": YAUCO[1]}, created_by="t"
        )
        wanted = task_service.create_task(
            data={"title": "Wanted", "lat": YAUCO[0], "lon": YAUCO[1]}, created_by="t"
        )
        wanted.on_hold = False  # as request_dispatch leaves it when the hand-over is lost
        held_id, wanted_id = held.id, wanted.id
        db.session.commit()
    with app.app_context():
        assert dispatch_service.sweep_offers()["offered"] == 2
        db.session.commit()
    assert _status(app, held_id)[0] == "open" and _status(app, wanted_id)[0] == "offered"
    with app.app_context():
        result = dispatch_service.redispatch_task(task=db.session.get(Task, held_id), actor="t")
        db.session.commit()
        assert result.offers and not db.session.get(Task, held_id).on_hold
