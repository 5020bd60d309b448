"""Shelters on the coordinators' map: the places of found people, with counts, never names."""

from __future__ import annotations

import io

import sqlalchemy as sa

from app.auth.models import AuditEvent
from app.extensions import db
from app.reports import service as reports_service
from tests.web.conftest import csrf_token, page_text

SCHOOL = "Escuela Luis Muñoz Rivera, Guánica"


def _found(make_report, name: str, **extra) -> None:
    make_report(
        kind="found",
        full_name=name,
        given_name=None,
        family_name=None,
        last_known_location=SCHOOL,
        author_phone="+15555550188",
        **extra,
    )


def _people(make_report) -> None:
    _found(make_report, "Ileana Brau Okafor", lat=17.97, lon=-66.91)
    _found(make_report, "Tomás Wen Li", age="7")  # a child
    make_report(
        kind="found",
        full_name="Kalani Ortiz Haddad",
        given_name=None,
        family_name=None,
        last_known_location="  escuela luis muñoz rivera, guánica ",  # the same place
    )
    make_report(full_name="Soledad Nakamura Ruiz", last_known_location="Ponce")  # missing


def test_shelter_places_groups_found_reports_by_place(app, make_report):
    _people(make_report)
    with app.app_context():
        [place] = reports_service.shelter_places(limit=10)
        [adults] = reports_service.shelter_places(limit=10, include_minors=False)
    assert (place.place.casefold(), place.people, place.minors) == (SCHOOL.casefold(), 3, 1)
    assert (place.lat, place.lon) == (17.97, -66.91)  # the one report with coordinates
    assert (adults.people, adults.minors) == (2, 0)


def test_the_map_lists_shelters_with_counts_and_no_names(app, client, logged_in, make_report):
    _people(make_report)
    page = page_text(client.get("/coordinator/map"))
    table = page.split('id="shelters"')[1].split("</table>")[0]
    assert "Guánica" in table
    assert "<td>3</td><td>1</td>" in table
    for name in ("Ileana", "Tomás", "Kalani", "Soledad", "Ponce"):
        assert name not in table
    with app.app_context():
        [event] = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "shelter.list")
        )
    assert event.details == {"places": 1, "people": 3}

    app.config["MAP_TILE_URL"] = "http://tiles.invalid/{z}/{x}/{y}.png"
    page = page_text(client.get("/coordinator/map"))
    markers = page.split('id="shelter-markers"')[1].split("</script>")[0]
    assert "17.97" in markers and "3 people" in markers
    for name in ("Ileana", "Tomás", "Kalani"):
        assert name not in markers


def test_a_roster_names_its_shelter_on_the_map(app, client, logged_in):
    token = csrf_token(client, "/coordinator/rosters/new")
    roster = "Nombre completo;Edad\nMarisol Quiñones Vega;41\nWen Li Okafor;29\n".encode()
    client.post(
        "/coordinator/rosters/new",
        data={
            "csrf_token": token,
            "file": (io.BytesIO(roster), "lista.csv"),
            "source_name": "Refugio Escuela Segunda Unidad",
            "last_known_location": "Yauco",
        },
        content_type="multipart/form-data",
    )
    with app.app_context():
        from app.reports.models import ImportJob
        from app.reports.tasks import import_roster_task

        job_id = db.session.scalar(sa.select(ImportJob.id))
    token = csrf_token(client, f"/coordinator/rosters/{job_id}")
    client.post(f"/coordinator/rosters/{job_id}", data={"csrf_token": token, "action": "import"})
    with app.app_context():
        import_roster_task(job_id)  # a no-op when the immediate worker has run it already
    page = page_text(client.get("/coordinator/map?lang=fr"))
    table = page.split('id="shelters"')[1].split("</table>")[0]
    assert "Refugio Escuela Segunda Unidad" in table and "<td>2</td><td>0</td>" in table
    assert "Marisol" not in table
    assert "Refuges : où sont les personnes retrouvées" in page


def test_the_map_needs_a_coordinator(client):
    response = client.get("/coordinator/map")
    assert response.status_code == 302
    assert "/coordinator/login" in response.headers["Location"]
