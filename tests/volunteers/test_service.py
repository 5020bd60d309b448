"""The volunteers service: registration, corrections, vetting and the engine's view."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.errors import Conflict, ValidationError
from app.extensions import db
from app.sms import service as sms_service
from app.volunteers import assign, service


def register(**overrides):
    data = {
        "name": "Ana Lucía Torres",
        "phone": "+15555550301",
        "languages": ["es"],
        "skills": ["childcare"],
        "home_location": "Guánica",
        "availability": [],
        "max_tasks": 1,
    }
    data.update(overrides)
    return service.register_volunteer(data=data, created_by="user:test")


def test_to_engine_volunteer_round_trip(app):
    with app.app_context():
        volunteer = register(
            languages=["es", "en"],
            skills=["first_aid", "interpretation:en"],
            availability=[
                {"start": "2026-11-22T12:00:00+00:00", "end": "2026-11-22T20:00:00+00:00"}
            ],
            max_tasks=3,
        )
        service.set_vetted(volunteer=volunteer, vetted=True, actor="user:test")
        db.session.commit()

        engine = service.to_engine_volunteer(volunteer, current_tasks=1, recent_declines=2)

        assert engine == assign.Volunteer(
            id=volunteer.id,
            skills=frozenset({"first_aid", "interpretation:en"}),
            languages=frozenset({"es", "en"}),
            point=(volunteer.lat, volunteer.lon),
            availability=(
                assign.Window(
                    datetime(2026, 11, 22, 12, tzinfo=UTC), datetime(2026, 11, 22, 20, tzinfo=UTC)
                ),
            ),
            max_tasks=3,
            current_tasks=1,
            vetted=True,
            opted_out=False,
            recent_declines=2,
        )
        assert engine.point is not None
        # The engine ranks them for a nearby first-aid task.
        task = assign.Task(
            id="t1", skills=frozenset({"first_aid"}), point=engine.point, involves_minor=True
        )
        ranked = assign.rank(assign.prepare_pool([engine]), task, limit=5)
        assert [r.volunteer_id for r in ranked] == [volunteer.id]


def test_an_engine_volunteer_without_location_or_hours(app):
    with app.app_context():
        volunteer = register(home_location=None)
        engine = service.to_engine_volunteer(volunteer)
        assert (engine.point, engine.availability, engine.current_tasks) == (None, (), 0)


def test_duplicate_phone_raises_conflict(app):
    with app.app_context():
        register()
        with pytest.raises(Conflict) as raised:
            register(name="Otra")
        assert raised.value.code == "duplicate_phone"


def test_update_keeps_lat_lon_paired_and_checks_the_version(app):
    with app.app_context():
        volunteer = register()
        with pytest.raises(Conflict):
            service.update_volunteer(volunteer=volunteer, changes={}, expected_version=7)
        with pytest.raises(ValidationError):
            service.update_volunteer(volunteer=volunteer, changes={"lat": None})


def test_update_without_a_real_change_keeps_the_version(app):
    with app.app_context():
        volunteer = register()
        db.session.commit()
        changed = service.update_volunteer(volunteer=volunteer, changes={"name": volunteer.name})
        db.session.commit()
        assert (changed, volunteer.version) == ([], 1)


def test_set_vetted_reports_whether_it_changed(app):
    with app.app_context():
        volunteer = register()
        assert service.set_vetted(volunteer=volunteer, vetted=True, actor="user:a") is True
        assert service.set_vetted(volunteer=volunteer, vetted=True, actor="user:b") is False
        assert volunteer.vetted_by == "user:a"


def test_a_volunteer_whose_number_texted_stop_is_never_offered_a_task(app):
    with app.app_context():
        stopped = register(phone="+15555550311", skills=["first_aid"])
        willing = register(phone="+15555550312", skills=["first_aid"])
        db.session.commit()
        # The first number sends STOP (the SMS service records it on the number's contact).
        contact = sms_service.get_or_create_contact(phone="+15555550311")
        sms_service.set_opt_out(contact=contact, opted_out=True)
        db.session.commit()

        engines = service.engine_volunteers([stopped, willing])

        assert [e.opted_out for e in engines] == [True, False]
        task = assign.Task(id="t1", skills=frozenset({"first_aid"}), point=engines[1].point)
        ranked = assign.rank(assign.prepare_pool(engines), task, limit=5)
        assert [r.volunteer_id for r in ranked] == [willing.id]
