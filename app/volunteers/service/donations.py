"""Donors' offers and their pairing with needs (tasks with a supply category). Flushes, never
commits.

A pairing is proposed (by the ranking or by a coordinator), then accepted or rejected by a
coordinator. Accepting takes the quantity from the offer under a row lock and queues the SMS to
the donor and to the shelter desk that asked, in the same transaction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update

from app.common.fields import point_errors
from app.common.ids import is_id
from app.common.locks import lock_row
from app.common.time import utcnow
from app.errors import Conflict, NotFound, ValidationError
from app.extensions import db
from app.matching import service as matching_service
from app.sms import service as sms_service
from app.volunteers.assign import Window, supply
from app.volunteers.models import DonationOffer, Donor, Pairing, Task
from app.volunteers.models.donations import PAIRING_HOLDING
from app.volunteers.models.tasks import TASK_CLOSED
from app.volunteers.service import tasks as task_service

# What a coordinator may correct on an offer (its category and donor stay: pairings rest on them).
OFFER_FIELDS = frozenset(
    {
        "quantity",
        "description",
        "location",
        "lat",
        "lon",
        "available_from",
        "available_until",
        "expires_at",
        "currency",
    }
)
_EARLIEST = datetime.min.replace(tzinfo=UTC)
_LATEST = datetime.max.replace(tzinfo=UTC)
KM_PER_DEGREE_LAT = 111.2


# ---- offers ---------------------------------------------------------------------------------


def _point(row: Donor | DonationOffer | Task) -> tuple[float, float] | None:
    return (row.lat, row.lon) if row.lat is not None and row.lon is not None else None


def _geocode(text: str | None) -> tuple[float, float] | None:
    """Offline, with the gazetteer matching uses (as volunteers' homes are); None if unknown."""
    return matching_service.geocode(text, None)


def _check_offer(offer: DonationOffer) -> None:
    categories = supply.load_categories()
    errors: dict[str, list[str]] = {}
    if categories.unknown([offer.category]):
        errors["category"] = [f"Unknown category: {offer.category}."]
    elif categories.kinds[offer.category] == "money":
        if not offer.currency:
            errors["currency"] = ["A money pledge needs its currency (ISO 4217, e.g. USD)."]
    elif offer.currency:
        errors["currency"] = ["Only a money pledge has a currency."]
    if offer.quantity is None or offer.quantity <= 0:
        errors["quantity"] = ["Must be a whole number above zero."]
    start, end = offer.available_from, offer.available_until
    if start is not None and end is not None and end <= start:
        errors["available_until"] = ["Must be after available_from."]
    errors.update(point_errors({"lat": offer.lat, "lon": offer.lon}))
    if errors:
        raise ValidationError(errors=errors)


def _donor_for(data: dict[str, Any], created_by: str) -> Donor:
    """The donor with this phone, created if new. An existing donor's details are kept: a public
    registration must not be able to rename someone else's donor record."""
    donor = db.session.scalar(select(Donor).where(Donor.phone == data["phone"]))
    if donor is not None:
        return donor
    now = utcnow()
    donor = Donor(**data, created_by=created_by, created_at=now, updated_at=now)
    if donor.lat is None:
        donor.lat, donor.lon = _geocode(donor.location) or (None, None)
    db.session.add(donor)
    db.session.flush()
    return donor


def register_offer(
    *, donor: dict[str, Any], offer: dict[str, Any], created_by: str
) -> DonationOffer:
    """A donor (new, or known by phone) registers an offer from validated input.

    The offer's place is its own location, else the donor's; explicit lat/lon win over
    geocoding. Quantities are whole units of the category's unit.
    """
    now = utcnow()
    row = DonationOffer(**offer, created_by=created_by, created_at=now, updated_at=now)
    row.unit = supply.load_categories().units.get(row.category, "")
    row.remaining = row.quantity
    row.status = "open"
    _check_offer(row)
    owner = _donor_for(donor, created_by)
    row.donor_id = owner.id
    row.donor = owner
    if row.lat is None:
        point = _geocode(row.location) if row.location else _point(owner)
        row.lat, row.lon = point or (None, None)
        if row.location is None:
            row.location = owner.location
    db.session.add(row)
    db.session.flush()
    return row


def get_offer(*, offer_id: str) -> DonationOffer:
    """An offer by id (with its donor)."""
    offer = db.session.get(DonationOffer, offer_id) if is_id(offer_id) else None
    if offer is None:
        raise NotFound("No offer with this id.", code="offer_not_found")
    return offer


def list_offers(
    *,
    limit: int,
    after_id: str | None = None,
    status: str | None = None,
    category: str | None = None,
) -> list[DonationOffer]:
    """Offers newest first; returns limit + 1 rows so the caller can paginate."""
    query = select(DonationOffer)
    if status:
        query = query.where(DonationOffer.status == status)
    if category:
        query = query.where(DonationOffer.category == category)
    if after_id:
        query = query.where(DonationOffer.id < after_id)
    return list(db.session.scalars(query.order_by(DonationOffer.id.desc()).limit(limit + 1)))


def _check_version(offer: DonationOffer, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != offer.version:
        raise Conflict(
            "The offer was changed since you read it; reload and retry.",
            code="version_conflict",
            errors={"version": [f"The current version is {offer.version}."]},
        )


def update_offer(
    *, offer: DonationOffer, changes: dict[str, Any], expected_version: int | None = None
) -> list[str]:
    """Correct an offer; returns the names of the fields that really changed.

    A new `quantity` moves `remaining` by the same amount and may not drop below what accepted
    pairings have taken already (409 `offer_quantity_taken`).
    """
    _check_version(offer, expected_version)
    if offer.status not in ("open", "exhausted"):
        raise Conflict(f"This offer is {offer.status}.", code="offer_closed")
    unknown = sorted(set(changes) - OFFER_FIELDS)
    if unknown:
        raise ValidationError(errors={name: ["Cannot be changed."] for name in unknown})
    changed = [name for name, value in changes.items() if getattr(offer, name) != value]
    if "quantity" in changed:
        taken = offer.quantity - offer.remaining
        if changes["quantity"] < taken:
            raise Conflict(
                f"Accepted pairings have taken {taken} already.",
                code="offer_quantity_taken",
                errors={"quantity": [f"Must be at least {taken}."]},
            )
        offer.remaining = changes["quantity"] - taken
    for name in changed:
        setattr(offer, name, changes[name])
    _check_offer(offer)
    if "location" in changed and "lat" not in changes:
        offer.lat, offer.lon = _geocode(offer.location) or (None, None)
        changed.extend(name for name in ("lat", "lon") if name not in changed)
    if "quantity" in changed:
        offer.status = "open" if offer.remaining > 0 else "exhausted"
        offer.closed_at = None if offer.remaining > 0 else utcnow()
    if changed:
        offer.updated_at = utcnow()
    db.session.flush()
    return changed


def withdraw_offer(*, offer: DonationOffer, actor: str, reason: str | None = None) -> list[Pairing]:
    """Withdraw an offer: nothing more is paired with it, and its proposed pairings are
    cancelled (returned). Accepted pairings stand: cancel them one by one if the goods will not
    come after all."""
    if offer.status == "withdrawn":
        return []
    offer.status = "withdrawn"
    offer.closed_at = offer.updated_at = utcnow()
    cancelled = list(
        db.session.scalars(
            select(Pairing).where(Pairing.offer_id == offer.id, Pairing.status == "proposed")
        )
    )
    for pairing in cancelled:
        _decide(pairing, status="cancelled", actor=actor, reason=reason or "offer withdrawn")
    db.session.flush()
    return cancelled


def expire_offers(*, now: datetime | None = None) -> int:
    """Mark open offers past their expiry `expired`; returns how many."""
    now = now or utcnow()
    result = db.session.execute(
        update(DonationOffer)
        .where(
            DonationOffer.status.in_(("open", "exhausted")),
            DonationOffer.expires_at.is_not(None),
            DonationOffer.expires_at <= now,
        )
        .values(
            status="expired",
            closed_at=now,
            updated_at=now,
            version=DonationOffer.version + 1,
        )
        .execution_options(synchronize_session=False)
    )
    db.session.flush()
    return result.rowcount or 0


# ---- ranking --------------------------------------------------------------------------------


def _window(start: datetime | None, end: datetime | None) -> Window | None:
    if start is None and end is None:
        return None
    return Window(start or _EARLIEST, end or _LATEST)


def engine_offer(offer: DonationOffer) -> supply.Offer:
    """The offer as the supply ranking sees one; it is available until it expires."""
    ends = [t for t in (offer.available_until, offer.expires_at) if t is not None]
    return supply.Offer(
        id=offer.id,
        category=offer.category,
        remaining=offer.remaining,
        point=_point(offer),
        window=_window(offer.available_from, min(ends) if ends else None),
        currency=offer.currency,
    )


def get_need(*, task_id: str) -> Task:
    """A task that asks for goods (has a supply category and quantity)."""
    task = db.session.get(Task, task_id) if is_id(task_id) else None
    if task is None:
        raise NotFound("No task with this id.", code="task_not_found")
    if not task.supply_category or not task.supply_quantity:
        raise Conflict("This task asks for no goods.", code="task_not_a_need")
    if task.status in TASK_CLOSED:
        raise Conflict(f"This task is {task.status}.", code="task_closed")
    return task


def covered(task_id: str) -> int:
    """How much of the need accepted (or fulfilled) pairings cover."""
    total = db.session.scalar(
        select(func.coalesce(func.sum(Pairing.quantity), 0)).where(
            Pairing.task_id == task_id, Pairing.status.in_(PAIRING_HOLDING)
        )
    )
    return int(total or 0)


def engine_need(task: Task, *, quantity: int) -> supply.Need:
    """The need as the supply ranking sees it, for the quantity still to cover."""
    return supply.Need(
        id=task.id,
        category=task.supply_category or "",
        quantity=quantity,
        point=_point(task),
        window=_window(task.window_start, task.window_end),
        radius_km=task.radius_km,
    )


def _open_offers(need: supply.Need, now: datetime) -> list[DonationOffer]:
    query = select(DonationOffer).where(
        DonationOffer.status == "open",
        DonationOffer.category == need.category,
        DonationOffer.remaining > 0,
        (DonationOffer.expires_at.is_(None)) | (DonationOffer.expires_at > now),
        # Whatever the need's window, an offer whose availability has ended serves no one.
        (DonationOffer.available_until.is_(None)) | (DonationOffer.available_until > now),
    )
    if need.point is not None and not supply.load_categories().is_remote(need.category):
        # A latitude band first: the ranking measures the distance of what is in it.
        reach = max(need.radius_km, 0.0) / KM_PER_DEGREE_LAT + 0.01
        if math.isfinite(reach):
            query = query.where(
                DonationOffer.lat.between(need.point[0] - reach, need.point[0] + reach)
            )
    return list(db.session.scalars(query))


@dataclass(frozen=True)
class Candidates:
    """The offers that may serve a need, best first, and the set proposed to cover it."""

    task: Task
    outstanding: int
    ranked: list[tuple[DonationOffer, supply.RankedOffer]]
    proposal: supply.Proposal


def offer_candidates(*, task_id: str, limit: int = 20, now: datetime | None = None) -> Candidates:
    """Rank the open offers for what is still missing of a need, and propose a covering set."""
    task = get_need(task_id=task_id)
    outstanding = max((task.supply_quantity or 0) - covered(task.id), 0)
    need = engine_need(task, quantity=outstanding)
    rows = _open_offers(need, now or utcnow())
    offers = [engine_offer(row) for row in rows]
    by_id = {row.id: row for row in rows}
    ranked = supply.rank_offers(need, offers, limit=limit)
    proposal = supply.propose(need, offers)
    return Candidates(task, outstanding, [(by_id[r.offer_id], r) for r in ranked], proposal)


# ---- pairings -------------------------------------------------------------------------------


def _event(task: Task, *, actor: str, event: str, pairing: Pairing) -> None:
    task_service.record_event(
        task,
        actor=actor,
        event=event,
        before=task.status,
        detail={
            "pairing_id": pairing.id,
            "offer_id": pairing.offer_id,
            "quantity": pairing.quantity,
        },
    )


def _new_pairing(
    task: Task,
    offer: DonationOffer,
    quantity: int,
    *,
    actor: str,
    ranked: supply.RankedOffer | None = None,
) -> Pairing:
    # Proposing again (the same ranking twice) gives the pending proposal, not a second one.
    pending = db.session.scalar(
        select(Pairing).where(
            Pairing.task_id == task.id,
            Pairing.offer_id == offer.id,
            Pairing.status == "proposed",
        )
    )
    if pending is not None:
        return pending
    pairing = Pairing(
        offer_id=offer.id,
        task_id=task.id,
        quantity=quantity,
        status="proposed",
        cost=ranked.cost if ranked else None,
        distance_km=ranked.distance_km if ranked else None,
        reasons=[r.as_dict() for r in ranked.reasons] if ranked else [],
        proposed_by=actor,
        created_at=utcnow(),
    )
    pairing.offer = offer
    db.session.add(pairing)
    db.session.flush()
    _event(task, actor=actor, event="pairing_proposed", pairing=pairing)
    return pairing


def propose_pairings(
    *,
    task_id: str,
    actor: str,
    offer_id: str | None = None,
    quantity: int | None = None,
    now: datetime | None = None,
) -> list[Pairing]:
    """Propose pairings for a need: with `offer_id`, that offer (for `quantity`, by default as
    much as it has up to what is missing); without, the ranking's covering set. Nothing is taken
    from an offer until a coordinator accepts."""
    if quantity is not None and quantity <= 0:
        raise ValidationError(errors={"quantity": ["Must be a whole number above zero."]})
    found = offer_candidates(task_id=task_id, now=now)
    if found.outstanding <= 0:
        raise Conflict("Accepted pairings cover this need already.", code="need_covered")
    if offer_id is None:
        if quantity is not None:
            raise ValidationError(errors={"quantity": ["Give it with offer_id."]})
        if not found.proposal.parts:
            raise Conflict("No open offer can serve this need.", code="no_offers")
        offers = {row.id: row for row, _ in found.ranked}
        missing = [p.offer_id for p in found.proposal.parts if p.offer_id not in offers]
        for extra in missing:
            offers[extra] = get_offer(offer_id=extra)
        return [
            _new_pairing(found.task, offers[part.offer_id], part.give, actor=actor, ranked=part)
            for part in found.proposal.parts
        ]
    offer = get_offer(offer_id=offer_id)
    _check_pairable(found.task, offer, now or utcnow())
    give = quantity if quantity is not None else min(offer.remaining, found.outstanding)
    _check_quantity(give, offer=offer, outstanding=found.outstanding)
    ranked = next((r for row, r in found.ranked if row.id == offer.id), None)
    return [_new_pairing(found.task, offer, give, actor=actor, ranked=ranked)]


def _check_pairable(task: Task, offer: DonationOffer, now: datetime) -> None:
    if offer.category != task.supply_category:
        raise Conflict(
            f"The offer is {offer.category}; the need asks for {task.supply_category}.",
            code="category_mismatch",
        )
    if offer.status != "open" or (offer.expires_at is not None and offer.expires_at <= now):
        status = "expired" if offer.status == "open" else offer.status
        raise Conflict(f"This offer is {status}.", code="offer_closed")


def _check_quantity(quantity: int, *, offer: DonationOffer, outstanding: int) -> None:
    if quantity > offer.remaining:
        raise Conflict(
            f"The offer has {offer.remaining} {offer.unit} left.",
            code="offer_insufficient",
            errors={"quantity": [f"At most {offer.remaining}."]},
        )
    if quantity > outstanding:
        raise Conflict(
            f"Only {outstanding} {offer.unit} of the need are still missing.",
            code="need_covered",
            errors={"quantity": [f"At most {outstanding}."]},
        )


def get_pairing(*, pairing_id: str) -> Pairing:
    """A pairing by id (with its offer)."""
    pairing = db.session.get(Pairing, pairing_id) if is_id(pairing_id) else None
    if pairing is None:
        raise NotFound("No pairing with this id.", code="pairing_not_found")
    return pairing


def list_pairings(*, task_id: str | None = None, offer_id: str | None = None) -> list[Pairing]:
    """The pairings of a need or of an offer, oldest first."""
    query = select(Pairing)
    if task_id:
        query = query.where(Pairing.task_id == task_id)
    if offer_id:
        query = query.where(Pairing.offer_id == offer_id)
    return list(db.session.scalars(query.order_by(Pairing.id)))


def _decide(pairing: Pairing, *, status: str, actor: str, reason: str | None) -> None:
    pairing.status = status
    pairing.decided_by = actor
    pairing.decided_at = utcnow()
    pairing.reason = reason


def accept_pairing(
    *, pairing_id: str, actor: str, reason: str | None = None, now: datetime | None = None
) -> Pairing:
    """A coordinator accepts a proposed pairing: its quantity is taken from the offer (never
    below zero, under the row locks of the need and the offer, in this order) and the donor and
    the shelter desk that asked are told by SMS, in this transaction."""
    now = now or utcnow()
    pairing = get_pairing(pairing_id=pairing_id)
    task = lock_row(Task, pairing.task_id)
    offer = lock_row(DonationOffer, pairing.offer_id)
    pairing = lock_row(Pairing, pairing.id)
    if pairing.status != "proposed":
        raise Conflict(f"This pairing was already {pairing.status}.", code="pairing_decided")
    _check_pairable(task, offer, now)
    if task.status in TASK_CLOSED:
        raise Conflict(f"This task is {task.status}.", code="task_closed")
    outstanding = (task.supply_quantity or 0) - covered(task.id)
    _check_quantity(pairing.quantity, offer=offer, outstanding=outstanding)
    offer.remaining -= pairing.quantity
    offer.updated_at = now
    if offer.remaining == 0:
        offer.status = "exhausted"
        offer.closed_at = now
    _decide(pairing, status="accepted", actor=actor, reason=reason)
    _event(task, actor=actor, event="pairing_accepted", pairing=pairing)
    db.session.flush()
    notify_pairing(pairing=pairing, task=task)
    return pairing


def notify_pairing(*, pairing: Pairing, task: Task) -> None:
    """Queue the SMS of an accepted pairing: to the donor, and to the desk that asked. Each says
    the pairing's reference and that a coordinator will call; never who or where the other is."""
    donor = pairing.offer.donor
    sms_service.queue_message(
        to=donor.phone,
        template="pairing_donor",
        language=donor.language,
        params={"reference": pairing.reference},
        dedupe_key=f"pairing:{pairing.id}:donor",
    )
    if task.contact_phone:
        sms_service.queue_message(
            to=task.contact_phone,
            template="pairing_need",
            language=None,
            params={"reference": pairing.reference},
            dedupe_key=f"pairing:{pairing.id}:need",
        )


def reject_pairing(*, pairing_id: str, actor: str, reason: str) -> Pairing:
    """A coordinator rejects a proposed pairing (the reason is required); nothing is taken."""
    pairing = get_pairing(pairing_id=pairing_id)
    if pairing.status != "proposed":
        raise Conflict(f"This pairing was already {pairing.status}.", code="pairing_decided")
    _decide(pairing, status="rejected", actor=actor, reason=reason)
    task = db.session.get(Task, pairing.task_id)
    if task is not None:
        _event(task, actor=actor, event="pairing_rejected", pairing=pairing)
    # Of two concurrent decisions, the loser's UPDATE finds the version changed (409).
    db.session.flush()
    return pairing


def cancel_pairing(*, pairing_id: str, actor: str, reason: str) -> Pairing:
    """Cancel a proposed or accepted pairing; an accepted one gives its quantity back to the
    offer (which reopens if it was exhausted and has not expired or been withdrawn)."""
    pairing = get_pairing(pairing_id=pairing_id)
    task = lock_row(Task, pairing.task_id)
    offer = lock_row(DonationOffer, pairing.offer_id)
    pairing = lock_row(Pairing, pairing.id)
    if pairing.status not in ("proposed", "accepted"):
        raise Conflict(f"This pairing was already {pairing.status}.", code="pairing_decided")
    if pairing.status == "accepted":
        offer.remaining += pairing.quantity
        offer.updated_at = utcnow()
        if offer.status == "exhausted":
            offer.status = "open"
            offer.closed_at = None
    _decide(pairing, status="cancelled", actor=actor, reason=reason)
    _event(task, actor=actor, event="pairing_cancelled", pairing=pairing)
    db.session.flush()
    return pairing


def fulfil_pairing(*, pairing_id: str, actor: str) -> Pairing:
    """Record that the goods of an accepted pairing were handed over."""
    pairing = get_pairing(pairing_id=pairing_id)
    if pairing.status != "accepted":
        raise Conflict(f"This pairing is {pairing.status}.", code="pairing_not_accepted")
    pairing.status = "fulfilled"
    task = db.session.get(Task, pairing.task_id)
    if task is not None:
        _event(task, actor=actor, event="pairing_fulfilled", pairing=pairing)
    db.session.flush()
    return pairing
