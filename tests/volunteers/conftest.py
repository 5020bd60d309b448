"""Fixtures for tasks and dispatch: volunteers placed on the map, SMS in and out."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from app.extensions import db
from app.sms import service as sms_service
from app.sms.models import OutboxMessage
from app.volunteers import service as volunteers_service

# Yauco and Ponce, Puerto Rico, and points a few km away (synthetic volunteers only).
YAUCO = (18.035, -66.850)
PONCE = (18.01031, -66.62398)
_sids = itertools.count(1)
_phones = itertools.count(200)


@pytest.fixture
def place_volunteer(app: Flask) -> Callable[..., dict[str, Any]]:
    """place_volunteer(km_north=2.0, skills=[...], ...) -> {"id", "phone"}: a volunteer
    registered through the service at a known point north of Yauco."""

    def make(km_north: float = 1.0, **overrides: Any) -> dict[str, Any]:
        phone = overrides.pop("phone", f"+1555555{next(_phones):04d}")
        data: dict[str, Any] = {
            "name": "Synthetic Volunteer",
            "phone": phone,
            "languages": ["es", "en"],
            "skills": ["first_aid", "driving"],
            "lat": YAUCO[0] + km_north / 111.2,
            "lon": YAUCO[1],
            "availability": [],
            "max_tasks": 2,
        }
        vetted = overrides.pop("vetted", False)
        data.update(overrides)
        with app.app_context():
            volunteer = volunteers_service.register_volunteer(data=data, created_by="test")
            if vetted:
                volunteers_service.set_vetted(volunteer=volunteer, vetted=True, actor="test")
            db.session.commit()
            return {"id": volunteer.id, "phone": phone}

    return make


@pytest.fixture
def make_need(app: Flask) -> Callable[..., str]:
    """make_need(supply_quantity=40, ...) -> task id: a need for goods at the Ponce shelter,
    created through the task service without offers to volunteers."""
    from app.volunteers.service import tasks as task_service

    def make(**overrides: Any) -> str:
        data: dict[str, Any] = {
            "title": "Water for the Ponce shelter",
            "location": "Ponce",
            "lat": PONCE[0],
            "lon": PONCE[1],
            "supply_category": "water",
            "supply_quantity": 100,
            "contact_name": "Shelter desk",
            "contact_phone": "+15555550199",
        }
        data.update(overrides)
        with app.app_context():
            task = task_service.create_task(data=data, created_by="test")
            db.session.commit()
            return task.id

    return make


@pytest.fixture
def text_in(app: Flask) -> Callable[[str, str], str | None]:
    """text_in(phone, body): an incoming SMS, handled as the worker would; returns the
    template of the reply it got (None when it got none)."""

    def send(phone: str, body: str) -> str | None:
        with app.app_context():
            inbound = sms_service.receive_message(
                message_sid=f"SM{next(_sids):032x}", from_phone=phone, body=body
            )
            inbound_id = inbound.id
            db.session.commit()  # the inbound task runs here (HUEY_IMMEDIATE)
        with app.app_context():
            reply = sms_service.find_reply(inbound_id=inbound_id)
            return reply.template if reply else None

    return send


@pytest.fixture
def sent(app: Flask) -> Callable[..., list[OutboxMessage]]:
    """sent(to=None, template=None): outbox rows, oldest first (detached)."""

    def rows(to: str | None = None, template: str | None = None) -> list[OutboxMessage]:
        with app.app_context():
            query = sa.select(OutboxMessage).order_by(OutboxMessage.created_at, OutboxMessage.id)
            if to:
                query = query.where(OutboxMessage.to_phone == to)
            if template:
                query = query.where(OutboxMessage.template == template)
            found = list(db.session.scalars(query))
            db.session.expunge_all()
            return found

    return rows
