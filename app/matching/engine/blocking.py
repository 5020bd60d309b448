"""Blocking keys: cheap keys that the same person's records share, to find candidates fast.

Every name reading yields, for each ordered pair of its words (a, b), the key
"first letter of a | sound skeleton of b", and each rare-enough word its own skeleton key; with
an age, the pair keys again with the decade, so namesakes of other ages fall away.
A typo in one word still leaves the keys built from the other word's sound; a swap of given
and family name yields the same pairs; nicknames and spelling variants add keys for their
formal names (Pepe García also files under José García).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from rapidfuzz import fuzz, process

from app.geo import distance_km
from app.matching.engine.names import Token
from app.matching.engine.phonetic import skeleton
from app.matching.engine.records import Profile

MAX_KEYS = 96
# Name keys are also filed with the decade of the age (see age_buckets).
AGE_BUCKET = 10
AGE_SLACK = 3
MAX_AGE_SPAN = 15
# How many blocked candidates go on to the shortlist, and the posting size past which a key is
# too common to tell anyone apart ("j|grs": every José García). The service's SQL lookup and
# the training script use the same values, so the model is fitted on the pipeline it serves.
BLOCK_LIMIT = 400
MAX_POSTING = 5000


def _forms(token: Token) -> set[tuple[str, str]]:
    """(first letter, skeleton) of the word and of every formal name it may stand for."""
    forms = {(token.text[0], token.skel)}
    for canon in token.canon:
        if canon:
            forms.add((canon[0], skeleton(canon.split()[0])))
    if token.group:
        forms.add((token.group[0], skeleton(token.group)))
    return forms


def blocking_keys(profile: Profile) -> list[str]:
    """The keys a profile is filed under, most selective kinds first."""
    sound_pairs: list[str] = []
    letter_pairs: list[str] = []
    word_keys: list[str] = []
    for reading in profile.names:
        tokens = [t for t in reading.tokens if t.text]
        forms = [_forms(t) for t in tokens]
        for i, left in enumerate(forms):
            for j, right in enumerate(forms):
                if i == j:
                    continue
                for initial, _ in left:
                    for _, skel in right:
                        if skel and not tokens[j].is_initial:
                            sound_pairs.append(f"{initial}|{skel}")
                if i < j:
                    # Two letters of each word: survives typos past the second letter of both.
                    a, b = sorted((tokens[i].text[:2], tokens[j].text[:2]))
                    letter_pairs.append(f"{a}~{b}")
        for token, token_forms in zip(tokens, forms, strict=True):
            if token.is_initial:
                continue
            word_keys.extend(f"#w:{skel}" for _, skel in token_forms if len(skel) >= 2)
            if len(token.text) >= 3:
                # A lone word with a typo ("Fracno" for Franco) still shares its first letters.
                word_keys.append(f"#p:{token.text[:3]}")
    # The sound pairs again, with the age: among a million reports every key of "Nguyễn Thị Hoa"
    # or "José García" is too common to read, and these are what still finds her among her
    # namesakes.
    aged = [f"{pair}@{bucket}" for bucket in age_buckets(profile.age) for pair in sound_pairs]
    keys = list(dict.fromkeys(sound_pairs + letter_pairs + word_keys + aged))
    return keys[:MAX_KEYS]


def age_buckets(age: tuple[int, int] | None) -> tuple[int, ...]:
    """The decades an age interval reaches, widened by AGE_SLACK years on each side, so two
    ages within twice the slack of each other always share one. A range wider than
    MAX_AGE_SPAN says too little to file under."""
    if age is None or age[1] - age[0] > MAX_AGE_SPAN:
        return ()
    low, high = max(age[0] - AGE_SLACK, 0), age[1] + AGE_SLACK
    return tuple(range(low // AGE_BUCKET, high // AGE_BUCKET + 1))


class Shortlistable(Protocol):
    """What the shortlist reads of a candidate (a Profile has it; so has a Brief)."""

    @property
    def name_words(self) -> tuple[str, ...]: ...

    @property
    def age(self) -> tuple[int, int] | None: ...

    @property
    def sex(self) -> str | None: ...

    @property
    def point(self) -> tuple[float, float] | None: ...


@dataclass(frozen=True, slots=True)
class Brief:
    """A candidate as the shortlist sees it: enough to choose, too little to compare.

    An index can keep this much of every record and prepare only the shortlisted ones in full.
    """

    id: str
    kind: str
    name_words: tuple[str, ...]
    age: tuple[int, int] | None = None
    sex: str | None = None
    point: tuple[float, float] | None = None


S = TypeVar("S", bound=Shortlistable)


def name_string(profile: Shortlistable) -> str:
    """All name words of a profile in one string, for the cheap shortlist comparison."""
    return " ".join(profile.name_words)


def _cheap_agreement(query: Profile, candidate: Shortlistable) -> float:
    """Age, sex and place agreement in the shortlist's units (a name match is worth up to 200)."""
    bonus = 0.0
    if query.age and candidate.age:
        gap = max(0, max(query.age[0], candidate.age[0]) - min(query.age[1], candidate.age[1]))
        bonus += 40.0 if gap <= 2 else (10.0 if gap <= 6 else -30.0)
    if query.sex and candidate.sex:
        bonus += 10.0 if query.sex == candidate.sex else -30.0
    if query.point and candidate.point:
        # Namesakes of the same age are told apart by place: a near one is worth comparing.
        km = distance_km(query.point, candidate.point)
        bonus += 20.0 if km <= 25 else (10.0 if km <= 75 else (0.0 if km <= 200 else -10.0))
    return bonus


def shortlist(query: Profile, candidates: Sequence[S], limit: int) -> list[S]:
    """The candidates most worth a full comparison, by a cheap whole-name score plus age and sex.

    Blocking finds a few hundred records sharing a key; the full comparison is costlier, so a
    token-set similarity of the name strings, nudged by age and sex, picks the ones worth it.
    """
    if len(candidates) <= limit:
        return list(candidates)
    target = name_string(query)
    texts = [name_string(c) for c in candidates]
    # rapidfuzz's process functions loop in C over all the names at once.
    scores = [0.0] * len(texts)
    for scorer in (fuzz.token_set_ratio, fuzz.WRatio):
        for _, score, i in process.extract(target, texts, scorer=scorer, limit=None):
            scores[i] += score
    scored = [(scores[i] + _cheap_agreement(query, c), i, c) for i, c in enumerate(candidates)]
    # Best first; among equals, the order blocking gave.
    scored.sort(key=lambda item: (-item[0], item[1]))
    return [c for _, _, c in scored[:limit]]


class KeyIndex:
    """An in-memory inverted index from blocking keys to record ids (tests, benchmarks)."""

    def __init__(self) -> None:
        self.postings: dict[str, list[str]] = {}
        self.size = 0

    def add(self, record_id: str, keys: Iterable[str]) -> None:
        for key in keys:
            self.postings.setdefault(key, []).append(record_id)
        self.size += 1

    def candidates(self, keys: list[str], limit: int, max_posting: int) -> list[str]:
        """Ids sharing the most informative keys with the query, best first."""
        scores: Counter[str] = Counter()
        total = max(self.size, 1)
        for key in keys:
            posting = self.postings.get(key)
            if not posting or len(posting) > max_posting:
                continue
            weight = math.log((total + 1) / len(posting))
            for record_id in posting:
                scores[record_id] += weight
        return [record_id for record_id, _ in scores.most_common(limit)]
