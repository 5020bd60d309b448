"""The optional map pin on the report forms: a button that loads Leaflet only when pressed, when
tiles are configured; the latitude and longitude fields stay for everyone."""

from __future__ import annotations

import re

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from tests.web.conftest import page_text
from tests.web.test_browser import axe_violations, wait_for

TILES = "http://tiles.invalid/{z}/{x}/{y}.png"
_ASSETS = re.compile(r'(?:href|src)="(/assets/[^"]+)"')


@pytest.fixture
def tiles(app):
    app.config["MAP_TILE_URL"] = TILES
    app.config["MAP_TILE_ATTRIBUTION"] = "© Map contributors"
    return TILES


@pytest.mark.parametrize("kind", ["missing", "found"])
def test_with_tiles_the_form_offers_the_pin_without_loading_leaflet(client, tiles, kind):
    page = page_text(client.get(f"/report/{kind}"))
    assert 'id="pick"' in page and "hidden" in page.split('id="pick"')[1].split(">")[0]
    assert f'data-tiles="{TILES}"' in page
    assert 'data-attribution="© Map contributors"' in page
    assert 'data-leaflet-js="/assets/vendor/leaflet/leaflet.js"' in page
    assert 'data-leaflet-css="/assets/vendor/leaflet/leaflet.css"' in page
    # Loaded only when the button is pressed: no tag fetches it with the page.
    assert not re.search(r"<(script|link)[^>]+leaflet", page)
    # The map has a name and an instruction; the text fields are still there.
    assert 'aria-label="Map to choose the position"' in page
    assert 'aria-describedby="pin-help"' in page and 'id="pin-help"' in page
    assert 'name="lat"' in page and 'name="lon"' in page


def test_without_tiles_there_is_no_pin(client):
    page = page_text(client.get("/report/missing"))
    assert 'id="pick"' not in page and "pin-map" not in page and "data-leaflet" not in page
    assert 'name="lat"' in page and 'name="lon"' in page


def test_the_pin_is_translated(client, tiles):
    page = page_text(client.get("/report/missing", headers={"Accept-Language": "ar"}))
    assert "اختر على الخريطة" in page and 'aria-label="خريطة لاختيار الموقع"' in page


@pytest.mark.parametrize("language", ["en", "ar"])
def test_the_form_with_the_pin_still_weighs_under_200_kb(client, tiles, language):
    response = client.get("/report/missing", headers={"Accept-Language": language})
    page = page_text(response)
    total = len(response.data)
    assets = set(_ASSETS.findall(page))
    assert not any("leaflet" in asset for asset in assets)
    for asset in assets:
        total += len(client.get(asset).data)
    assert total < 200 * 1024, total


def test_the_tile_server_is_allowed_for_images_only(client, tiles):
    policy = client.get("/report/missing").headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "style-src 'self';" in policy
    assert "http://tiles.invalid" in policy.split("img-src")[1].split(";")[0]


def _fields(browser):
    return (
        browser.find_element(By.ID, "lat").get_attribute("value"),
        browser.find_element(By.ID, "lon").get_attribute("value"),
    )


@pytest.mark.slow
def test_a_click_on_the_map_fills_the_fields_in_arabic(app, live_server, browser):
    # Any image will do as a tile; there is no tile server (nor internet) in the tests.
    app.config["MAP_TILE_URL"] = (
        live_server + "/assets/vendor/leaflet/images/layers.png?{z}/{x}/{y}"
    )
    browser.get(live_server + "/report/missing?lang=ar")
    wait_for(browser, "form #full_name")
    assert not browser.find_elements(By.CSS_SELECTOR, "script[src*=leaflet]")
    browser.find_element(By.XPATH, "//details[.//input[@id='lat']]/summary").click()
    pick = browser.find_element(By.ID, "pick")
    assert pick.is_displayed()
    assert pick.get_attribute("aria-expanded") == "false"
    pick.click()
    wait_for(browser, "#pin-map.leaflet-container .leaflet-tile")
    assert pick.get_attribute("aria-expanded") == "true"
    assert browser.find_elements(By.CSS_SELECTOR, "script[src*=leaflet]")

    # A click drops the pin and fills both fields, five decimals.
    browser.find_element(By.ID, "pin-map").click()
    wait_for(browser, "#pin-map .leaflet-marker-icon")
    lat, lon = _fields(browser)
    assert re.fullmatch(r"-?\d+\.\d{5}", lat) and re.fullmatch(r"-?\d+\.\d{5}", lon)
    assert -90 <= float(lat) <= 90 and -180 <= float(lon) <= 180

    # Typing moves the pin: the fields are the source of truth.
    marker = browser.find_element(By.CSS_SELECTOR, "#pin-map .leaflet-marker-icon")
    before = marker.get_attribute("style")
    for name, value in (("lat", "-33.45"), ("lon", "-70.66")):
        field = browser.find_element(By.ID, name)
        field.clear()
        field.send_keys(value)
    WebDriverWait(browser, 10).until(lambda b: marker.get_attribute("style") != before)

    # The keyboard: Enter on the focused map puts the pin at its centre.
    browser.find_element(By.ID, "pin-map").send_keys(Keys.ENTER)
    lat, lon = _fields(browser)
    # (the centre to a pixel: a third of a degree at this zoom)
    assert abs(float(lat) + 33.45) < 0.5 and abs(float(lon) + 70.66) < 0.5
    assert axe_violations(browser) == []
