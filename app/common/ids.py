"""Opaque, time-ordered ids and short human-friendly references."""

from __future__ import annotations

import os
import secrets
import time

# Crockford's base32: no I, L, O, U, so ids survive being read aloud or retyped.
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# References are read over the phone and typed on feature phones: no 0/O, 1/I/L, U/V or 5/S pairs.
REFERENCE_ALPHABET = "2346789ABCDEFGHJKMNPQRTWXYZ"
REFERENCE_LENGTH = 6


def new_id() -> str:
    """A 26-character ULID-style id: 48 bits of milliseconds then 80 random bits.

    Sorting ids sorts records by creation time, which is what cursor pagination walks.
    """
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        value, rem = divmod(value, 32)
        chars.append(_CROCKFORD[rem])
    return "".join(reversed(chars)).lower()


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
