"""Comparing two people field by field: names (token alignment), age, sex, place."""

from __future__ import annotations

import math
from dataclasses import dataclass

from rapidfuzz.distance import JaroWinkler, Levenshtein

from app.matching.engine.names import FAMILY, GIVEN, UNKNOWN, ParsedName, Token

# Token similarity by kind of agreement, strongest first.
EXACT, VARIANT, NICKNAME, PHONETIC, PREFIX, TYPO, INITIAL = (
    "exact",
    "variant",
    "nickname",
    "phonetic",
    "prefix",
    "typo",
    "initial",
)
_MIN_ALIGN = 0.62


@dataclass(frozen=True, slots=True)
class TokenMatch:
    """Two aligned tokens and how they agree."""

    left: str
    right: str
    kind: str
    score: float
    left_role: str
    right_role: str


def token_similarity(a: Token, b: Token) -> tuple[float, str]:
    """How alike two name words are, in [0, 1], and the kind of agreement."""
    if a.text == b.text:
        return 1.0, EXACT
    if a.is_initial or b.is_initial:
        return (0.55, INITIAL) if a.text[0] == b.text[0] else (0.0, INITIAL)
    if a.group is not None and a.group == b.group:
        return 0.95, VARIANT
    if a.text in b.canon or b.text in a.canon or (a.canon and a.canon & b.canon):
        return 0.92, NICKNAME
    if a.phon == b.phon:
        return 0.9, PHONETIC
    jw = JaroWinkler.normalized_similarity(a.text, b.text, prefix_weight=0.1)
    lev = Levenshtein.normalized_similarity(a.text, b.text)
    shorter, longer = sorted((a.text, b.text), key=len)
    if len(shorter) >= 3 and longer.startswith(shorter):
        return max(0.78, lev), PREFIX
    if a.skel == b.skel and len(a.skel) >= 3:
        return max(0.82, lev), PHONETIC
    typo = 0.5 * jw + 0.5 * lev
    # Short words differ by one letter often by chance (Ana / Ina): demand more of them.
    if min(len(a.text), len(b.text)) <= 4:
        typo -= 0.08
    return typo, TYPO


def _merged_neighbours(tokens: tuple[Token, ...], other: tuple[Token, ...]) -> tuple[Token, ...]:
    """Join two adjacent words when the other side writes them as one ("Abreu Roldan")."""
    texts = {t.text for t in other}
    out: list[Token] = []
    i = 0
    while i < len(tokens):
        if i + 1 < len(tokens) and tokens[i].text + tokens[i + 1].text in texts:
            joined = next(t for t in other if t.text == tokens[i].text + tokens[i + 1].text)
            out.append(Token(joined.text, tokens[i + 1].role, joined.phon, joined.skel))
            i += 2
            continue
        out.append(tokens[i])
        i += 1
    return tuple(out)


def _roles_conflict(a: str, b: str) -> bool:
    return a != UNKNOWN and b != UNKNOWN and a != b


@dataclass(frozen=True, slots=True)
class NameComparison:
    """The best alignment between two readings of a name, with what it leaves over."""

    matches: tuple[TokenMatch, ...]
    left: ParsedName
    right: ParsedName
    left_unmatched: tuple[Token, ...]
    right_unmatched: tuple[Token, ...]


def align(left: ParsedName, right: ParsedName) -> NameComparison:
    """Greedy best-first alignment of the words of two readings (each word used once)."""
    lt = _merged_neighbours(left.tokens, right.tokens)
    rt = _merged_neighbours(right.tokens, left.tokens)
    pairs: list[tuple[float, int, int, str]] = []
    for i, a in enumerate(lt):
        for j, b in enumerate(rt):
            score, kind = token_similarity(a, b)
            if _roles_conflict(a.role, b.role):
                # Given and family swapped happens (clerks' forms), but costs a little.
                score *= 0.9
            if score >= _MIN_ALIGN or kind == INITIAL and score > 0:
                pairs.append((score, i, j, kind))
    pairs.sort(key=lambda p: (-p[0], p[1], p[2]))
    used_l: set[int] = set()
    used_r: set[int] = set()
    matches: list[TokenMatch] = []
    for score, i, j, kind in pairs:
        if i in used_l or j in used_r:
            continue
        used_l.add(i)
        used_r.add(j)
        matches.append(TokenMatch(lt[i].text, rt[j].text, kind, score, lt[i].role, rt[j].role))
    return NameComparison(
        matches=tuple(matches),
        left=ParsedName(lt),
        right=ParsedName(rt),
        left_unmatched=tuple(t for k, t in enumerate(lt) if k not in used_l),
        right_unmatched=tuple(t for k, t in enumerate(rt) if k not in used_r),
    )


class TokenStats:
    """How common each name word is among the registered people: rare names weigh more.

    Counts are smoothed with PRIOR_RECORDS imaginary records in which the word is absent, so a
    young registry (the first hours of a disaster, a test) does not call every word common just
    because two of its three reports share it.
    """

    PRIOR_RECORDS = 10_000

    def __init__(self, counts: dict[str, int] | None = None, total: int = 0) -> None:
        self.counts = counts or {}
        self.total = max(total, 0)

    def add(self, texts: list[str]) -> None:
        for text in set(texts):
            self.counts[text] = self.counts.get(text, 0) + 1
        self.total += 1

    def log_share(self, text: str) -> float:
        """log of the (smoothed) share of records that contain the word."""
        return math.log((self.counts.get(text, 0) + 1) / (self.total + self.PRIOR_RECORDS + 1))

    def rarity(self, text: str) -> float:
        """Near 0 for a word most records have, 1 for a word never seen."""
        count = self.counts.get(text, 0)
        size = self.total + self.PRIOR_RECORDS + 1
        return max(math.log(size / (count + 1)), 0.0) / math.log(size)


def name_features(cmp: NameComparison, stats: TokenStats) -> dict[str, float]:
    """Numbers that describe how well two readings agree, for the scoring model."""
    rarity = stats.rarity
    weight_left = sum(rarity(t.text) for t in cmp.left.tokens) or 1e-9
    weight_right = sum(rarity(t.text) for t in cmp.right.tokens) or 1e-9
    matched_weight = 0.0
    strong = 0
    best_rarity = 0.0
    # log P(a record carries every strongly agreeing word), words taken as independent.
    log_share = 0.0
    for m in cmp.matches:
        if m.kind == INITIAL:
            w = 0.3 * rarity(m.right)
        else:
            w = min(rarity(m.left), rarity(m.right)) * m.score
        matched_weight += w
        if m.score >= 0.88:
            strong += 1
            best_rarity = max(best_rarity, min(rarity(m.left), rarity(m.right)))
            log_share += stats.log_share(m.right)
    swapped = any(_roles_conflict(m.left_role, m.right_role) for m in cmp.matches)
    left_given = [t for t in cmp.left_unmatched if t.role == GIVEN]
    right_given = [t for t in cmp.right_unmatched if t.role == GIVEN]
    left_family = [t for t in cmp.left_unmatched if t.role == FAMILY]
    right_family = [t for t in cmp.right_unmatched if t.role == FAMILY]
    both_left = bool(cmp.left_unmatched) and bool(cmp.right_unmatched)
    kinds = [m.kind for m in cmp.matches]
    perfect = bool(cmp.matches) and not cmp.left_unmatched and not cmp.right_unmatched
    perfect = perfect and all(m.score >= 0.88 for m in cmp.matches)
    return {
        "name_perfect": float(perfect),
        "name_cov_left": min(matched_weight / weight_left, 1.0),
        "name_cov_right": min(matched_weight / weight_right, 1.0),
        "name_strong": float(min(strong, 3)),
        "name_best_rarity": best_rarity,
        "name_matched_weight": matched_weight,
        "name_mean_score": (
            sum(m.score for m in cmp.matches) / len(cmp.matches) if cmp.matches else 0.0
        ),
        "name_swapped": float(swapped),
        # A word left over on both sides is a different name, not a missing one.
        "name_conflict": float(both_left),
        "name_given_conflict": float(bool(left_given and right_given)),
        "name_family_conflict": float(bool(left_family and right_family)),
        "name_unmatched": float(len(cmp.left_unmatched) + len(cmp.right_unmatched)),
        "name_left_unmatched": float(min(len(cmp.left_unmatched), 3)),
        "name_right_unmatched": float(min(len(cmp.right_unmatched), 3)),
        "name_exact_words": float(min(kinds.count(EXACT) + kinds.count(VARIANT), 4)),
        "name_fuzzy_words": float(min(kinds.count(TYPO) + kinds.count(PREFIX), 3)),
        "name_sound_words": float(min(kinds.count(PHONETIC) + kinds.count(NICKNAME), 3)),
        "name_initials": float(min(kinds.count(INITIAL), 2)),
        # The given name is where namesakes and relatives differ: did it agree, and how well?
        "name_given_score": max(
            (m.score for m in cmp.matches if GIVEN in (m.left_role, m.right_role)), default=0.0
        ),
        "name_first_words": float(_first_words_aligned(cmp)),
        # How many registered people would carry this combination by chance (log, >= -8):
        # "Maria Cruz" is common as a pair though neither word is rare on its own.
        "name_expected_log": (max(math.log(stats.total + 1) + log_share, -8.0) if strong else 0.0),
    }


def _first_words_aligned(cmp: NameComparison) -> bool:
    """Whether the first written words agree (usually the given names in a plain full name)."""
    if not cmp.left.tokens or not cmp.right.tokens:
        return False
    first = (cmp.left.tokens[0].text, cmp.right.tokens[0].text)
    return any((m.left, m.right) == first and m.score >= 0.8 for m in cmp.matches)


def best_name_comparison(
    left: tuple[ParsedName, ...], right: tuple[ParsedName, ...], stats: TokenStats
) -> tuple[NameComparison | None, dict[str, float]]:
    """The pair of readings that agree best, and its features."""
    best: tuple[float, NameComparison | None, dict[str, float]] = (-1.0, None, {})
    for a in left:
        for b in right:
            cmp = align(a, b)
            feats = name_features(cmp, stats)
            key = feats["name_matched_weight"] - 0.1 * feats["name_unmatched"]
            if key > best[0]:
                best = (key, cmp, feats)
    return best[1], best[2]
