"""The families' pages: forms built on the API's schema, errors by field, CSRF, photos, status."""

from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa
from PIL import Image

from app.auth.models import AuditEvent
from app.extensions import db, limiter
from app.reports.models import Report
from app.sms.models import OutboxMessage
from tests.helpers import count
from tests.web.conftest import page_text

MISSING = {
    "full_name": "Marisol Quiñones Vega",
    "alternate_names": "Mari, Sol",
    "age": "34",
    "sex": "female",
    "description": "Camisa azul, lentes",
    "last_known_location": "Yauco, barrio Almácigo Alto",
    "home_city": "Yauco",
    "home_country": "PR",
    "author_name": "Carmen Vega",
    "author_phone": "+1 555 555 0123",
    "language": "es",
    "consent": "yes",
}


def _reports(app):
    with app.app_context():
        return list(db.session.scalars(sa.select(Report)))


def test_home_offers_the_three_paths(client):
    page = page_text(client.get("/"))
    for path in ("/report/missing", "/report/found", "/check"):
        assert f'href="{path}"' in page


def test_a_missing_report_is_filed_matched_audited_and_confirmed_by_sms(app, client, post_form):
    response = post_form("/report/missing", MISSING)
    assert response.status_code == 303 and response.headers["Location"] == "/report/done"
    [report] = _reports(app)
    assert report.kind == "missing" and report.full_name == "Marisol Quiñones Vega"
    assert report.alternate_names == ["Mari", "Sol"]
    assert report.author_phone == "+15555550123" and report.language == "es"
    assert report.status == "information_sought"
    assert count(app, AuditEvent, AuditEvent.action == "report.create") == 1
    with app.app_context():
        sms = db.session.scalar(sa.select(OutboxMessage))
        assert sms.to_phone == "+15555550123" and sms.template == "find_received"
        assert report.reference in sms.body and sms.language == "es"

    done = page_text(client.get("/report/done"))
    assert f'<output id="reference" aria-live="polite">{report.reference}</output>' in done


def test_no_phone_no_sms(app, post_form):
    response = post_form("/report/missing", {**MISSING, "author_phone": ""})
    assert response.status_code == 303
    assert count(app, OutboxMessage) == 0


def test_found_about_oneself_is_reported_by_the_person(app, post_form):
    data = {**MISSING, "about": "self", "last_known_location": "Refugio Escuela Segunda Unidad"}
    response = post_form("/report/found", data)
    assert response.status_code == 303
    [report] = _reports(app)
    assert report.kind == "found" and report.status == "is_note_author"
    assert report.contact_phone == report.author_phone == "+15555550123"
    with app.app_context():
        assert db.session.scalar(sa.select(OutboxMessage.template)) == "found_received"


def test_errors_are_tied_to_their_fields_and_the_answers_survive(app, post_form):
    data = {**MISSING, "full_name": "", "alternate_names": "", "description": "", "age": "abc"}
    data["author_phone"] = "not a phone"
    response = post_form("/report/missing", data)
    assert response.status_code == 422
    page = page_text(response)
    for field in ("age", "author_phone", "full_name"):
        assert re.search(rf'id="{field}"[^>]*aria-describedby="[^"]*{field}-error"', page), field
        assert f'id="{field}-error"' in page
        assert f'href="#{field}"' in page  # the summary links to the field
    assert "Enter an age such as 34" in page
    assert "Give a name, a nickname or a description" in page
    # What was typed is still there, nothing was filed.
    assert 'value="Yauco, barrio Almácigo Alto"' in page and 'value="abc"' in page
    assert '<option value="PR" selected>' in page
    assert _reports(app) == []


def test_error_messages_are_in_the_readers_language(client, post_form):
    client.get("/language/es")
    page = page_text(post_form("/report/missing", {**MISSING, "age": "200"}))
    assert "Escriba una edad como 34" in page and "Enter an age" not in page


def test_a_long_name_gets_its_own_message(post_form):
    page = page_text(post_form("/report/missing", {**MISSING, "full_name": "A" * 501}))
    assert "use at most 500 characters" in page


def test_consent_is_required(app, post_form):
    response = post_form("/report/missing", {**MISSING, "consent": ""})
    assert response.status_code == 422
    assert 'id="consent-error"' in page_text(response)
    assert _reports(app) == []


def test_without_a_csrf_token_nothing_is_filed(app, client):
    response = client.post("/report/missing", data=MISSING)
    assert response.status_code == 400
    assert "This form has expired" in page_text(response)
    assert _reports(app) == []


def test_the_honeypot_keeps_nothing(app, post_form):
    response = post_form("/report/missing", {**MISSING, "website": "http://spam.example"})
    assert response.status_code == 303
    assert _reports(app) == []


def test_the_form_is_rate_limited_but_not_the_page(app, client, post_form):
    app.config.update(RATELIMIT_ENABLED=True, RATE_LIMIT_REPORTS="2/minute")
    limiter.init_app(app)
    limiter.reset()
    try:
        statuses = [post_form("/report/missing", MISSING).status_code for _ in range(3)]
        assert statuses == [303, 303, 429]
        blocked = post_form("/report/missing", MISSING)
        assert "Too many tries" in page_text(blocked)
        assert client.get("/report/missing").status_code == 200
    finally:
        limiter.reset()


def _jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (2400, 1200), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x8825] = {2: (18.0, 2.0, 0.0), 4: (66.0, 51.0, 0.0)}  # GPSInfo
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    assert b"SecretCam" in out.getvalue()
    return out.getvalue()


def test_a_photo_is_reencoded_without_metadata(app, client, post_form, photo_dir, logged_in):
    data = {**MISSING, "photo": (io.BytesIO(_jpeg_with_gps()), "me.jpg")}
    response = post_form("/report/missing", data, content_type="multipart/form-data")
    assert response.status_code == 303
    [stored] = list(photo_dir.iterdir())
    raw = stored.read_bytes()
    assert b"SecretCam" not in raw and b"Exif" not in raw
    with Image.open(stored) as image:
        assert image.format == "JPEG" and max(image.size) == 1600
    [report] = _reports(app)
    assert report.photo_url.endswith(f"/coordinator/photos/{stored.stem}.jpg")
    # Coordinators see it (audited); the public does not.
    path = report.photo_url.split("localhost", 1)[1]
    assert client.get(path).status_code == 200
    assert count(app, AuditEvent, AuditEvent.action == "photo.read") == 1
    anonymous = app.test_client()
    assert anonymous.get(path).status_code == 302


def test_a_file_that_is_not_a_photo_is_refused_next_to_the_field(app, post_form, photo_dir):
    data = {**MISSING, "photo": (io.BytesIO(b"%PDF-1.4 not an image"), "x.jpg")}
    response = post_form("/report/missing", data, content_type="multipart/form-data")
    assert response.status_code == 422
    assert 'id="photo-error"' in page_text(response)
    assert _reports(app) == [] and not photo_dir.exists()


def test_a_photo_over_the_limit_is_refused(app, post_form):
    app.config["PHOTO_MAX_BYTES"] = 2048
    data = {**MISSING, "photo": (io.BytesIO(_jpeg_with_gps() + b"\0" * 4096), "big.jpg")}
    response = post_form("/report/missing", data, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "This photo is too large" in page_text(response)


def test_a_photo_survives_an_error_in_another_field(app, post_form, photo_dir):
    data = {**MISSING, "age": "abc", "photo": (io.BytesIO(_jpeg_with_gps()), "me.jpg")}
    page = page_text(post_form("/report/missing", data, content_type="multipart/form-data"))
    photo_id = re.search(r'name="photo_id" value="([0-9a-f]{26})"', page).group(1)
    response = post_form("/report/missing", {**MISSING, "photo_id": photo_id})
    assert response.status_code == 303
    [report] = _reports(app)
    assert report.photo_url.endswith(f"/{photo_id}.jpg")


def test_a_made_up_photo_id_is_ignored(app, post_form):
    response = post_form("/report/missing", {**MISSING, "photo_id": "../../etc/passwd"})
    assert response.status_code == 303
    assert _reports(app)[0].photo_url is None


# --- Check a report ---------------------------------------------------------------------------


@pytest.fixture
def filed(make_report):
    return make_report(
        kind="found",
        last_known_location="Refugio Escuela Segunda Unidad, Yauco",
        author_phone="+15555550199",
    )


def test_check_shows_status_and_date_only(app, post_form, filed):
    response = post_form(
        "/check",
        {"reference": filed["reference"].lower().replace("-", ""), "phone": "+1 555 555 0199"},
    )
    assert response.status_code == 200
    page = page_text(response)
    assert "Believed alive" in page and filed["reference"] in page
    assert "Refugio" not in page and "Marisol" not in page and "Yauco" not in page
    assert count(app, AuditEvent, AuditEvent.action == "report.status_check") == 1


def test_check_with_the_wrong_phone_says_nothing_more(post_form, filed):
    response = post_form("/check", {"reference": filed["reference"], "phone": "+15555550100"})
    assert response.status_code == 404
    page = page_text(response)
    assert "No report matches this reference and phone number." in page
    assert 'aria-describedby="reference-hint reference-error"' in page


def test_check_needs_both_fields(post_form):
    response = post_form("/check", {"reference": "", "phone": ""})
    assert response.status_code == 422
    page = page_text(response)
    assert 'id="reference-error"' in page and 'id="phone-error"' in page


# --- Weight and structure ---------------------------------------------------------------------

_ASSETS = re.compile(r'(?:href|src)="(/assets/[^"]+)"')


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/report/missing",
        "/report/found",
        "/check",
        "/report/done",
        "/volunteer",
        "/volunteer/thanks",
    ],
)
@pytest.mark.parametrize("language", ["en", "ar"])
def test_public_pages_weigh_under_200_kb_with_their_assets(client, path, language):
    response = client.get(path, headers={"Accept-Language": language})
    assert response.status_code == 200
    page = page_text(response)
    total = len(response.data)
    for asset in set(_ASSETS.findall(page)):
        asset_response = client.get(asset)
        assert asset_response.status_code == 200
        total += len(asset_response.data)
    assert total < 200 * 1024, total
    assert "<script" not in page or "defer" in page  # never blocks the first paint


def test_pages_with_personal_data_are_not_cached(post_form):
    response = post_form("/report/missing", {**MISSING, "age": "abc"})
    assert response.headers["Cache-Control"] == "no-store"


def test_the_reference_is_shown_once(client, post_form):
    post_form("/report/missing", MISSING)
    assert 'id="reference"' in page_text(client.get("/report/done"))
    assert 'id="reference"' not in page_text(client.get("/report/done"))


def test_web_pages_allow_scripts_from_this_site_only(client):
    policy = client.get("/").headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "Content-Security-Policy" not in client.get("/healthz").headers


def test_the_photo_url_is_on_the_public_address_when_there_is_one(app, post_form):
    app.config["PUBLIC_BASE_URL"] = "https://reunite.example.org"
    data = {**MISSING, "photo": (io.BytesIO(_jpeg_with_gps()), "me.jpg")}
    assert post_form("/report/missing", data, content_type="multipart/form-data").status_code == 303
    [report] = _reports(app)
    assert report.photo_url.startswith("https://reunite.example.org/coordinator/photos/")


def test_a_photo_between_one_and_eight_megabytes_reaches_the_form(app, post_form, photo_dir):
    """The request body limit (MAX_BODY_BYTES, 1 MiB) does not apply to the report form: a
    photo up to PHOTO_MAX_BYTES is read (CSRF included) and re-encoded."""
    from PIL import Image

    noisy = Image.effect_noise((1100, 1100), 90).convert("RGB")
    buffer = io.BytesIO()
    noisy.save(buffer, format="PNG")
    photo = buffer.getvalue()
    assert 1024 * 1024 < len(photo) < app.config["PHOTO_MAX_BYTES"]
    data = {**MISSING, "photo": (io.BytesIO(photo), "big.png")}
    response = post_form("/report/missing", data, content_type="multipart/form-data")
    assert response.status_code == 303, page_text(response)[:500]
    assert _reports(app)[0].photo_url


def test_a_body_over_the_photo_limit_gets_the_form_back_with_the_photos_error(app, post_form):
    app.config["PHOTO_MAX_BYTES"] = 4096
    data = {**MISSING, "photo": (io.BytesIO(b"\0" * 600_000), "huge.jpg")}
    response = post_form("/report/missing", data, content_type="multipart/form-data")
    assert response.status_code == 413
    assert 'id="photo-error"' in page_text(response)
    assert _reports(app) == []
