"""Many threads approving overlapping requests at once end with exactly one approved per
conflicting set, on one resource and across a safety zone, and the audit trail agrees."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from engine import services as s
from engine.domain.permissions import Role
from engine.domain.status import BookingStatus
from engine.errors import ConflictError
from engine.models import AuditLog, Booking

THREADS = 12


def approve_all_at_once(db, staff, bookings):
    barrier = threading.Barrier(len(bookings))

    def approve(b):
        barrier.wait()
        try:
            s.approve_booking(db.uow(), staff.id, b.id)
            return "approved"
        except ConflictError:
            return "conflict"

    with ThreadPoolExecutor(len(bookings)) as pool:
        return list(pool.map(approve, bookings))


def final_state(db):
    with db.uow().read() as uow:
        approved = uow.session.scalar(select(func.count()).select_from(Booking).where(
            Booking.status == BookingStatus.APPROVED))
        audited = uow.session.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.action == "approved"))
        return approved, audited


@pytest.mark.slow
def test_concurrent_approvals_on_one_resource_leave_exactly_one(db, make):
    staff = make.user(Role.STAFF)
    r = make.resource()
    start, end = make.window(24, 3)
    from datetime import timedelta
    bookings = [make.booking(r, start=start + timedelta(minutes=10 * i),
                             end=end + timedelta(minutes=10 * i)) for i in range(THREADS)]
    outcomes = approve_all_at_once(db, staff, bookings)
    assert outcomes.count("approved") == 1 and outcomes.count("conflict") == THREADS - 1
    assert final_state(db) == (1, 1)


@pytest.mark.slow
def test_concurrent_approvals_across_a_safety_zone_leave_exactly_one(db, make):
    staff = make.user(Role.STAFF)
    zone = make.zone()
    resources = [make.resource(safety_zone_id=zone.id) for _ in range(4)]
    start, end = make.window(24, 2)
    bookings = [make.booking(resources[i % 4], start=start, end=end) for i in range(THREADS)]
    outcomes = approve_all_at_once(db, staff, bookings)
    assert outcomes.count("approved") == 1
    assert final_state(db) == (1, 1)


@pytest.mark.slow
def test_separate_conflict_sets_each_get_one_approval(db, make):
    staff = make.user(Role.STAFF)
    zone = make.zone()
    zoned = [make.resource(safety_zone_id=zone.id) for _ in range(2)]
    lone = make.resource()
    start, end = make.window(24, 2)
    bookings = [make.booking(zoned[i % 2] if i % 3 else lone, start=start, end=end)
                for i in range(THREADS)]
    outcomes = approve_all_at_once(db, staff, bookings)
    assert outcomes.count("approved") == 2
    assert final_state(db) == (2, 2)


def test_database_refuses_overlapping_approvals_even_without_the_engine(db, make):
    """The exclusion constraint (PostgreSQL) or trigger (SQLite) is the last line of defence."""
    r = make.resource()
    start, end = make.window(24, 2)
    a, b = make.booking(r, start=start, end=end), make.booking(r, start=start, end=end)
    with db.engine.begin() as conn:
        conn.execute(update(Booking).where(Booking.id == a.id).values(status="approved"))
    with pytest.raises((IntegrityError, DBAPIError)) as err:
        with db.engine.begin() as conn:
            conn.execute(update(Booking).where(Booking.id == b.id).values(status="approved"))
    assert "ex_bookings_no_overlapping_approved" in str(err.value)


@pytest.mark.parametrize("statement", ["UPDATE audit_logs SET action = 'edited'",
                                       "DELETE FROM audit_logs"])
def test_audit_trail_is_append_only_in_the_database(db, make, statement):
    make.booking(make.resource())
    with pytest.raises(DBAPIError) as err:
        with db.engine.begin() as conn:
            conn.execute(text(statement))
    assert "append-only" in str(err.value)
    with db.uow().read() as uow:
        assert uow.session.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.action == "edited")) == 0


def test_database_refuses_a_booking_longer_than_24_hours(db, make):
    """Conflict look-ups rely on this bound, so the database enforces it, not just Python."""
    from datetime import timedelta

    b = make.booking(make.resource())
    with pytest.raises((IntegrityError, DBAPIError)) as err:
        with db.engine.begin() as conn:
            conn.execute(update(Booking).where(Booking.id == b.id).values(
                end_time=b.start_time + timedelta(hours=24, minutes=1)))
    assert "ck_bookings_max_duration" in str(err.value)
