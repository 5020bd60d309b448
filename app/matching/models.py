"""Match candidates and the blocking index, kept in the database (SQLite and PostgreSQL alike)."""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache
from typing import Any

import numpy as np
from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.common.ids import ID_LENGTH, is_id, new_id
from app.common.time import utcnow
from app.common.types import UTCDateTime
from app.extensions import db
from app.reports.models import Report

KINDS = ("match", "duplicate")
STATUSES = ("potential", "confirmed", "rejected")
BANDS = ("high", "medium", "low")
# Folded name words are ASCII letters and digits; longer ones are noise and are not counted.
MAX_TOKEN_LENGTH = 100


@lru_cache(maxsize=200_000)
def key_hash(kind: str, key: str) -> int:
    """A stable 63-bit hash of a blocking key of a kind of report (fits a signed BIGINT).

    The kind is part of the hash, so one index serves both kinds without a column for it.
    Python's hash() is salted per process, so it cannot be stored. Cached: the common keys
    ("j|grs") come back report after report.
    """
    data = f"{kind}\x1f{key}".encode()
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big") >> 1


def total_key(kind: str) -> int:
    """The MatchKeyCount row that counts the indexed reports of a kind (the N of the key weights
    and of the name-word rarity). No blocking key is spelled like it."""
    return key_hash(kind, "#total")


def pack_keys(hashes: Iterable[int]) -> bytes:
    """Key hashes as MatchProfile.hashes stores them."""
    values = list(hashes)
    return struct.pack(f">{len(values)}q", *values)


def unpack_keys(data: bytes | None) -> list[int]:
    """MatchProfile.hashes back into key hashes."""
    if not data:
        return []
    return list(struct.unpack(f">{len(data) // 8}q", data))


# Report numbers per MatchPosting row at most: reading a common key's newest reports, or taking
# one report out of it, reads a few kilobytes, never the whole key.
POSTING_CHUNK = 1024
_SEQ = np.dtype("<i4")


def pack_seqs(seqs: Any) -> bytes:
    """Report numbers as MatchPosting.seqs stores them."""
    return np.asarray(seqs, dtype=_SEQ).tobytes()


def unpack_seqs(data: bytes | memoryview | None) -> np.ndarray:
    """MatchPosting.seqs back into report numbers (a read-only array)."""
    return np.frombuffer(data or b"", dtype=_SEQ)


def chunk_postings(hashes: np.ndarray, seqs: np.ndarray) -> list[tuple[int, int, bytes]]:
    """(key_hash, seq) pairs as MatchPosting rows: per key, ascending numbers in chunks of at
    most POSTING_CHUNK."""
    if not len(hashes):
        return []
    order = np.lexsort((seqs, hashes))
    hashes, seqs = hashes[order], seqs[order]
    starts = np.flatnonzero(np.r_[True, hashes[1:] != hashes[:-1]])
    ends = np.r_[starts[1:], len(hashes)]
    rows = []
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        key = int(hashes[start])
        for at in range(start, end, POSTING_CHUNK):
            chunk = seqs[at : min(at + POSTING_CHUNK, end)]
            rows.append((key, int(chunk[0]), chunk.astype(_SEQ).tobytes()))
    return rows


def queue_key(score: float, match_id: str) -> str:
    """The (score, id) sort key as an opaque alphanumeric string, for review-queue cursors.

    A non-negative double's IEEE bits sort like the number and round-trip exactly, so the next
    page starts precisely after the last row of this one.
    """
    bits = struct.unpack(">Q", struct.pack(">d", max(float(score), 0.0)))[0]
    return f"{bits:016x}{match_id}"


def parse_queue_key(text: str) -> tuple[float, str] | None:
    """queue_key() backwards; None when text is not one."""
    if len(text) != 16 + ID_LENGTH or not is_id(text[16:]):
        return None
    try:
        bits = int(text[:16], 16)
    except ValueError:
        return None
    score = struct.unpack(">d", struct.pack(">Q", bits))[0]
    if not 0.0 <= score <= 1.0:
        return None
    return score, text[16:]


class MatchCandidate(db.Model):
    """Two reports that may be the same person: a missing/found match or a duplicate.

    The pair is stored once, in canonical order: the missing report on the left for a match,
    the lower id on the left for a duplicate. The version column makes concurrent decisions
    on the same pair fail for all but one of them.
    """

    __tablename__ = "match_candidates"
    __table_args__ = (
        UniqueConstraint("left_report_id", "right_report_id", name="uq_match_candidates_pair"),
        CheckConstraint("kind IN ('match', 'duplicate')", name="kind"),
        CheckConstraint("status IN ('potential', 'confirmed', 'rejected')", name="status"),
        CheckConstraint("band IN ('high', 'medium', 'low')", name="band"),
        # The review queue: best first within a status.
        Index("ix_match_candidates_queue", "status", "score", "id"),
    )

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    left_report_id: Mapped[str] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"))
    right_report_id: Mapped[str] = mapped_column(
        ForeignKey("reports.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(10))
    # The engine's probability that the two reports are the same person.
    score: Mapped[float] = mapped_column(Float)
    band: Mapped[str] = mapped_column(String(10))
    explanation: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    features: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(10), default="potential")
    decided_by: Mapped[str | None] = mapped_column(String(40))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    left_report: Mapped[Report] = relationship(foreign_keys=[left_report_id])
    right_report: Mapped[Report] = relationship(foreign_keys=[right_report_id])

    __mapper_args__ = {"version_id_col": version}

    @property
    def queue_key(self) -> str:
        """This row's position in a best-first list, for cursors."""
        return queue_key(self.score, self.id)

    def other_report(self, report_id: str) -> Report:
        """The report of the pair that is not report_id."""
        return self.right_report if self.left_report_id == report_id else self.left_report


class MatchProfile(db.Model):
    """What matching keeps of an indexed report beyond the report itself.

    `seq` is the report's number in the blocking index: four bytes in each of its index rows
    instead of a 26-character id. The point is the report's own coordinates, or where the
    offline gazetteer placed its location at index time. `places` holds every answer the
    gazetteer gave for the report ([text, country, lat, lon], lat and lon null when not
    found), so the engine rebuilds the same profile without geocoding again. The name words,
    age interval and sex are what the engine's cheap shortlist reads, so a lookup prepares only
    the shortlisted reports in full. `hashes` are the key hashes the report is filed under
    (packed signed 64-bit integers), so a re-index or removal takes exactly those rows out and
    the name words out of NameTokenCount.
    """

    __tablename__ = "match_profiles"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    report_id: Mapped[str] = mapped_column(
        ForeignKey("reports.id", ondelete="CASCADE"), unique=True
    )
    kind: Mapped[str] = mapped_column(String(10))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    age_low: Mapped[int | None] = mapped_column(SmallInteger)
    age_high: Mapped[int | None] = mapped_column(SmallInteger)
    sex: Mapped[str | None] = mapped_column(String(10))
    places: Mapped[list[list[Any]]] = mapped_column(JSON, default=list)
    # The name words, space-separated (folded words hold no spaces).
    words: Mapped[str] = mapped_column(Text, default="")
    hashes: Mapped[bytes] = mapped_column(LargeBinary, default=b"")
    indexed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MatchPosting(db.Model):
    """The blocking index: the reports filed under a key, as chunks of packed report numbers.

    One row per key and chunk: `seqs` holds up to POSTING_CHUNK report numbers (MatchProfile.seq,
    little-endian 32-bit, ascending), `seq_first` is the smallest of them. The key hash carries
    the report's kind. A bulk load writes one chunk per key it touches, so a common key's
    thousands of reports take a few rows instead of one row each: on PostgreSQL, where every row
    costs a 24-byte header in the table and another entry in the primary key's B-tree, that is
    most of the index's size. A report filed alone (POST /reports) adds one-number chunks, and
    the newest reports of a key are in its chunks of highest `seq_first`. No foreign key:
    `unindex_reports` takes a report's numbers out, and a lookup joins MatchProfile, so a number
    left behind could never surface.
    """

    __tablename__ = "match_postings"
    __table_args__ = {"sqlite_with_rowid": False}

    key_hash: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    seq_first: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seqs: Mapped[bytes] = mapped_column(LargeBinary)


class MatchKeyCount(db.Model):
    """How many reports are filed under a key (its posting size); see total_key()."""

    __tablename__ = "match_key_counts"

    key_hash: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    count: Mapped[int] = mapped_column(default=0)


class NameTokenCount(db.Model):
    """How many reports of a kind contain a folded name word: rare names weigh more."""

    __tablename__ = "name_token_counts"

    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    token: Mapped[str] = mapped_column(String(MAX_TOKEN_LENGTH), primary_key=True)
    count: Mapped[int] = mapped_column(default=0)
