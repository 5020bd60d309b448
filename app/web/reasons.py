"""The assignment engine's reasons ("why this volunteer", "why nobody") in the reader's language.

Each reason the engine gives (app/volunteers/assign/explain.py) has a code, an English sentence
and its numbers. A code known here is written from its numbers through the catalogues; an
unknown code, or one whose numbers do not say enough (which skill, how far), keeps the engine's
English sentence, marked as English for screen readers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _

from app.web.volunteer_form import language_name, skill_label


@dataclass(frozen=True)
class ReasonText:
    """A reason as shown: the sentence and its language (None: the page's own)."""

    text: str
    lang: str | None = None


def _names(items: Any, label: Callable[[str], str]) -> str:
    return ", ".join(label(str(item)) for item in items or ())


def _count(data: Mapping[str, Any], key: str) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise KeyError(key)
    return value


def _distance(data: Mapping[str, Any], batch: bool) -> str:
    if data.get("km") is None:
        return _("Remote task: distance does not count")
    return _(
        "%(km)s km away (limit %(limit)s km)",
        km=f"{float(data['km']):.1f}",
        limit=f"{float(data['radius_km']):g}",
    )


def _preferred(data: Mapping[str, Any], batch: bool) -> str:
    if data.get("held"):
        return _("Also has %(skills)s", skills=_names(data["held"], skill_label))
    return _("Has none of the preferred skills")


def _load(data: Mapping[str, Any], batch: bool) -> str:
    return _(
        "Tasks in hand: %(current)s of at most %(max)s",
        current=_count(data, "current"),
        max=_count(data, "max"),
    )


def _declines(data: Mapping[str, Any], batch: bool) -> str:
    count = _count(data, "count")
    if not count:
        return _("No recent declines")
    return _("Offers declined lately: %(count)s", count=count)


def _cost(data: Mapping[str, Any], batch: bool) -> str:
    place, feasible = _count(data, "place"), _count(data, "feasible")
    cost = f"{float(data['cost']):.2f}"
    if place == 1:
        return _(
            "Lowest cost of the qualifying volunteers (%(num)s in all; cost %(cost)s)",
            num=feasible,
            cost=cost,
        )
    if batch:
        return _(
            "Number %(place)s by cost of %(num)s qualifying volunteers: those before were better "
            "used on other tasks (cost %(cost)s)",
            place=place,
            num=feasible,
            cost=cost,
        )
    return _(
        "Number %(place)s by cost of %(num)s qualifying volunteers (cost %(cost)s)",
        place=place,
        num=feasible,
        cost=cost,
    )


def _too_few(data: Mapping[str, Any], batch: bool) -> str:
    return _(
        "People needed: %(needed)s; volunteers who qualify: %(num)s",
        needed=_count(data, "needed"),
        num=_count(data, "feasible"),
    )


def _taken(data: Mapping[str, Any], batch: bool) -> str:
    return _(
        "Volunteers who qualify: %(num)s; sent: %(filled)s. The others were needed for tasks of "
        "higher priority or that suit them better",
        num=_count(data, "feasible"),
        filled=_count(data, "filled"),
    )


_WRITERS: dict[str, Callable[[Mapping[str, Any], bool], str]] = {
    "distance": _distance,
    "skills": lambda data, batch: _("Has %(skills)s", skills=_names(data["required"], skill_label)),
    "preferred_skills": _preferred,
    "languages": lambda data, batch: _(
        "Speaks %(languages)s", languages=_names(data["languages"], language_name)
    ),
    "vetted": lambda data, batch: _("Vetted for tasks with minors"),
    "load": _load,
    "declines": _declines,
    "cost": _cost,
    "no_volunteers": lambda data, batch: _("No volunteers are registered"),
    "bad_location": lambda data, batch: _("The task's location is not a place on Earth"),
    "not_vetted": lambda data, batch: _("None of the qualifying volunteers is vetted for minors"),
    "opted_out": lambda data, batch: _("Every qualifying volunteer has opted out"),
    "at_capacity": lambda data, batch: _("Every qualifying volunteer is at their maximum of tasks"),
    "no_match": lambda data, batch: _("No volunteer qualifies"),
    "too_few": _too_few,
    "taken": _taken,
}


def reason_text(reason: Any, batch: bool = False) -> ReasonText:
    """A stored reason ({code, text, data}) or the engine's Reason in the reader's language;
    `batch` for the plan of all open tasks (a later place there means "better used elsewhere")."""
    if isinstance(reason, Mapping):
        code, text, data = reason.get("code"), reason.get("text", ""), reason.get("data") or {}
    else:
        code, text, data = reason.code, reason.text, reason.data or {}
    writer = _WRITERS.get(code or "")
    if writer is not None:
        try:
            return ReasonText(writer(data, batch))
        except (KeyError, TypeError, ValueError):
            pass  # numbers missing or malformed: the engine's own sentence says it
    return ReasonText(str(text), "en")
