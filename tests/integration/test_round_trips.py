"""Fewer round trips, same guarantees (issue 13). lock_booking re-reads the booking and its
resource in one row-locked statement (one round trip less per decision). A zone move that lands
between the first read and the lock must still be seen, so the change is refused rather than
made under the wrong zone's lock."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from engine import services as s
from engine.db import UnitOfWork
from engine.domain.permissions import Role
from engine.domain.status import BookingStatus
from engine.errors import ConflictError
from engine.models import AuditLog, Booking


def _move_before_lock(db, monkeypatch, resource_id, zone_id):
    """Before the scope lock is taken, another session moves the resource to `zone_id`."""
    real = UnitOfWork.lock_scope

    def moved_then_locked(self, *keys):
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE resources SET safety_zone_id = :z WHERE id = :r"),
                         {"z": zone_id, "r": resource_id})
        monkeypatch.setattr(UnitOfWork, "lock_scope", real)
        return real(self, *keys)
    monkeypatch.setattr(UnitOfWork, "lock_scope", moved_then_locked)


@pytest.mark.parametrize("decision", ["approve", "deny"])
def test_zone_move_between_read_and_lock_refuses_the_decision(db, make, monkeypatch, decision):
    if db.dialect != "postgresql":
        pytest.skip("SQLite's BEGIN IMMEDIATE already excludes the concurrent move")
    staff = make.user(Role.STAFF)
    first, second = make.zone(), make.zone()
    resource = make.resource(safety_zone_id=first.id)
    booking = make.booking(resource)
    _move_before_lock(db, monkeypatch, resource.id, second.id)
    with pytest.raises(ConflictError, match="changed safety zone"):
        if decision == "approve":
            s.approve_booking(db.uow(), staff.id, booking.id)
        else:
            s.deny_booking(db.uow(), staff.id, booking.id, reason="Range closed for works")
    with db.uow().read() as uow:
        assert uow.session.get(Booking, booking.id).status is BookingStatus.PENDING
        assert uow.session.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.booking_id == booking.id, AuditLog.action != "created")) == 0
    # Under the right lock, the same decision then goes through.
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


def test_find_conflicts_reads_actor_and_resource_together_with_the_same_errors(db, make):
    """find_conflicts loads the actor and the resource in one statement; the errors keep
    their order: an inactive actor is refused before a missing resource is reported."""
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
    assert len([q for q in sent if q.lstrip().upper().startswith("SELECT")]) == 2
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
