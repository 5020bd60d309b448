"""The matching service on a real database: index, candidates, decisions, bulk and CLI paths."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa

from app.errors import Conflict, NotFound, ValidationError
from app.extensions import db
from app.matching import service
from app.matching.engine.model import load_model
from app.matching.models import (
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
    queue_key,
    total_key,
    unpack_keys,
    unpack_seqs,
)
from app.matching.tasks import compact_postings_task, match_reports_task
from app.reports import service as reports_service
from app.reports.models import Note, Report

KNOWN_HASH = 0x0D3C248B57ECBC51
# A relative's report and the clerk's entry at a shelter 20 km away, and people who are not him.
PEPE = {
    "kind": "missing",
    "full_name": "Pepe García",
    "sex": "male",
    "age": "34",
    "home_city": "Yauco",
    "home_country": "PR",
}
JOSE_AT_SHELTER = {
    "kind": "found",
    "full_name": "GARCIA LOPEZ, JOSE",
    "sex": "male",
    "age": "30-40",
    "last_known_location": "Escuela Luis Muñoz Rivera, Guánica",
    "home_country": "PR",
}
OTHERS = [
    {"kind": "found", "full_name": "Marisol Quiñones Vega", "sex": "female", "age": "52"},
    {"kind": "found", "full_name": "Nguyễn Thị Hoa", "sex": "female", "age": "29"},
    {"kind": "found", "full_name": "Mehmet Yılmaz", "sex": "male", "age": "61"},
    {"kind": "found", "full_name": "Ana Lucía Torres", "sex": "female", "age": "8"},
]


def submit(match: bool = True, **fields: Any) -> Report:
    """Submit a report as the API does (matched in the same transaction unless match=False)."""
    report = reports_service.submit_report(data=dict(fields), created_by="test")
    if match:
        assert service.refresh_matches(report=report)
    return report


def profile_of(report_id: str) -> MatchProfile | None:
    return db.session.scalar(sa.select(MatchProfile).where(MatchProfile.report_id == report_id))


def postings() -> list[tuple[int, int]]:
    """Every (key hash, report number) the index holds."""
    return [
        (key, int(seq))
        for key, data in db.session.execute(sa.select(MatchPosting.key_hash, MatchPosting.seqs))
        for seq in unpack_seqs(data)
    ]


def keys_of(report_id: str) -> set[int]:
    """The key hashes under which the index files a report."""
    seq = db.session.scalar(sa.select(MatchProfile.seq).where(MatchProfile.report_id == report_id))
    return {key for key, filed in postings() if filed == seq}


def candidates_of(report: Report, **kwargs: Any) -> list[MatchCandidate]:
    return service.matches_for_report(report=report, **kwargs)[:50]


def partners(report: Report, **kwargs: Any) -> list[str]:
    return [m.other_report(report.id).id for m in candidates_of(report, **kwargs)]


def assert_invariants(match: MatchCandidate) -> None:
    threshold = load_model().alert_threshold
    assert 0.0 <= match.score <= 1.0
    assert match.band == service.band_for(score=match.score, alert_threshold=threshold)
    assert match.band == (
        "high" if match.score >= threshold else "medium" if match.score >= 0.5 else "low"
    )
    assert "name" in match.explanation
    assert all(isinstance(v, float) for v in match.features.values())


# --- Finding candidates ------------------------------------------------------------------------


def test_pepe_garcia_finds_jose_garcia_lopez_at_the_shelter(app):
    with app.app_context():
        others = [submit(**o) for o in OTHERS]
        found = submit(**JOSE_AT_SHELTER)
        missing = submit(**PEPE)
        db.session.commit()

        matches = candidates_of(missing)
        assert matches, "no candidate for Pepe García"
        best = matches[0]
        assert best.other_report(missing.id).id == found.id
        assert best.kind == "match"
        # The missing report is on the left of a match, whichever was submitted first.
        assert (best.left_report_id, best.right_report_id) == (missing.id, found.id)
        assert best.status == "potential"
        for match in matches:
            assert_invariants(match)
        assert {o.id for o in others}.isdisjoint(
            m.other_report(missing.id).id for m in matches if m.score >= best.score
        )
        # Seen from the shelter's side too.
        assert partners(found)[0] == missing.id


def test_found_report_submitted_last_finds_the_missing_one(app):
    with app.app_context():
        missing = submit(**PEPE)
        found = submit(**JOSE_AT_SHELTER)
        db.session.commit()

        [match] = [m for m in candidates_of(found) if m.kind == "match"]
        assert (match.left_report_id, match.right_report_id) == (missing.id, found.id)
        # The explanation reads from left (missing) to right (found), whichever side ran.
        name = match.explanation["name"]
        assert "aligned" in name and not any("query" in key for key in name)
        assert {"left", "right"} <= set(name["aligned"][0])


def test_duplicates_of_the_same_kind_are_found(app):
    with app.app_context():
        first = submit(kind="missing", full_name="Nguyễn Văn An", age="45", home_country="VN")
        second = submit(kind="missing", full_name="NGUYEN VAN AN", age="44", home_country="VN")
        unrelated = submit(kind="missing", full_name="Karl Johansson", age="45")
        db.session.commit()

        duplicates = [m for m in candidates_of(second) if m.kind == "duplicate"]
        assert [m.other_report(second.id).id for m in duplicates][:1] == [first.id]
        pair = duplicates[0]
        assert (pair.left_report_id, pair.right_report_id) == tuple(sorted((first.id, second.id)))
        assert unrelated.id not in partners(second)[:1]


def test_nicknames_and_scripts_meet(app, subtests):
    pairs = [
        ("Bill Turner", "William Turner"),
        ("Paco Hernández", "Francisco Hernandez"),
        ("Mohammed Al-Amin", "Muhammad Alamin"),
        ("Олена Коваленко", "Olena Kovalenko"),
    ]
    with app.app_context():
        for missing_name, found_name in pairs:
            with subtests.test(missing=missing_name):
                found = submit(kind="found", full_name=found_name, age="40")
                missing = submit(kind="missing", full_name=missing_name, age="40")
                assert found.id in partners(missing)


def test_a_report_with_only_a_description_is_indexed_without_a_crash(app):
    with app.app_context():
        submit(**JOSE_AT_SHELTER)
        unknown = submit(
            kind="found",
            description="Hombre inconsciente, unos 40 años, tatuaje de ancla en el brazo.",
            last_known_location="Hospital de Guánica",
            home_country="PR",
        )
        db.session.commit()

        profile = profile_of(unknown.id)
        assert profile is not None and profile.words == ""
        assert keys_of(unknown.id) == set()
        for match in candidates_of(unknown):
            assert_invariants(match)


@pytest.mark.parametrize(
    "fields",
    [
        {"full_name": "😀😀😀 🙏"},
        {"full_name": "👨‍👩‍👧‍👦" * 60},
        {"full_name": "María " + "ñ" * 490},
        {"full_name": "ا" * 500, "alternate_names": ["ß" * 200] * 20},
        {"full_name": "Zoë", "age": "0"},
        {"full_name": "Rosa Cruz", "age": "130", "date_of_birth": "1890"},
        {"full_name": "Rosa Cruz", "last_known_location": "🏠🏠🏠", "home_city": "x" * 200},
        {"full_name": "!!! ??? ...", "alternate_names": ["-", "'", "·"]},
    ],
)
def test_odd_input_never_crashes_matching(app, fields):
    with app.app_context():
        submit(**JOSE_AT_SHELTER)
        report = submit(kind="missing", **fields)
        db.session.commit()

        assert profile_of(report.id) is not None
        for match in candidates_of(report):
            assert_invariants(match)


def test_geocoding_never_raises(app, subtests):
    with app.app_context():
        for text in (None, "", "   ", "🏠", "x" * 10_000, "\u202e\u202d", "Yauco"):
            with subtests.test(text=repr(text)[:20]):
                point = service.geocode(text, "PR")
                assert point is None or (-90 <= point[0] <= 90 and -180 <= point[1] <= 180)


def test_a_place_is_geocoded_once_at_index_time(app, monkeypatch):
    with app.app_context():
        found = submit(**JOSE_AT_SHELTER)
        missing = submit(**PEPE)
        given = submit(kind="found", full_name="Ana Torres", lat=18.0, lon=-66.9)
        db.session.commit()

        point = profile_of(given.id)
        assert (point.lat, point.lon) == (18.0, -66.9)
        for report in (found, missing):  # Guánica and Yauco, Puerto Rico
            stored = profile_of(report.id)
            assert stored.lat is not None and 17.8 < stored.lat < 18.3
            assert -67.2 < stored.lon < -66.5

        # The stored answers rebuild exactly the profile that geocoding gave.
        for report in (found, missing, given):
            fresh, places = service._prepare_fresh(report)
            stored = profile_of(report.id)
            assert tuple(map(tuple, stored.places)) == places
            assert service._prepare_known(service._record(report), places) == fresh

        # Matching rebuilds the query and its candidates from the stored answers.
        calls = []
        monkeypatch.setattr(service, "geocode", lambda *args: calls.append(args))
        assert service.match_report(report=missing)
        assert calls == []


# --- The index ---------------------------------------------------------------------------------


def test_key_hash_is_stable_and_fits_a_bigint():
    assert key_hash("found", "j|grs") == key_hash("found", "j|grs")
    assert key_hash("found", "j|grs") != key_hash("found", "j|grk")
    # One index serves both kinds: the kind is part of the hash.
    assert key_hash("found", "j|grs") != key_hash("missing", "j|grs")
    assert total_key("found") != total_key("missing")
    for key in ("", "w|ksd", "é|🙂" * 100):
        assert 0 <= key_hash("missing", key) < 2**63
    # The stored index outlives processes and releases: the value must never change (Python's
    # hash() is salted per process).
    digest = hashlib.blake2b(b"found\x1fw|grs", digest_size=8).digest()
    assert key_hash("found", "w|grs") == int.from_bytes(digest, "big") >> 1 == KNOWN_HASH


def test_packed_keys_round_trip():
    hashes = [0, 1, 2**63 - 1, KNOWN_HASH]
    assert unpack_keys(pack_keys(hashes)) == hashes
    assert unpack_keys(pack_keys([])) == [] and unpack_keys(None) == []


def test_reindex_replaces_keys_and_moves_word_counts(app):
    with app.app_context():
        report = submit(kind="missing", full_name="Marisol Quiñones", age="34")
        db.session.commit()

        def words():
            rows = db.session.execute(
                sa.select(NameTokenCount.token, NameTokenCount.count).where(
                    NameTokenCount.kind == "missing"
                )
            )
            return {token: count for token, count in rows if count}

        def keys():
            return keys_of(report.id)

        def key_counts():
            rows = db.session.execute(sa.select(MatchKeyCount.key_hash, MatchKeyCount.count))
            return {hashed: count for hashed, count in rows if count}

        assert words() == {"marisol": 1, "quinones": 1}
        before = keys()
        assert before and key_counts() == {total_key("missing"): 1, **{h: 1 for h in before}}

        changed = reports_service.update_report(
            report=report, changes={"full_name": "Marisol Vega"}
        )
        assert service.refresh_matches(report=report, changed=changed)
        db.session.commit()

        assert words() == {"marisol": 1, "vega": 1}
        after = keys()
        assert after and after != before
        assert key_counts() == {total_key("missing"): 1, **{h: 1 for h in after}}
        assert profile_of(report.id).words == "marisol vega"


def test_chunk_postings_groups_numbers_by_key_in_order_and_in_bounded_chunks():
    hashes = np.array([5, -2, 5, 5, -2], dtype=np.int64)
    seqs = np.array([30, 8, 10, 20, 3], dtype=np.int64)

    rows = chunk_postings(hashes, seqs)

    assert [(k, first, unpack_seqs(data).tolist()) for k, first, data in rows] == [
        (-2, 3, [3, 8]),
        (5, 10, [10, 20, 30]),
    ]
    many = chunk_postings(np.full(2500, 9, dtype=np.int64), np.arange(2500, dtype=np.int64))
    assert [len(unpack_seqs(data)) for _, _, data in many] == [POSTING_CHUNK, POSTING_CHUNK, 452]
    assert chunk_postings(np.array([], dtype=np.int64), np.array([], dtype=np.int64)) == []


def test_namesakes_indexed_together_share_chunks_and_leave_them_one_by_one(app):
    with app.app_context():
        rows = [
            {**JOSE_AT_SHELTER, "age": str(30 + i % 10), "last_known_location": f"Shelter {i}"}
            for i in range(30)
        ]
        reports = [reports_service.submit_report(data=r, created_by="test") for r in rows]
        service.index_reports(reports=reports)
        db.session.commit()
        chunks = db.session.scalar(sa.select(sa.func.count()).select_from(MatchPosting))
        # Thirty reports filed under ~20 keys each, mostly the same keys: a few rows per key.
        assert chunks < len(postings()) / 3
        before = {r.id: keys_of(r.id) for r in reports}
        gone = reports[7]
        gone_seq = profile_of(gone.id).seq

        service.unindex_reports(report_ids=[gone.id])
        db.session.commit()

        assert all(seq != gone_seq for _, seq in postings())
        for report in reports:
            if report is not gone:
                assert keys_of(report.id) == before[report.id]
        query = submit(**PEPE)
        found = set(partners(query))
        assert gone.id not in found
        assert found & {r.id for r in reports if r is not gone}


def test_compaction_merges_the_chunks_of_reports_filed_one_by_one(app):
    with app.app_context():
        reports = [
            submit(**{**JOSE_AT_SHELTER, "last_known_location": f"Shelter {i}"}, match=False)
            for i in range(service.COMPACT_MIN_CHUNKS + 2)
        ]
        for report in reports:
            service.index_report(report=report)
        db.session.commit()
        filed = sorted(postings())
        assert len(filed) > 10 * len(reports)
        chunks = db.session.scalar(sa.select(sa.func.count()).select_from(MatchPosting))
        assert chunks == len(filed)  # one report at a time: a chunk per key and report

        compacted = service.compact_postings()
        db.session.commit()

        assert compacted > 0
        assert sorted(postings()) == filed  # the same reports under the same keys
        after = db.session.scalar(sa.select(sa.func.count()).select_from(MatchPosting))
        assert after < chunks / 3
        assert service.compact_postings() == 0  # nothing small left to merge
        assert compact_postings_task.call_local() == 0  # the periodic task, run in place
        query = submit(**PEPE)
        assert set(partners(query)) & {r.id for r in reports}


def test_unindexing_takes_a_report_out_of_lookups_and_counts(app):
    with app.app_context():
        found = submit(**JOSE_AT_SHELTER)
        other = submit(kind="found", full_name="Rosa Cruz Ortiz", age="52")
        db.session.commit()
        before = keys_of(found.id)
        assert before

        assert service.unindex_reports(report_ids=[found.id, "not-indexed"]) == 1
        db.session.commit()

        assert profile_of(found.id) is None
        assert len(postings()) == len(keys_of(other.id))
        counts = {
            h: c
            for h, c in db.session.execute(sa.select(MatchKeyCount.key_hash, MatchKeyCount.count))
        }
        assert counts[total_key("found")] == 1
        assert all(counts.get(h, 0) == (1 if h in keys_of(other.id) else 0) for h in before)
        words = {
            w: c
            for w, c in db.session.execute(sa.select(NameTokenCount.token, NameTokenCount.count))
        }
        assert words.get("jose", 0) == 0 and words["rosa"] == 1
        # A new report no longer finds it; indexing it again brings it back.
        assert found.id not in partners(submit(**PEPE))
        assert service.unindex_reports(report_ids=[found.id]) == 0
        service.index_report(report=found)
        db.session.commit()
        assert keys_of(found.id) == before


def test_a_corrected_place_is_matched_with_the_new_point(app):
    with app.app_context():
        found = submit(**{**JOSE_AT_SHELTER, "lat": 17.97, "lon": -66.91})
        # Without a home town: the engine also measures from it, and Yauco stays where it is.
        missing = submit(**{**PEPE, "home_city": None, "lat": 18.03, "lon": -66.85})
        db.session.commit()
        [near] = [m for m in candidates_of(missing) if m.other_report(missing.id).id == found.id]
        assert near.explanation["location"]["km"] < 15

        # The family learns he was in San Juan, 100 km away.
        changed = reports_service.update_report(
            report=missing, changes={"lat": 18.466, "lon": -66.106}
        )
        assert service.refresh_matches(report=missing, changed=changed)
        db.session.commit()

        stored = profile_of(missing.id)
        assert (stored.lat, stored.lon) == (18.466, -66.106)
        [far] = [m for m in candidates_of(missing) if m.other_report(missing.id).id == found.id]
        assert far.explanation["location"]["km"] > 80


def test_a_correction_that_matching_does_not_read_is_not_reindexed(app, monkeypatch):
    with app.app_context():
        report = submit(**PEPE)
        db.session.commit()
        monkeypatch.setattr(service, "match_report", lambda **kw: pytest.fail("re-matched"))

        changed = reports_service.update_report(report=report, changes={"author_name": "Ana"})

        assert service.refresh_matches(report=report, changed=changed)


def test_word_counts_feed_the_rarity_of_names(app):
    with app.app_context():
        for given in ("José", "María", "Luis", "Carmen"):
            submit(match=False, kind="found", full_name=f"{given} García")
        reports = db.session.scalars(sa.select(Report)).all()
        service.index_reports(reports=reports)
        db.session.commit()

        stats = service._token_stats(["found"], {"garcia", "jose", "zapata"}, {"found": 4})["found"]
        assert stats.counts == {"garcia": 4, "jose": 1}
        assert stats.rarity("garcia") < stats.rarity("jose") < stats.rarity("zapata")


# --- Candidates over time ----------------------------------------------------------------------


def test_a_rejected_pair_is_never_suggested_again(app):
    with app.app_context():
        found = submit(**JOSE_AT_SHELTER)
        missing = submit(**PEPE)
        [match] = [m for m in candidates_of(missing) if m.other_report(missing.id).id == found.id]
        service.reject_match(match_id=match.id, actor="user:test", reason="Different mother.")
        db.session.commit()

        service.match_report(report=missing)
        service.match_report(report=found)
        changed = reports_service.update_report(report=missing, changes={"age": "35"})
        assert service.refresh_matches(report=missing, changed=changed)
        db.session.commit()

        assert found.id not in partners(missing)
        assert missing.id not in partners(found)
        rows = db.session.scalars(
            sa.select(MatchCandidate).where(MatchCandidate.left_report_id == missing.id)
        ).all()
        assert [(r.right_report_id, r.status, r.reason) for r in rows] == [
            (found.id, "rejected", "Different mother.")
        ]
        assert found.id in partners(missing, include_rejected=True)


def test_rematching_rescores_potential_pairs_and_leaves_decided_ones(app):
    with app.app_context():
        found = submit(**JOSE_AT_SHELTER)
        missing = submit(**PEPE)
        twin = submit(**{**JOSE_AT_SHELTER, "full_name": "José García López"})
        db.session.commit()
        by_partner = {m.other_report(missing.id).id: m for m in candidates_of(missing)}
        confirmed = service.confirm_match(match_id=by_partner[found.id].id, actor="user:test")
        db.session.commit()
        confirmed_state = (confirmed.score, confirmed.version, confirmed.updated_at)
        potential = by_partner[twin.id]
        version = potential.version

        score = potential.score

        # The family corrects the age: the potential pair is re-scored, the decided one is not.
        changed = reports_service.update_report(report=missing, changes={"age": "70"})
        assert service.refresh_matches(report=missing, changed=changed)
        db.session.commit()

        db.session.refresh(confirmed)
        db.session.refresh(potential)
        assert potential.score != score
        assert (confirmed.score, confirmed.version, confirmed.updated_at) == confirmed_state
        assert confirmed.status == "confirmed"
        assert potential.status == "potential"
        # Re-scoring never bumps the version: it must not turn a decision into a conflict.
        assert potential.version == version
        assert_invariants(potential)


def test_candidates_below_the_floor_are_not_stored(app):
    with app.app_context():
        submit(kind="found", full_name="Björn Lindqvist", sex="male", age="70")
        missing = submit(kind="missing", full_name="Aiko Tanaka", sex="female", age="6")
        db.session.commit()

        assert all(m.score >= service.SCORE_FLOOR for m in candidates_of(missing))


# --- Decisions ---------------------------------------------------------------------------------


def stored_pair(app) -> tuple[str, str, str]:
    with app.app_context():
        found = submit(**JOSE_AT_SHELTER)
        missing = submit(**PEPE)
        [match] = [m for m in candidates_of(missing) if m.other_report(missing.id).id == found.id]
        db.session.commit()
        return match.id, missing.id, found.id


def test_confirm_links_both_reports_with_a_note_that_names_no_one(app):
    match_id, missing_id, found_id = stored_pair(app)
    with app.app_context():
        match = service.confirm_match(match_id=match_id, actor="user:01abc", reason="Same tattoo.")
        db.session.commit()

        assert (match.status, match.decided_by, match.reason) == (
            "confirmed",
            "user:01abc",
            "Same tattoo.",
        )
        assert match.decided_at is not None and match.version == 2
        missing, found = db.session.get(Report, missing_id), db.session.get(Report, found_id)
        notes = db.session.scalars(sa.select(Note).order_by(Note.report_id)).all()
        assert {(n.report_id, n.linked_report_id) for n in notes} == {
            (missing_id, found_id),
            (found_id, missing_id),
        }
        for note in notes:
            other = found if note.report_id == missing_id else missing
            assert note.text == f"Confirmed as the same person as report {other.reference}."
            assert note.created_by == "user:01abc"
            assert "García" not in note.text and "GARCIA" not in note.text


def test_a_decided_match_cannot_be_decided_again(app):
    match_id, _, _ = stored_pair(app)
    with app.app_context():
        service.confirm_match(match_id=match_id, actor="user:a")
        db.session.commit()

        with pytest.raises(Conflict) as confirmed_twice:
            service.confirm_match(match_id=match_id, actor="user:b")
        with pytest.raises(Conflict) as rejected_after:
            service.reject_match(match_id=match_id, actor="user:b", reason="No.")
        assert confirmed_twice.value.code == rejected_after.value.code == "match_already_decided"


def test_reject_needs_a_reason(app):
    match_id, _, _ = stored_pair(app)
    with app.app_context():
        for reason in ("", "   ", None):
            with pytest.raises(ValidationError) as error:
                service.reject_match(match_id=match_id, actor="user:a", reason=reason)
            assert "reason" in error.value.errors
        assert db.session.get(MatchCandidate, match_id).status == "potential"


def test_unknown_match_ids_are_not_found(app):
    with app.app_context():
        for match_id in ("01jzzzzzzzzzzzzzzzzzzzzzzz", "nope", "\x00" * 26, ""):
            with pytest.raises(NotFound):
                service.get_match(match_id=match_id)


# --- The review queue --------------------------------------------------------------------------


def test_queue_key_round_trips_exactly():
    for score in (0.0, 1.0, 0.1 + 0.2, 5e-324, 0.999999999999):
        key = queue_key(score, "01jabcdefghjkmnpqrstvwxyz0")
        assert key.isalnum() and key.isascii()
        assert parse_queue_key(key) == (score, "01jabcdefghjkmnpqrstvwxyz0")
    for bad in (
        "",
        "x" * 42,
        "7ff0000000000000" + "01jabcdefghjkmnpqrstvwxyz0",
        "0" * 16 + "I" * 26,
    ):
        assert parse_queue_key(bad) is None


def test_queue_is_best_first_and_filters_by_kind(app):
    with app.app_context():
        submit(**JOSE_AT_SHELTER)
        submit(**PEPE)
        submit(kind="missing", full_name="Nguyễn Văn An", age="45")
        submit(kind="missing", full_name="Nguyen Van An", age="45")
        db.session.commit()

        rows = service.list_matches(limit=50)
        assert rows and [r.score for r in rows] == sorted((r.score for r in rows), reverse=True)
        assert {r.kind for r in service.list_matches(kind="duplicate", limit=50)} == {"duplicate"}
        assert {r.kind for r in service.list_matches(kind="match", limit=50)} == {"match"}
        with pytest.raises(ValidationError):
            service.list_matches(limit=50, after="not-a-cursor")


def test_minors_are_left_out_only_when_asked(app):
    with app.app_context():
        found = submit(kind="found", full_name="Sofía Ramírez", age="7", home_country="MX")
        missing = submit(kind="missing", full_name="Sofia Ramirez", age="7", home_country="MX")
        db.session.commit()

        assert found.is_minor and missing.is_minor
        assert service.list_matches(limit=50)
        assert service.list_matches(limit=50, include_minors=False) == []
        assert candidates_of(missing, include_minors=False) == []
        with pytest.raises(NotFound):
            service.get_match(match_id=candidates_of(missing)[0].id, include_minors=False)


# --- Failures never lose a report ----------------------------------------------------------------


def test_an_engine_failure_is_logged_and_undone_but_never_raised(app, monkeypatch, caplog):
    with app.app_context():
        submit(**JOSE_AT_SHELTER)
        db.session.commit()

        secret = "José García"

        def broken(*args, **kwargs):
            raise ZeroDivisionError(secret)

        # Fails after the candidates were written: the SAVEPOINT must take them back.
        monkeypatch.setattr(service, "index_entries", broken)
        caplog.set_level(logging.ERROR, logger="app.matching.service")
        report = submit(match=False, **PEPE)
        assert service.refresh_matches(report=report) is False
        db.session.commit()

        assert db.session.get(Report, report.id) is not None
        assert candidates_of(report) == []
        assert profile_of(report.id) is None
        assert f"matching failed for report {report.id}: ZeroDivisionError" in caplog.text
        assert "José" not in caplog.text and "García" not in caplog.text
        caplog.clear()


# --- Bulk loads --------------------------------------------------------------------------------


def test_bulk_task_indexes_everything_before_matching(app):
    with app.app_context():
        rows = [
            submit(match=False, **JOSE_AT_SHELTER),
            submit(match=False, **PEPE),
            submit(match=False, kind="found", full_name="José García López", age="36"),
            *[submit(match=False, **o) for o in OTHERS],
        ]
        ids = [r.id for r in rows]
        db.session.commit()

        # Enqueued as the import will do it; the test queue runs it inline.
        matched = match_reports_task(ids).get()

    assert matched == len(ids)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(MatchProfile)) == len(ids)
        pepe = db.session.get(Report, ids[1])
        assert ids[0] in partners(pepe)
        # Reports of one load find each other: the two found Josés are duplicates.
        kinds = {m.kind for m in candidates_of(db.session.get(Report, ids[0]))}
        assert kinds == {"match", "duplicate"}


def test_reindex_command_rebuilds_the_index_and_reports_progress(app):
    with app.app_context():
        for fields in (JOSE_AT_SHELTER, PEPE, *OTHERS):
            submit(match=False, **fields)
        db.session.commit()

        result = app.test_cli_runner().invoke(args=["matching", "reindex", "--batch-size", "2"])

    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[0].startswith("matching: indexed 2/6 reports")
    assert "indexed 6/6" in lines[2] and "matched 6/6" in lines[-1]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(MatchProfile)) == 6
        assert service.list_matches(limit=50)

        again = app.test_cli_runner().invoke(args=["matching", "reindex", "--kind", "found"])
        assert again.exit_code == 0, again.output
        assert "indexed 5/5" in again.output
        # Re-indexing counts nobody twice.
        total = db.session.scalar(
            sa.select(MatchKeyCount.count).where(MatchKeyCount.key_hash == total_key("found"))
        )
        assert total == 5


def test_unindexing_takes_the_undecided_candidates_out_of_the_review_queue(app):
    """An expired or deleted report must not be put before a coordinator again; decided
    candidates stay as history until the purge."""
    with app.app_context():
        found = submit(**JOSE_AT_SHELTER)
        missing = submit(**PEPE)
        other = submit(kind="found", full_name="José García", age="35", home_city="Yauco")
        db.session.commit()
        pair = {m.other_report(missing.id).id: m for m in candidates_of(missing)}
        assert {found.id, other.id} <= set(pair)
        decided_id = pair[other.id].id
        service.confirm_match(match_id=decided_id, actor="user:test")
        db.session.commit()

        service.unindex_reports(report_ids=[missing.id])
        db.session.commit()

        left = db.session.scalars(
            sa.select(MatchCandidate.id).where(
                sa.or_(
                    MatchCandidate.left_report_id == missing.id,
                    MatchCandidate.right_report_id == missing.id,
                )
            )
        ).all()
        assert left == [decided_id]
