"""Opaque, time-ordered ids and short human-friendly references."""

from __future__ import annotations

import os
import secrets
import threading
import time

# Crockford's base32: no I, L, O, U, so ids survive being read aloud or retyped.
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# References are read over the phone and typed on feature phones: no 0/O, 1/I/L, U/V or 5/S pairs.
REFERENCE_ALPHABET = "2346789ABCDEFGHJKMNPQRTWXYZ"
REFERENCE_LENGTH = 6
ID_LENGTH = 26
_ID_CHARS = frozenset(_CROCKFORD.lower())


_lock = threading.Lock()
_last = 0


def new_id() -> str:
    """A 26-character ULID-style id: 48 bits of milliseconds then 80 random bits.

    Sorting ids sorts records by creation time, which is what cursor pagination walks. Within one
    process ids are strictly increasing even inside one millisecond (monotonic ULID): the next id
    of the same millisecond is the previous one plus one.
    """
    global _last
    with _lock:
        value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
        if value <= _last:
            value = _last + 1
        _last = value
    chars = []
    for _ in range(ID_LENGTH):
        value, rem = divmod(value, 32)
        chars.append(_CROCKFORD[rem])
    return "".join(reversed(chars)).lower()


def is_id(text: str) -> bool:
    """Whether text has the shape of a new_id() value (so it is safe to look up as one)."""
    return len(text) == ID_LENGTH and set(text) <= _ID_CHARS


def new_reference() -> str:
    """A reference such as 'RX7-K2M' (27^6, about 387 million values; uniqueness is checked)."""
    raw = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))
    return f"{raw[:3]}-{raw[3:]}"


def normalize_reference(text: str) -> str:
    """Read a reference as people type it (lower case, spaces, no dash); '' if it is none."""
    cleaned = "".join(ch for ch in text.upper() if ch.isalnum())
    if len(cleaned) != REFERENCE_LENGTH or not set(cleaned) <= set(REFERENCE_ALPHABET):
        return ""
    return f"{cleaned[:3]}-{cleaned[3:]}"
