"""Cursor pagination: opaque cursors over a descending, unique sort key."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import marshmallow as ma

from app.errors import ValidationError

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class PageArgsSchema(ma.Schema):
    """Query arguments every list accepts."""

    limit = ma.fields.Integer(
        load_default=DEFAULT_LIMIT,
        validate=ma.validate.Range(min=1, max=MAX_LIMIT),
        metadata={"description": f"Items per page (1-{MAX_LIMIT})"},
    )
    cursor = ma.fields.String(
        load_default=None, metadata={"description": "`next_cursor` of the previous page"}
    )


def encode_cursor(value: str) -> str:
    """Wrap a sort key so clients treat it as opaque."""
    return base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    """Unwrap a cursor; a tampered one is a field error, not a 500."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = base64.urlsafe_b64decode(padded.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValidationError(errors={"cursor": ["Not a valid cursor."]}) from None
    if not value.isascii() or not value.isalnum():
        raise ValidationError(errors={"cursor": ["Not a valid cursor."]})
    return value


def page_of(rows: list[Any], limit: int, key: str = "id") -> dict[str, Any]:
    """Rows fetched with limit + 1 become a page and the cursor to the next one."""
    has_more = len(rows) > limit
    items = rows[:limit]
    next_cursor = encode_cursor(getattr(items[-1], key)) if has_more and items else None
    return {"items": items, "next_cursor": next_cursor}


def page_schema(item_schema: type[ma.Schema], name: str) -> type[ma.Schema]:
    """An output schema for one page of item_schema."""
    return ma.Schema.from_dict(
        {
            "items": ma.fields.List(ma.fields.Nested(item_schema)),
            "next_cursor": ma.fields.String(
                allow_none=True, metadata={"description": "Pass as `cursor` for the next page"}
            ),
        },
        name=name,
    )
