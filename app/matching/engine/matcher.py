"""Ranking candidates for a query: blocking, comparison, scoring."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.matching.engine.compare import TokenStats
from app.matching.engine.features import add_namesake_features, compare
from app.matching.engine.model import Model
from app.matching.engine.records import Geocoder, Profile

# How many blocked candidates get a full comparison.
SHORTLIST = 60


@dataclass(frozen=True, slots=True)
class Candidate:
    """A ranked candidate: the probability it is the same person, and why."""

    id: str
    score: float
    linear: float
    features: dict[str, float]
    explanation: dict[str, Any]


def rank(
    query: Profile,
    candidates: list[Profile],
    stats: TokenStats,
    model: Model,
    limit: int = 10,
    geocode: Geocoder | None = None,
) -> list[Candidate]:
    """Compare the query with each candidate and return the best, most probable first."""
    rows = [
        (candidate.id, *compare(query, candidate, stats, geocode))
        for candidate in candidates
        if candidate.id != query.id
    ]
    add_namesake_features([features for _, features, _ in rows])
    compared = [(cid, model.linear(f), f, e) for cid, f, e in rows]
    probabilities = model.posteriors([c[1] for c in compared])
    ranked = sorted(
        (
            Candidate(cid, p, z, f, e)
            for (cid, z, f, e), p in zip(compared, probabilities, strict=True)
        ),
        key=lambda c: (-c.score, c.id),
    )
    return ranked[:limit]
