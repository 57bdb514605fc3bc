"""Fewer round trips, same guarantees (issue 13). lock_booking re-reads the booking and its
resource in one row-locked statement (one round trip less per decision). A zone move that lands
between the first read and the lock must still be seen, so the change is refused rather than
made under the wrong zone's lock."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from engine import services as s
from engine.domain.permissions import Role
from engine.domain.status import BookingStatus
from engine.errors import ConflictError
from engine.models import AuditLog, Booking
from tests.sql_trace import statements_sent


def _move_after_locking_read(db, resource_id, zone_id):
    """Right after the statement that reads the booking and takes its scope's advisory lock
    (approve, deny), another session moves the resource to `zone_id` and commits: the lock
    held is now the old zone's. Returns a function that removes the hook and says whether it
    fired."""
    from sqlalchemy import event
    fired = []

    def after(conn, cursor, statement, parameters, context, executemany):
        if fired or "pg_advisory_xact_lock" not in statement:
            return
        fired.append(statement)
        with db.engine.connect() as other:  # a second pooled connection
            other.execute(text("UPDATE resources SET safety_zone_id = :z WHERE id = :r"),
                          {"z": zone_id, "r": resource_id})
            other.commit()
    event.listen(db.engine, "after_cursor_execute", after)

    def stop():
        event.remove(db.engine, "after_cursor_execute", after)
        return bool(fired)
    return stop


@pytest.mark.parametrize("decision", ["approve", "deny"])
def test_zone_move_between_read_and_lock_refuses_the_decision(db, make, decision):
    """approve and deny take the scope lock in the statement that first reads the booking; a
    zone move committed right after it is seen by the row-locked re-read and refused."""
    if db.dialect != "postgresql":
        pytest.skip("SQLite's BEGIN IMMEDIATE already excludes the concurrent move")
    staff = make.user(Role.STAFF)
    first, second = make.zone(), make.zone()
    resource = make.resource(safety_zone_id=first.id)
    booking = make.booking(resource)
    stop = _move_after_locking_read(db, resource.id, second.id)
    with pytest.raises(ConflictError, match="changed safety zone"):
        if decision == "approve":
            s.approve_booking(db.uow(), staff.id, booking.id)
        else:
            s.deny_booking(db.uow(), staff.id, booking.id, reason="Range closed for works")
    assert stop(), "the move was not injected after the locking read"
    with db.uow().read() as uow:
        assert uow.session.get(Booking, booking.id).status is BookingStatus.PENDING
        assert uow.session.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.booking_id == booking.id, AuditLog.action != "created")) == 0
    # Under the right lock, the same decision then goes through.
    assert s.approve_booking(db.uow(), staff.id, booking.id).status == "approved"


@pytest.mark.parametrize("decision", ["approve", "deny"])
def test_a_decision_locks_the_scope_it_read(db, make, decision):
    """The advisory lock taken in SQL is the one lock_scope takes for the booking's zone: a
    second session holding that zone's lock makes the decision wait (here: time out)."""
    if db.dialect != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's")
    from engine.db import scope_lock_id
    staff = make.user(Role.STAFF)
    zone = make.zone()
    booking = make.booking(make.resource(safety_zone_id=zone.id))
    with db.engine.connect() as holder:
        holder.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": scope_lock_id(zone.id)})
        real = db.sessionmaker

        def timing_out():
            session = real()
            session.execute(text("SET LOCAL lock_timeout = '300ms'"))
            return session
        db.sessionmaker = timing_out
        try:
            with pytest.raises(OperationalError, match="lock timeout") as refused:
                if decision == "approve":
                    s.approve_booking(db.uow(), staff.id, booking.id)
                else:
                    s.deny_booking(db.uow(), staff.id, booking.id, reason="Range closed")
            # It waited in its first read, not later (the blackout trigger's lock, say).
            assert refused.value.statement.startswith("SELECT users.")
        finally:
            db.sessionmaker = real
        holder.rollback()
    assert s.approve_booking(db.uow(), staff.id, booking.id).status == "approved"


def test_approval_sends_no_separate_resource_read(db, make):
    """The re-read under the lock brings the resource with the booking."""
    from sqlalchemy import event
    staff = make.user(Role.STAFF)
    booking = make.booking(make.resource(safety_zone_id=make.zone().id))
    sent = []
    listener = lambda *a: sent.append(" ".join(a[2].split()))  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        s.approve_booking(db.uow(), staff.id, booking.id)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert not [q for q in sent if q.startswith("SELECT resources.")]


def test_find_conflicts_reads_actor_resource_and_conflicts_together_with_the_same_errors(
        db, make):
    """find_conflicts reads the actor, the resource and what is in the way in one statement;
    the errors keep their order: an inactive actor is refused before a missing resource is
    reported, and both before a bad window."""
    import uuid

    from sqlalchemy import event

    from engine.errors import NotFoundError, PermissionDenied, ValidationError
    from engine.services import users as user_services
    staff = make.user(Role.STAFF)
    resource = make.resource()
    start, end = make.window()
    sent = []
    listener = lambda *a: sent.append(a[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        report = s.find_conflicts(db.uow(), staff.id, resource.id, start, end)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert report.hard == [] and report.soft == []
    assert len([q for q in sent if q.lstrip().upper().startswith("SELECT")]) == 1
    with pytest.raises(PermissionDenied):
        s.find_conflicts(db.uow(), uuid.uuid4(), resource.id, end, start)
    with pytest.raises(NotFoundError):
        s.find_conflicts(db.uow(), staff.id, uuid.uuid4(), end, start)
    with pytest.raises(ValidationError, match="end"):
        s.find_conflicts(db.uow(), staff.id, resource.id, end, start)
    with pytest.raises(NotFoundError):
        s.find_conflicts(db.uow(), staff.id, uuid.uuid4(), start, end)
    with pytest.raises(ValidationError, match="resource_id"):
        s.find_conflicts(db.uow(), staff.id, "not-an-id", start, end)
    with pytest.raises(PermissionDenied):
        s.find_conflicts(db.uow(), uuid.uuid4(), resource.id, start, end)
    user_services.deactivate_user(db.uow(), make.admin.id, staff.id)
    with pytest.raises(PermissionDenied):
        s.find_conflicts(db.uow(), staff.id, uuid.uuid4(), start, end)
    with pytest.raises(PermissionDenied):
        s.find_conflicts(db.uow(), staff.id, "not-an-id", start, end)


def test_a_request_reads_actor_resource_and_policy_rows_in_one_statement(db, make):
    member = make.user()
    make.user(Role.STAFF)  # someone to tell
    resource = make.resource()
    start, end = make.window()
    view, sent = statements_sent(db, lambda: s.request_booking(
        db.uow(), member.id, resource_id=resource.id, start_time=start, end_time=end,
        purpose="Zeroing practice"))
    assert view.status == "pending"
    first = sent[0] if db.dialect == "postgresql" else next(
        q for q in sent if q.startswith("SELECT"))
    assert "FROM users" in first and "booking_policies" in first and "resources" in first
    assert not [q for q in sent if q.startswith(("SELECT booking_policies.",
                                                 "SELECT resources.",
                                                 "SELECT notification_preferences."))]


@pytest.mark.parametrize("role", [Role.STAFF, Role.ADMIN])
def test_a_decision_reads_policy_approvers_and_offers_with_the_locked_booking(db, make, role):
    """Policy rows, named approvers and the waitlist offer come with the row-locked re-read,
    not in look-ups of their own; the decision itself is unchanged."""
    decider = make.user(role)
    booking = make.booking(make.resource(safety_zone_id=make.zone().id))
    view, sent = statements_sent(db, lambda: s.approve_booking(db.uow(), decider.id, booking.id))
    assert view.status == "approved"
    assert not [q for q in sent if q.startswith(("SELECT booking_policies.",
                                                 "SELECT resource_approvers.",
                                                 "SELECT waitlist_entries."))]
    reread = [q for q in sent if "booking_policies" in q]
    assert len(reread) == 1 and "waitlist_entries" in reread[0]
    if db.dialect == "postgresql":  # the re-read under the lock: approvers only for staff
        assert ("resource_approvers" in reread[0]) is (role is Role.STAFF)
    else:  # BEGIN IMMEDIATE came first: one statement with the actor, whatever the role
        assert "resource_approvers" in reread[0] and "FROM users" in reread[0]
        assert len([q for q in sent if q.startswith("SELECT")]) == 2  # + the conflicts


def test_a_request_notes_what_is_in_the_way_from_its_first_statement(db, make):
    """A request that waits marks conflict_at_request from the statement that reads the actor
    and the resource (no conflict look-up of its own): an approved booking on another resource
    of the zone counts, and so does a blackout; a pending one, or one that only touches the
    window, does not."""
    from datetime import timedelta

    from engine.services.resources import create_blackout
    staff, member = make.user(Role.STAFF), make.user()
    zone = make.zone()
    here, neighbour, elsewhere = (make.resource(safety_zone_id=zone.id),
                                  make.resource(safety_zone_id=zone.id), make.resource())
    start, end = make.window()
    make.booking(neighbour, start=start, end=end, approve_by=staff)
    make.booking(elsewhere, start=start, end=end, approve_by=staff)
    make.booking(here, start=end, end=end + timedelta(hours=1))  # pending, after
    blackout_at = end + timedelta(hours=3)
    create_blackout(db.uow(), make.admin.id, resource_id=elsewhere.id, start_time=blackout_at,
                    end_time=blackout_at + timedelta(hours=1), reason="Butt repairs")

    def request(resource, lo, hi):
        return statements_sent(db, lambda: s.request_booking(
            db.uow(), member.id, resource_id=resource.id, start_time=lo, end_time=hi,
            purpose="Zeroing practice"))
    blocked, sent = request(here, start + timedelta(minutes=30), end)
    assert blocked.conflict_at_request is True
    assert len([q for q in sent if q.startswith("SELECT")]) == 2  # + the approvers to tell
    assert request(here, end, end + timedelta(hours=1))[0].conflict_at_request is False
    assert request(elsewhere, end, end + timedelta(hours=1))[0].conflict_at_request is False
    assert request(elsewhere, blackout_at, blackout_at + timedelta(hours=1))[0] \
        .conflict_at_request is True
