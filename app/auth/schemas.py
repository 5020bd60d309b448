"""Schemas for login, the caller's identity and audit events."""

from __future__ import annotations

from datetime import UTC

import marshmallow as ma

from app.common.fields import Text
from app.common.pagination import page_schema


class LoginInSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    # Text refuses control characters: a NUL reaching the e-mail lookup is a 500 on PostgreSQL.
    email = Text(
        max_length=254, required=True, allow_none=False, validate=ma.validate.Length(min=3)
    )
    password = ma.fields.String(
        required=True, load_only=True, validate=ma.validate.Length(min=1, max=1024)
    )


class TokenOutSchema(ma.Schema):
    token = ma.fields.String(metadata={"description": "Send as 'Authorization: Bearer <token>'"})
    expires_at = ma.fields.AwareDateTime(default_timezone=UTC, allow_none=True)
    role = ma.fields.String()


class PrincipalOutSchema(ma.Schema):
    kind = ma.fields.String(metadata={"description": "user or key"})
    id = ma.fields.String()
    role = ma.fields.String(allow_none=True)
    scopes = ma.fields.List(ma.fields.String())
    permissions = ma.fields.List(ma.fields.String())


class AuditEventOutSchema(ma.Schema):
    id = ma.fields.String()
    at = ma.fields.AwareDateTime(default_timezone=UTC)
    actor = ma.fields.String(metadata={"description": "user:<id>, key:<id> or anonymous"})
    action = ma.fields.String()
    subject_type = ma.fields.String()
    subject_id = ma.fields.String()
    request_id = ma.fields.String(allow_none=True)
    ip = ma.fields.String(allow_none=True)
    details = ma.fields.Dict()


AuditPageSchema = page_schema(AuditEventOutSchema, "AuditEventPage")
