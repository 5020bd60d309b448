"""Query and answer schemas of the PFIF endpoints (the documents themselves are XML)."""

from __future__ import annotations

from datetime import UTC

import marshmallow as ma
from marshmallow import validate

MAX_RESULTS = 1000


class ExportArgsSchema(ma.Schema):
    """Incremental sync as Person Finder's feeds do it: records with entry_date at or after
    min_entry_date, oldest first; page with skip, or move min_entry_date to the last one seen."""

    min_entry_date = ma.fields.AwareDateTime(default_timezone=UTC)
    max_results = ma.fields.Integer(
        load_default=100, validate=validate.Range(min=1, max=MAX_RESULTS)
    )
    skip = ma.fields.Integer(load_default=0, validate=validate.Range(min=0, max=1_000_000))


class RecordErrorSchema(ma.Schema):
    record = ma.fields.String(metadata={"description": "person or note"})
    position = ma.fields.Integer(metadata={"description": "Among the records of its type, from 1"})
    id = ma.fields.String(allow_none=True, metadata={"description": "Its PFIF record id"})
    errors = ma.fields.Dict(metadata={"description": "Field -> messages"})


class PersonCountsSchema(ma.Schema):
    created = ma.fields.Integer()
    updated = ma.fields.Integer()
    unchanged = ma.fields.Integer()
    expired = ma.fields.Integer()


class NoteCountsSchema(ma.Schema):
    created = ma.fields.Integer()
    unchanged = ma.fields.Integer()


class ImportOutSchema(ma.Schema):
    """What an import did; the records in `errors` were left out, the others were imported."""

    version = ma.fields.String(metadata={"description": "The document's PFIF version"})
    persons = ma.fields.Nested(PersonCountsSchema)
    notes = ma.fields.Nested(NoteCountsSchema)
    errors = ma.fields.List(ma.fields.Nested(RecordErrorSchema))
    warnings = ma.fields.List(
        ma.fields.Nested(RecordErrorSchema),
        metadata={"description": "Fields left out of records that were imported"},
    )


class ImportJobOutSchema(ma.Schema):
    """A PFIF document imported in the background: its state and, once done, its summary."""

    id = ma.fields.String()
    status = ma.fields.String(metadata={"description": "queued, running, done or failed"})
    processed_rows = ma.fields.Integer(metadata={"description": "Persons read"})
    loaded_rows = ma.fields.Integer(metadata={"description": "Persons created or updated"})
    error_count = ma.fields.Integer(metadata={"description": "Records left out"})
    result = ma.fields.Dict(
        attribute="errors",
        metadata={"description": "The import's answer (as POST gives it for small documents)"},
    )
    created_at = ma.fields.AwareDateTime(default_timezone=UTC)
    finished_at = ma.fields.AwareDateTime(allow_none=True, default_timezone=UTC)
