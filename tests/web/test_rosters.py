"""Shelter roster imports on the coordinators' pages: upload, preview, mapping, import, progress."""

from __future__ import annotations

import io
import re

import sqlalchemy as sa

from app.auth.models import AuditEvent
from app.extensions import db
from app.reports.models import ImportJob, Report
from tests.web.conftest import csrf_token, page_text

# Synthetic people; row 3 has an age nobody has, row 5 has no name at all.
ROSTER = (
    "Nº registro;Nombre completo;Edad;Sexo;Observaciones\n"
    "201;Marisol Quiñones Vega;41;Mujer;Llegó con su hermana\n"
    "202;Tomás Ileana Brau;abc;H;\n"
    "203;Wen Li Okafor;29;M;\n"
    "204;;;;\n"
    "205;;;F;\n"
).encode()


def _upload(client, content: bytes = ROSTER, filename: str = "refugio.csv", **form):
    token = csrf_token(client, "/coordinator/rosters/new")
    data = {
        "csrf_token": token,
        "file": (io.BytesIO(content), filename),
        "source_name": "Escuela Segunda Unidad",
        **form,
    }
    return client.post("/coordinator/rosters/new", data=data, content_type="multipart/form-data")


def _job_id(response) -> str:
    assert response.status_code == 303, page_text(response)
    return response.headers["Location"].rsplit("/", 1)[1]


def _audited(app, action: str) -> list[str]:
    with app.app_context():
        query = sa.select(AuditEvent.subject_id).where(AuditEvent.action == action)
        return list(db.session.scalars(query))


def test_only_coordinators_reach_the_roster_pages(client, app):
    for path in ("/coordinator/rosters/new", "/coordinator/rosters/01ABCDEFGHJKMNPQRSTVWXYZ00"):
        response = client.get(path)
        assert response.status_code == 302
        assert "/coordinator/login" in response.headers["Location"]


def test_upload_preview_import_and_the_bad_rows(client, app, logged_in, monkeypatch):
    assert "/coordinator/rosters/new" in page_text(client.get("/coordinator/"))
    job_id = _job_id(_upload(client, last_known_location="Escuela Segunda Unidad, Yauco"))
    page = page_text(client.get(f"/coordinator/rosters/{job_id}"))
    # The detected mapping, editable, and the first rows as they will be imported.
    assert re.search(r'<option value="full_name" selected>', page)
    assert re.search(r'<option value="age" selected>', page)
    assert "Marisol Quiñones Vega" in page
    assert "Mujer" not in page.split('id="preview-rows"')[1].split("</table>")[0]
    # The problems: the impossible age and the rows without a name.
    problems = page.split('id="problems"')[1].split("</ul>")[0]
    assert "Row 3" in problems and "Row 5" in problems and "Row 2" not in problems
    assert _audited(app, "roster.preview") == [job_id]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Report.id))) == 0

    # Start it, but keep the worker away: the page is the running page, reloading itself.
    queued: list[str] = []
    monkeypatch.setattr("app.web.rosters.import_roster_task", queued.append)
    token = csrf_token(client, f"/coordinator/rosters/{job_id}")
    columns = {
        f"column-{i}": f for i, f in enumerate(["source_record_id", "full_name", "age", "", ""])
    }
    response = client.post(
        f"/coordinator/rosters/{job_id}",
        data={"csrf_token": token, "action": "import", "kind": "found", **columns},
    )
    assert response.status_code == 303
    assert queued == [job_id]
    assert _audited(app, "roster.import") == [job_id]
    page = page_text(client.get(f"/coordinator/rosters/{job_id}"))
    assert '<meta http-equiv="refresh"' in page and "<progress" in page
    assert 'id="mapping"' not in page

    # The worker runs it: done, the good rows landed, the bad rows are listed with reasons.
    from app.reports.tasks import import_roster_task

    with app.app_context():
        import_roster_task(job_id)
    page = page_text(client.get(f"/coordinator/rosters/{job_id}"))
    assert '<meta http-equiv="refresh"' not in page
    assert 'data-status="done"' in page
    assert re.search(r'id="loaded">2<', page) and re.search(r'id="error-count">3<', page)
    bad = page.split('id="bad-rows"')[1].split("</ul>")[0]
    assert "Row 3" in bad and "Row 5" in bad and "Row 6" in bad and "Age" in bad
    with app.app_context():
        names = set(db.session.scalars(sa.select(Report.full_name)))
        job = db.session.get(ImportJob, job_id)
        assert job.content is None  # the file is not kept past its import
        # The column the coordinator set aside (sex) was not imported.
        assert set(db.session.scalars(sa.select(Report.sex))) == {None}
    assert names == {"Marisol Quiñones Vega", "Wen Li Okafor"}
    assert (
        client.post(
            f"/coordinator/rosters/{job_id}", data={"csrf_token": token, "action": "import"}
        ).status_code
        == 303
    )
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Report.id))) == 2


def test_a_mapping_without_a_name_is_refused_and_shown(client, app, logged_in):
    job_id = _job_id(_upload(client))
    token = csrf_token(client, f"/coordinator/rosters/{job_id}")
    response = client.post(
        f"/coordinator/rosters/{job_id}",
        data={
            "csrf_token": token,
            "action": "import",
            "column-1": "",
            "column-2": "age",
            "column-4": "",
        },
        follow_redirects=True,
    )
    page = page_text(response)
    assert "Choose the column with the person" in page
    assert 'id="mapping"' in page  # still the preview: nothing was queued
    with app.app_context():
        assert db.session.get(ImportJob, job_id).status == "previewed"


def test_upload_errors_are_next_to_their_fields(client, app, logged_in):
    response = _upload(client, content=b"", filename="refugio.pdf", source_name="")
    assert response.status_code == 422
    page = page_text(response)
    assert 'id="file-error"' in page and 'id="source_name-error"' in page
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(ImportJob.id))) == 0


def test_the_upload_is_bounded_by_import_max_body_bytes(client, app, logged_in):
    app.config["IMPORT_MAX_BODY_BYTES"] = 2_000_000
    big = ROSTER + b"".join(
        f"{300 + i};Persona Sintética {i};30;M;\n".encode() for i in range(40_000)
    )
    assert app.config["MAX_CONTENT_LENGTH"] < len(big) < 2_000_000
    assert _upload(client, content=big).status_code == 303  # above the usual 1 MiB: accepted
    app.config["IMPORT_MAX_BODY_BYTES"] = 100_000
    assert _upload(client, content=big).status_code == 413


def test_the_roster_pages_in_spanish(client, app, logged_in):
    assert "Importar una lista de un albergue" in page_text(
        client.get("/coordinator/rosters/new?lang=es")
    )
    job_id = _job_id(_upload(client))
    page = page_text(client.get(f"/coordinator/rosters/{job_id}?lang=es"))
    assert "Columna del archivo" in page and "Nombre completo" in page and "Fila 3" in page
