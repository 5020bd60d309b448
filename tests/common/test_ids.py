"""Ids sort by creation time; references survive being read over a bad phone line."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from app.common import ids
from app.common.ids import (
    REFERENCE_ALPHABET,
    is_id,
    new_id,
    new_reference,
    normalize_reference,
)

CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"


def test_new_id_is_26_lowercase_crockford_characters():
    value = new_id()

    assert len(value) == 26
    assert set(value) <= set(CROCKFORD)
    assert is_id(value)


def test_new_id_starts_with_the_creation_time_in_milliseconds(monkeypatch):
    monkeypatch.setattr(ids, "time", SimpleNamespace(time=lambda: 1_795_000_000.123))
    monkeypatch.setattr(ids, "_last", 0)

    value = new_id()

    number = 0
    for ch in value:
        number = number * 32 + CROCKFORD.index(ch)
    assert number >> 80 == 1_795_000_000_123


def test_new_ids_sort_by_time(monkeypatch):
    clock = iter(1_795_000_000 + step / 1000 for step in range(1, 500))
    monkeypatch.setattr(ids, "time", SimpleNamespace(time=lambda: next(clock)))

    made = [new_id() for _ in range(400)]

    assert made == sorted(made)


def test_ids_of_the_same_millisecond_differ(monkeypatch):
    monkeypatch.setattr(ids, "time", SimpleNamespace(time=lambda: 1_795_000_000.5))

    made = {new_id() for _ in range(1000)}

    assert len(made) == 1000
    assert len({value[:10] for value in made}) == 1  # same time prefix, random tail


def test_new_id_is_unique_across_many_calls():
    assert len({new_id() for _ in range(10_000)}) == 10_000


@pytest.mark.parametrize(
    "text",
    [
        "",
        "!" * 26,
        "01JBADBADBADBADBADBADBADBA",
        "01jzzzzzzzzzzzzzzzzzzzzzz",
        "01jzzzzzzzzzzzzzzzzzzzzzzzz",
        "01jzzzzzzzzzzzzzzzzzzzzzz\x00",
        "01jzzzzzzzzzzzzzzzzzzzzzzi",
        "01jzzzzzzzzzzzzzzzzzzzzzzu",
    ],
)
def test_is_id_refuses_other_shapes(text):
    assert not is_id(text)


def test_reference_alphabet_has_no_lookalikes():
    assert not set(REFERENCE_ALPHABET) & set("01OILSU5V")
    assert len(set(REFERENCE_ALPHABET)) == len(REFERENCE_ALPHABET)


def test_new_reference_format():
    pattern = re.compile(rf"^[{REFERENCE_ALPHABET}]{{3}}-[{REFERENCE_ALPHABET}]{{3}}$")

    references = [new_reference() for _ in range(2000)]

    assert all(pattern.match(r) for r in references)
    assert len(set(references)) > 1990  # 27^6 values: collisions are rare, not impossible
    assert set("".join(references).replace("-", "")) == set(REFERENCE_ALPHABET)


@pytest.mark.parametrize(
    ("typed", "normalized"),
    [
        ("RX7-K2M", "RX7-K2M"),
        ("rx7-k2m", "RX7-K2M"),
        ("rx7k2m", "RX7-K2M"),
        ("  RX7 K2M ", "RX7-K2M"),
        ("rx7–k2m", "RX7-K2M"),  # en dash from a phone keyboard
        ("R.X.7.K.2.M", "RX7-K2M"),
        ("RX7-K2", ""),
        ("RX7-K2MM", ""),
        ("RX0-K2M", ""),  # 0 is never in a reference
        ("RXO-K2M", ""),
        ("RX1-K2M", ""),
        ("", ""),
        ("------", ""),
        ("ＲＸ７－Ｋ２Ｍ", ""),  # full-width forms are not the alphabet
    ],
)
def test_normalize_reference(typed, normalized):
    assert normalize_reference(typed) == normalized


def test_every_new_reference_normalizes_to_itself():
    for _ in range(200):
        reference = new_reference()
        assert normalize_reference(reference.lower().replace("-", " ")) == reference


def test_ids_of_one_millisecond_still_increase(monkeypatch):
    monkeypatch.setattr(ids, "time", SimpleNamespace(time=lambda: 1_795_000_000.123))
    monkeypatch.setattr(ids, "_last", 0)

    values = [new_id() for _ in range(1000)]

    assert values == sorted(values)
    assert len(set(values)) == 1000
