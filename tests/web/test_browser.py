"""In a real headless Chromium: a family reports in Spanish and in Arabic, a coordinator confirms
a match; axe-core finds no serious or critical accessibility violation on the way."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from app.extensions import db
from app.matching.models import MatchCandidate
from app.reports.models import Report
from app.sms.models import OutboxMessage
from tests.conftest import PASSWORD

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
pytestmark = pytest.mark.slow


def axe_violations(browser: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page shown (WCAG 2.2 A and AA)."""
    browser.execute_script(AXE.read_text(encoding="utf-8"))
    browser.set_script_timeout(30)
    violations = browser.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        axe.run(document, {runOnly: {type: "tag", values:
            ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]}})
          .then(result => done(result.violations), error => done([{id: String(error)}]));
        """
    )
    return [
        {"id": v["id"], "impact": v.get("impact"), "nodes": [n["target"] for n in v["nodes"]]}
        for v in violations
        if v.get("impact") in ("serious", "critical") or "impact" not in v
    ]


def wait_for(browser: Any, css: str) -> Any:
    return WebDriverWait(browser, 20).until(
        expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css))
    )


def fill(browser: Any, values: dict[str, str]) -> None:
    for name, value in values.items():
        field = browser.find_element(By.ID, name)
        field.clear()
        field.send_keys(value)


def log_in(browser: Any, base: str, coordinator: dict[str, str]) -> None:
    browser.get(base + "/coordinator/login")
    fill(browser, {"email": coordinator["email"], "password": PASSWORD})
    browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    wait_for(browser, "ul.counts")


def choose_language(browser: Any, base: str, name: str) -> None:
    browser.get(base + "/")
    browser.find_element(By.LINK_TEXT, name).click()
    wait_for(browser, "nav.languages [aria-current]")


def test_a_family_reports_in_spanish_and_corrects_an_error(app, live_server, browser):
    choose_language(browser, live_server, "Español")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "es"
    assert axe_violations(browser) == []
    browser.find_element(By.PARTIAL_LINK_TEXT, "Busco a alguien").click()
    wait_for(browser, "form #full_name")
    assert axe_violations(browser) == []

    fill(
        browser,
        {
            "full_name": "Marisol Quiñones Vega",
            "age": "treinta y cuatro",
            "last_known_location": "Yauco, barrio Almácigo Alto",
            "author_name": "Carmen Vega",
            "author_phone": "+1 555 555 0123",
        },
    )
    browser.find_element(By.ID, "consent").click()
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()

    summary = wait_for(browser, "#error-summary")
    assert "Escriba una edad como 34" in summary.text
    age = browser.find_element(By.ID, "age")
    assert age.get_attribute("aria-invalid") == "true"
    assert "age-error" in age.get_attribute("aria-describedby")
    # What the family typed is still there, and the error summary has the focus.
    assert browser.find_element(By.ID, "last_known_location").get_attribute("value") == (
        "Yauco, barrio Almácigo Alto"
    )
    assert browser.switch_to.active_element.get_attribute("id") == "error-summary"
    assert axe_violations(browser) == []

    fill(browser, {"age": "34"})
    if not browser.find_element(By.ID, "consent").is_selected():
        browser.find_element(By.ID, "consent").click()
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()

    reference = wait_for(browser, "#reference").text
    assert "Gracias" in browser.find_element(By.TAG_NAME, "h1").text
    assert axe_violations(browser) == []
    with app.app_context():
        report = db.session.scalar(sa.select(Report))
        assert (report.reference, report.age, report.language) == (reference, "34", "es")
        sms = db.session.scalar(sa.select(OutboxMessage))
        assert sms.to_phone == "+15555550123" and reference in sms.body


def test_a_found_report_in_arabic(app, live_server, browser):
    choose_language(browser, live_server, "العربية")
    html = browser.find_element(By.TAG_NAME, "html")
    assert (html.get_attribute("lang"), html.get_attribute("dir")) == ("ar", "rtl")
    browser.find_element(By.PARTIAL_LINK_TEXT, "أنا بأمان").click()
    wait_for(browser, "form #full_name")
    # Right to left: a radio button sits at the right edge, before its label.
    radio = browser.find_element(By.ID, "about-self")
    label = browser.find_element(By.CSS_SELECTOR, "label[for=about-self]")
    page_width = browser.execute_script("return document.documentElement.clientWidth")
    assert radio.location["x"] > page_width / 2
    assert label.location["x"] < radio.location["x"]
    assert axe_violations(browser) == []

    browser.find_element(By.ID, "about-self").click()
    fill(
        browser,
        {
            "full_name": "فاطمة الزهراء حداد",
            "age": "41",
            "last_known_location": "مدرسة الأمل، ملجأ رقم 3",
            "author_phone": "+1 555 555 0144",
        },
    )
    browser.find_element(By.ID, "consent").click()
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    reference = wait_for(browser, "#reference").text
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("dir") == "rtl"
    assert axe_violations(browser) == []
    with app.app_context():
        report = db.session.scalar(sa.select(Report))
        assert (report.kind, report.reference, report.language) == ("found", reference, "ar")
        assert report.status == "is_note_author" and report.contact_phone == "+15555550144"
        sms = db.session.scalar(sa.select(OutboxMessage))
        assert sms.template == "found_received" and sms.language == "ar"


def test_a_coordinator_confirms_a_match_and_the_family_sms_is_in_the_outbox(
    app, live_server, browser, coordinator, pair
):
    browser.get(live_server + "/coordinator/")
    wait_for(browser, "#email")
    assert axe_violations(browser) == []
    fill(browser, {"email": coordinator["email"], "password": PASSWORD})
    browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    wait_for(browser, "ul.counts")
    assert axe_violations(browser) == []

    browser.get(live_server + "/coordinator/matches")
    link = wait_for(browser, f'a[href="/coordinator/matches/{pair["match_id"]}"]')
    assert axe_violations(browser) == []
    link.click()
    wait_for(browser, "table.compare")
    assert axe_violations(browser) == []
    fill(browser, {"confirm-reason": "Misma edad y pueblo; el refugio lo confirmó"})
    browser.find_element(By.ID, "confirm").click()
    wait_for(browser, ".flash")

    browser.get(live_server + "/coordinator/sms")
    outbox = wait_for(browser, "#outbox")
    assert pair["missing"]["reference"] in outbox.text and "+15555550123" in outbox.text
    assert axe_violations(browser) == []
    with app.app_context():
        assert db.session.get(MatchCandidate, pair["match_id"]).status == "confirmed"
        family = db.session.scalar(
            sa.select(OutboxMessage).where(OutboxMessage.template == "match_confirmed")
        )
        assert family.to_phone == "+15555550123"

    browser.get(live_server + f"/coordinator/reports/{pair['missing']['id']}")
    wait_for(browser, ".timeline")
    assert axe_violations(browser) == []


def test_keyboard_shortcuts_move_through_the_queue(live_server, browser, coordinator, pair):
    log_in(browser, live_server, coordinator)
    browser.get(live_server + "/coordinator/matches")
    wait_for(browser, "[data-queue-item]")
    browser.find_element(By.TAG_NAME, "body").send_keys("j")
    assert browser.switch_to.active_element.get_attribute("data-queue-item") is not None


def test_axe_does_find_violations(browser):
    """The check above can fail: a page with an unlabelled field and an image without text."""
    browser.get("data:text/html,<html><body><img src='x.png'><input type='text'></body></html>")
    found = {v["id"] for v in axe_violations(browser)}
    assert {"image-alt", "label"} <= found


def test_the_map_draws_the_reports_when_tiles_are_configured(
    app, live_server, browser, coordinator, pair
):
    # Any image will do as a tile; there is no tile server (nor internet) in the tests.
    app.config["MAP_TILE_URL"] = (
        live_server + "/assets/vendor/leaflet/images/layers.png?{z}/{x}/{y}"
    )
    log_in(browser, live_server, coordinator)
    browser.get(live_server + "/coordinator/map")
    wait_for(browser, "#map .leaflet-interactive")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#map .leaflet-interactive")) >= 1
    # The list is still there for whoever cannot use the map.
    assert pair["found"]["reference"] in browser.find_element(By.TAG_NAME, "table").text
    assert axe_violations(browser) == []


def test_a_volunteer_signs_up_in_swedish_and_corrects_an_error(app, live_server, browser):
    choose_language(browser, live_server, "Svenska")
    browser.find_element(By.PARTIAL_LINK_TEXT, "Anmäl dig som volontär").click()
    wait_for(browser, "form #name")
    assert axe_violations(browser) == []
    fill(browser, {"name": "Astrid Lindqvist", "phone": "070 ett två", "home_location": "Yauco"})
    browser.find_element(By.ID, "skill-first_aid").click()
    browser.find_element(By.ID, "consent").click()
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()

    summary = wait_for(browser, "#error-summary")
    assert "landsnummer" in summary.text or "+1 555" in summary.text
    phone = browser.find_element(By.ID, "phone")
    assert phone.get_attribute("aria-invalid") == "true"
    assert browser.find_element(By.ID, "skill-first_aid").is_selected()
    assert axe_violations(browser) == []

    fill(browser, {"phone": "+1 555 555 0177"})
    if not browser.find_element(By.ID, "consent").is_selected():
        browser.find_element(By.ID, "consent").click()
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait_for(browser, "main ol")
    assert "Tack" in browser.find_element(By.TAG_NAME, "h1").text
    assert axe_violations(browser) == []
    with app.app_context():
        from app.volunteers.models import Volunteer

        volunteer = db.session.scalar(sa.select(Volunteer))
        assert volunteer.phone == "+15555550177" and volunteer.skills == ["first_aid"]


def test_a_coordinator_creates_a_task_and_vets_a_volunteer(app, live_server, browser, coordinator):
    from app.volunteers.service import volunteers as volunteers_service

    with app.app_context():
        volunteer = volunteers_service.register_volunteer(
            data={
                "name": "Nguyễn Thị Lan",
                "phone": "+15555550178",
                "languages": ["vi", "en"],
                "skills": ["driving"],
                "home_location": "Yauco",
            },
            created_by="test",
        )
        db.session.commit()
        volunteer_id = volunteer.id
    log_in(browser, live_server, coordinator)
    browser.get(live_server + "/coordinator/tasks/new")
    wait_for(browser, "form #title")
    assert axe_violations(browser) == []
    fill(browser, {"title": "Drive blankets to the Yauco school", "location": "Yauco"})
    browser.find_element(By.ID, "skill-driving").click()
    browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    offers = wait_for(browser, "#offers")
    assert "Nguyễn Thị Lan" in offers.text
    assert axe_violations(browser) == []
    browser.find_element(By.PARTIAL_LINK_TEXT, "Who would be asked next").click()
    wait_for(browser, "main h1")
    assert axe_violations(browser) == []

    browser.get(live_server + "/coordinator/tasks")
    wait_for(browser, "main table")
    assert axe_violations(browser) == []
    browser.get(live_server + "/coordinator/volunteers")
    wait_for(browser, "#volunteers")
    assert axe_violations(browser) == []
    browser.get(live_server + f"/coordinator/volunteers/{volunteer_id}")
    wait_for(browser, "main dl")
    assert axe_violations(browser) == []
    browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    wait_for(browser, ".flash")
    with app.app_context():
        from app.volunteers.models import Volunteer

        assert db.session.get(Volunteer, volunteer_id).vetted is True


def test_a_need_with_proposed_pairings_passes_axe(app, live_server, browser, coordinator):
    from app.volunteers.service import donations
    from app.volunteers.service import tasks as task_service

    with app.app_context():
        donations.register_offer(
            donor={"name": "Colmado Rivera", "phone": "+15555550111", "location": "Ponce"},
            offer={"category": "water", "quantity": 100},
            created_by="test",
        )
        need = task_service.create_task(
            data={
                "title": "Agua para el refugio de Ponce",
                "location": "Ponce",
                "supply_category": "water",
                "supply_quantity": 40,
            },
            created_by="test",
        )
        donations.propose_pairings(task_id=need.id, actor="test")
        db.session.commit()
        need_id = need.id
    log_in(browser, live_server, coordinator)
    browser.get(live_server + f"/coordinator/tasks/{need_id}?lang=ar")
    pairings = wait_for(browser, "#pairings")
    assert "Colmado Rivera" in pairings.text
    assert axe_violations(browser) == []


def test_a_roster_is_imported_in_the_browser_and_the_plan_passes_axe(
    app, live_server, browser, coordinator, tmp_path
):
    roster = tmp_path / "refugio.csv"
    roster.write_text(
        "Nº registro;Nombre completo;Edad;Sexo\n"
        "301;Marisol Quiñones Vega;41;Mujer\n"
        "302;Tomás Ileana Brau;abc;H\n",
        encoding="utf-8",
    )
    log_in(browser, live_server, coordinator)
    browser.get(live_server + "/coordinator/rosters/new")
    wait_for(browser, "form #file")
    assert axe_violations(browser) == []
    browser.find_element(By.ID, "file").send_keys(str(roster))
    fill(browser, {"source_name": "Escuela Segunda Unidad"})
    browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    assert "Row 3" in wait_for(browser, "#problems").text
    assert axe_violations(browser) == []
    browser.find_element(By.CSS_SELECTOR, "button[value=import]").click()
    assert "Row 3" in wait_for(browser, "#bad-rows").text  # the worker runs at once in tests
    assert browser.find_element(By.ID, "loaded").text == "1"
    assert axe_violations(browser) == []

    browser.get(live_server + "/coordinator/tasks/plan?lang=ar")
    wait_for(browser, "main h1")
    assert axe_violations(browser) == []
