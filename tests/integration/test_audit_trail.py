"""Every booking change writes exactly one audit entry: the actor, the action, and the row
as it was before the change."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine import services as s
from engine.domain.permissions import Role
from engine.models import AuditLog

ACTIONS = {
    "approved": lambda db, staff, b: s.approve_booking(db.uow(), staff.id, b.id),
    "denied": lambda db, staff, b: s.deny_booking(db.uow(), staff.id, b.id, "No range officer"),
    "cancelled": lambda db, staff, b: s.cancel_booking(db.uow(), staff.id, b.id, "Weather"),
    "rescheduled": lambda db, staff, b: s.reschedule_booking(
        db.uow(), staff.id, b.id, start_time=b.start_time + timedelta(hours=3),
        end_time=b.end_time + timedelta(hours=3)),
}


@pytest.mark.parametrize("action", list(ACTIONS))
def test_each_booking_change_is_audited_with_its_previous_state(db, make, action):
    staff = make.user(Role.STAFF)
    booking = make.booking(make.resource(), purpose="League match")
    before = s.get_booking(db.uow(), staff.id, booking.id)
    ACTIONS[action](db, staff, booking)
    with db.uow().read() as uow:
        entries = uow.session.scalars(select(AuditLog).where(
            AuditLog.booking_id == booking.id, AuditLog.action == action)).all()
    assert len(entries) == 1
    entry = entries[0]
    assert entry.actor_id == staff.id and entry.timestamp == make.clock.now
    assert entry.previous_state["status"] == before.status
    assert entry.previous_state["start_time"] == before.start_time.isoformat()
    assert entry.previous_state["purpose"] == "League match"


def test_a_refused_change_leaves_no_audit_entry(db, make):
    from engine.errors import ConflictError

    staff = make.user(Role.STAFF)
    r = make.resource()
    make.booking(r, approve_by=staff)
    b = make.booking(r)
    with pytest.raises(ConflictError):
        s.approve_booking(db.uow(), staff.id, b.id)
    with db.uow().read() as uow:
        assert uow.session.scalars(select(AuditLog.action).where(
            AuditLog.booking_id == b.id)).all() == ["created"]
