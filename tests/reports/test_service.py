"""Report services called directly: defaults, derivations, notes, lists, status checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from app.errors import Conflict, NotFound, ValidationError
from app.extensions import db
from app.reports import service
from app.reports.models import Note, Report
from app.reports.schemas import NoteInSchema, ReportInSchema


def submit(**fields):
    data = {"kind": "missing", "full_name": "Jean-Baptiste Désir", "author_phone": "+15555550123"}
    data.update(fields)
    return service.submit_report(data=data, created_by="anonymous")


def test_submit_report_defaults(app):
    with app.app_context():
        missing = submit()
        found = submit(kind="found")
        chosen = submit(status="believed_dead")

        assert (missing.status, found.status, chosen.status) == (
            "information_sought",
            "believed_alive",
            "believed_dead",
        )
        assert len(missing.reference) == 7 and missing.reference[3] == "-"
        assert len({missing.reference, found.reference, chosen.reference}) == 3
        assert missing.created_by == "anonymous"
        assert missing.created_at == missing.updated_at == missing.entry_date
        assert missing.source_date == missing.created_at
        assert (missing.version, missing.is_minor, missing.alternate_names) == (1, False, [])


def test_submit_report_keeps_a_partners_source_date(app):
    with app.app_context():
        source_date = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
        report = submit(source_date=source_date, source_record_id="example.org/p.1")

        assert report.source_date == source_date
        assert report.entry_date > source_date


@pytest.mark.parametrize(
    ("fields", "bounds", "minor"),
    [
        ({"age": "34"}, (34, 34), False),
        ({"age": "30-40"}, (30, 40), False),
        ({"age": "16-20"}, (16, 20), True),  # could be a child: safeguarding counts it
        ({"age": "18-25"}, (18, 25), False),
        ({"age": "9"}, (9, 9), True),
        (
            {"date_of_birth": "2000-06-15", "source_date": datetime(2010, 1, 1, tzinfo=UTC)},
            (9, 9),
            True,
        ),
        (
            {"date_of_birth": "2000-06-15", "source_date": datetime(2018, 6, 15, tzinfo=UTC)},
            (18, 18),
            False,
        ),
        (
            {"date_of_birth": "2000-06-15", "source_date": datetime(2018, 6, 14, tzinfo=UTC)},
            (17, 17),
            True,
        ),
        ({"date_of_birth": "2000", "source_date": datetime(2010, 6, 1, tzinfo=UTC)}, (9, 10), True),
        (
            {"date_of_birth": "2000-06", "source_date": datetime(2018, 6, 20, tzinfo=UTC)},
            (17, 18),
            True,  # may still be 17: safeguarding counts it
        ),
        ({"age": "40", "date_of_birth": "2000"}, (40, 40), False),
        ({}, (None, None), False),
    ],
)
def test_age_bounds_and_minor_flag_are_derived(app, fields, bounds, minor):
    with app.app_context():
        report = submit(**fields)

        assert (report.age_min, report.age_max) == bounds
        assert report.is_minor is minor


def test_duplicate_source_record_is_a_conflict(app):
    with app.app_context():
        report = submit(source_record_id="example.org/p.1")
        with pytest.raises(Conflict) as caught:
            submit(source_record_id="example.org/p.1")
        assert caught.value.code == "duplicate_source_record"

        service.add_note(
            report=report, data={"text": "a", "source_record_id": "example.org/n.1"}, created_by="x"
        )
        with pytest.raises(Conflict):
            service.add_note(
                report=report,
                data={"text": "b", "source_record_id": "example.org/n.1"},
                created_by="x",
            )


def test_get_report(app):
    with app.app_context():
        adult = submit()
        child = submit(age="7")

        assert service.get_report(report_id=adult.id) is adult
        assert service.get_report(report_id=child.id) is child
        assert service.get_report(report_id=adult.id, include_minors=False) is adult
        for report_id, include_minors in [
            (child.id, False),
            ("01jzzzzzzzzzzzzzzzzzzzzzzz", True),
            ("\x00", True),
            (adult.id.upper(), True),
            ("", True),
        ]:
            with pytest.raises(NotFound):
                service.get_report(report_id=report_id, include_minors=include_minors)


def test_list_reports_newest_first_with_filters(app):
    with app.app_context():
        first = submit(home_country="PR")
        second = submit(kind="found", home_country="MX")
        third = submit(age="5", home_country="PR")
        first.created_at = datetime(2026, 1, 1, tzinfo=UTC)
        db.session.flush()

        def ids(**filters):
            return [r.id for r in service.list_reports(limit=10, **filters)]

        assert ids() == [third.id, second.id, first.id]
        assert ids(include_minors=False) == [second.id, first.id]
        assert ids(kind="found") == [second.id]
        assert ids(country="pr") == [third.id, first.id]
        assert ids(status="believed_alive") == [second.id]
        assert ids(since=datetime(2026, 6, 1, tzinfo=UTC)) == [third.id, second.id]
        two_hours_east = timezone(timedelta(hours=2))
        assert ids(since=datetime(2026, 6, 1, 2, tzinfo=two_hours_east)) == [third.id, second.id]
        assert ids(reference=second.reference.lower()) == [second.id]
        assert ids(reference="not a reference") == []
        assert ids(after_id=third.id) == [second.id, first.id]
        assert len(service.list_reports(limit=1)) == 2  # limit + 1


def test_update_report_returns_only_really_changed_fields(app):
    with app.app_context():
        report = submit(home_city="Jacmel", age="34")
        db.session.flush()
        created = report.updated_at

        changed = service.update_report(
            report=report, changes={"home_city": "Jacmel", "age": "35", "family_name": "Désir"}
        )

        assert sorted(changed) == ["age", "family_name"]
        assert (report.age_min, report.age_max, report.version) == (35, 35, 2)
        assert report.updated_at > created
        assert report.source_date == report.updated_at

        assert service.update_report(report=report, changes={"home_city": "Jacmel"}) == []
        assert report.version == 2


def test_update_report_refuses_to_remove_every_name(app):
    with app.app_context():
        report = submit()

        with pytest.raises(ValidationError) as caught:
            service.update_report(report=report, changes={"full_name": None})
        assert "_schema" in caught.value.errors


def test_update_report_refuses_half_coordinates(app):
    with app.app_context():
        report = submit(lat=18.2, lon=-72.5)

        with pytest.raises(ValidationError) as caught:
            service.update_report(report=report, changes={"lon": None})
        assert "lat" in caught.value.errors


@pytest.mark.parametrize(
    ("start", "changes", "minor"),
    [
        ({"age": "12"}, {"age": "34"}, False),
        ({"age": "34"}, {"age": "12"}, True),
        ({"age": "12"}, {"age": None}, True),  # age unknown now: keep protecting
        ({"is_minor": True}, {"age": "30"}, False),
        ({"is_minor": True}, {"age": "30", "is_minor": True}, True),
        ({"is_minor": True}, {"home_city": "Jacmel"}, True),
        ({"age": "12"}, {"age": "12", "is_minor": False}, True),
        ({"age": "40"}, {"date_of_birth": "2019", "age": None}, True),
        ({"age": "8"}, {"date_of_birth": "1990", "age": None}, False),
    ],
)
def test_update_report_rederives_the_minor_flag(app, start, changes, minor):
    with app.app_context():
        report = submit(**start)

        service.update_report(report=report, changes=changes)

        assert report.is_minor is minor


def note(report, text="Update.", **fields):
    return service.add_note(report=report, data={"text": text, **fields}, created_by="user:u1")


def test_add_note_takes_status_and_location_from_the_latest_by_source_date(app):
    now = datetime.now(UTC)
    with app.app_context():
        report = submit()
        note(
            report,
            status="believed_alive",
            last_known_location="Coliseo",
            source_date=now - timedelta(hours=1),
        )
        note(
            report,
            status="believed_missing",
            last_known_location="Plaza",
            source_date=now - timedelta(days=1),
        )
        assert (report.status, report.last_known_location) == ("believed_alive", "Coliseo")

        note(report, text="No news.", source_date=now)
        assert report.status == "believed_alive"

        note(report, status="believed_dead", source_date=now)
        assert (report.status, report.last_known_location) == ("believed_dead", "Coliseo")
        assert report.updated_at >= now
        assert [n.text for n in report.notes][0] == "Update."


def test_add_note_defaults(app):
    with app.app_context():
        report = submit()
        added = note(report)

        assert added.source_date == added.entry_date
        assert added.created_by == "user:u1"
        assert added.report_id == report.id
        assert db.session.get(Note, added.id) is added


def test_list_notes_oldest_first_by_source_date(app):
    now = datetime.now(UTC)
    with app.app_context():
        report = submit()
        other = submit()
        note(other, text="other report")
        entered = [
            note(report, text=f"{h}h", source_date=now - timedelta(hours=h)) for h in (2, 5, 1)
        ]
        same_time = [
            note(report, text=f"tie {i}", source_date=now - timedelta(hours=3)) for i in range(2)
        ]

        rows = service.list_notes(report=report, limit=10)
        assert [n.text for n in rows] == ["5h", "tie 0", "tie 1", "2h", "1h"]

        page = service.list_notes(report=report, limit=2)
        assert len(page) == 3
        rest = service.list_notes(report=report, limit=10, after_id=page[1].id)
        assert [n.text for n in rest] == ["tie 1", "2h", "1h"]
        assert service.list_notes(report=report, limit=10, after_id=entered[2].id) == []
        assert same_time[0].id < same_time[1].id

        for bad in ("01jzzzzzzzzzzzzzzzzzzzzzzz", "abc", other.notes[0].id):
            with pytest.raises(ValidationError):
                service.list_notes(report=report, limit=10, after_id=bad)


def test_check_status(app):
    with app.app_context():
        report = submit(contact_phone="+15005550006")

        assert service.check_status(reference=report.reference, phone="+15555550123") is report
        assert (
            service.check_status(reference=report.reference.lower(), phone="+15005550006") is report
        )
        without_contact = submit()
        for reference, phone in [
            (report.reference, "+15555550999"),
            ("AAA-AAA", "+15555550123"),
            ("", "+15555550123"),
            (report.reference, ""),
            (without_contact.reference, ""),
            (without_contact.reference, None),
        ]:
            with pytest.raises(NotFound):
                service.check_status(reference=reference, phone=phone)


def test_demo_loader_uses_the_services(app):
    result = app.test_cli_runner().invoke(args=["demo", "load"])

    assert result.exit_code == 0, result.output
    with app.app_context():
        reports = db.session.scalars(sa.select(Report)).all()
        assert reports
        assert {r.created_by for r in reports} == {"demo"}
    again = app.test_cli_runner().invoke(args=["demo", "load", "--if-empty"])
    assert "nothing loaded" in again.output
    with app.app_context():
        assert len(db.session.scalars(sa.select(Report)).all()) == len(reports)


def test_schemas_and_service_agree_on_a_round_trip(app):
    with app.app_context():
        data = ReportInSchema().load(
            {
                "kind": "found",
                "full_name": "Åsa Öberg",
                "author_phone": "+1 555 555 0123",
                "age": 70,
            }
        )
        report = service.submit_report(data=data, created_by="anonymous")
        added = service.add_note(
            report=report, data=NoteInSchema().load({"text": "  Está bien.  "}), created_by="x"
        )

        assert (report.author_phone, report.age, added.text) == ("+15555550123", "70", "Está bien.")
