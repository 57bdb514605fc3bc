"""The booking hot paths write their audit, outbox and new booking rows without the ORM's unit
of work (issue 13): queued rows, written before the commit (one statement on PostgreSQL). The
guarantees stay: the rows commit or roll back with the change, and what the e-mails carry (the
calendar SEQUENCE, the requester's opt-outs) is the same as when each was looked up."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from engine import services as s
from engine.audit import queue_record
from engine.domain.audit_actions import AuditAction
from engine.domain.permissions import Role
from engine.models import AuditLog, Booking, NotificationPreference, OutboxMessage
from engine.notifications import NotificationEvent as E
from tests.sql_trace import statements_sent


def _count(db, model, **where):
    with db.uow().read() as uow:
        return uow.session.scalar(select(func.count()).select_from(model).where(
            *(getattr(model, k) == v for k, v in where.items())))


def test_a_waiting_request_writes_booking_audit_and_outbox_rows_together(db, make):
    member = make.user()
    make.user(Role.STAFF)  # an approver to tell
    resource = make.resource()
    start, end = make.window()
    view, sent = statements_sent(db, lambda: s.request_booking(
        db.uow(), member.id, resource_id=resource.id, start_time=start, end_time=end,
        purpose="Zeroing practice"))
    writes = [q for q in sent if q.startswith(("INSERT", "WITH", "UPDATE"))]
    if db.dialect == "postgresql":  # one statement: data-modifying CTEs
        assert len(writes) == 1 and writes[0].startswith("WITH")
        assert all(t in writes[0] for t in ("bookings", "audit_logs", "notification_outbox"))
    else:
        assert [q.split()[2] for q in writes] == ["bookings", "audit_logs",
                                                  "notification_outbox"]
    assert view.status == "pending" and view.resource_name == resource.name
    assert _count(db, Booking, id=view.id) == 1
    assert _count(db, AuditLog, booking_id=view.id, action=AuditAction.CREATED.value) == 1
    assert _count(db, OutboxMessage, booking_id=view.id, kind=E.REQUESTED.value) >= 1


def test_queued_rows_are_dropped_when_the_transaction_rolls_back(db, make):
    """A change that fails writes none of its queued rows, as it would leave no ORM rows."""
    member = make.user()
    booking = make.booking(make.resource(), member)
    before = _count(db, AuditLog, booking_id=booking.id)
    with pytest.raises(RuntimeError), db.uow() as uow:
        queue_record(uow.session, actor_id=member.id, action=AuditAction.CANCELLED,
                     now=uow.now, booking_id=booking.id)
        raise RuntimeError("the change failed")
    with db.uow() as uow:  # the next transaction of the same database writes only its own
        queue_record(uow.session, actor_id=member.id, action=AuditAction.CREATED,
                     now=uow.now, booking_id=booking.id, details="again")
        uow.session.rollback()
        uow.commit()
    assert _count(db, AuditLog, booking_id=booking.id) == before


def test_the_approval_email_carries_the_sequence_and_opt_outs_read_with_the_locked_booking(
        db, make):
    """approve reads the requester's opt-outs and the booking's audit count with its locked
    re-read (no look-up of its own); the SEQUENCE counts the approval's own audit row."""
    staff, member, quiet = make.user(Role.STAFF), make.user(), make.user()
    with db.uow() as uow:  # `quiet` switched approval e-mails off
        uow.session.add(NotificationPreference(user_id=quiet.id, kind=E.APPROVED.value,
                                               enabled=False, updated_at=uow.now))
        uow.commit()
    resource = make.resource()
    told = make.booking(resource, member)
    silent = make.booking(resource, quiet, start=told.end_time,
                          end=told.end_time + (told.end_time - told.start_time))
    _, sent = statements_sent(db, lambda: s.approve_booking(db.uow(), staff.id, told.id))
    s.approve_booking(db.uow(), staff.id, silent.id)
    assert not [q for q in sent if "notification_preferences" in q
                and "booking_policies" not in q]  # only the re-read reads preferences
    with db.uow().read() as uow:
        [mail] = uow.session.scalars(select(OutboxMessage).where(
            OutboxMessage.booking_id == told.id, OutboxMessage.kind == E.APPROVED.value))
        assert mail.recipient_user_id == member.id
        assert mail.context["ical_sequence"] == 2  # created, approved
        assert uow.session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.booking_id == silent.id, OutboxMessage.kind == E.APPROVED.value)) == 0
    # A later change's e-mail counts on from there.
    s.cancel_booking(db.uow(), member.id, told.id)
    with db.uow().read() as uow:
        [cancelled] = uow.session.scalars(select(OutboxMessage).where(
            OutboxMessage.booking_id == told.id, OutboxMessage.kind == E.CANCELLED.value))
        assert cancelled.context["ical_sequence"] == 3


def test_a_missing_booking_is_still_reported_after_the_actor_checks(db, make):
    """lock_decision keeps load_actor_and_get's errors and their order."""
    from engine.errors import NotFoundError, PermissionDenied, ValidationError
    staff = make.user(Role.STAFF)
    with pytest.raises(NotFoundError):
        s.approve_booking(db.uow(), staff.id, uuid.uuid4())
    with pytest.raises(PermissionDenied):
        s.approve_booking(db.uow(), uuid.uuid4(), uuid.uuid4())
    with pytest.raises(PermissionDenied):
        s.approve_booking(db.uow(), make.user().id, uuid.uuid4())  # a member may not approve
    with pytest.raises(ValidationError, match="booking_id"):
        s.approve_booking(db.uow(), staff.id, "not-an-id")
    with pytest.raises(PermissionDenied):
        s.deny_booking(db.uow(), uuid.uuid4(), "not-an-id", reason="Range closed")


def test_an_approval_writes_the_booking_with_its_audit_and_outbox_rows(db, make):
    """approve_booking's own change of the booking is written with its audit and e-mail rows
    (on PostgreSQL in their one statement), not by a flush of its own; the row, the audit
    entry and the e-mail all say approved."""
    staff, member = make.user(Role.STAFF), make.user()
    booking = make.booking(make.resource(), member)
    view, sent = statements_sent(db, lambda: s.approve_booking(db.uow(), staff.id, booking.id))
    writes = [q for q in sent if q.startswith(("INSERT", "WITH", "UPDATE"))]
    if db.dialect == "postgresql":
        assert len(writes) == 1 and writes[0].startswith("WITH")
        assert all(t in writes[0] for t in ("UPDATE bookings", "audit_logs",
                                             "notification_outbox"))
    else:
        assert [q.split()[1 if q.startswith("UPDATE") else 2] for q in writes] == [
            "bookings", "audit_logs", "notification_outbox"]
    assert view.status == "approved" and view.decided_by_id == staff.id
    with db.uow().read() as uow:
        row = uow.session.get(Booking, booking.id)
        assert (row.status.value, row.decided_by_id) == ("approved", staff.id)
        assert row.decided_at is not None and row.updated_at == row.decided_at
        [entry] = uow.session.scalars(select(AuditLog).where(
            AuditLog.booking_id == booking.id, AuditLog.action == AuditAction.APPROVED.value))
        assert entry.previous_state["status"] == "pending"
        [mail] = uow.session.scalars(select(OutboxMessage).where(
            OutboxMessage.booking_id == booking.id, OutboxMessage.kind == E.APPROVED.value))
        assert mail.context["status"] == "approved"


def test_a_failed_approval_writes_nothing_of_the_booking_change(db, make, monkeypatch):
    """The queued change of the booking is dropped with the transaction when the approval
    fails after it was queued: the booking stays pending, with no approval entry or e-mail."""
    staff, member = make.user(Role.STAFF), make.user()
    booking = make.booking(make.resource(), member)

    def fail(*args, **kwargs):
        raise RuntimeError("the step after the approval failed")
    monkeypatch.setattr("engine.services.bookings.BookingView.of", fail)
    with pytest.raises(RuntimeError):
        s.approve_booking(db.uow(), staff.id, booking.id)
    monkeypatch.undo()
    with db.uow().read() as uow:
        assert uow.session.get(Booking, booking.id).status.value == "pending"
    assert _count(db, AuditLog, booking_id=booking.id, action=AuditAction.APPROVED.value) == 0
    assert _count(db, OutboxMessage, booking_id=booking.id, kind=E.APPROVED.value) == 0
    # and the next transaction on the same connection writes only its own change
    s.deny_booking(db.uow(), staff.id, booking.id, reason="Range closed for repairs")
    with db.uow().read() as uow:
        assert uow.session.get(Booking, booking.id).status.value == "denied"


def test_a_clear_approval_on_postgresql_sends_no_conflict_query_of_its_own(db, make):
    """The row-locked re-read says whether anything stands in the window (read under the
    scope lock); a clear approval needs no second look, one in the way still gets the list."""
    if db.dialect != "postgresql":
        pytest.skip("SQLite reads the booking before its window is known: it still asks apart")
    staff = make.user(Role.STAFF)
    resource = make.resource()
    clear = make.booking(resource)
    _, sent = statements_sent(db, lambda: s.approve_booking(db.uow(), staff.id, clear.id))
    assert not [q for q in sent if q.startswith("SELECT") and "UNION ALL" in q]
    assert len([q for q in sent if q.startswith("SELECT")]) == 2
    blocked = make.booking(resource, start=clear.start_time, end=clear.end_time)
    from engine.errors import ConflictError
    with pytest.raises(ConflictError) as refused:
        s.approve_booking(db.uow(), staff.id, blocked.id)
    assert [c.id for c in refused.value.conflicts] == [clear.id]
