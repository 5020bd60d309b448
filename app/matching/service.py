"""Matching reports: the blocking index in the database, the engine's ranking, the review queue.

Flushes, never commits. The pure engine (app.matching.engine) compares prepared profiles; this
module feeds it from the database and stores what it finds as match candidates.
"""

from __future__ import annotations

import logging
import math
import traceback
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import numpy as np
from sqlalchemy import Select, Table, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import joinedload

from app.common.bulk import COPY_FROM, add_to_counts, chunked, insert_rows, insert_tuples
from app.common.ids import is_id, new_id
from app.common.time import utcnow
from app.errors import Conflict, NotFound, ValidationError
from app.extensions import db
from app.geo import default_gazetteer
from app.geocoder import configured_geocoder
from app.matching.engine.blocking import (
    BLOCK_LIMIT,
    MAX_POSTING,
    Brief,
    blocking_keys,
    shortlist,
)
from app.matching.engine.compare import TokenStats
from app.matching.engine.matcher import SHORTLIST, Candidate, rank
from app.matching.engine.model import load_model
from app.matching.engine.records import Geocoder, PersonRecord, Profile, prepare
from app.matching.models import (
    MAX_TOKEN_LENGTH,
    POSTING_CHUNK,
    MatchCandidate,
    MatchKeyCount,
    MatchPosting,
    MatchProfile,
    NameTokenCount,
    chunk_postings,
    key_hash,
    pack_keys,
    parse_queue_key,
    total_key,
    unpack_keys,
    unpack_seqs,
)
from app.reports import service as reports_service
from app.reports.models import Report

log = logging.getLogger(__name__)

# Candidates below this probability are not stored. Low, because the true record is sometimes
# ranked second or third with a small share when a namesake takes most of it (dev data: a floor
# of 0.05 lost 1.3 points of recall@5); the review queue shows bands, and the low band waits.
SCORE_FLOOR = 0.002
# New candidates stored per report and kind: the best this many.
MATCH_LIMIT = 10
# Reports of the same kind compared in full for duplicates: a duplicate is a near copy, so the
# shortlist's name, age and sex agreement finds it among fewer than a match needs.
DUPLICATE_SHORTLIST = 20
# Candidates from this probability are in the medium band (high starts at the alert threshold).
MEDIUM_BAND = 0.5
# Blocking hands BLOCK_LIMIT reports per kind to the engine's shortlist and skips keys over
# MAX_POSTING, as scripts/train_matching.py does when it fits the model.
# The most index entries one lookup reads, rarest keys first: this bounds the cost of a lookup
# whatever the size of the registry. Measured on PostgreSQL with a million reports (11.7 million
# index rows) on a 2-core machine: the lookup of one kind takes p50 ~10 ms, p95 ~25 ms.
POSTING_BUDGET = 10_000
# Report fields that change what matching sees; a correction of anything else is not re-matched.
MATCHED_FIELDS = frozenset(
    {
        "full_name",
        "given_name",
        "family_name",
        "alternate_names",
        "description",
        "sex",
        "age",
        "date_of_birth",
        "home_city",
        "home_country",
        "last_known_location",
        "lat",
        "lon",
    }
)
_OPPOSITE = {"missing": "found", "found": "missing"}
_RESCORED = ("score", "band", "explanation", "features", "updated_at")


# --- Geocoding --------------------------------------------------------------------------------


@lru_cache(maxsize=100_000)
def geocode(text: str | None, country: str | None) -> tuple[float, float] | None:
    """The offline gazetteer as the engine's geocoder; bad input gives no point, never an error.

    Offline only, so matching never waits on the network while it holds database locks; the
    optional online geocoder is asked afterwards, in the background (geocode_online). Cached:
    the gazetteer is offline data, so the same text always gives the same place.
    """
    if not text or not text.strip():
        return None
    try:
        return _point(default_gazetteer().geocode(text[:500], country))
    except Exception as exc:  # noqa: BLE001 - a place we cannot read is no place, not an error
        log.warning("geocoding failed: %s", type(exc).__name__)
        return None


def _point(place: Any) -> tuple[float, float] | None:
    """A place's coordinates, when it has real ones."""
    if place is None:
        return None
    lat, lon = float(place.lat), float(place.lon)
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return lat, lon


def _stored_places(report_id: str) -> list[list[Any]] | None:
    """The geocoders' answers stored with a report's profile; None when it is not indexed."""
    return db.session.scalar(select(MatchProfile.places).where(MatchProfile.report_id == report_id))


def wants_online_geocoding(*, report: Report) -> bool:
    """Whether the online geocoder is on and the gazetteer left a place of this report unfound."""
    if configured_geocoder().online is None:
        return False
    places = _stored_places(report.id)
    return any(lat is None for _, _, lat, _ in places or ())


def geocode_online(*, report: Report) -> bool:
    """Ask the online geocoder for the places the gazetteer could not find; with any found,
    re-match and re-index the report with them. Returns whether a place was found.

    Runs in the background (app.matching.tasks), never in a request: the online geocoder is
    rate-limited and may take seconds. Its answers are stored with the profile like the
    gazetteer's, so later lookups rebuild the same points without asking again.
    """
    online = configured_geocoder().online
    if online is None:
        return False
    places = _stored_places(report.id)
    found: dict[tuple[str, str | None], tuple[float, float]] = {}
    for text, country, lat, _ in places or ():
        if lat is None:
            try:
                point = _point(online.geocode(text, country))
            except Exception as exc:  # noqa: BLE001 - an unreachable service finds nothing
                log.warning("online geocoding failed: %s", type(exc).__name__)
                point = None
            if point is not None:
                found[text, country] = point
    if not found:
        return False

    def offline_then_found(text: str | None, country: str | None) -> tuple[float, float] | None:
        return geocode(text, country) or found.get((text or "", country))

    query, answers = _prepare_fresh(report, offline_then_found)
    _match(report, query, MATCH_LIMIT)
    index_entries(entries=[_entry(report.id, report.kind, query, answers)])
    return True


_warm = False


def warm_up() -> None:
    """Load the gazetteer and the engine's data now, before a request holds database locks.

    The first load takes seconds. A request that paid it after writing its report would hold
    SQLite's write lock (PostgreSQL's row locks) all that time, and other writers would time out.
    """
    global _warm
    if _warm:
        return
    try:
        default_gazetteer()
        prepare(PersonRecord(id="", kind="missing", full_name="Ana García"))
        load_model()
    except Exception as exc:  # noqa: BLE001 - matching reports its own failures when it runs
        log.warning("matching warm-up failed: %s", type(exc).__name__)
    _warm = True


# --- Profiles ---------------------------------------------------------------------------------


# What the engine reads of a report (PFIF names), loaded as plain columns for candidates.
_RECORD_COLUMNS = (
    Report.id,
    Report.kind,
    Report.full_name,
    Report.given_name,
    Report.family_name,
    Report.alternate_names,
    Report.description,
    Report.sex,
    Report.age,
    Report.date_of_birth,
    Report.home_city,
    Report.home_country,
    Report.last_known_location,
    Report.lat,
    Report.lon,
    Report.source_date,
)
# The gazetteer's answers for one report: ((text, country, lat, lon), ...), lat and lon None
# when the place was not found.
Places = tuple[tuple[str, str | None, float | None, float | None], ...]


def _record(source: Any) -> PersonRecord:
    """The engine's view of a report (or of a row of _RECORD_COLUMNS)."""
    return PersonRecord(
        id=source.id,
        kind=source.kind,
        full_name=source.full_name,
        given_name=source.given_name,
        family_name=source.family_name,
        alternate_names=tuple(source.alternate_names or ()),
        description=source.description,
        sex=source.sex,
        age=source.age,
        date_of_birth=source.date_of_birth,
        home_city=source.home_city,
        home_country=source.home_country,
        last_known_location=source.last_known_location,
        lat=source.lat,
        lon=source.lon,
        year=source.source_date.year if source.source_date else utcnow().year,
    )


def _prepare_fresh(report: Any, geocoder: Geocoder | None = None) -> tuple[Profile, Places]:
    """A profile from the report as it is now, and what the geocoder answered for it
    (the offline gazetteer unless another is given)."""
    answers: dict[tuple[str, str | None], tuple[float, float] | None] = {}
    lookup = geocoder or geocode

    def recording(text: str | None, country: str | None) -> tuple[float, float] | None:
        point = lookup(text, country)
        if text:
            answers[text, country] = point
        return point

    profile = prepare(_record(report), recording)
    places = tuple((t, c, *(p if p else (None, None))) for (t, c), p in answers.items())
    return profile, places


@lru_cache(maxsize=50_000)
def _prepare_known(record: PersonRecord, places: Places) -> Profile:
    """A profile rebuilt with the gazetteer's answers of index time: no geocoding.

    Cached by the whole record, so a changed report is a new entry, never a stale one: the same
    common names come back as candidates query after query, and parsing them is most of the
    cost of a lookup.
    """
    answers = {(t, c): (lat, lon) for t, c, lat, lon in places if lat is not None}
    return prepare(record, lambda text, country: answers.get((text, country)))


def _counted(words: Iterable[str]) -> set[str]:
    """The name words NameTokenCount counts (longer ones are noise)."""
    return {w for w in words if w and len(w) <= MAX_TOKEN_LENGTH}


def _key_hashes(kind: str, profile: Profile) -> tuple[int, ...]:
    """The hashes a profile is filed under as a report of `kind`."""
    return tuple(dict.fromkeys(key_hash(kind, k) for k in blocking_keys(profile)))


# --- Writing the index ------------------------------------------------------------------------


def _insert(table: Table) -> Any:
    """An INSERT that can say ON CONFLICT on the session's database (both spell it the same)."""
    dialect = db.session.get_bind().dialect.name
    return (postgresql if dialect == "postgresql" else sqlite).insert(table)


def index_report(*, report: Report) -> None:
    """File a report in the blocking index and the name-word counts (replacing an older entry)."""
    index_reports(reports=[report])


@dataclass(frozen=True, slots=True)
class IndexEntry:
    """What the index keeps of one report (a MatchProfile row and its keys).

    Computed without the database, so a bulk import can prepare entries in worker processes.
    """

    report_id: str
    kind: str
    hashes: tuple[int, ...]
    name_words: tuple[str, ...]
    places: Places
    lat: float | None = None
    lon: float | None = None
    age_low: int | None = None
    age_high: int | None = None
    sex: str | None = None


def _entry(report_id: str, kind: str, profile: Profile, places: Places) -> IndexEntry:
    point = profile.point or (None, None)
    age = profile.age or (None, None)
    return IndexEntry(
        report_id=report_id,
        kind=kind,
        hashes=_key_hashes(kind, profile),
        name_words=profile.name_words,
        places=places,
        lat=point[0],
        lon=point[1],
        age_low=age[0],
        age_high=age[1],
        sex=profile.sex,
    )


def index_entry(source: Any) -> IndexEntry:
    """The index entry of a report (or of anything with the report's matched fields)."""
    profile, places = _prepare_fresh(source)
    return _entry(source.id, source.kind, profile, places)


def index_reports(*, reports: Sequence[Any]) -> int:
    """Index many reports (or rows of their matched fields) with one write per table.

    A report the engine cannot prepare is logged (type and id only) and left out. Returns how
    many were indexed.
    """
    entries: list[IndexEntry] = []
    for report in {r.id: r for r in reports}.values():
        try:
            entries.append(index_entry(report))
        except Exception as exc:  # noqa: BLE001 - one odd report must not stop the others
            _log_failure("indexing", report.id, exc)
    index_entries(entries=entries)
    return len(entries)


def index_report_ids(*, report_ids: Sequence[str]) -> int:
    """Index reports by id, reading only the columns matching needs; returns how many."""
    indexed = 0
    for chunk in chunked(report_ids):
        rows = db.session.execute(select(*_RECORD_COLUMNS).where(Report.id.in_(chunk))).all()
        indexed += index_reports(reports=rows)
    return indexed


def index_entries(*, entries: Sequence[IndexEntry]) -> None:
    """Write the profiles, keys and counts of prepared entries.

    Only what changed is written (a new location leaves the name keys alone), and the counts move
    by the difference, so re-indexing never counts a report twice.
    """
    if not entries:
        return
    profiles = MatchProfile.__table__
    stored = {
        row.report_id: row
        for chunk in chunked([e.report_id for e in entries])
        for row in db.session.execute(
            select(profiles.c.seq, profiles.c.report_id, profiles.c.words, profiles.c.hashes).where(
                profiles.c.report_id.in_(chunk)
            )
        )
    }
    key_deltas: Counter[int] = Counter()
    word_deltas: Counter[tuple[str, str]] = Counter()
    added_keys: list[tuple[int, int]] = []
    removed_keys: list[tuple[int, int]] = []
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    new_keys_of: dict[str, tuple[int, ...]] = {}
    now = utcnow()
    for entry in entries:
        values = _profile_values(entry, now)
        old = stored.get(entry.report_id)
        before_words: set[str] = set()
        if old is None:
            key_deltas[total_key(entry.kind)] += 1
            key_deltas.update(entry.hashes)
            new_keys_of[entry.report_id] = entry.hashes
            inserts.append(values)
        else:
            before = set(unpack_keys(old.hashes))
            for hashed in set(entry.hashes) - before:
                added_keys.append((hashed, old.seq))
                key_deltas[hashed] += 1
            for hashed in before - set(entry.hashes):
                removed_keys.append((hashed, old.seq))
                key_deltas[hashed] -= 1
            before_words = _counted(old.words.split())
            updates.append({"b_seq": old.seq, **{f"b_{k}": values[k] for k in _PROFILE_FIELDS}})
        words = _counted(entry.name_words)
        for word in words - before_words:
            word_deltas[entry.kind, word] += 1
        for word in before_words - words:
            word_deltas[entry.kind, word] -= 1

    if len(inserts) < COPY_FROM:
        # A few (the report of a POST): their numbers come back from the INSERT itself.
        numbered = (
            db.session.execute(
                insert(profiles).returning(profiles.c.seq, profiles.c.report_id), inserts
            ).all()
            if inserts
            else []
        )
    else:
        insert_rows(profiles, inserts)
        # Then each new report's number (RETURNING is not available to COPY).
        numbered = [
            row
            for chunk in chunked(list(new_keys_of))
            for row in db.session.execute(
                select(profiles.c.seq, profiles.c.report_id).where(profiles.c.report_id.in_(chunk))
            )
        ]
    for seq, report_id in numbered:
        added_keys.extend((h, seq) for h in new_keys_of[report_id])
    if updates:
        db.session.execute(
            update(profiles)
            .where(profiles.c.seq == bindparam("b_seq"))
            .values({name: bindparam(f"b_{name}") for name in _PROFILE_FIELDS}),
            updates,
        )
    _remove_postings(removed_keys)
    _insert_postings(added_keys)
    add_to_counts(MatchKeyCount.__table__, ("key_hash",), {(h,): d for h, d in key_deltas.items()})
    add_to_counts(NameTokenCount.__table__, ("kind", "token"), word_deltas)


_POSTING_COLUMNS = ("key_hash", "seq_first", "seqs")


def _insert_postings(pairs: list[tuple[int, int]]) -> None:
    """File reports under keys: (key_hash, seq) pairs become one chunk per key (more for a key
    past POSTING_CHUNK), written in key order so the B-tree fills page by page."""
    if not pairs:
        return
    hashes = np.fromiter((h for h, _ in pairs), dtype=np.int64, count=len(pairs))
    seqs = np.fromiter((q for _, q in pairs), dtype=np.int64, count=len(pairs))
    insert_tuples(MatchPosting.__table__, _POSTING_COLUMNS, chunk_postings(hashes, seqs))


def _chunks_of(keys: Iterable[int]) -> Iterator[tuple[int, int, bytes]]:
    """Every posting chunk (key_hash, seq_first, seqs) of these keys."""
    postings = MatchPosting.__table__
    for chunk in chunked(sorted(set(keys))):
        yield from db.session.execute(
            select(postings.c.key_hash, postings.c.seq_first, postings.c.seqs).where(
                postings.c.key_hash.in_(chunk)
            )
        )


def _delete_chunks(chunks: list[tuple[int, int]]) -> None:
    """Delete posting chunks by primary key (key_hash, seq_first)."""
    if not chunks:
        return
    postings = MatchPosting.__table__
    db.session.execute(
        delete(postings).where(
            postings.c.key_hash == bindparam("b_key_hash"),
            postings.c.seq_first == bindparam("b_seq_first"),
        ),
        [{"b_key_hash": key, "b_seq_first": first} for key, first in chunks],
    )


def _remove_postings(pairs: list[tuple[int, int]]) -> None:
    """Take reports out of keys: each chunk holding one of the (key_hash, seq) pairs is written
    again without it (or deleted when nothing is left)."""
    gone: dict[int, set[int]] = {}
    for hashed, seq in pairs:
        gone.setdefault(hashed, set()).add(seq)
    deleted: list[tuple[int, int]] = []
    kept: list[tuple[int, int]] = []
    for hashed, first, data in _chunks_of(gone):
        seqs = unpack_seqs(data)
        drop = np.isin(seqs, list(gone[hashed]))
        if drop.any():
            deleted.append((hashed, first))
            kept.extend((hashed, int(q)) for q in seqs[~drop])
    _delete_chunks(deleted)
    _insert_postings(kept)


# MatchProfile columns written at every (re-)index; report_id and kind never change.
_PROFILE_FIELDS = (
    "lat",
    "lon",
    "age_low",
    "age_high",
    "sex",
    "places",
    "words",
    "hashes",
    "indexed_at",
)


def _profile_values(entry: IndexEntry, now: Any) -> dict[str, Any]:
    return {
        "report_id": entry.report_id,
        "kind": entry.kind,
        "lat": entry.lat,
        "lon": entry.lon,
        "age_low": entry.age_low,
        "age_high": entry.age_high,
        "sex": entry.sex,
        "places": [list(place) for place in entry.places],
        "words": " ".join(entry.name_words),
        "hashes": pack_keys(entry.hashes),
        "indexed_at": now,
    }


# A key is compacted once it has this many chunks smaller than a tenth of a full one.
COMPACT_MIN_CHUNKS = 8
# Keys compacted per call (and per commit of the periodic task).
COMPACT_KEYS = 2000
_SMALL_CHUNK_BYTES = POSTING_CHUNK * 4 // 10


def compact_postings(*, max_keys: int = COMPACT_KEYS) -> int:
    """Merge the small chunks of keys filed report by report (each POST adds one-number chunks)
    into full ones, up to `max_keys` keys a call; returns how many keys were compacted.

    For the periodic task: without it, an index grown only by single reports keeps a row per key
    and report, as large as before posting chunks. The chunks read are deleted by primary key
    and written again merged, so a report filed meanwhile keeps its own chunk.
    """
    postings = MatchPosting.__table__
    keys = list(
        db.session.scalars(
            select(postings.c.key_hash)
            .where(func.length(postings.c.seqs) < _SMALL_CHUNK_BYTES)
            .group_by(postings.c.key_hash)
            .having(func.count() >= COMPACT_MIN_CHUNKS)
            .order_by(postings.c.key_hash)
            .limit(max_keys)
        )
    )
    if not keys:
        return 0
    deleted: list[tuple[int, int]] = []
    merged: list[tuple[int, int]] = []
    for hashed, first, data in _chunks_of(keys):
        deleted.append((hashed, first))
        merged.extend((hashed, int(q)) for q in unpack_seqs(data))
    _delete_chunks(deleted)
    _insert_postings(list(dict.fromkeys(merged)))
    return len(keys)


def unindex_reports(*, report_ids: Iterable[str]) -> int:
    """Take reports out of matching: the blocking index, the counts, and the review queue (their
    undecided candidates; confirmed and rejected ones stay as history until the purge). Returns
    how many were indexed.

    For deletion and expiry: call it before the reports go, or their index rows are left
    behind (invisible to lookups, which join MatchProfile, but counted in posting sizes), and
    coordinators would still be asked to review an expired report.
    """
    ids = list(dict.fromkeys(report_ids))
    if not ids:
        return 0
    for chunk in chunked(ids):
        db.session.execute(
            delete(MatchCandidate)
            .where(
                MatchCandidate.status == "potential",
                or_(
                    MatchCandidate.left_report_id.in_(chunk),
                    MatchCandidate.right_report_id.in_(chunk),
                ),
            )
            .execution_options(synchronize_session=False)
        )
    profiles = MatchProfile.__table__
    rows = [
        row
        for chunk in chunked(ids)
        for row in db.session.execute(
            select(profiles.c.seq, profiles.c.kind, profiles.c.words, profiles.c.hashes).where(
                profiles.c.report_id.in_(chunk)
            )
        )
    ]
    if not rows:
        return 0
    key_deltas: Counter[int] = Counter()
    word_deltas: Counter[tuple[str, str]] = Counter()
    removed: list[tuple[int, int]] = []
    for row in rows:
        key_deltas[total_key(row.kind)] -= 1
        for hashed in unpack_keys(row.hashes):
            removed.append((hashed, row.seq))
            key_deltas[hashed] -= 1
        for word in _counted(row.words.split()):
            word_deltas[row.kind, word] -= 1
    _remove_postings(removed)
    for chunk in chunked([row.seq for row in rows]):
        db.session.execute(delete(profiles).where(profiles.c.seq.in_(chunk)))
    add_to_counts(MatchKeyCount.__table__, ("key_hash",), {(h,): d for h, d in key_deltas.items()})
    add_to_counts(NameTokenCount.__table__, ("kind", "token"), word_deltas)
    return len(rows)


# --- Finding candidates -----------------------------------------------------------------------


def _key_counts(hashes: Iterable[int]) -> dict[int, int]:
    """Posting sizes of these keys (and of the kinds' totals), one primary-key lookup each."""
    wanted = list(dict.fromkeys(hashes))
    rows = db.session.execute(
        select(MatchKeyCount.key_hash, MatchKeyCount.count).where(
            MatchKeyCount.key_hash.in_(wanted)
        )
    )
    return {hashed: count for hashed, count in rows}


def _blocked(
    *,
    hashes: dict[str, list[int]],
    totals: dict[str, int],
    counts: dict[int, int],
    exclude: int | None,
) -> list[Brief]:
    """The reports that share the most informative keys with the query, as the shortlist's briefs.

    `hashes` are the query's keys for each kind of report (the key hash carries the kind). Per
    kind, keys are chosen rarest first until POSTING_BUDGET index entries, skipping any over
    MAX_POSTING: the cost is bounded whatever N is, and the rare keys are the ones that tell
    namesakes apart. Posting sizes come from MatchKeyCount; counting them on the fly would read
    every posting twice. One statement reads the posting chunks of every chosen key through the
    primary key (key_hash, seq_first); numpy sums, per report, the weight log(N / posting size)
    of the keys it shares, as an inverted index scores documents; the best BLOCK_LIMIT of each
    kind are read from MatchProfile in one more statement.
    """
    weights: dict[int, float] = {}
    common: list[int] = []  # per kind whose every key is over the cap: its rarest key
    for kind, kind_hashes in hashes.items():
        sizes = sorted((counts[h], h) for h in kind_hashes if counts.get(h, 0) > 0)
        budget, before = POSTING_BUDGET, len(weights)
        for size, hashed in sizes:
            if size > MAX_POSTING or size > budget:
                break
            weights[hashed] = math.log((max(totals[kind], 1) + 1) / size)
            budget -= size
        if sizes and len(weights) == before:
            common.append(sizes[0][1])
    # Raw SQL on the driver's cursor, with only integers of our own in it: the statement's shape
    # changes with every query (which keys, how many), so SQLAlchemy would compile it anew each
    # time, and that cost more than running it.
    cursor = db.session.connection().connection.cursor()
    try:
        best: list[int] = []
        if weights:
            listed = ", ".join(str(int(h)) for h in weights)
            cursor.execute(
                f"SELECT key_hash, seqs FROM match_postings WHERE key_hash IN ({listed})"
            )
            rows = cursor.fetchall()
            for kind_hashes in hashes.values():
                mine = set(kind_hashes)
                best += _best_scored([r for r in rows if r[0] in mine], weights, exclude)
        for hashed in common:
            # Only "José García", no age: the newest namesakes.
            best += _newest(cursor, hashed, exclude)
        if not best:
            return []
        cursor.execute(
            "SELECT report_id, kind, words, age_low, age_high, sex, lat, lon FROM match_profiles "
            f"WHERE seq IN ({', '.join(map(str, dict.fromkeys(best)))}) ORDER BY seq"
        )
        rows = cursor.fetchall()
    finally:
        cursor.close()
    return [
        Brief(
            report_id,
            kind,
            tuple(words.split()),
            (low, high) if low is not None else None,
            sex,
            (lat, lon) if lat is not None and lon is not None else None,
        )
        for report_id, kind, words, low, high, sex, lat, lon in rows
    ]


def _best_scored(
    rows: list[tuple[int, bytes]], weights: dict[int, float], exclude: int | None
) -> list[int]:
    """The BLOCK_LIMIT report numbers with the largest sum of the weights of the keys they are
    filed under (ties: the lower number first), as an inverted index scores documents."""
    if not rows:
        return []
    seqs = np.concatenate([unpack_seqs(data) for _, data in rows])
    scores = np.repeat([weights[key] for key, _ in rows], [len(data) // 4 for _, data in rows])
    if exclude is not None:
        keep = seqs != exclude
        seqs, scores = seqs[keep], scores[keep]
    numbers, at = np.unique(seqs, return_inverse=True)
    sums = np.bincount(at, weights=scores)
    return numbers[np.lexsort((numbers, -sums))[:BLOCK_LIMIT]].tolist()


def _newest(cursor: Any, hashed: int, exclude: int | None) -> list[int]:
    """The newest BLOCK_LIMIT reports filed under a key (highest numbers), from its last chunks."""
    found: set[int] = set()
    for limit in (8, BLOCK_LIMIT + 1):  # a few chunks hold them, unless they were filed alone
        cursor.execute(
            "SELECT seqs FROM match_postings WHERE key_hash = "
            f"{int(hashed)} ORDER BY seq_first DESC LIMIT {limit}"
        )
        found = {int(q) for (data,) in cursor.fetchall() for q in unpack_seqs(data)}
        found.discard(exclude)  # type: ignore[arg-type]
        if len(found) >= BLOCK_LIMIT:
            break
    return sorted(found, reverse=True)[:BLOCK_LIMIT]


def _candidate_profiles(report_ids: Iterable[str]) -> list[Profile]:
    """Indexed reports as engine profiles, rebuilt from plain columns (one query, no ORM objects).

    A report the engine cannot prepare is logged and left out, so it cannot poison the lookups
    of every report that blocks with it.
    """
    ids = list(dict.fromkeys(report_ids))
    if not ids:
        return []
    rows = db.session.execute(
        select(*_RECORD_COLUMNS, MatchProfile.places)
        .join(MatchProfile, MatchProfile.report_id == Report.id)
        .where(Report.id.in_(ids))
    )
    profiles = []
    for row in rows:
        try:
            profiles.append(_prepare_known(_record(row), tuple(map(tuple, row.places or ()))))
        except Exception as exc:  # noqa: BLE001 - one odd candidate must not poison others
            _log_failure("preparing candidate", row.id, exc)
    return profiles


def _token_stats(
    kinds: Iterable[str], words: set[str], totals: dict[str, int]
) -> dict[str, TokenStats]:
    """Per kind, how many reports contain each of these words (one query)."""
    counts: dict[str, dict[str, int]] = {kind: {} for kind in kinds}
    wanted = [w for w in words if len(w) <= MAX_TOKEN_LENGTH]
    if wanted:
        rows = db.session.execute(
            select(NameTokenCount.kind, NameTokenCount.token, NameTokenCount.count).where(
                NameTokenCount.kind.in_(list(counts)), NameTokenCount.token.in_(wanted)
            )
        )
        for kind, token, count in rows:
            counts[kind][token] = count
    return {kind: TokenStats(dict(counts[kind]), totals.get(kind, 0)) for kind in counts}


def band_for(*, score: float, alert_threshold: float) -> str:
    """high from the model's alert threshold, medium from 0.5, low below."""
    if score >= alert_threshold:
        return "high"
    return "medium" if score >= MEDIUM_BAND else "low"


def _pair(report: Report, other_id: str, other_kind: str) -> tuple[str, str, str]:
    """(left id, right id, kind): the missing report left for a match, the lower id left else."""
    if report.kind == other_kind:
        left, right = sorted((report.id, other_id))
        return left, right, "duplicate"
    if report.kind == "missing":
        return report.id, other_id, "match"
    return other_id, report.id, "match"


def _oriented(explanation: Any, query_side: str) -> Any:
    """The engine explains from the query's side; store it as left and right instead.

    The same pair can be scored from either report, so "query" and "candidate" would swap
    meaning from one run to the next.
    """
    other_side = "right" if query_side == "left" else "left"
    rename = {"query": query_side, "candidate": other_side}
    if isinstance(explanation, dict):
        return {
            "_".join(rename.get(part, part) for part in str(key).split("_")): _oriented(
                value, query_side
            )
            for key, value in explanation.items()
        }
    if isinstance(explanation, list):
        return [_oriented(item, query_side) for item in explanation]
    return explanation


def match_report(*, report: Report, limit: int = MATCH_LIMIT) -> list[MatchCandidate]:
    """Find the report's likely matches (opposite kind) and duplicates (same kind) and store them.

    New candidates enter as potential when they rank in the best `limit` of their kind with at
    least SCORE_FLOOR. Potential candidates already stored are re-scored; confirmed and rejected
    ones are never touched, and a rejected partner is not even compared again. Returns the
    candidates stored or re-scored by this run, best first.
    """
    places = _stored_places(report.id)
    if places is not None:
        query = _prepare_known(_record(report), tuple(map(tuple, places)))
    else:
        query, _ = _prepare_fresh(report)
    touched = _match(report, query, limit)
    if not touched:
        return []
    return list(
        db.session.scalars(
            _best_first(
                select(MatchCandidate).where(MatchCandidate.id.in_(touched))
            ).execution_options(populate_existing=True)
        )
    )


def _match(report: Report, query: Profile, limit: int) -> list[str]:
    """Rank the candidates of a prepared report and store them; returns the ids written."""
    kinds = (_OPPOSITE[report.kind], report.kind)
    hashes = {kind: _key_hashes(kind, query) for kind in kinds}
    totals_keys = {kind: total_key(kind) for kind in kinds}
    counts = _key_counts([*totals_keys.values(), *(h for hs in hashes.values() for h in hs)])
    totals = {kind: counts.get(totals_keys[kind], 0) for kind in kinds}
    own_seq = db.session.scalar(select(MatchProfile.seq).where(MatchProfile.report_id == report.id))

    # Partner id -> (candidate id, status) of the pairs stored already.
    existing: dict[str, tuple[str, str]] = {}
    for row_id, left_id, right_id, status in db.session.execute(
        select(
            MatchCandidate.id,
            MatchCandidate.left_report_id,
            MatchCandidate.right_report_id,
            MatchCandidate.status,
        ).where(
            or_(
                MatchCandidate.left_report_id == report.id,
                MatchCandidate.right_report_id == report.id,
            )
        )
    ):
        partner = right_id if left_id == report.id else left_id
        existing[partner] = (row_id, status)
    rejected = {p for p, (_, status) in existing.items() if status == "rejected"}

    # Blocking, then the engine's cheap shortlist on what the index keeps of each report, then
    # the full comparison of the shortlisted ones, as the model was trained. Stored partners
    # skip the shortlist: they are re-scored whatever it says, so a score follows corrections.
    briefs = [
        brief
        for brief in _blocked(hashes=hashes, totals=totals, counts=counts, exclude=own_seq)
        if brief.id not in rejected and brief.id != report.id
    ]
    chosen = {
        kind: [
            b.id
            for b in shortlist(
                query,
                [b for b in briefs if b.kind == kind],
                SHORTLIST if kind != report.kind else DUPLICATE_SHORTLIST,
            )
        ]
        for kind in kinds
    }
    wanted = {i for ids in chosen.values() for i in ids} | (set(existing) - rejected)
    by_id = {p.id: p for p in _candidate_profiles(wanted - {report.id})}
    candidates: dict[str, list[Profile]] = {}
    for kind in kinds:
        picked = [by_id[i] for i in chosen[kind] if i in by_id]
        kept = set(chosen[kind])
        candidates[kind] = picked + [
            p for i, p in by_id.items() if p.kind == kind and i in existing and i not in kept
        ]
    words = set(query.name_words) | {
        w for ps in candidates.values() for p in ps for w in p.name_words
    }
    stats = _token_stats(kinds, words, totals)

    model = load_model()
    now = utcnow()
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    touched: list[str] = []
    for kind in kinds:
        if not candidates[kind]:
            continue
        ranked: list[Candidate] = rank(
            query, candidates[kind], stats[kind], model, len(candidates[kind]), geocode
        )
        for position, candidate in enumerate(ranked):
            score = min(max(float(candidate.score), 0.0), 1.0)
            previous = existing.get(candidate.id)
            if previous is None and (position >= limit or score < SCORE_FLOOR):
                continue
            if previous is not None and previous[1] != "potential":
                continue
            left, right, pair_kind = _pair(report, candidate.id, kind)
            values = {
                "score": score,
                "band": band_for(score=score, alert_threshold=model.alert_threshold),
                "explanation": _oriented(
                    candidate.explanation, "left" if left == report.id else "right"
                ),
                "features": {k: float(v) for k, v in candidate.features.items()},
                "updated_at": now,
            }
            if previous is not None:
                row_id = previous[0]
                updates.append({"b_id": row_id, **{f"b_{k}": v for k, v in values.items()}})
                touched.append(row_id)
            else:
                row_id = new_id()
                inserts.append(
                    {
                        "id": row_id,
                        "left_report_id": left,
                        "right_report_id": right,
                        "kind": pair_kind,
                        "status": "potential",
                        "created_at": now,
                        "version": 1,
                        **values,
                    }
                )
                touched.append(row_id)

    table = MatchCandidate.__table__
    if updates:
        # Core, not the ORM: a re-score must not bump the version, or it would turn a
        # coordinator's concurrent decision into a conflict. Decided rows stay as they are.
        db.session.execute(
            update(table)
            .where(table.c.id == bindparam("b_id"), table.c.status == "potential")
            .values({name: bindparam(f"b_{name}") for name in _RESCORED}),
            updates,
        )
    if inserts:
        # Another request may have stored the pair since we looked: it keeps its row.
        stmt = _insert(table).on_conflict_do_nothing(
            index_elements=["left_report_id", "right_report_id"]
        )
        db.session.execute(stmt, inserts)
    return touched


def refresh_matches(*, report: Report, changed: Iterable[str] | None = None) -> bool:
    """Match and index a new or corrected report, without ever failing the caller.

    `changed`: the corrected fields; nothing is done when none of them matters to matching.
    Runs in a SAVEPOINT: if the engine fails on odd input, its writes are undone, the failure is
    logged by type with the report id (never a name), and the report is saved all the same.
    Matching runs before indexing so the shared count rows are locked only at the very end of
    the transaction. Returns whether matching succeeded.
    """
    if changed is not None and not MATCHED_FIELDS & set(changed):
        return True
    # The caller's own changes are flushed outside the SAVEPOINT: their errors (a concurrent
    # correction) are the caller's to report, not matching's to swallow.
    db.session.flush()
    try:
        with db.session.begin_nested():
            # Fresh: the report has just changed, so its stored profile may be out of date.
            query, places = _prepare_fresh(report)
            _match(report, query, MATCH_LIMIT)
            index_entries(entries=[_entry(report.id, report.kind, query, places)])
    except Exception as exc:  # noqa: BLE001 - matching must never lose a report
        _log_failure("matching", report.id, exc)
        return False
    return True


def match_reports(*, reports: Sequence[Report]) -> int:
    """Match each report of a batch in its own SAVEPOINT; returns how many succeeded.

    For bulk loads and re-indexing, after the batch was indexed. A report that fails is logged
    and skipped. On SQLite a SAVEPOINT opened outside a transaction commits when released, which
    is harmless here: the caller commits every batch anyway.
    """
    matched = 0
    for report in reports:
        try:
            with db.session.begin_nested():
                match_report(report=report)
            matched += 1
        except Exception as exc:  # noqa: BLE001 - one odd report must not stop the batch
            _log_failure("matching", report.id, exc)
    return matched


def _log_failure(stage: str, report_id: str, exc: BaseException) -> None:
    # Type and frames, never the message: it may quote a name.
    frames = "".join(traceback.format_tb(exc.__traceback__)).rstrip()
    log.error("%s failed for report %s: %s\n%s", stage, report_id, type(exc).__name__, frames)


# --- Reading ----------------------------------------------------------------------------------


def _with_reports(query: Select) -> Select:
    return query.options(
        joinedload(MatchCandidate.left_report), joinedload(MatchCandidate.right_report)
    )


def _without_minors(query: Select) -> Select:
    minors = select(Report.id).where(Report.is_minor.is_(True))
    return query.where(
        MatchCandidate.left_report_id.not_in(minors), MatchCandidate.right_report_id.not_in(minors)
    )


def _after(query: Select, after: str | None) -> Select:
    if not after:
        return query
    position = parse_queue_key(after)
    if position is None:
        raise ValidationError(errors={"cursor": ["Not a valid cursor."]})
    score, match_id = position
    return query.where(
        or_(
            MatchCandidate.score < score,
            (MatchCandidate.score == score) & (MatchCandidate.id < match_id),
        )
    )


def _best_first(query: Select) -> Select:
    return query.order_by(MatchCandidate.score.desc(), MatchCandidate.id.desc())


def list_matches(
    *,
    status: str = "potential",
    kind: str | None = None,
    limit: int,
    after: str | None = None,
    include_minors: bool = True,
) -> list[MatchCandidate]:
    """The review queue: candidates of a status, best first; limit + 1 rows for pagination.

    `after` is the queue_key of the last row of the previous page.
    """
    query = select(MatchCandidate).where(MatchCandidate.status == status)
    if kind:
        query = query.where(MatchCandidate.kind == kind)
    if not include_minors:
        query = _without_minors(query)
    query = _best_first(_after(query, after)).limit(limit + 1)
    return list(db.session.scalars(_with_reports(query)))


def matches_for_report(
    *,
    report: Report,
    limit: int = 50,
    after: str | None = None,
    include_rejected: bool = False,
    include_minors: bool = True,
) -> list[MatchCandidate]:
    """A report's candidates, best first, rejected ones left out unless asked; limit + 1 rows."""
    query = select(MatchCandidate).where(
        or_(
            MatchCandidate.left_report_id == report.id,
            MatchCandidate.right_report_id == report.id,
        )
    )
    if not include_rejected:
        query = query.where(MatchCandidate.status != "rejected")
    if not include_minors:
        query = _without_minors(query)
    query = _best_first(_after(query, after)).limit(limit + 1)
    return list(db.session.scalars(_with_reports(query)))


def get_match(*, match_id: str, include_minors: bool = True) -> MatchCandidate:
    """A candidate by id; one involving a minor is 'not found' to whoever may not see minors."""
    match = db.session.get(MatchCandidate, match_id) if is_id(match_id) else None
    if match is None or (
        not include_minors and (match.left_report.is_minor or match.right_report.is_minor)
    ):
        raise NotFound("No match with this id.", code="match_not_found")
    return match


def consent_answers(*, match: MatchCandidate) -> list[Any]:
    """The found person's answers to "may a coordinator share your contact?" that confirming
    this match asked by SMS (pending, granted or refused), oldest first."""
    from app.sms import service as sms_service

    return sms_service.list_consent_requests(match_id=match.id)


# --- Decisions --------------------------------------------------------------------------------


def _decide(match: MatchCandidate, *, status: str, actor: str, reason: str | None) -> None:
    if match.status != "potential":
        raise Conflict(f"This match was already {match.status}.", code="match_already_decided")
    match.status = status
    match.decided_by = actor
    match.decided_at = utcnow()
    match.updated_at = match.decided_at
    match.reason = reason
    # Now, before anything else: of two concurrent decisions, the loser's UPDATE finds the
    # version changed and fails here (StaleDataError -> 409) before it writes anything.
    db.session.flush()


def confirm_match(
    *, match_id: str, actor: str, reason: str | None = None, include_minors: bool = True
) -> MatchCandidate:
    """Confirm that the two reports are the same person, and link them.

    Not while either report is unverified (received by SMS and not yet checked): a confirmation
    sends messages, and nothing is sent on the strength of an unchecked text message.
    """
    match = get_match(match_id=match_id, include_minors=include_minors)
    unverified = [r.reference for r in (match.left_report, match.right_report) if not r.verified]
    if unverified:
        raise Conflict(
            f"Verify report {', '.join(unverified)} before confirming this match.",
            code="report_unverified",
        )
    _decide(match, status="confirmed", actor=actor, reason=(reason or "").strip() or None)
    _on_confirmed(match)
    return match


def reject_match(
    *, match_id: str, actor: str, reason: str, include_minors: bool = True
) -> MatchCandidate:
    """Reject a candidate: the pair is never suggested again."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(errors={"reason": ["Say why the reports are not the same person."]})
    match = get_match(match_id=match_id, include_minors=include_minors)
    _decide(match, status="rejected", actor=actor, reason=reason)
    return match


def _on_confirmed(match: MatchCandidate) -> None:
    """What follows a confirmation: each report gets a note linking it to the other, and for a
    missing/found match the SMS outbox gets, in this same transaction, the family's notice that
    a coordinator will contact them and the found person's consent request (never where anyone
    is). Sent after commit; a rolled-back confirmation sends nothing."""
    # Here, not at the top: the SMS domain calls matching for reports that arrive by SMS.
    from app.sms import service as sms_service
    from app.volunteers.service import tasks as volunteers_tasks

    left, right = match.left_report, match.right_report
    for report, other in ((left, right), (right, left)):
        reports_service.add_note(
            report=report,
            data={
                # A reference, never a name: notes are shown to partners too.
                "text": f"Confirmed as the same person as report {other.reference}.",
                "linked_report_id": other.id,
            },
            created_by=match.decided_by or "system",
        )
    if match.kind == "match":
        sms_service.notify_match_confirmed(
            match_id=match.id, missing_report=left, found_report=right
        )
        # A verification visit / escort task, offered to volunteers once this commits.
        volunteers_tasks.create_task_for_match(
            match_id=match.id, missing_report=left, found_report=right
        )


def match_counts(*, confirmed_since: datetime) -> dict[str, int]:
    """Candidates waiting for review, and matches confirmed since the given moment."""
    potential = select(func.count(MatchCandidate.id)).where(MatchCandidate.status == "potential")
    confirmed = select(func.count(MatchCandidate.id)).where(
        MatchCandidate.status == "confirmed", MatchCandidate.decided_at >= confirmed_since
    )
    return {
        "potential": db.session.scalar(potential) or 0,
        "confirmed": db.session.scalar(confirmed) or 0,
    }
