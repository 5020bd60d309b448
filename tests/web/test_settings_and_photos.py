"""The web pages' settings, and photo re-encoding on its own (no app needed)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from app.config import ConfigError, load_config
from app.web import photos

PRODUCTION = {
    "REUNITE_ENV": "production",
    "SECRET_KEY": "a-long-random-production-secret",
    "DATABASE_URL": "postgresql://db/reunite",
    "REDIS_URL": "redis://localhost:6379/0",
}


def test_defaults():
    config = load_config({})
    assert config["MAP_TILE_URL"] is None
    assert config["PHOTO_MAX_BYTES"] == 8 * 1024 * 1024
    assert config["SESSION_COOKIE_SECURE"] is False
    assert config["WTF_CSRF_CHECK_DEFAULT"] is False  # the API and webhooks never need a token


def test_production_cookies_are_secure_unless_told_otherwise():
    assert load_config(PRODUCTION)["SESSION_COOKIE_SECURE"] is True
    assert (
        load_config({**PRODUCTION, "SESSION_COOKIE_SECURE": "0"})["SESSION_COOKIE_SECURE"] is False
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"MAP_TILE_URL": "file:///tiles/{z}/{x}/{y}.png"}, "MAP_TILE_URL"),
        ({"PHOTO_MAX_BYTES": "12"}, "PHOTO_MAX_BYTES"),
        ({"PHOTO_MAX_BYTES": "lots"}, "PHOTO_MAX_BYTES"),
    ],
)
def test_settings_that_cannot_work_stop_the_start(env, message):
    with pytest.raises(ConfigError, match=message):
        load_config(env)


def _image(format_: str, size=(800, 600), mode="RGB", **save: object) -> bytes:
    out = io.BytesIO()
    color = {"RGBA": (10, 120, 200, 128), "L": 90}.get(mode, (10, 120, 200))
    Image.new(mode, size, color).save(out, format=format_, **save)
    return out.getvalue()


def test_a_transparent_png_becomes_a_jpeg():
    data = photos.reencode(_image("PNG", mode="RGBA"), max_bytes=10**7)
    with Image.open(io.BytesIO(data)) as image:
        assert (image.format, image.mode, image.size) == ("JPEG", "RGB", (800, 600))


def test_a_sideways_phone_photo_is_turned_upright():
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to view
    data = photos.reencode(_image("JPEG", size=(800, 600), exif=exif), max_bytes=10**7)
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == (600, 800)
        assert not image.getexif()


def test_a_decompression_bomb_is_refused_before_it_is_decoded():
    bomb = _image("PNG", size=(8000, 6000), mode="L")
    with pytest.raises(photos.PhotoError) as error:
        photos.reencode(bomb, max_bytes=10**7)
    assert error.value.reason == "too_large"


@pytest.mark.parametrize("data", [b"", b"GIF89a broken", b"\x89PNG\r\n\x1a\n" + b"\0" * 40])
def test_what_is_not_an_image_is_unreadable(data):
    with pytest.raises(photos.PhotoError) as error:
        photos.reencode(data, max_bytes=10**7)
    assert error.value.reason == "unreadable"


def test_saved_photos_are_found_by_id_only(tmp_path):
    photo_id = photos.save(b"jpeg bytes", tmp_path)
    assert photos.path_of(photo_id, tmp_path) == tmp_path / f"{photo_id}.jpg"
    for bad in ("../" + photo_id, photo_id.upper(), photo_id[:-1], ""):
        assert photos.path_of(bad, tmp_path) is None
