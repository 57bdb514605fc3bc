"""No approved booking over a blackout: the database refuses it in both directions (0018).

A blackout is stored on one resource and closes its scope: the resource's safety zone, or the
resource itself. Raw SQL shows the database alone refuses; the services turn a refusal into
the same 409 as their own check, naming what is in the way; racing threads never get both a
blackout and an approval under it.
"""
from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from engine import services as s
from engine.check import run_checks
from engine.domain.permissions import Role
from engine.errors import ConflictError, ValidationError
from engine.models import AuditLog, Blackout, Booking
from engine.services import lifecycle
from engine.services import resources as resource_services
from tests.races import race

GUARD = "bookings_clear_of_blackouts"
#: Rounds of each race: every one a fresh resource and window.
ROUNDS = 40


def stored(db, value: uuid.UUID) -> str:
    """How the Uuid type stores an id: hex on SQLite, uuid text on PostgreSQL."""
    return value.hex if db.dialect == "sqlite" else str(value)


def when(db, t):
    """How a UTC time is written raw: naive text on SQLite, timestamptz on PostgreSQL."""
    return t.strftime("%Y-%m-%d %H:%M:%S.%f") if db.dialect == "sqlite" else t


def raw(db, *statements):
    """Run (sql, params) pairs in one transaction of a plain connection (no engine code)."""
    with db.engine.begin() as conn:
        for sql, params in statements:
            conn.execute(text(sql), params)


def insert_booking(db, resource, member, start, end, status="approved", booking_id=None):
    return ("INSERT INTO bookings (id, resource_id, requester_id, start_time, end_time, status, "
            "purpose, priority, conflict_at_request) VALUES (:id, :r, :u, :s, :e, :st, 'raw', 0, "
            "false)", {"id": stored(db, booking_id or uuid.uuid4()), "r": stored(db, resource.id),
                       "u": stored(db, member.id), "s": when(db, start), "e": when(db, end),
                       "st": status})


def insert_blackout(db, resource, start, end, blackout_id=None):
    return ("INSERT INTO blackouts (id, resource_id, start_time, end_time, reason) "
            "VALUES (:id, :r, :s, :e, 'Range flooded')",
            {"id": stored(db, blackout_id or uuid.uuid4()), "r": stored(db, resource.id),
             "s": when(db, start), "e": when(db, end)})


def refused(db, *statements):
    with pytest.raises((IntegrityError, DBAPIError)) as err:
        raw(db, *statements)
    assert GUARD in str(err.value)


def counts(db):
    with db.uow().read() as uow:
        return tuple(uow.session.scalar(select(func.count()).select_from(m))
                     for m in (Booking, Blackout, AuditLog))


def approved_over_blackouts(db):
    with db.uow().read() as uow:
        return [f for f in run_checks(db.url, uow.session).findings
                if f.kind == "approved_over_blackout"]


@pytest.fixture
def closed(db, make):
    """A blackout on resource `a` of a zone shared with `b`; `lone` sits in no zone."""
    zone = make.zone("Impact area")
    a, b = make.resource(safety_zone_id=zone.id), make.resource(safety_zone_id=zone.id)
    lone = make.resource()
    start, end = make.window(24, 4)
    blackout = s.create_blackout(db.uow(), make.admin.id, resource_id=a.id, start_time=start,
                                 end_time=end, reason="Range flooded")
    return {"zone": zone, "a": a, "b": b, "lone": lone, "start": start, "end": end,
            "blackout": blackout, "member": make.user(), "staff": make.user(Role.STAFF),
            "admin": make.admin}


# --- the database refuses, whatever wrote the row ------------------------------------------

@pytest.mark.parametrize("where", ["a", "b"])
def test_database_refuses_inserting_an_approved_booking_over_a_blackout_in_its_scope(
        db, closed, where):
    """On the blacked-out resource itself and on another resource of its zone."""
    hour = timedelta(hours=1)
    refused(db, insert_booking(db, closed[where], closed["member"], closed["start"] + hour,
                               closed["end"] + hour))
    assert counts(db)[0] == 0


def test_database_refuses_approving_a_pending_booking_over_a_blackout(db, closed):
    booking_id = uuid.uuid4()
    pending = insert_booking(db, closed["b"], closed["member"], closed["start"], closed["end"],
                             status="pending", booking_id=booking_id)
    raw(db, pending)  # a pending request over a blackout is allowed: it waits for staff
    refused(db, ("UPDATE bookings SET status = 'approved' WHERE id = :id",
                 {"id": stored(db, booking_id)}))


def test_database_refuses_moving_an_approved_booking_into_a_blackout(db, closed):
    booking_id = uuid.uuid4()
    later = closed["end"] + timedelta(hours=2)
    raw(db, insert_booking(db, closed["a"], closed["member"], later, later + timedelta(hours=1),
                           booking_id=booking_id))
    refused(db, ("UPDATE bookings SET start_time = :s WHERE id = :id",
                 {"s": when(db, closed["start"]), "id": stored(db, booking_id)}))
    # Moving it to the lone resource's same hour is fine; moving it onto `a` again is not.
    raw(db, ("UPDATE bookings SET resource_id = :r WHERE id = :id",
             {"r": stored(db, closed["lone"].id), "id": stored(db, booking_id)}))
    raw(db, ("UPDATE bookings SET start_time = :s WHERE id = :id",
             {"s": when(db, closed["start"]), "id": stored(db, booking_id)}))
    refused(db, ("UPDATE bookings SET resource_id = :r WHERE id = :id",
                 {"r": stored(db, closed["b"].id), "id": stored(db, booking_id)}))


def test_blackout_scope_is_its_resource_or_zone_and_windows_are_half_open(db, closed):
    """Another scope, or a window touching the blackout's ends, stays allowed."""
    member, start, end = closed["member"], closed["start"], closed["end"]
    other_zone = s.create_zone(db.uow(), closed["admin"].id, name="Far")
    far = s.create_resource(db.uow(), closed["admin"].id, name="Far range",
                            resource_type="range", safety_zone_id=other_zone.id)
    raw(db, insert_booking(db, closed["lone"], member, start, end),
        insert_booking(db, far, member, start, end),
        insert_booking(db, closed["a"], member, end, end + timedelta(hours=1)),
        insert_booking(db, closed["b"], member, start - timedelta(hours=1), start))
    assert counts(db)[0] == 4
    assert approved_over_blackouts(db) == []


@pytest.mark.parametrize("where", ["a", "b"])
def test_database_refuses_a_blackout_over_an_approved_booking_in_its_scope(db, make, where):
    zone = make.zone()
    r = {"a": make.resource(safety_zone_id=zone.id), "b": make.resource(safety_zone_id=zone.id)}
    start, end = make.window(24, 2)
    raw(db, insert_booking(db, r[where], make.user(), start, end))
    refused(db, insert_blackout(db, r["a"], start + timedelta(hours=1), end))
    assert counts(db)[1] == 0


def test_database_refuses_moving_a_blackout_over_an_approved_booking(db, make, closed):
    later = closed["end"] + timedelta(hours=3)
    raw(db, insert_booking(db, closed["b"], closed["member"], later, later + timedelta(hours=1)))
    move = ("UPDATE blackouts SET end_time = :e WHERE id = :id",
            {"e": when(db, later + timedelta(minutes=30)), "id": stored(db, closed["blackout"].id)})
    refused(db, move)
    elsewhere = ("UPDATE blackouts SET resource_id = :r, start_time = :s, end_time = :e "
                 "WHERE id = :id", {"r": stored(db, closed["lone"].id), "s": when(db, later),
                                    "e": when(db, later + timedelta(hours=1)),
                                    "id": stored(db, closed["blackout"].id)})
    raw(db, elsewhere)  # the lone resource is free then
    refused(db, ("UPDATE blackouts SET resource_id = :r WHERE id = :id",
                 {"r": stored(db, closed["b"].id), "id": stored(db, closed["blackout"].id)}))


def test_a_blackout_is_accepted_once_its_transaction_has_displaced_the_bookings(db, make):
    r = make.resource()
    start, end = make.window(24, 2)
    booking_id = uuid.uuid4()
    raw(db, insert_booking(db, r, make.user(), start, end, booking_id=booking_id))
    raw(db, ("UPDATE bookings SET status = 'bumped' WHERE id = :id",
             {"id": stored(db, booking_id)}),
        insert_blackout(db, r, start, end))
    assert counts(db)[:2] == (1, 1)


def test_database_refuses_zone_moves_that_bring_a_blackout_and_approvals_together(db, make):
    """Either way round: the moved resource's blackout over the zone's approvals, or its
    approvals under the zone's blackout."""
    zone = make.zone()
    inside = make.resource(safety_zone_id=zone.id)
    closed_lone, booked_lone = make.resource(), make.resource()
    start, end = make.window(24, 2)
    member = make.user()
    raw(db, insert_booking(db, inside, member, start, end),
        insert_blackout(db, closed_lone, start, end))
    move = "UPDATE resources SET safety_zone_id = :z WHERE id = :r"
    refused(db, (move, {"z": stored(db, zone.id), "r": stored(db, closed_lone.id)}))
    other = make.zone()
    inside_other = make.resource(safety_zone_id=other.id)
    later = end + timedelta(hours=2)
    raw(db, insert_blackout(db, inside_other, later, later + timedelta(hours=2)),
        insert_booking(db, booked_lone, member, later, later + timedelta(hours=1)))
    refused(db, (move, {"z": stored(db, other.id), "r": stored(db, booked_lone.id)}))
    assert approved_over_blackouts(db) == []


# --- the services: the same 409, naming what is in the way ---------------------------------

def test_approval_refused_by_the_database_alone_names_the_blackout(db, closed, monkeypatch):
    """With the Python check skipped (as a stale read would), the trigger still refuses and
    the caller gets the check's ConflictError with the blackout listed; nothing is written."""
    pending = s.request_booking(db.uow(), closed["member"].id, resource_id=closed["b"].id,
                                start_time=closed["start"], end_time=closed["end"],
                                purpose="Practice")
    monkeypatch.setattr(lifecycle, "_check_approvable", lambda *a, **kw: [])
    before = counts(db)
    with pytest.raises(ConflictError) as err:
        s.approve_booking(db.uow(), closed["staff"].id, pending.id)
    assert [(c.kind, c.id) for c in err.value.conflicts] == [("blackout", closed["blackout"].id)]
    assert "blackout" in str(err.value)
    assert counts(db) == before
    assert s.get_booking(db.uow(), closed["staff"].id, pending.id).status == "pending"


def test_a_batch_refused_by_the_database_is_refused_whole(db, closed, monkeypatch):
    """The batch approval skips requests its checks refuse, but a statement the database
    refused ends the transaction: the whole batch is a 409 naming the blackout, nothing
    approved (not even the clear request before it)."""
    from engine.services.approval_queue import approve_clear

    clear = s.request_booking(db.uow(), closed["member"].id, resource_id=closed["lone"].id,
                              start_time=closed["start"], end_time=closed["end"],
                              purpose="Practice")
    under = s.request_booking(db.uow(), closed["member"].id, resource_id=closed["b"].id,
                              start_time=closed["start"], end_time=closed["end"],
                              purpose="Practice")
    monkeypatch.setattr(lifecycle, "_check_approvable", lambda *a, **kw: [])
    before = counts(db)
    with pytest.raises(ConflictError) as err:
        approve_clear(db.uow(), closed["staff"].id, [clear.id, under.id])
    assert [c.id for c in err.value.conflicts] == [closed["blackout"].id]
    assert counts(db) == before
    assert s.get_booking(db.uow(), closed["staff"].id, clear.id).status == "pending"


def test_reschedule_into_a_blackout_is_refused_by_the_database_too(db, closed, monkeypatch):
    later = closed["end"] + timedelta(hours=2)
    b = s.request_booking(db.uow(), closed["member"].id, resource_id=closed["b"].id,
                          start_time=later, end_time=later + timedelta(hours=1),
                          purpose="Practice")
    s.approve_booking(db.uow(), closed["staff"].id, b.id)
    monkeypatch.setattr("engine.services.bookings.hard_conflicts", lambda *a, **kw: [])
    before = counts(db)
    with pytest.raises(ConflictError, match="blackout"):
        s.reschedule_booking(db.uow(), closed["staff"].id, b.id, start_time=closed["start"],
                             end_time=closed["start"] + timedelta(hours=1))
    assert counts(db) == before


def test_blackout_refused_by_the_database_alone_names_the_bookings(db, make, monkeypatch):
    staff = make.user(Role.STAFF)
    r = make.resource()
    b = make.booking(r, approve_by=staff)
    real = resource_services.booking_conflicts
    calls = []

    def blind_first(*a, **kw):  # the check misses the booking; the report after finds it
        calls.append(1)
        return [] if len(calls) == 1 else real(*a, **kw)

    monkeypatch.setattr(resource_services, "booking_conflicts", blind_first)
    before = counts(db)
    with pytest.raises(ConflictError) as err:
        s.create_blackout(db.uow(), make.admin.id, resource_id=r.id, start_time=b.start_time,
                          end_time=b.end_time, reason="Range flooded")
    assert [c.id for c in err.value.conflicts] == [b.id]
    assert "meets approved bookings" in str(err.value)
    assert counts(db) == before


def test_blackout_with_bump_conflicting_displaces_then_closes(db, make):
    """The displace flow keeps working under the trigger: bookings bumped, blackout stored,
    the freed window not offered to anyone waiting (the blackout is in it)."""
    staff, waiting = make.user(Role.STAFF), make.user()
    r = make.resource()
    b = make.booking(r, approve_by=staff)
    s.join_waitlist(db.uow(), waiting.id, resource_id=r.id, start_time=b.start_time,
                    end_time=b.end_time, purpose="Anything free")
    view = s.create_blackout(db.uow(), make.admin.id, resource_id=r.id,
                             start_time=b.start_time, end_time=b.end_time,
                             reason="Range flooded", bump_conflicting=True)
    assert s.get_booking(db.uow(), staff.id, b.id).status == "bumped"
    with db.uow().read() as uow:
        assert uow.session.get(Blackout, view.id) is not None
        assert uow.session.scalar(select(func.count()).select_from(Booking)) == 1  # no offer
    assert approved_over_blackouts(db) == []


@pytest.mark.parametrize("closed_side", ["zone", "mover"])
def test_zone_move_that_puts_approvals_under_a_blackout_is_refused_naming_it(db, make,
                                                                               closed_side):
    staff = make.user(Role.STAFF)
    zone = make.zone("Impact area")
    inside, lone = make.resource(safety_zone_id=zone.id), make.resource()
    booked, closed = (lone, inside) if closed_side == "zone" else (inside, lone)
    b = make.booking(booked, approve_by=staff)
    s.create_blackout(db.uow(), make.admin.id, resource_id=closed.id, start_time=b.start_time,
                      end_time=b.end_time, reason="Range flooded")
    before = counts(db)
    with pytest.raises(ValidationError) as err:
        s.update_resource(db.uow(), make.admin.id, lone.id, safety_zone_id=zone.id)
    assert err.value.field == "safety_zone_id" and "'Range flooded'" in str(err.value)
    assert counts(db) == before
    assert s.get_resource(db.uow(), make.admin.id, lone.id).safety_zone_id is None


def test_zone_move_refused_by_the_database_alone_is_a_conflict(db, make, monkeypatch):
    staff = make.user(Role.STAFF)
    zone = make.zone("Impact area")
    inside, lone = make.resource(safety_zone_id=zone.id), make.resource()
    b = make.booking(lone, approve_by=staff)
    s.create_blackout(db.uow(), make.admin.id, resource_id=inside.id, start_time=b.start_time,
                      end_time=b.end_time, reason="Range flooded")
    monkeypatch.setattr(resource_services, "_zone_blackout_clashes", lambda *a: [])
    with pytest.raises(ConflictError, match="blackout"):
        s.update_resource(db.uow(), make.admin.id, lone.id, safety_zone_id=zone.id)
    assert s.get_resource(db.uow(), make.admin.id, lone.id).safety_zone_id is None


# --- races ---------------------------------------------------------------------------------

def _service_round(db, pool, admin, staff, member, make, i):
    r = make.resource(name=f"Race range {i}")
    start, end = make.window(24 + i, 2)
    pending = make.booking(r, member, start=start, end=end)
    return race(pool, [
        lambda: s.create_blackout(db.uow(), admin.id, resource_id=r.id, start_time=start,
                                  end_time=end, reason="Range clearance"),
        lambda: s.approve_booking(db.uow(), staff.id, pending.id)])


@pytest.mark.slow
def test_blackout_and_approval_racing_never_both_succeed(db, make):
    """Through the services, ROUNDS times. PostgreSQL: both take the scope's advisory lock and
    the triggers take it too. SQLite: BEGIN IMMEDIATE runs one writer at a time, so the race
    is serial there and only checks the same outcome."""
    admin, staff, member = make.admin, make.user(Role.STAFF), make.user()
    with ThreadPoolExecutor(2) as pool:
        outcomes = [_service_round(db, pool, admin, staff, member, make, i)
                    for i in range(ROUNDS)]
    assert ["ok", "ok"] not in outcomes
    assert all(o.count("ok") == 1 for o in outcomes)  # one of them always gets through
    assert {x for o in outcomes for x in o} <= {"ok", "ConflictError"}
    assert approved_over_blackouts(db) == []


@pytest.mark.slow
def test_raw_sql_blackout_and_approval_racing_never_both_succeed(db, make):
    """No engine code at all, ROUNDS times: two plain transactions, one inserting a blackout
    and one approving a booking under it, each holding its write open before committing so
    that without the triggers' scope lock both checks would pass (tried: they then both
    commit in every round). With it, the second waits, sees the first, and is refused."""
    if db.dialect == "sqlite":
        pytest.skip("SQLite has one writer at a time: the second transaction's trigger runs "
                    "after the first committed (a stale deferred writer gets SQLITE_BUSY)")
    engine = create_engine(db.url, pool_size=2)
    member = make.user()
    outcomes = []
    try:
        for i in range(ROUNDS):
            r = make.resource(name=f"Raw race {i}")
            start, end = make.window(24 + i, 2)
            booking_id = uuid.uuid4()
            raw(db, insert_booking(db, r, member, start, end, status="pending",
                                   booking_id=booking_id))
            barrier = threading.Barrier(2)

            def run(statement, barrier=barrier):
                sql, params = statement
                barrier.wait()
                try:
                    with engine.begin() as conn:
                        conn.execute(text(sql), params)
                        conn.execute(text("SELECT pg_sleep(0.05)"))
                    return "ok"
                except DBAPIError as exc:
                    assert GUARD in str(exc)
                    return "refused"

            with ThreadPoolExecutor(2) as pool:
                outcomes.append(list(pool.map(run, [
                    insert_blackout(db, r, start, end),
                    ("UPDATE bookings SET status = 'approved' WHERE id = :id",
                     {"id": stored(db, booking_id)})])))
    finally:
        engine.dispose()
    assert all(sorted(o) == ["ok", "refused"] for o in outcomes), outcomes
    assert approved_over_blackouts(db) == []


# --- engine check ---------------------------------------------------------------------------

def test_check_finds_an_approved_booking_over_a_blackout(db, closed):
    """Damage only a superuser's replica mode (PostgreSQL) or a dropped trigger (SQLite) lets in."""
    row = insert_booking(db, closed["b"], closed["member"], closed["start"], closed["end"])
    if db.dialect == "sqlite":
        raw(db, ("DROP TRIGGER trg_bookings_clear_of_blackouts_insert", {}),
            ("DROP TRIGGER trg_bookings_clear_of_blackouts_update", {}), row)
    else:
        raw(db, ("SET LOCAL session_replication_role = replica", {}), row)
    [finding] = approved_over_blackouts(db)
    assert finding.count == 1
    assert finding.examples[0]["blackout"] == str(closed["blackout"].id)
