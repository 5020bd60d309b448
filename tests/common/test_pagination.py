"""Opaque cursors: round trip, and tampering is a field error."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from app.common.pagination import decode_cursor, encode_cursor, page_of
from app.errors import ValidationError


def test_cursor_round_trip():
    value = "01m7yrrs5rf86xmd9y2x222cd2"

    cursor = encode_cursor(value)

    assert cursor != value and "=" not in cursor
    assert decode_cursor(cursor) == value
    assert decode_cursor(None) is None and decode_cursor("") is None


@pytest.mark.parametrize(
    "cursor",
    ["!!!!", "Li4vZXRj", "_w", "\x00", "AA\x00A", encode_cursor("a b"), encode_cursor("ñandú")],
)
def test_tampered_cursor_is_a_validation_error(cursor):
    with pytest.raises(ValidationError) as caught:
        decode_cursor(cursor)
    assert list(caught.value.errors) == ["cursor"]


def test_page_of():
    rows = [SimpleNamespace(id=f"id{n}") for n in range(3)]

    full = page_of(rows, 2)
    last = page_of(rows[:2], 2)
    empty = page_of([], 2)

    assert [r.id for r in full["items"]] == ["id0", "id1"]
    assert decode_cursor(full["next_cursor"]) == "id1"
    assert last["next_cursor"] is None and len(last["items"]) == 2
    assert empty == {"items": [], "next_cursor": None}
