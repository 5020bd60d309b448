"""Registering, reading, correcting and vetting volunteers. Flushes, never commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select

from app.common.fields import point_errors
from app.common.ids import is_id
from app.common.time import utcnow
from app.errors import Conflict, NotFound, ValidationError
from app.extensions import db
from app.matching import service as matching_service
from app.sms import service as sms_service
from app.volunteers import assign
from app.volunteers.models import Volunteer


def _check_phone_free(phone: str, *, volunteer_id: str | None = None) -> None:
    query = select(Volunteer.id).where(Volunteer.phone == phone)
    if volunteer_id:
        query = query.where(Volunteer.id != volunteer_id)
    if db.session.scalar(query):
        raise Conflict(
            "A volunteer with this phone number is already registered.",
            code="duplicate_phone",
            errors={"phone": ["Already registered."]},
        )


def _locate(volunteer: Volunteer) -> None:
    """Geocode the home location offline with the gazetteer matching uses (no point if unknown)."""
    point = matching_service.geocode(volunteer.home_location, None)
    volunteer.lat, volunteer.lon = point if point else (None, None)


def register_volunteer(*, data: dict[str, Any], created_by: str) -> Volunteer:
    """Create a volunteer from validated input; explicit lat/lon win over geocoding."""
    _check_phone_free(data["phone"])
    now = utcnow()
    volunteer = Volunteer(
        **data, created_by=created_by, vetted=False, opted_out=False, created_at=now, updated_at=now
    )
    if data.get("lat") is None:
        _locate(volunteer)
    db.session.add(volunteer)
    db.session.flush()
    return volunteer


def register_publicly(*, data: dict[str, Any]) -> Volunteer | None:
    """Self-registration from the public form or API; None when the number was registered
    already. Either way the number gets an SMS (the caller answers the same in both cases, so
    the answer tells nobody who volunteers): a welcome that says how offers come and that STOP
    ends them, or a note that it is registered already (at most one a day)."""
    existing = db.session.scalar(select(Volunteer).where(Volunteer.phone == data["phone"]))
    language = (data.get("languages") or [None])[0]
    if existing is not None:
        sms_service.queue_message(
            to=existing.phone,
            template="join_already",
            language=language,
            params={},
            dedupe_key=f"volunteer-again:{existing.id}:{utcnow().date().isoformat()}",
        )
        return None
    volunteer = register_volunteer(data=data, created_by="anonymous")
    sms_service.queue_message(
        to=volunteer.phone,
        template="join_received",
        language=language,
        params={},
        dedupe_key=f"volunteer-welcome:{volunteer.id}",
    )
    return volunteer


def get_volunteer(*, volunteer_id: str) -> Volunteer:
    """A volunteer by id."""
    volunteer = db.session.get(Volunteer, volunteer_id) if is_id(volunteer_id) else None
    if volunteer is None:
        raise NotFound("No volunteer with this id.", code="volunteer_not_found")
    return volunteer


def list_volunteers(
    *, limit: int, after_id: str | None = None, vetted: bool | None = None
) -> list[Volunteer]:
    """Volunteers newest first; returns limit + 1 rows so the caller can paginate."""
    query = select(Volunteer)
    if vetted is not None:
        query = query.where(Volunteer.vetted.is_(vetted))
    if after_id:
        query = query.where(Volunteer.id < after_id)
    return list(db.session.scalars(query.order_by(Volunteer.id.desc()).limit(limit + 1)))


def update_volunteer(
    *, volunteer: Volunteer, changes: dict[str, Any], expected_version: int | None = None
) -> list[str]:
    """Apply corrections; returns the names of the fields that really changed.

    `expected_version` is the version the caller read: another it is a 409, so two coordinators
    editing the same volunteer do not silently overwrite each other.
    """
    if expected_version is not None and expected_version != volunteer.version:
        raise Conflict(
            "The volunteer was changed since you read it; reload and retry.",
            code="version_conflict",
            errors={"version": [f"The current version is {volunteer.version}."]},
        )
    changed = [name for name, value in changes.items() if getattr(volunteer, name) != value]
    if "phone" in changed:
        _check_phone_free(changes["phone"], volunteer_id=volunteer.id)
    for name in changed:
        setattr(volunteer, name, changes[name])
    if errors := point_errors({"lat": volunteer.lat, "lon": volunteer.lon}):
        raise ValidationError(errors=errors)
    if "home_location" in changed and "lat" not in changes:
        _locate(volunteer)
        changed.extend(name for name in ("lat", "lon") if name not in changed)
    if changed:
        volunteer.updated_at = utcnow()
    db.session.flush()
    return changed


def set_vetted(*, volunteer: Volunteer, vetted: bool, actor: str) -> bool:
    """A coordinator vets a volunteer (or withdraws it); returns whether anything changed."""
    if volunteer.vetted == vetted:
        return False
    volunteer.vetted = vetted
    volunteer.vetted_by = actor if vetted else None
    volunteer.vetted_at = utcnow() if vetted else None
    volunteer.updated_at = utcnow()
    db.session.flush()
    return True


def engine_volunteers(volunteers: Sequence[Volunteer]) -> list[assign.Volunteer]:
    """Volunteers as the assignment engine sees them, opted out when their number has texted
    STOP (one query for all): an offer must never go to a number that asked for no messages."""
    stopped = sms_service.opted_out_phones(phones=[v.phone for v in volunteers])
    return [to_engine_volunteer(v, sms_opted_out=v.phone in stopped) for v in volunteers]


def to_engine_volunteer(
    volunteer: Volunteer,
    *,
    current_tasks: int = 0,
    recent_declines: int = 0,
    sms_opted_out: bool = False,
) -> assign.Volunteer:
    """The volunteer as the assignment engine sees one (counts come from the task service;
    engine_volunteers looks up the SMS opt-outs of many at once)."""
    point = (
        (volunteer.lat, volunteer.lon)
        if volunteer.lat is not None and volunteer.lon is not None
        else None
    )
    return assign.Volunteer(
        id=volunteer.id,
        skills=frozenset(volunteer.skills or ()),
        languages=frozenset(volunteer.languages or ()),
        point=point,
        availability=tuple(
            assign.Window(datetime.fromisoformat(w["start"]), datetime.fromisoformat(w["end"]))
            for w in volunteer.availability or ()
        ),
        max_tasks=volunteer.max_tasks,
        current_tasks=current_tasks,
        vetted=volunteer.vetted,
        opted_out=volunteer.opted_out or sms_opted_out,
        recent_declines=recent_declines,
    )


@sms_service.on_command("join")
def register_by_sms(contact: Any, argument: str, language: str) -> tuple[str, dict[str, Any]]:
    """JOIN / UNIRME <name>, <town>: the sender's number registers as a volunteer.

    The number is the sender's, so it needs no confirming. Skills, hours and vetting come when a
    coordinator calls back; until then the volunteer qualifies only for tasks that ask for no
    skill and no vetting. The answer goes only to that number, so it may say it is known.
    """
    name, _, place = (part.strip() for part in argument.partition(","))
    if not name:
        return "join_help", {}
    if db.session.scalar(select(Volunteer.id).where(Volunteer.phone == contact.phone)):
        return "join_already", {}
    register_volunteer(
        data={
            "name": name[:200],
            "phone": contact.phone,
            "languages": [language],
            "skills": [],
            "home_location": place[:500] or None,
            "availability": [],
            "max_tasks": 1,
        },
        created_by=f"sms:{contact.id}",
    )
    return "join_received", {}
