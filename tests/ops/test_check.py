"""`python -m engine check` finds broken promises in a database, on SQLite and PostgreSQL."""
from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import create_engine, text

from engine import migrate
from engine.__main__ import main as engine_main
from engine.domain.permissions import Role
from tests.reports.test_analytics import at


def check(db_url: str, capsys) -> tuple[int, dict]:
    code = engine_main(["check", "--json", "--database-url", db_url])
    return code, json.loads(capsys.readouterr().out)


def raw(db_url: str, *statements: str, **params) -> None:
    engine = create_engine(db_url)
    with engine.begin() as conn:
        for sql in statements:
            conn.execute(text(sql), params)
    engine.dispose()


def uid(value) -> str:
    """How the Uuid type stores ids: hex on SQLite, uuid text on PostgreSQL."""
    return value.hex if not isinstance(value, str) else value


def restore_scope_constraint(db_url: str) -> None:
    from tests.conftest import _truncate_pg

    _truncate_pg(db_url)
    raw(db_url, """ALTER TABLE bookings ADD CONSTRAINT ex_bookings_no_overlapping_approved_in_scope
                   EXCLUDE USING gist (scope_id WITH =, tstzrange(start_time, end_time, '[)')
                   WITH &&) WHERE (status = 'approved')""")


@pytest.fixture
def booked(db, make):
    staff, member = make.user(Role.STAFF), make.user()
    a = make.resource(name="Range A")
    b = make.resource(name="Range B")
    one = make.booking(a, member, start=at(8, 9), end=at(8, 11), approve_by=staff)
    two = make.booking(b, member, start=at(8, 10), end=at(8, 12), approve_by=staff)
    make.booking(a, member, start=at(9, 9), end=at(9, 11))  # pending
    return {"a": a, "b": b, "one": one, "two": two, "staff": staff, "member": member}


def test_a_healthy_database_passes(db_url, booked, capsys):
    code, report = check(db_url, capsys)
    assert (code, report["ok"], report["findings"]) == (0, True, [])
    assert report["revision"] == report["head"] is not None


def test_text_output(db_url, booked, capsys):
    assert engine_main(["check", "--database-url", db_url]) == 0
    assert "OK: no findings" in capsys.readouterr().out


def test_approved_overlap_across_a_safety_zone(db, db_url, booked, make, capsys):
    """Two approved bookings on different resources, then both resources put in one zone.

    The database refuses that move itself; with its guarantee dropped (faking old damage, as
    only raw SQL could), check still finds the overlap."""
    zone = make.zone("Shared danger area")
    zid = zone.id.hex if db.dialect == "sqlite" else str(zone.id)
    ids = [booked["a"].id, booked["b"].id]
    ids = [i.hex if db.dialect == "sqlite" else str(i) for i in ids]
    move = "UPDATE resources SET safety_zone_id = :z WHERE id IN (:r1, :r2)"
    with pytest.raises(Exception, match="ex_bookings_no_overlapping_approved_in_scope"):
        raw(db_url, move, z=zid, r1=ids[0], r2=ids[1])
    drop = ("DROP TRIGGER trg_bookings_no_overlap_update" if db.dialect == "sqlite" else
            "ALTER TABLE bookings DROP CONSTRAINT ex_bookings_no_overlapping_approved_in_scope")
    raw(db_url, drop, move, z=zid, r1=ids[0], r2=ids[1])
    try:
        code, report = check(db_url, capsys)
    finally:
        if db.dialect == "postgresql":  # the database is shared by this process's tests
            restore_scope_constraint(db_url)
    assert code == 1 and not report["ok"]
    (finding,) = report["findings"]
    assert finding["kind"] == "approved_overlap_zone" and finding["count"] == 1
    example = finding["examples"][0]
    assert {example["booking_a"], example["booking_b"]} == {str(booked["one"].id),
                                                             str(booked["two"].id)}
    assert example["safety_zone_id"] == str(zone.id)


def test_approved_overlap_on_one_resource(db, db_url, booked, capsys):
    """The database refuses this itself; on SQLite the trigger is dropped to fake old damage."""
    if db.dialect != "sqlite":
        with pytest.raises(Exception, match="ex_bookings_no_overlapping_approved"):
            raw(db_url, "UPDATE bookings SET resource_id = :a WHERE id = :b",
                a=str(booked["a"].id), b=str(booked["two"].id))
        return
    raw(db_url, "DROP TRIGGER trg_bookings_no_overlap_update",
        "UPDATE bookings SET resource_id = :a WHERE id = :b",
        a=booked["a"].id.hex, b=booked["two"].id.hex)
    code, report = check(db_url, capsys)
    assert code == 1
    assert [f["kind"] for f in report["findings"]] == ["approved_overlap_resource"]
    assert report["findings"][0]["examples"][0]["resource_a"] == "Range A"


def test_bookings_missing_their_audit_trail(db, db_url, booked, capsys):
    """A booking written behind the services' back has no 'created' nor 'approved' entry."""
    sqlite = db.dialect == "sqlite"
    new_id = uuid.uuid4()
    fmt = (lambda u: u.hex) if sqlite else str
    raw(db_url, "INSERT INTO bookings (id, resource_id, requester_id, start_time, end_time, "
        "status, purpose, priority, conflict_at_request, created_at, updated_at) VALUES "
        "(:id, :r, :u, :s, :e, 'approved', 'sneaky', 0, false, :s, :s)",
        id=fmt(new_id), r=fmt(booked["a"].id), u=fmt(booked["member"].id),
        s=at(20, 9) if not sqlite else "2030-01-20 09:00:00.000000",
        e=at(20, 10) if not sqlite else "2030-01-20 10:00:00.000000")
    code, report = check(db_url, capsys)
    assert code == 1
    kinds = {f["kind"]: f for f in report["findings"]}
    assert set(kinds) == {"booking_without_created_audit", "approved_booking_without_audit"}
    for finding in kinds.values():
        assert finding["count"] == 1 and finding["examples"][0]["booking"] == str(new_id)


def test_schema_behind_head_is_a_finding(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    migrate.upgrade(url, "0002")
    code, report = check(url, capsys)
    assert code == 1
    assert [f["kind"] for f in report["findings"]] == ["migrations_not_at_head"]
    assert report["revision"] == "0002" and report["head"] != "0002"


def test_unreachable_database_exits_2(capsys):
    code = engine_main(["check", "--database-url",
                        "postgresql+psycopg://postgres@127.0.0.1:1/nowhere?connect_timeout=2"])
    assert code == 2
    assert "error: cannot check the database" in capsys.readouterr().err


def test_booking_longer_than_the_rules_allow(db, db_url, booked, capsys):
    """The database refuses it since migration 0004; on SQLite the trigger is dropped here."""
    one = booked["one"].id
    if db.dialect != "sqlite":
        with pytest.raises(Exception, match="ck_bookings_max_duration"):
            raw(db_url, "UPDATE bookings SET end_time = end_time + interval '2 days' WHERE id = :b",
                b=str(one))
        return
    raw(db_url, "DROP TRIGGER trg_bookings_max_duration_update",
        "UPDATE bookings SET end_time = '2030-01-10 11:00:00.000000' WHERE id = :b", b=one.hex)
    code, report = check(db_url, capsys)
    assert code == 1
    (finding,) = report["findings"]
    assert finding["kind"] == "booking_longer_than_allowed"
    assert finding["examples"][0]["booking"] == str(one)


def test_a_no_show_needs_its_no_show_audit_entry(db, db_url, make, clock, capsys):
    """The release audits each no-show; one marked behind its back is a finding."""
    from datetime import timedelta

    from engine import services

    staff, member = make.user(Role.STAFF), make.user()
    services.set_checkin_rule(db.uow(), make.admin.id, "range", required=True)
    r = make.resource(resource_type="range")
    start = clock.now + timedelta(hours=1)
    released = make.booking(r, member, start=start, end=start + timedelta(hours=1),
                            approve_by=staff)
    sneaky = make.booking(r, member, start=start + timedelta(hours=2),
                          end=start + timedelta(hours=3), approve_by=staff)
    clock.now = start + timedelta(minutes=15)
    assert services.release_no_shows(db).released == [released.id]
    code, report = check(db_url, capsys)
    assert code == 0, report
    fmt = (lambda u: u.hex) if db.dialect == "sqlite" else str
    raw(db_url, "UPDATE bookings SET status = 'no_show' WHERE id = :id", id=fmt(sneaky.id))
    code, report = check(db_url, capsys)
    assert code == 1
    [finding] = report["findings"]
    assert finding["kind"] == "no_show_booking_without_audit"
    assert finding["examples"][0]["booking"] == str(sneaky.id)
