"""Photos sent with the web form: decoded, re-encoded as JPEG without metadata, stored on disk.

Re-encoding drops EXIF (GPS position, camera serial) and anything hidden in the file; the image
is turned upright first, since the orientation lived in the EXIF that is dropped.
"""

from __future__ import annotations

import io
import re
import secrets
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

MAX_SIDE = 1600
# Refuse decompression bombs early: a 10 kB PNG may claim 50,000 x 50,000 pixels.
MAX_PIXELS = 40_000_000
ACCEPTED_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "GIF", "BMP"})
QUALITY = 82
# Random, not time-ordered like report ids: a photo id kept in a form must not be guessable.
_PHOTO_ID = re.compile(r"^[0-9a-f]{26}$")


class PhotoError(ValueError):
    """Not a photo we can read ("unreadable") or too large ("too_large")."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def reencode(data: bytes, *, max_bytes: int) -> bytes:
    """The photo as a fresh JPEG at most MAX_SIDE pixels a side, with no metadata."""
    if len(data) > max_bytes:
        raise PhotoError("too_large")
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in ACCEPTED_FORMATS:
                raise PhotoError("unreadable")
            if image.width * image.height > MAX_PIXELS:
                raise PhotoError("too_large")
            image.load()
            upright = ImageOps.exif_transpose(image)
            upright = upright.convert("RGB")
            upright.thumbnail((MAX_SIDE, MAX_SIDE))
            out = io.BytesIO()
            # No exif=, no icc_profile=: nothing of the original file survives but its pixels.
            upright.save(out, format="JPEG", quality=QUALITY, optimize=True)
            return out.getvalue()
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError) as exc:
        if isinstance(exc, PhotoError):
            raise
        raise PhotoError("unreadable") from None


def save(data: bytes, directory: str | Path) -> str:
    """Store a re-encoded photo; returns its id (the file is <id>.jpg)."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    photo_id = secrets.token_hex(13)
    target = folder / f"{photo_id}.jpg"
    partial = target.with_suffix(".part")
    partial.write_bytes(data)
    partial.replace(target)
    return photo_id


def path_of(photo_id: str, directory: str | Path) -> Path | None:
    """The stored file of a photo id, or None (ids from URLs are checked before any path)."""
    if not _PHOTO_ID.match(photo_id or ""):
        return None
    path = Path(directory) / f"{photo_id}.jpg"
    return path if path.is_file() else None
