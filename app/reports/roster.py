"""Shelter rosters (CSV or XLSX) as reports: read the table, map its columns, preview, load.

Columns are recognised by their headers in English, Spanish, French and Swedish
(`data/roster_headers.json`, compared without case, accents or punctuation); a coordinator can
correct the mapping. Each row becomes the API's report input and goes through the one bulk path,
`app.reports.imports.load_reports` (the API's validation, a batch inserted and indexed at a
time), so a bad row is listed with its field errors and the good rows land.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import marshmallow as ma

from app.errors import ValidationError
from app.reports.models import KINDS
from app.reports.schemas import ReportInSchema

if TYPE_CHECKING:
    from app.reports.imports import LoadResult
    from app.reports.models import ImportJob

FORMATS = ("csv", "xlsx")
PREVIEW_ROWS = 10
# Rows validated for the preview's list of problems (the import itself checks every row).
PREVIEW_CHECKED = 500
_HEADER_SEARCH = 10
_DATA = json.loads(
    (Path(__file__).with_name("data") / "roster_headers.json").read_text(encoding="utf-8")
)
FIELDS = tuple(_DATA["fields"])
_schema = ReportInSchema()


def fold(text: str) -> str:
    """Header or cell text compared without case, accents or punctuation."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(re.sub(r"[^\w]+", " ", plain).replace("_", " ").split())


_HEADERS: dict[str, str] = {}
for _field, _languages in _DATA["fields"].items():
    for _spellings in _languages.values():
        for _spelling in _spellings:
            _HEADERS.setdefault(fold(_spelling), _field)
# "Nombre" beside "Apellidos" is the given name; alone it is the whole name.
_GIVEN_BESIDE_FAMILY = {
    fold(spelling)
    for spellings in _DATA["given_name_beside_family_name"].values()
    for spelling in spellings
}
_SEX = {
    fold(spelling): sex
    for sex, spellings in _DATA["values"]["sex"].items()
    for spelling in spellings
}


@dataclass
class Table:
    """A roster's header row and its data rows (cells as text), numbered as in the file."""

    headers: list[str]
    rows: list[tuple[int, list[str]]]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_table(content: bytes, fmt: str) -> Table:
    """The roster's rows. CSV: UTF-8 (with or without BOM), else Windows-1252; comma,
    semicolon or tab. XLSX: the first sheet. Empty rows are skipped; the header is found
    among the first rows."""
    if fmt == "xlsx":
        rows = _xlsx_rows(content)
    elif fmt == "csv":
        rows = _csv_rows(content)
    else:
        raise ValidationError(errors={"format": [f"Use one of {', '.join(FORMATS)}."]})
    filled = [(number, cells) for number, cells in rows if any(cells)]
    if not filled:
        raise ValidationError("The file has no rows.", errors={"file": ["The file is empty."]})
    # The header is the row, among the first few, with the most headers we know: a title or a
    # date above the table is common in shelters' sheets.
    best = max(
        range(min(len(filled), _HEADER_SEARCH)),
        key=lambda i: (sum(1 for cell in filled[i][1] if fold(cell) in _HEADERS), -i),
    )
    return Table(filled[best][1], filled[best + 1 :])


def _csv_rows(content: bytes) -> Iterator[tuple[int, list[str]]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = content.decode("cp1252", errors="replace")
    if "\x00" in text:
        raise ValidationError(errors={"file": ["This is not a CSV file."]})
    sample = text[:20_000]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    for number, row in enumerate(csv.reader(io.StringIO(text), dialect), start=1):
        yield number, [cell.strip() for cell in row]


def _xlsx_rows(content: bytes) -> Iterator[tuple[int, list[str]]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - openpyxl raises many kinds for a file that is not XLSX
        raise ValidationError(errors={"file": ["This is not an XLSX workbook."]}) from None
    try:
        sheet = book.worksheets[0]
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, [_cell(value) for value in row]
    finally:
        book.close()


def detect_mapping(headers: list[str]) -> dict[str, str | None]:
    """Header -> report field for the headers we recognise (each field taken once, first
    column wins), None for the others."""
    found = {header: _HEADERS.get(fold(header)) for header in headers}
    if "family_name" in found.values() and "given_name" not in found.values():
        for header in headers:
            if fold(header) in _GIVEN_BESIDE_FAMILY:
                found[header] = "given_name"
                break
    mapping: dict[str, str | None] = {}
    taken: set[str] = set()
    for header in headers:
        field = found[header]
        if field in taken:
            field = None
        if field:
            taken.add(field)
        mapping[header] = field
    return mapping


def check_mapping(headers: list[str], mapping: dict[str, Any]) -> dict[str, str | None]:
    """The detected mapping with a coordinator's corrections; unknown headers or fields, or a
    field given twice, are a 422."""
    result = detect_mapping(headers)
    errors: dict[str, list[str]] = {}
    for header, field in mapping.items():
        if header not in result:
            errors[header] = ["No such column in the file."]
        elif field is not None and field not in FIELDS:
            errors[header] = [f"Use one of {', '.join(FIELDS)}, or null to skip the column."]
        else:
            result[header] = field
    used = [field for field in result.values() if field]
    for field in {f for f in used if used.count(f) > 1}:
        errors.setdefault("mapping", []).append(f"{field} is given to more than one column.")
    if errors:
        raise ValidationError(errors=errors)
    if not {"full_name", "given_name", "family_name", "description"} & set(used):
        raise ValidationError(errors={"mapping": ["Map a column to a name (or to description)."]})
    return result


def row_input(
    headers: list[str],
    cells: list[str],
    mapping: dict[str, str | None],
    *,
    kind: str,
    source: str,
    defaults: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One row as the API's report input. The row's id column (or, without one, a digest of the
    row) becomes source_record_id under `source`, so loading the same roster twice adds
    nothing."""
    row: dict[str, Any] = {"kind": kind, **(defaults or {})}
    for header, value in zip(headers, cells, strict=False):
        field = mapping.get(header)
        if not field or not value:
            continue
        if field == "sex":
            value = _SEX.get(fold(value), value)
        elif field == "alternate_names":
            row[field] = [name.strip() for name in re.split(r"[;,/]", value) if name.strip()]
            continue
        elif field == "home_country":
            value = value.upper()
        row[field] = value
    local = row.get("source_record_id")
    if not local:
        digest = hashlib.blake2b("\x1f".join(cells).encode(), digest_size=10).hexdigest()
        local = f"row-{digest}"
    row["source_record_id"] = f"{source}/{local}"[:500]
    return row


def row_inputs(
    table: Table,
    mapping: dict[str, str | None],
    *,
    kind: str,
    source: str,
    defaults: dict[str, Any] | None = None,
) -> Iterator[dict[str, Any]]:
    """Every data row as report input (see row_input)."""
    for _, cells in table.rows:
        yield row_input(table.headers, cells, mapping, kind=kind, source=source, defaults=defaults)


def preview(
    table: Table,
    mapping: dict[str, str | None],
    *,
    kind: str,
    source: str,
    defaults: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The mapping, the first rows as they would be loaded, and the problems of the first
    PREVIEW_CHECKED rows (row numbers as in the file)."""
    if kind not in KINDS:
        raise ValidationError(errors={"kind": [f"Use one of {', '.join(KINDS)}."]})
    rows: list[dict[str, Any]] = []
    problems: list[dict[str, Any]] = []
    for index, (number, cells) in enumerate(table.rows[:PREVIEW_CHECKED]):
        row = row_input(table.headers, cells, mapping, kind=kind, source=source, defaults=defaults)
        if index < PREVIEW_ROWS:
            rows.append({"row": number, "report": row})
        try:
            _schema.load(row)
        except ma.ValidationError as error:
            problems.append({"row": number, "errors": error.messages})
    return {
        "columns": [{"header": h, "field": mapping.get(h)} for h in table.headers],
        "total_rows": len(table.rows),
        "rows": rows,
        "problems": problems,
        "checked_rows": min(len(table.rows), PREVIEW_CHECKED),
    }


def job_preview(job: ImportJob, table: Table | None = None) -> dict[str, Any]:
    """The preview of a kept roster (see preview) with its job's mapping, kind and defaults."""
    if table is None:
        if job.content is None:
            raise ValidationError(errors={"file": ["This import has finished."]})
        table = read_table(job.content, job.format)
    return preview(
        table,
        job.mapping,
        kind=job.kind,
        source=source_of(job.defaults["source_name"]),
        defaults=job.defaults,
    )


def format_of(filename: str | None, mimetype: str | None) -> str:
    """csv or xlsx, from the file's name or type."""
    name = (filename or "").lower()
    if name.endswith(".xlsx") or (mimetype or "").endswith("spreadsheetml.sheet"):
        return "xlsx"
    if name.endswith((".csv", ".txt")) or (mimetype or "") in ("text/csv", "text/plain"):
        return "csv"
    raise ValidationError(errors={"file": ["Send a .csv or .xlsx file."]})


def source_of(source_name: str) -> str:
    """The source_record_id prefix of a shelter's rows: the same shelter, the same ids."""
    slug = fold(source_name).replace(" ", "-")[:100] or "shelter"
    return f"roster/{slug}"


def load_roster(
    table: Table,
    mapping: dict[str, str | None],
    *,
    kind: str,
    defaults: dict[str, Any],
    created_by: str,
    workers: int = 0,
    batch_size: int = 2000,
) -> Iterator[tuple[LoadResult, dict[int, Any]]]:
    """Load a roster through the bulk loader, a batch at a time (the caller commits each);
    yields the running result and the bad rows so far by their number in the file."""
    from app.reports import imports

    numbers = [number for number, _ in table.rows]
    rows = row_inputs(
        table, mapping, kind=kind, source=source_of(defaults["source_name"]), defaults=defaults
    )
    for result in imports.load_reports(
        rows, created_by=created_by, workers=workers, batch_size=batch_size
    ):
        errors = {numbers[position]: messages for position, messages in result.errors.items()}
        yield result, errors
