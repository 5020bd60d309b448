"""The volunteer sign-up form: browser fields to `VolunteerInSchema` input, friendly errors.

Like app/web/forms.py for reports: the API's own schema validates, this module only turns the
browser's strings (checkboxes, local date-times) into the schema's input and its English
messages into plain words in the reader's language.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import marshmallow as ma
from babel import Locale, UnknownLocaleError
from flask_babel import get_locale, get_timezone, lazy_gettext
from flask_babel import gettext as _

from app.volunteers.assign import load_taxonomy
from app.volunteers.schemas.volunteers import MAX_TASKS, VolunteerInSchema

HONEYPOT = "website"
# Availability windows the page offers (the schema takes more; a coordinator can add them).
WINDOWS = 3
INTERPRETATION = "interpretation"
# The taxonomy's labels in the catalogues (app/volunteers/data/skills.json keeps the ids and
# the English); a skill added to the data file without a line here shows its English label.
SKILL_LABELS = {
    "search_rescue": lazy_gettext("Search and rescue"),
    "first_aid": lazy_gettext("First aid"),
    "medical": lazy_gettext("Medical"),
    "psychosocial": lazy_gettext("Psychosocial support"),
    "interpretation": lazy_gettext("Interpretation"),
    "driving": lazy_gettext("Driving and transport"),
    "childcare": lazy_gettext("Childcare"),
    "shelter_ops": lazy_gettext("Shelter operations"),
    "logistics": lazy_gettext("Logistics"),
    "it_data": lazy_gettext("IT and data"),
}
_LONGER = re.compile(r"^Longer than (\d+) characters\.$")


def skill_label(skill: str) -> str:
    """A skill id in the reader's language: "Interpretation (Arabic)" for interpretation:ar."""
    base, _sep, code = skill.partition(":")
    name = str(SKILL_LABELS.get(base) or load_taxonomy().labels.get(base, skill))
    return f"{name} ({language_name(code)})" if code else name


def skill_choices() -> list[tuple[str, str]]:
    """(id, label) of every skill a volunteer may tick, in the taxonomy's order."""
    return [(skill, skill_label(skill)) for skill in load_taxonomy().labels]


def language_name(code: str, locale: str | None = None) -> str:
    """A language code's name in the reader's language (CLDR), else the taxonomy's English."""
    try:
        name = Locale.parse(locale or _locale()).languages.get(code)
    except (UnknownLocaleError, ValueError):
        name = None
    return name or load_taxonomy().languages.get(code, code)


def language_choices(locale: str) -> list[tuple[str, str]]:
    """(code, name) of the taxonomy's languages, sorted by name in the reader's language."""
    names = [(code, language_name(code, locale)) for code in load_taxonomy().languages]
    return sorted(names, key=lambda item: item[1].casefold())


def _locale() -> str:
    return str(get_locale() or "en")


def payload_from_form(form: Any) -> dict[str, Any]:
    """What the browser sent, as VolunteerInSchema's input (blank fields left out).

    Ticking "Interpretation" means interpreting in every language ticked, so it becomes one
    `interpretation:<code>` skill per language (the taxonomy's per-language ids).
    """
    data: dict[str, Any] = {}
    for name in ("name", "phone", "home_location", "max_tasks"):
        value = (form.get(name) or "").strip()
        if value:
            data[name] = value
    languages = [code for code in form.getlist("languages") if code]
    languages += [c for c in re.split(r"[\s,;]+", form.get("other_languages") or "") if c]
    if languages:
        data["languages"] = list(dict.fromkeys(languages))
    if skills := expand_skills(form.getlist("skills"), languages):
        data["skills"] = skills
    windows = []
    for index in range(WINDOWS):
        start = (form.get(f"start-{index}") or "").strip()
        end = (form.get(f"end-{index}") or "").strip()
        if start or end:
            windows.append({"start": local_to_iso(start), "end": local_to_iso(end)})
    if windows:
        data["availability"] = windows
    return data


def expand_skills(ticked: list[str], languages: list[str]) -> list[str]:
    """The skills ticked, "Interpretation" as one `interpretation:<code>` per language given
    that the taxonomy knows (its per-language ids)."""
    skills = [s for s in ticked if s and s != INTERPRETATION]
    if INTERPRETATION in ticked:
        offered = load_taxonomy().languages
        bases = dict.fromkeys(c.split("-")[0].split("_")[0].lower() for c in languages)
        skills += [f"{INTERPRETATION}:{code}" for code in bases if code in offered]
    return skills


def interpretation_without_language(form: Any, data: dict[str, Any] | None) -> bool:
    """ "Interpretation" ticked, but no language the taxonomy knows to interpret in."""
    if INTERPRETATION not in form.getlist("skills"):
        return False
    skills = (data or {}).get("skills") or []
    return not any(s.startswith(f"{INTERPRETATION}:") for s in skills)


def interpretation_message() -> str:
    """The error next to the skills when interpretation has no language."""
    return _("Interpretation needs at least one language: tick or write it.")


def parse_time(text: str) -> datetime | None:
    """A stored ISO 8601 time (an availability window's end), for display."""
    try:
        return datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None


def local_to_iso(text: str) -> str:
    """A browser's local date-time (2026-11-22T09:00) in the site's time zone, as ISO 8601
    with its offset; anything else goes on unchanged for the schema to refuse."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=get_timezone())
    return moment.isoformat()


def validate(data: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, list[str]]]:
    """(loaded data, {}) or (None, friendly messages per form field)."""
    try:
        return VolunteerInSchema().load(data), {}
    except ma.ValidationError as exc:
        return None, friendly_errors(exc.normalized_messages(), data)


def friendly_errors(messages: Mapping[str, Any], data: Mapping[str, Any]) -> dict[str, list[str]]:
    """The schema's messages, per form field, in plain words in the reader's language."""
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        if message not in errors.setdefault(field, []):
            errors[field].append(message)

    for field, raw in messages.items():
        if field == "availability" and isinstance(raw, Mapping):
            for index, problems in raw.items():
                if isinstance(index, int):
                    add(f"start-{index}", _window_message(problems))
                else:
                    add("start-0", _window_message(problems))
            continue
        if field == "availability":
            add("start-0", _("Give at most %(count)s periods.", count=WINDOWS))
            continue
        target = "skills" if field == "skills" else field
        if field == "languages":
            target = "other_languages" if data.get("languages") else "languages"
        for text in flatten(raw):
            add(target, friendly(field, text))
    return errors


def _window_message(problems: Any) -> str:
    if (
        isinstance(problems, Mapping)
        and set(problems) == {"end"}
        and any("after" in t for t in flatten(problems["end"]))
    ):
        return _("The end must come after the start.")
    return _("Give both a start and an end, as a date and a time.")


def flatten(raw: Any):
    """Every message string in marshmallow's nested errors."""
    if isinstance(raw, str):
        yield raw
    elif isinstance(raw, Mapping):
        for value in raw.values():
            yield from flatten(value)
    elif isinstance(raw, list | tuple):
        for value in raw:
            yield from flatten(value)


def friendly(field: str, text: str) -> str:
    """A schema message in plain words, in the reader's language."""
    if match := _LONGER.match(text):
        return _("This is too long: use at most %(count)s characters.", count=match.group(1))
    if "control character" in text:
        return _("Remove the special characters from this field.")
    if field == "name":
        return _("Write your name.")
    if field == "phone":
        return _("Enter a phone number with its country code, such as +1 555 555 0123.")
    if field == "languages":
        return _("Write language codes such as es, en or ht, separated by commas.")
    if field == "max_tasks":
        return _("Choose a number from 1 to %(max)s.", max=MAX_TASKS)
    if field == "skills":
        return _("Choose among the skills listed.")
    return _("Check this field.")
