"""Shelter rosters: CSV and XLSX, headers recognised in en/es/fr/sv, preview, import, bad rows."""

from __future__ import annotations

import io
import json

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from app.auth.models import AuditEvent
from app.extensions import db
from app.matching.models import MatchCandidate, MatchProfile
from app.reports import roster
from app.reports.models import ImportJob, Report
from tests.conftest import bearer
from tests.helpers import assert_envelope, count

SPANISH = (
    "Nº registro;Nombre completo;Edad;Sexo;Municipio;Teléfono;Observaciones\n"
    "101;María José Rivera Ortiz;34;Mujer;Yauco;+1 555 555 0101;Brazo enyesado\n"
    "102;José Luis Pérez;abc;H;Guánica;;\n"
    "103;Ana Lucía Torres;7;F;Yauco;;Con su abuela\n"
    "104;;;;;;\n"
    "105;;40;M;Ponce;;Hombre inconsciente\n"
    "106;Pedro Ñúñez 🙂;200;Hombre;Ponce;;\n"
)


def xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(client, token: str, content: bytes, filename: str, **form: str):
    data = {"file": (io.BytesIO(content), filename), "source_name": "Escuela Central", **form}
    return client.post(
        "/api/v1/rosters", data=data, headers=bearer(token), content_type="multipart/form-data"
    )


def test_headers_are_recognised_in_four_languages():
    cases = {
        ("Nombre completo", "Edad", "Sexo", "Municipio", "Teléfono"): [
            "full_name",
            "age",
            "sex",
            "home_city",
            "contact_phone",
        ],
        ("Prénom", "Nom", "Âge", "Sexe", "Ville", "Date de naissance"): [
            "given_name",
            "family_name",
            "age",
            "sex",
            "home_city",
            "date_of_birth",
        ],
        ("Förnamn", "Efternamn", "Ålder", "Kön", "Ort", "Härbärge"): [
            "given_name",
            "family_name",
            "age",
            "sex",
            "home_city",
            "last_known_location",
        ],
        ("First Name", "SURNAME", "age (years)", "Gender", "Shoe size"): [
            "given_name",
            "family_name",
            "age",
            "sex",
            None,
        ],
    }
    for headers, fields in cases.items():
        assert list(roster.detect_mapping(list(headers)).values()) == fields, headers
    # A second column for a field already taken is left for the coordinator to decide.
    assert roster.detect_mapping(["Name", "Nombre"]) == {"Name": "full_name", "Nombre": None}
    # "Nombre" beside "Apellidos" is the given name; "Nombre completo" is then the whole name.
    assert roster.detect_mapping(["Nombre", "Apellidos", "Nombre completo"]) == {
        "Nombre": "given_name",
        "Apellidos": "family_name",
        "Nombre completo": "full_name",
    }
    assert roster.detect_mapping(["Namn", "Efternamn"]) == {
        "Namn": "given_name",
        "Efternamn": "family_name",
    }


def test_a_csv_roster_is_previewed_then_imported_with_its_bad_rows_listed(
    app, client, coordinator, make_report
):
    searched = make_report(
        kind="missing",
        full_name="María José Rivera Ortiz",
        given_name=None,
        family_name=None,
        age="34",
        sex="female",
        home_city="Yauco",
    )
    response = upload(client, coordinator["token"], SPANISH.encode(), "albergue.csv")
    assert response.status_code == 201, response.get_json()
    job = response.get_json()
    assert job["status"] == "previewed" and job["format"] == "csv" and job["kind"] == "found"
    preview = job["preview"]
    assert preview["total_rows"] == 6  # the blank line is not a row
    fields = {c["header"]: c["field"] for c in preview["columns"]}
    assert fields["Nº registro"] == "source_record_id" and fields["Observaciones"] == "description"
    first = preview["rows"][0]
    assert first["row"] == 2
    assert first["report"]["sex"] == "female" and first["report"]["home_city"] == "Yauco"
    assert first["report"]["source_record_id"] == "roster/escuela-central/101"
    assert {p["row"]: sorted(p["errors"]) for p in preview["problems"]} == {
        3: ["age"],
        5: ["_schema"],  # no name, no description
        7: ["age"],
    }
    assert count(app, Report) == 1  # nothing imported by a preview

    started = client.post(
        f"/api/v1/rosters/{job['id']}/import", headers=bearer(coordinator["token"])
    )
    assert started.status_code == 202
    # The tests run the background job inline; its state is what a coordinator polls.
    done = client.get(f"/api/v1/rosters/{job['id']}", headers=bearer(coordinator["token"]))
    body = done.get_json()
    assert body["status"] == "done", body
    assert (body["processed_rows"], body["loaded_rows"], body["error_count"]) == (6, 3, 3)
    assert sorted(body["errors"]) == ["3", "5", "7"]
    assert body["preview"] is None
    with app.app_context():
        loaded = {
            r.source_record_id: r
            for r in db.session.scalars(sa.select(Report).where(Report.kind == "found"))
        }
        assert set(loaded) == {
            "roster/escuela-central/101",
            "roster/escuela-central/103",
            "roster/escuela-central/105",
        }
        maria = loaded["roster/escuela-central/101"]
        assert maria.contact_phone == "+15555550101" and maria.source_name == "Escuela Central"
        assert loaded["roster/escuela-central/103"].is_minor
        assert db.session.get(ImportJob, job["id"]).content is None  # the file is not kept
        pairs = db.session.execute(
            sa.select(MatchCandidate.left_report_id, MatchCandidate.right_report_id)
        ).all()
    assert (searched["id"], maria.id) in pairs  # matched in the background
    assert count(app, MatchProfile) == 4
    assert count(app, AuditEvent, AuditEvent.action == "roster.import") == 1

    # The same roster again adds nothing.
    again = upload(client, coordinator["token"], SPANISH.encode(), "albergue.csv").get_json()
    client.post(f"/api/v1/rosters/{again['id']}/import", headers=bearer(coordinator["token"]))
    second = client.get(f"/api/v1/rosters/{again['id']}", headers=bearer(coordinator["token"]))
    assert second.get_json()["loaded_rows"] == 0
    assert count(app, Report) == 4
    # An import runs once.
    twice = client.post(f"/api/v1/rosters/{job['id']}/import", headers=bearer(coordinator["token"]))
    assert_envelope(twice, 409, "import_started")


def test_an_xlsx_roster_with_a_corrected_mapping(app, client, coordinator):
    content = xlsx(
        [
            ["Registre des arrivées"],
            [],
            ["Prénom", "Nom", "Âge", "Sexe", "Village", "Remarque libre"],
            ["Élodie", "Moreau", 34, "F", "Jacmel", "Cherche sa fille"],
            ["Jean-Baptiste", "Louis", 61.0, "homme", "Léogâne", None],
        ]
    )
    response = upload(client, coordinator["token"], content, "abri.xlsx", kind="found")
    job = response.get_json()
    assert response.status_code == 201, job
    # The title above the table is not taken for the header row.
    assert job["preview"]["columns"][0]["header"] == "Prénom"
    assert [row["row"] for row in job["preview"]["rows"]] == [4, 5]
    columns = {c["header"]: c["field"] for c in job["preview"]["columns"]}
    assert columns["Remarque libre"] is None and columns["Village"] == "home_city"
    url = f"/api/v1/rosters/{job['id']}/mapping"
    token = bearer(coordinator["token"])
    corrected = client.put(url, json={"mapping": {"Remarque libre": "description"}}, headers=token)
    assert corrected.status_code == 200, corrected.get_json()
    rows = corrected.get_json()["preview"]["rows"]
    assert rows[0]["report"]["description"] == "Cherche sa fille"
    assert rows[1]["report"]["age"] == "61" and rows[1]["report"]["sex"] == "male"
    for wrong, field in (
        ({"Shoe": "description"}, "Shoe"),
        ({"Village": "favourite_colour"}, "Village"),
        ({"Village": "family_name"}, "mapping"),
    ):
        refused = client.put(url, json={"mapping": wrong}, headers=token)
        assert field in assert_envelope(refused, 422)["errors"]
    nameless = {"Prénom": None, "Nom": None}
    assert (
        "mapping"
        in assert_envelope(client.put(url, json={"mapping": nameless}, headers=token), 422)[
            "errors"
        ]
    )
    client.post(f"/api/v1/rosters/{job['id']}/import", headers=token)
    with app.app_context():
        names = set(db.session.scalars(sa.select(Report.family_name)))
    assert names == {"Moreau", "Louis"}


@pytest.mark.parametrize(
    "content, filename, field",
    [
        (b"", "empty.csv", "file"),
        (b"not a workbook", "roster.xlsx", "file"),
        (b"a,b\n1,2\n", "roster.pdf", "file"),
        (b"\x00\x01\x02binary", "roster.csv", "file"),
        (b"Shoe size,Colour\n42,red\n", "roster.csv", "mapping"),
    ],
)
def test_files_we_cannot_read_are_refused_and_nothing_is_kept(
    app, client, coordinator, content, filename, field
):
    response = upload(client, coordinator["token"], content, filename)
    assert field in assert_envelope(response, 422)["errors"]
    assert count(app, ImportJob) == 0


def test_who_may_import_rosters(client, coordinator, make_key):
    content = SPANISH.encode()
    assert_envelope(upload(client, make_key("write", "full_read")["token"], content, "r.csv"), 403)
    anonymous = client.post(
        "/api/v1/rosters",
        data={"file": (io.BytesIO(content), "r.csv"), "source_name": "X"},
        content_type="multipart/form-data",
    )
    assert_envelope(anonymous, 401)
    missing = client.post(
        "/api/v1/rosters",
        data={"source_name": "X"},
        headers=bearer(coordinator["token"]),
        content_type="multipart/form-data",
    )
    assert "file" in assert_envelope(missing, 422)["errors"]
    unnamed = upload(client, coordinator["token"], content, "r.csv", source_name="")
    assert "source_name" in assert_envelope(unnamed, 422)["errors"]
    bad_json = upload(client, coordinator["token"], content, "r.csv", mapping="{not json")
    assert "mapping" in assert_envelope(bad_json, 422)["errors"]
    assert_envelope(client.get("/api/v1/rosters/nope", headers=bearer(coordinator["token"])), 404)


def test_the_cli_previews_and_imports_with_progress(app, tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text(SPANISH.replace(";", ","), encoding="cp1252", errors="replace")
    runner = app.test_cli_runner()
    shown = runner.invoke(
        args=["reports", "import", str(path), "--source-name", "Escuela", "--preview"]
    )
    assert shown.exit_code == 0, shown.output
    assert "'Edad' -> age" in shown.output and "row 3: age:" in shown.output
    assert count(app, Report) == 0

    result = runner.invoke(
        args=[
            "reports",
            "import",
            str(path),
            "--source-name",
            "Escuela",
            "--map",
            "Teléfono=",
            "--workers",
            "0",
        ]
    )
    assert result.exit_code == 1, result.output  # bad rows: a failing exit for scripts
    assert "importing" in result.output
    assert "roster: 3 loaded, 0 already loaded, 3 bad rows of 6" in result.output
    assert "row 7: age:" in result.output
    assert "Pérez" not in result.output  # rows are named by number, never by name
    with app.app_context():
        assert set(db.session.scalars(sa.select(Report.contact_phone))) == {None}

    bad_map = runner.invoke(
        args=["reports", "import", str(path), "--source-name", "Escuela", "--map", "Nope=age"]
    )
    assert bad_map.exit_code != 0 and "Nope: No such column" in bad_map.output


def test_the_header_table_is_data_with_every_field_in_every_language():
    data = json.loads(
        (roster.Path(roster.__file__).with_name("data") / "roster_headers.json").read_text()
    )
    for field, languages in data["fields"].items():
        assert set(languages) == {"en", "es", "fr", "sv"}, field
        assert all(languages.values()), field
