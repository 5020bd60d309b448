"""The matching API end to end: automatic matching, the review queue, decisions, who may see it."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa

from app import geocoder
from app.auth.models import AuditEvent
from app.extensions import db
from app.geo import Geocoding
from app.matching import service
from app.matching.models import MatchCandidate, MatchProfile
from app.reports.models import Note, Report
from app.sms.models import OutboxMessage
from tests.conftest import bearer, report_payload
from tests.helpers import assert_envelope, count, post_all_at_once

REPORTS = "/api/v1/reports"
MATCHES = "/api/v1/matches"


def person(**fields: Any) -> dict[str, Any]:
    """Overrides for someone else than conftest's default person: only the fields given.

    The Nones stay in, so that make_report(**person(...)) drops the default person's fields too;
    post report_payload(**person(...)) directly.
    """
    blank = dict.fromkeys(("given_name", "family_name", "sex", "age", "home_city", "home_country"))
    return {**blank, **fields}


PEPE = person(
    kind="missing",
    full_name="Pepe García",
    sex="male",
    age="34",
    home_city="Yauco",
    home_country="PR",
)
JOSE_AT_SHELTER = person(
    kind="found",
    full_name="GARCIA LOPEZ, JOSE",
    sex="male",
    age="30-40",
    last_known_location="Escuela Luis Muñoz Rivera, Guánica",
    home_country="PR",
)
# Pairs that the same person's relatives and shelters could write, in several languages.
PAIRS = [
    (PEPE, JOSE_AT_SHELTER),
    (
        person(kind="missing", full_name="Nguyễn Thị Hoa", age="29", home_country="VN"),
        person(kind="found", full_name="NGUYEN THI HOA", age="30", home_country="VN"),
    ),
    (
        person(kind="missing", full_name="Mehmet Yılmaz", sex="male", age="61", home_country="TR"),
        person(kind="found", full_name="Mehmet Yilmaz", sex="male", age="60", home_country="TR"),
    ),
    (
        person(
            kind="missing", full_name="Kalle Johansson", sex="male", age="70", home_country="SE"
        ),
        person(kind="found", full_name="Karl Johansson", sex="male", age="71", home_country="SE"),
    ),
    (
        person(kind="missing", full_name="Youssef El-Amrani", sex="male", age="25"),
        person(kind="found", full_name="Yusuf Elamrani", sex="male", age="25"),
    ),
]


def report_matches(client, token, report_id, **query):
    response = client.get(
        f"{REPORTS}/{report_id}/matches", query_string=query, headers=bearer(token)
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def match_between(client, token, missing_id, found_id) -> dict[str, Any]:
    items = report_matches(client, token, missing_id)["items"]
    [match] = [m for m in items if m["other_report"]["id"] == found_id]
    return match


def assert_invariants(match: dict[str, Any]) -> None:
    assert 0 <= match["score"] <= 1
    assert match["band"] in ("high", "medium", "low")
    if match["band"] == "medium":
        assert 0.5 <= match["score"]
    if match["band"] == "low":
        assert match["score"] < 0.5
    assert "name" in match["explanation"]


@pytest.fixture
def pair(make_report) -> tuple[dict[str, Any], dict[str, Any]]:
    """Pepe García's missing report and the shelter's José García López, both submitted."""
    found = make_report(**JOSE_AT_SHELTER)
    missing = make_report(**PEPE)
    return missing, found


# --- Automatic matching --------------------------------------------------------------------------


def test_submitting_a_report_matches_it_at_once(client, coordinator, pair):
    missing, found = pair

    page = report_matches(client, coordinator["token"], missing["id"])

    best = page["items"][0]
    assert best["other_report"] == {
        "id": found["id"],
        "reference": found["reference"],
        "kind": "found",
        "display_name": "GARCIA LOPEZ, JOSE",
        "is_minor": False,
    }
    assert (best["kind"], best["status"], best["side"]) == ("match", "potential", "left")
    assert (best["left_report_id"], best["right_report_id"]) == (missing["id"], found["id"])
    assert_invariants(best)
    seen_from_shelter = report_matches(client, coordinator["token"], found["id"])["items"][0]
    assert seen_from_shelter["id"] == best["id"] and seen_from_shelter["side"] == "right"


def test_report_matches_are_best_first(client, coordinator, make_report):
    shelter = make_report(**JOSE_AT_SHELTER)
    make_report(**{**JOSE_AT_SHELTER, "full_name": "José García", "age": "45-55"})
    make_report(**{**JOSE_AT_SHELTER, "full_name": "José Luis García Ortiz", "age": "34"})
    missing = make_report(**PEPE)

    items = report_matches(client, coordinator["token"], missing["id"])["items"]

    assert len(items) >= 2
    scores = [m["score"] for m in items]
    assert scores == sorted(scores, reverse=True)
    assert shelter["id"] in [m["other_report"]["id"] for m in items]
    for match in items:
        assert_invariants(match)


def test_duplicates_of_the_same_kind_are_found(client, coordinator, make_report):
    first = make_report(**JOSE_AT_SHELTER)
    second = make_report(**{**JOSE_AT_SHELTER, "full_name": "José García López"})

    items = report_matches(client, coordinator["token"], second["id"])["items"]

    duplicates = [m for m in items if m["kind"] == "duplicate"]
    assert [m["other_report"]["id"] for m in duplicates][:1] == [first["id"]]


def test_a_correction_rematches_the_report(client, coordinator, make_report):
    found = make_report(**JOSE_AT_SHELTER)
    missing = make_report(**{**PEPE, "full_name": "Pepe Gartzia Lopes Ribeiro"})
    token = coordinator["token"]
    before = {
        m["other_report"]["id"]: m["score"]
        for m in report_matches(client, token, missing["id"])["items"]
    }

    response = client.patch(
        f"{REPORTS}/{missing['id']}",
        json={"full_name": "José García López"},
        headers=bearer(token),
    )

    assert response.status_code == 200
    after = report_matches(client, token, missing["id"])["items"]
    assert after[0]["other_report"]["id"] == found["id"]
    assert after[0]["score"] > before.get(found["id"], 0.0)


def test_a_note_that_moves_the_person_reindexes_the_report(app, client, coordinator, make_report):
    found = make_report(**{**JOSE_AT_SHELTER, "last_known_location": None})
    with app.app_context():
        first = db.session.scalar(
            sa.select(MatchProfile).where(MatchProfile.report_id == found["id"])
        ).indexed_at
    token = coordinator["token"]

    plain = client.post(
        f"{REPORTS}/{found['id']}/notes", json={"text": "Pidió agua."}, headers=bearer(token)
    )
    with app.app_context():
        assert (
            db.session.scalar(
                sa.select(MatchProfile).where(MatchProfile.report_id == found["id"])
            ).indexed_at
            == first
        )

    moved = client.post(
        f"{REPORTS}/{found['id']}/notes",
        json={"text": "Trasladado.", "last_known_location": "Refugio de Guánica"},
        headers=bearer(token),
    )

    assert plain.status_code == moved.status_code == 201
    with app.app_context():
        assert (
            db.session.scalar(
                sa.select(MatchProfile).where(MatchProfile.report_id == found["id"])
            ).indexed_at
            > first
        )


def test_a_report_with_only_a_description_is_saved_and_matched(app, client, coordinator, pair):
    response = client.post(
        REPORTS,
        json={
            "kind": "found",
            "description": "Hombre inconsciente, unos 35 años, tatuaje de ancla.",
            "last_known_location": "Hospital de Yauco",
            "home_country": "PR",
        },
    )

    assert response.status_code == 201
    page = report_matches(client, coordinator["token"], response.get_json()["id"])
    for match in page["items"]:
        assert_invariants(match)
    with app.app_context():
        assert (
            db.session.scalar(
                sa.select(MatchProfile).where(MatchProfile.report_id == response.get_json()["id"])
            )
            is not None
        )


@pytest.mark.parametrize(
    "fields",
    [
        {"full_name": "🙂🙃🙂 😭"},
        {"full_name": "👩‍👩‍👧" * 100, "alternate_names": ["🏳️‍🌈" * 40] * 20},
        {"full_name": "Ø" * 500, "description": "ñ" * 5000},
        {"full_name": "山田 太郎", "alternate_names": ["やまだ たろう", "Yamada Tarō"]},
        {"full_name": "\u200b\u200d\ufeff", "description": "sin nombre"},
    ],
)
def test_emoji_and_huge_names_are_saved_and_matched(app, client, coordinator, pair, fields):
    response = client.post(REPORTS, json=report_payload(**person(kind="found", **fields)))

    assert response.status_code == 201, response.get_json()
    with app.app_context():
        assert (
            db.session.scalar(
                sa.select(MatchProfile).where(MatchProfile.report_id == response.get_json()["id"])
            )
            is not None
        )
    for match in report_matches(client, coordinator["token"], response.get_json()["id"])["items"]:
        assert_invariants(match)


def test_a_ten_kilobyte_name_is_a_field_error(app, client):
    response = client.post(REPORTS, json=report_payload(full_name="José " * 2048))

    assert "full_name" in assert_envelope(response, 422)["errors"]
    assert count(app, Report) == 0


def test_an_engine_failure_never_fails_the_submission(app, client, monkeypatch, caplog):
    secret = "Pepe García"

    def broken(*args, **kwargs):
        raise RecursionError(secret)

    monkeypatch.setattr(service, "rank", broken)
    caplog.set_level(logging.ERROR, logger="app.matching.service")
    client.post(REPORTS, json=report_payload(**JOSE_AT_SHELTER))

    response = client.post(REPORTS, json=report_payload(**PEPE))

    assert response.status_code == 201
    report_id = response.get_json()["id"]
    assert count(app, Report) == 2
    assert count(app, MatchCandidate) == 0
    assert f"matching failed for report {report_id}: RecursionError" in caplog.text
    assert "Pepe" not in caplog.text and "García" not in caplog.text
    caplog.clear()


# --- The review queue ----------------------------------------------------------------------------


def test_review_queue_walks_every_potential_match_once(app, client, coordinator, make_report):
    for missing, found in PAIRS:
        make_report(**found)
        make_report(**missing)
    with app.app_context():
        expected = set(
            db.session.scalars(
                sa.select(MatchCandidate.id).where(MatchCandidate.status == "potential")
            )
        )
    assert len(expected) >= len(PAIRS)

    seen: list[dict[str, Any]] = []
    cursor = None
    for _ in range(len(expected) + 2):
        query = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        response = client.get(MATCHES, query_string=query, headers=bearer(coordinator["token"]))
        assert response.status_code == 200, response.get_json()
        page = response.get_json()
        seen.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break

    ids = [m["id"] for m in seen]
    assert len(ids) == len(set(ids)) and set(ids) == expected
    scores = [m["score"] for m in seen]
    assert scores == sorted(scores, reverse=True)
    for match in seen:
        assert_invariants(match)
        assert match["status"] == "potential"
        assert {"id", "reference", "kind", "display_name"} <= set(match["left_report"])


def test_review_queue_filters(client, coordinator, make_report, pair):
    make_report(**{**JOSE_AT_SHELTER, "full_name": "José García López"})
    token = coordinator["token"]

    def kinds(**query):
        response = client.get(MATCHES, query_string=query, headers=bearer(token))
        assert response.status_code == 200
        return {m["kind"] for m in response.get_json()["items"]}

    assert kinds() == {"match", "duplicate"}
    assert kinds(kind="duplicate") == {"duplicate"}
    assert kinds(kind="match") == {"match"}
    assert kinds(status="confirmed") == set()


def test_review_queue_rejects_bad_arguments(client, coordinator, subtests):
    for query in (
        {"status": "maybe"},
        {"kind": "twin"},
        {"limit": 0},
        {"limit": 500},
        {"cursor": "%%%"},
        {"cursor": "AAAA"},
    ):
        with subtests.test(query=query):
            response = client.get(MATCHES, query_string=query, headers=bearer(coordinator["token"]))
            assert_envelope(response, 422)


def test_match_detail_shows_both_reports_side_by_side(client, coordinator, pair):
    missing, found = pair
    match = match_between(client, coordinator["token"], missing["id"], found["id"])

    response = client.get(f"{MATCHES}/{match['id']}", headers=bearer(coordinator["token"]))

    assert response.status_code == 200
    body = response.get_json()
    assert body["left_report"]["id"] == missing["id"]
    assert body["left_report"]["full_name"] == "Pepe García"
    assert body["left_report"]["home_city"] == "Yauco"
    assert body["right_report"]["last_known_location"] == "Escuela Luis Muñoz Rivera, Guánica"
    assert body["right_report"]["age"] == "30-40"
    # A comparison view, not a contact sheet: phones stay on the report itself.
    assert "author_phone" not in body["left_report"] and "contact_phone" not in body["right_report"]
    assert isinstance(body["features"], dict) and body["features"]
    assert_invariants(body)


def test_odd_match_ids_are_404(client, coordinator, subtests):
    for match_id in ("01jzzzzzzzzzzzzzzzzzzzzzzz", "nope", "%00", "x" * 300):
        with subtests.test(match_id=match_id[:20]):
            for response in (
                client.get(f"{MATCHES}/{match_id}", headers=bearer(coordinator["token"])),
                client.post(f"{MATCHES}/{match_id}/confirm", headers=bearer(coordinator["token"])),
                client.post(
                    f"{MATCHES}/{match_id}/reject",
                    json={"reason": "no"},
                    headers=bearer(coordinator["token"]),
                ),
            ):
                assert_envelope(response, 404)
    assert_envelope(
        client.get(
            f"{REPORTS}/01jzzzzzzzzzzzzzzzzzzzzzzz/matches", headers=bearer(coordinator["token"])
        ),
        404,
    )


# --- Decisions -----------------------------------------------------------------------------------


def test_confirm_links_the_reports(app, client, coordinator, pair):
    missing, found = pair
    token = coordinator["token"]
    match = match_between(client, token, missing["id"], found["id"])

    response = client.post(f"{MATCHES}/{match['id']}/confirm", headers=bearer(token))

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["status"], body["decided_by"], body["reason"]) == (
        "confirmed",
        f"user:{coordinator['id']}",
        None,
    )
    assert body["version"] == match["version"] + 1
    detail = client.get(f"{REPORTS}/{missing['id']}", headers=bearer(token)).get_json()
    [note] = detail["notes"]
    assert note["linked_report_id"] == found["id"]
    assert note["text"] == f"Confirmed as the same person as report {found['reference']}."
    shelter = client.get(f"{REPORTS}/{found['id']}", headers=bearer(token)).get_json()
    assert [n["linked_report_id"] for n in shelter["notes"]] == [missing["id"]]


def test_confirm_tells_the_family_by_sms_and_asks_the_found_person_for_consent(
    app, client, coordinator, make_report
):
    found = make_report(**{**JOSE_AT_SHELTER, "contact_phone": "+15555550177", "language": "fr"})
    missing = make_report(**PEPE)
    token = coordinator["token"]
    match = match_between(client, token, missing["id"], found["id"])

    response = client.post(f"{MATCHES}/{match['id']}/confirm", headers=bearer(token))

    assert response.status_code == 200, response.get_json()
    with app.app_context():
        sent = {
            row.to_phone: row
            for row in db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id))
        }
    family, person_found = sent["+15555550123"], sent["+15555550177"]
    assert (family.template, family.language) == ("match_confirmed", "es")
    assert missing["reference"] in family.body
    # Never where the person is: not the shelter, not the town, not the found report.
    for secret in ("Escuela", "Guánica", "Guanica", found["reference"]):
        assert secret not in family.body
    assert (person_found.template, person_found.language) == ("consent_request", "fr")
    assert "Yauco" not in person_found.body and missing["reference"] not in person_found.body


def test_only_a_confirmed_match_sends_sms(app, client, coordinator, make_report):
    first = make_report(**PEPE)
    second = make_report(**PEPE)  # the same family reporting twice: a duplicate
    token = coordinator["token"]
    duplicate = match_between(client, token, first["id"], second["id"])
    assert duplicate["kind"] == "duplicate"
    assert (
        client.post(f"{MATCHES}/{duplicate['id']}/confirm", headers=bearer(token)).status_code
        == 200
    )

    found = make_report(**JOSE_AT_SHELTER)
    match = match_between(client, token, first["id"], found["id"])
    rejected = client.post(
        f"{MATCHES}/{match['id']}/reject",
        json={"reason": "Different person"},
        headers=bearer(token),
    )

    assert rejected.status_code == 200
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0


def test_a_match_with_an_unverified_report_cannot_be_confirmed_until_it_is_verified(
    app, client, coordinator, make_key, pair
):
    missing, found = pair
    token = coordinator["token"]
    with app.app_context():
        db.session.get(Report, missing["id"]).verified = False  # as a report by SMS arrives
        db.session.commit()
    match = match_between(client, token, missing["id"], found["id"])

    refused = client.post(f"{MATCHES}/{match['id']}/confirm", headers=bearer(token))

    assert_envelope(refused, 409, "report_unverified")
    assert missing["reference"] in refused.get_json()["message"]
    with app.app_context():
        assert db.session.get(MatchCandidate, match["id"]).status == "potential"
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0
    # A partner key with write scope may not verify; a coordinator may, once.
    partner = bearer(make_key("read", "write")["token"])
    assert client.post(f"{REPORTS}/{missing['id']}/verify", headers=partner).status_code == 403
    verified = client.post(f"{REPORTS}/{missing['id']}/verify", headers=bearer(token))
    assert verified.status_code == 200
    body = verified.get_json()
    assert (body["verified"], body["verified_by"]) == (True, f"user:{coordinator['id']}")
    again = client.post(f"{REPORTS}/{missing['id']}/verify", headers=bearer(token)).get_json()
    assert again["verified_at"] == body["verified_at"]
    with app.app_context():
        actions = db.session.scalars(
            sa.select(AuditEvent.action).where(AuditEvent.action == "report.verify")
        ).all()
        assert actions == ["report.verify"]

    confirmed = client.post(f"{MATCHES}/{match['id']}/confirm", headers=bearer(token))

    assert confirmed.status_code == 200, confirmed.get_json()


def test_confirm_takes_an_optional_reason(client, coordinator, pair):
    missing, found = pair
    match = match_between(client, coordinator["token"], missing["id"], found["id"])

    response = client.post(
        f"{MATCHES}/{match['id']}/confirm",
        json={"reason": "Su madre lo reconoció por la foto."},
        headers=bearer(coordinator["token"]),
    )

    assert response.status_code == 200
    assert response.get_json()["reason"] == "Su madre lo reconoció por la foto."


def test_confirm_then_reject_is_409(client, coordinator, admin, pair):
    missing, found = pair
    match = match_between(client, coordinator["token"], missing["id"], found["id"])
    url = f"{MATCHES}/{match['id']}"

    assert client.post(f"{url}/confirm", headers=bearer(coordinator["token"])).status_code == 200
    rejected = client.post(
        f"{url}/reject", json={"reason": "Not him."}, headers=bearer(admin["token"])
    )
    again = client.post(f"{url}/confirm", headers=bearer(admin["token"]))

    assert_envelope(rejected, 409, "match_already_decided")
    assert_envelope(again, 409, "match_already_decided")
    assert client.get(url, headers=bearer(admin["token"])).get_json()["status"] == "confirmed"


def test_reject_needs_a_reason(app, client, coordinator, pair, subtests):
    missing, found = pair
    match = match_between(client, coordinator["token"], missing["id"], found["id"])
    url = f"{MATCHES}/{match['id']}/reject"

    for body in (
        None,
        {},
        {"reason": ""},
        {"reason": "   "},
        {"reason": None},
        {"reason": "x" * 1001},
    ):
        with subtests.test(body=str(body)[:30]):
            response = client.post(url, json=body, headers=bearer(coordinator["token"]))
            assert_envelope(response, 422)
    with app.app_context():
        assert db.session.get(MatchCandidate, match["id"]).status == "potential"


def test_a_rejected_pair_is_never_suggested_again(app, client, coordinator, pair):
    missing, found = pair
    token = coordinator["token"]
    match = match_between(client, token, missing["id"], found["id"])

    rejected = client.post(
        f"{MATCHES}/{match['id']}/reject",
        json={"reason": "Otra madre; el de Yauco tiene 12 años más."},
        headers=bearer(token),
    )
    # Both reports are corrected (and so re-matched) afterwards.
    client.patch(f"{REPORTS}/{missing['id']}", json={"age": "35"}, headers=bearer(token))
    client.patch(f"{REPORTS}/{found['id']}", json={"age": "33-37"}, headers=bearer(token))

    assert rejected.status_code == 200
    assert rejected.get_json()["reason"] == "Otra madre; el de Yauco tiene 12 años más."
    ids = [m["other_report"]["id"] for m in report_matches(client, token, missing["id"])["items"]]
    assert found["id"] not in ids
    queue = client.get(MATCHES, headers=bearer(token)).get_json()["items"]
    assert match["id"] not in [m["id"] for m in queue]
    with_rejected = report_matches(client, token, missing["id"], include_rejected="true")["items"]
    assert [m["status"] for m in with_rejected if m["id"] == match["id"]] == ["rejected"]
    with app.app_context():
        assert count(app, MatchCandidate, MatchCandidate.right_report_id == found["id"]) == 1


def decide_at_once(app, urls_and_bodies: list[tuple[str, dict | None]], token: str):
    """Each decision from its own thread and client, released at the same moment."""
    return post_all_at_once(app, [(url, body, bearer(token)) for url, body in urls_and_bodies])


def test_concurrent_confirms_one_wins_the_other_gets_409(app, client, coordinator, pair):
    missing, found = pair
    token = coordinator["token"]
    match = match_between(client, token, missing["id"], found["id"])
    url = f"{MATCHES}/{match['id']}/confirm"

    results = decide_at_once(app, [(url, None), (url, None)], token)

    assert sorted(status for status, _ in results) == [200, 409], results
    [(_, loser)] = [r for r in results if r[0] == 409]
    assert loser["code"] in ("match_already_decided", "concurrent_change")
    # The loser wrote nothing: one note per report, one confirmation in the audit log.
    assert count(app, Note) == 2
    assert count(app, AuditEvent, AuditEvent.action == "match.confirm") == 2  # one per report


def test_concurrent_confirm_and_reject_one_wins(app, client, coordinator, pair):
    missing, found = pair
    token = coordinator["token"]
    match = match_between(client, token, missing["id"], found["id"])
    base = f"{MATCHES}/{match['id']}"

    results = decide_at_once(
        app, [(f"{base}/confirm", None), (f"{base}/reject", {"reason": "Otro José."})], token
    )

    assert sorted(status for status, _ in results) == [200, 409], results
    [(_, winner)] = [r for r in results if r[0] == 200]
    with app.app_context():
        assert db.session.get(MatchCandidate, match["id"]).status == winner["status"]
        assert count(app, Note) == (2 if winner["status"] == "confirmed" else 0)


# --- Who may see and decide ----------------------------------------------------------------------


def endpoints(missing_id: str, match_id: str) -> list[tuple[str, str, dict | None]]:
    return [
        ("get", f"{REPORTS}/{missing_id}/matches", None),
        ("get", MATCHES, None),
        ("get", f"{MATCHES}/{match_id}", None),
        ("post", f"{MATCHES}/{match_id}/confirm", {}),
        ("post", f"{MATCHES}/{match_id}/reject", {"reason": "no"}),
    ]


def test_partner_keys_get_403_and_anonymous_401(app, client, coordinator, make_key, pair, subtests):
    missing, found = pair
    match = match_between(client, coordinator["token"], missing["id"], found["id"])
    keys = [
        make_key(*scopes) for scopes in (("read",), ("full_read",), ("read", "write", "full_read"))
    ]

    for method, url, body in endpoints(missing["id"], match["id"]):
        with subtests.test(method=method, url=url):
            for key in keys:
                response = getattr(client, method)(url, json=body, headers=bearer(key["token"]))
                assert_envelope(response, 403, "forbidden")
            assert_envelope(getattr(client, method)(url, json=body), 401, "unauthorized")
    with app.app_context():
        assert db.session.get(MatchCandidate, match["id"]).status == "potential"


def test_minors_matches_are_visible_to_coordinators(client, coordinator, admin, make_report):
    found = make_report(**person(kind="found", full_name="Sofía Ramírez", age="7"))
    missing = make_report(**person(kind="missing", full_name="Sofia Ramirez", age="7"))

    for user in (coordinator, admin):
        match = match_between(client, user["token"], missing["id"], found["id"])
        assert match["other_report"]["is_minor"] is True
        queue = client.get(MATCHES, headers=bearer(user["token"])).get_json()["items"]
        assert match["id"] in [m["id"] for m in queue]
        detail = client.get(f"{MATCHES}/{match['id']}", headers=bearer(user["token"]))
        assert detail.status_code == 200
        assert detail.get_json()["left_report"]["is_minor"] is True


# --- Audit ---------------------------------------------------------------------------------------


def test_every_read_and_decision_is_audited_without_personal_data(app, client, coordinator, pair):
    missing, found = pair
    token = coordinator["token"]
    match = match_between(client, token, missing["id"], found["id"])
    client.get(MATCHES, headers=bearer(token))
    client.get(f"{MATCHES}/{match['id']}", headers=bearer(token))
    client.post(
        f"{MATCHES}/{match['id']}/reject", json={"reason": "Pepe no es José"}, headers=bearer(token)
    )

    with app.app_context():
        events = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action.like("match.%")).order_by(AuditEvent.id)
        ).all()
        by_action: dict[str, set[str]] = {}
        for event in events:
            by_action.setdefault(event.action, set()).add(event.subject_id)
            assert event.actor == f"user:{coordinator['id']}"
            assert event.subject_type == "report"
        text = " ".join(str(e.details) for e in events)
    pair_ids = {missing["id"], found["id"]}
    assert pair_ids <= by_action["match.list"]
    assert by_action["match.read"] == pair_ids
    assert by_action["match.reject"] == pair_ids
    for personal in ("Pepe", "José", "García", "GARCIA", "Yauco"):
        assert personal not in text


def test_openapi_documents_the_matching_api(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]

    assert {"get"} <= set(paths["/api/v1/reports/{report_id}/matches"])
    assert {"get"} <= set(paths["/api/v1/matches"])
    assert {"get"} <= set(paths["/api/v1/matches/{match_id}"])
    assert {"post"} <= set(paths["/api/v1/matches/{match_id}/confirm"])
    assert {"post"} <= set(paths["/api/v1/matches/{match_id}/reject"])


# --- The optional online geocoder ----------------------------------------------------------------


class FakeOnline:
    """Stands in for Nominatim: knows one camp the offline gazetteer has never heard of."""

    CAMP = "Campamento Esperanza km 12"

    def __init__(self, *, fail: bool = False) -> None:
        self.fail = fail
        self.asked: list[tuple[str | None, str | None]] = []

    def geocode(self, text: str | None, country: str | None = None) -> Any:
        self.asked.append((text, country))
        if self.fail:
            raise TimeoutError("no network in tests")
        return SimpleNamespace(lat=18.02, lon=-66.61) if text == self.CAMP else None


def with_online(app, online: FakeOnline | None) -> None:
    app.extensions[geocoder.EXTENSION] = Geocoding(geocoder._DefaultGazetteer(), online)


def profile_places(app, report_id: str) -> list[list[Any]]:
    with app.app_context():
        return db.session.scalar(
            sa.select(MatchProfile.places).where(MatchProfile.report_id == report_id)
        )


def test_places_the_gazetteer_does_not_know_go_online_after_the_commit(app, make_report):
    online = FakeOnline()
    with_online(app, online)
    camp = FakeOnline.CAMP

    report = make_report(**{**JOSE_AT_SHELTER, "last_known_location": camp})

    assert online.asked == [(camp, "PR")]
    assert [camp, "PR", 18.02, -66.61] in profile_places(app, report["id"])
    with app.app_context():
        stored = db.session.scalar(
            sa.select(MatchProfile).where(MatchProfile.report_id == report["id"])
        )
        assert (stored.lat, stored.lon) == (18.02, -66.61)

    # A place the gazetteer knows never leaves the server.
    make_report(**JOSE_AT_SHELTER)
    assert online.asked == [(camp, "PR")]


def test_an_unreachable_online_geocoder_changes_nothing(app, make_report):
    online = FakeOnline(fail=True)
    with_online(app, online)

    report = make_report(**{**JOSE_AT_SHELTER, "last_known_location": FakeOnline.CAMP})

    assert online.asked
    assert [FakeOnline.CAMP, "PR", None, None] in profile_places(app, report["id"])


def test_without_an_online_geocoder_nothing_is_queued(app, make_report, monkeypatch):
    with_online(app, None)
    monkeypatch.setattr("app.matching.tasks.geocode_online_task", lambda *a: pytest.fail("queued"))

    report = make_report(**{**JOSE_AT_SHELTER, "last_known_location": FakeOnline.CAMP})

    assert [FakeOnline.CAMP, "PR", None, None] in profile_places(app, report["id"])


def test_coordinators_see_the_found_persons_consent_answer(
    app, client, coordinator, make_report, make_key
):
    from app.sms import service as sms_service
    from app.sms.models import ConsentRequest

    found = make_report(**{**JOSE_AT_SHELTER, "contact_phone": "+15555550177", "language": "fr"})
    missing = make_report(**PEPE)
    token = coordinator["token"]
    match = match_between(client, token, missing["id"], found["id"])
    url = f"{MATCHES}/{match['id']}/consent"
    assert client.get(url, headers=bearer(token)).get_json() == {"items": []}

    client.post(f"{MATCHES}/{match['id']}/confirm", headers=bearer(token))
    [pending] = client.get(url, headers=bearer(token)).get_json()["items"]
    assert (pending["status"], pending["report_id"]) == ("pending", found["id"])
    assert "code" not in pending and "+1555" not in str(pending)

    with app.app_context():
        code = db.session.scalar(sa.select(ConsentRequest.code))
        inbound = sms_service.receive_message(
            message_sid="SM" + "c" * 32, from_phone="+15555550177", body=f"OUI {code}"
        )
        assert inbound is not None
        db.session.commit()  # handled inline (HUEY_IMMEDIATE)
    [granted] = client.get(url, headers=bearer(token)).get_json()["items"]
    assert granted["status"] == "granted" and granted["decided_at"]
    assert client.get(url, headers=bearer(make_key("read")["token"])).status_code == 403
    with app.app_context():
        actions = set(db.session.scalars(sa.select(AuditEvent.action)))
    assert "match.consent" in actions
