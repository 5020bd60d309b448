"""PFIF benchmark: import and export throughput through the project's own PFIF path.

    .venv/bin/python scripts/bench_pfif.py [--persons 100000] [--database-url postgresql://...]

Writes a PFIF 1.4 file of N synthetic persons (scripts/synthetic_people.py: many languages and
name frequencies), each with one nested note (status and last known place, as a shelter's
record has), into a fresh database (SQLite in a temporary directory by default, or an empty
database at --database-url). Then times:

- parse: reading the file alone (`app.pfif.format.parse`), for the share of the import it is;
- import: `app.pfif.service.import_pfif` on the file's bytes (parse with defusedxml, map,
  validate every person and note with the API's schemas, insert and index the reports in bulk
  with the default worker processes, insert the notes) and the one commit. Matching is the
  background task's work afterwards and is not in the time (as for any bulk load), nor is
  loading the gazetteer (once per process, before the clock).
- export: every record (full_read view) written back out as PFIF 1.4 by the same code as
  `flask pfif export`, keyset-paged a thousand at a time.

The last line is JSON: {"persons", "file_mb", "import_per_s", "export_per_s", ...}.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

os.environ.setdefault("HUEY_IMMEDIATE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import synthetic_people  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from app.matching import service as matching  # noqa: E402
from app.pfif import format as pfif  # noqa: E402
from app.pfif import service  # noqa: E402
from app.pfif.cli import export_all  # noqa: E402
from app.reports import imports  # noqa: E402

DOMAIN = "bench.example.org"
_PERSON = ("given_name", "family_name", "sex", "age", "date_of_birth", "home_city", "home_country")


def documents(n: int) -> bytes:
    """N synthetic persons as PFIF 1.4, each with a nested status note."""
    now = datetime.now(UTC).replace(microsecond=0)
    expiry = now + timedelta(days=90)

    def records():
        for i, row in enumerate(synthetic_people.registry(n)):
            person_id = f"{DOMAIN}/p.{i}"
            full_name = row.get("full_name") or " ".join(
                p for p in (row.get("given_name"), row.get("family_name")) if p
            )
            when = now - timedelta(minutes=n - i)
            yield {
                "person_record_id": person_id,
                "entry_date": when,
                "expiry_date": expiry,
                "source_name": "Synthetic shelter registry",
                "source_date": when,
                "source_url": row.get("source_url"),
                "full_name": full_name,
                "alternate_names": row.get("alternate_names") or [],
                **{name: row.get(name) for name in _PERSON},
                "notes": [
                    {
                        "note_record_id": f"{DOMAIN}/n.{i}",
                        "person_record_id": person_id,
                        "author_name": "Shelter desk",
                        "source_date": when,
                        "status": row.get("status") or "believed_alive",
                        "last_known_location": row.get("last_known_location"),
                        "text": "Registered at the shelter.",
                    }
                ],
            }

    return pfif.write(records())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--database-url", help="An empty database (default: a new SQLite file)")
    parser.add_argument("--workers", type=int, default=None, help="Default: one per core")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-pfif-") as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REUNITE_ENV": "test"})
        with app.app_context():
            upgrade()
            started = time.perf_counter()
            data = documents(args.persons)
            generated = time.perf_counter() - started
            size = len(data) / 1e6
            print(f"generated {args.persons:,} persons, {size:.1f} MB in {generated:.1f} s")
            # Reading alone (defusedxml, the 1.4 rules per field): part of the import below.
            started = time.perf_counter()
            parsed = pfif.parse(data)
            parsing = time.perf_counter() - started
            assert len(parsed.persons) == args.persons and not parsed.errors
            del parsed
            print(f"parse alone: {args.persons / parsing:,.0f} persons/s ({parsing:.1f} s)")
            workers = imports.default_workers() if args.workers is None else args.workers
            # The gazetteer and lexicon load once per process (in gunicorn's master, in the
            # worker at start), before the clock, as in bench_matching.py.
            matching.warm_up()
            with app.test_request_context():
                started = time.perf_counter()
                summary = service.import_pfif(data=data, created_by="bench", workers=workers)
                db.session.commit()
                imported = time.perf_counter() - started
            assert summary.persons_created == args.persons, summary.as_dict()["persons"]
            assert summary.notes_created == args.persons, summary.as_dict()["notes"]
            assert not summary.errors, summary.errors[:3]
            print(
                f"import: {args.persons:,} persons and {summary.notes_created:,} notes in "
                f"{imported:.1f} s = {args.persons / imported:,.0f} persons/s",
                flush=True,
            )
            db.session.remove()

            target = Path(tmp) / "export.xml"
            started = time.perf_counter()
            exported = 0
            with target.open("w", encoding="utf-8") as out:
                for chunk in pfif.iter_document(export_all(since=None, full=True, batch_size=1000)):
                    out.write(chunk)
                    exported += 1
            exported -= 3  # the declaration, the root's opening and closing tags
            seconds = time.perf_counter() - started
            print(
                f"export: {exported:,} persons, {target.stat().st_size / 1e6:.1f} MB, in "
                f"{seconds:.1f} s = {exported / seconds:,.0f} persons/s",
                flush=True,
            )
            db.engine.dispose()
    print(
        json.dumps(
            {
                "persons": args.persons,
                "notes": summary.notes_created,
                "file_mb": round(len(data) / 1e6, 1),
                "database": url.split(":", 1)[0],
                "workers": workers,
                "parse_per_s": round(args.persons / parsing),
                "import_s": round(imported, 1),
                "import_per_s": round(args.persons / imported),
                "export_s": round(seconds, 1),
                "export_per_s": round(exported / seconds),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
