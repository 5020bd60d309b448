"""The OpenAPI document is generated from the schemas, and the docs page works offline."""

from __future__ import annotations

import re

import pytest


@pytest.fixture
def spec(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.get_json()


def test_document_is_openapi_3(spec):
    assert spec["openapi"].startswith("3.")
    assert spec["info"]["title"] == "Reunite"
    assert spec["info"]["version"] == "v1"


def test_paths(spec):
    paths = spec["paths"]
    expected = {
        "/api/v1/reports": {"get", "post"},
        "/api/v1/reports/{report_id}": {"get", "patch"},
        "/api/v1/reports/{report_id}/notes": {"get", "post"},
        "/api/v1/reports/{report_id}/audit": {"get"},
        "/api/v1/reports/status": {"post"},
        "/api/v1/tokens": {"post"},
        "/api/v1/me": {"get"},
    }
    for path, methods in expected.items():
        assert path in paths, path
        assert methods <= set(paths[path]), path


def test_report_input_schema_lists_pfif_fields(spec):
    schema = spec["components"]["schemas"]["ReportIn"]
    properties = schema["properties"]

    for field in (
        "full_name",
        "given_name",
        "family_name",
        "alternate_names",
        "date_of_birth",
        "age",
        "sex",
        "home_street",
        "home_city",
        "home_state",
        "home_postal_code",
        "home_country",
        "description",
        "photo_url",
        "profile_urls",
        "author_name",
        "author_email",
        "author_phone",
        "source_date",
    ):
        assert field in properties, field
    assert schema["required"] == ["kind"]
    assert properties["kind"]["enum"] == ["missing", "found"]
    assert properties["full_name"]["maxLength"] == 500
    assert properties["photo_url"]["maxLength"] == 1000


def test_patch_schema_has_no_kind(spec):
    patch = spec["paths"]["/api/v1/reports/{report_id}"]["patch"]
    ref = patch["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = spec["components"]["schemas"][ref.rsplit("/", 1)[-1]]

    assert "kind" not in schema["properties"]
    assert "home_city" in schema["properties"]


def test_bearer_security(spec):
    scheme = spec["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")

    reports = spec["paths"]["/api/v1/reports"]
    assert reports["get"]["security"] == [{"bearerAuth": []}]
    assert "security" not in reports["post"]  # public submission
    assert "security" not in spec["paths"]["/api/v1/reports/status"]["post"]


def test_error_envelope_is_documented(spec):
    schemas = spec["components"]["schemas"]
    envelope = next(s for name, s in schemas.items() if name.startswith("ErrorEnvelope"))

    assert {"code", "message", "errors"} <= set(envelope["properties"])


def test_docs_page_uses_local_assets_that_are_served(client):
    page = client.get("/api/v1/docs")

    assert page.status_code == 200
    assert page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    local = [a for a in assets if a.startswith("/api/v1/docs/assets/")]
    assert local, assets
    assert not [a for a in assets if a.startswith(("http://", "https://", "//"))]
    for asset in local:
        response = client.get(asset)
        assert response.status_code == 200, asset
        assert response.get_data()
    assert "/api/v1/openapi.json" in html


def test_missing_asset_is_404(client):
    assert client.get("/api/v1/docs/assets/nope.js").status_code == 404
    assert client.get("/api/v1/docs/assets/../../../etc/passwd").status_code == 404
