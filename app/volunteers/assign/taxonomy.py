"""The skills taxonomy (app/volunteers/data/skills.json): which skill ids exist."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data" / "skills.json"
PER_LANGUAGE_SEPARATOR = ":"


@dataclass(frozen=True, slots=True)
class Taxonomy:
    """Skill ids with their labels, and the language codes interpretation is offered in."""

    labels: dict[str, str]
    descriptions: dict[str, str]
    languages: dict[str, str]
    per_language: frozenset[str]

    @property
    def skills(self) -> frozenset[str]:
        """Every valid skill id, `interpretation:ar` and the like included."""
        plain = {s for s in self.labels if s not in self.per_language}
        per = {
            f"{s}{PER_LANGUAGE_SEPARATOR}{lang}"
            for s in self.per_language
            for lang in self.languages
        }
        return frozenset(plain | per)

    def unknown(self, skills: Iterable[str]) -> list[str]:
        """The given skill ids the taxonomy does not know, sorted (for a 422)."""
        known = self.skills
        return sorted({s for s in skills if s not in known})

    def label(self, skill: str) -> str:
        """A readable name: "Interpretation (Arabic)" for `interpretation:ar`."""
        base, _, lang = skill.partition(PER_LANGUAGE_SEPARATOR)
        name = self.labels.get(base, skill)
        return f"{name} ({self.languages.get(lang, lang)})" if lang else name


@cache
def load_taxonomy(path: Path = DATA) -> Taxonomy:
    """Read the taxonomy once per process."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    skills = raw["skills"]
    return Taxonomy(
        labels={k: v["label"] for k, v in skills.items()},
        descriptions={k: v["description"] for k, v in skills.items()},
        languages=dict(raw["languages"]),
        per_language=frozenset(k for k, v in skills.items() if v.get("per_language")),
    )
