"""Every booking change writes its e-mails to the outbox in the same transaction, to the right
people; a change that fails writes none."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.domain.permissions import Role
from engine.errors import ConflictError, ValidationError
from engine.models import NotificationPreference, OutboxMessage
from engine.notifications import NotificationEvent as E
from engine.notifications import enqueue_message
from engine.services import bookings as svc
from engine.services import resources as res


def outbox(db, kind=None):
    with db.uow().read() as uow:
        stmt = select(OutboxMessage).order_by(OutboxMessage.recipient_email)
        if kind is not None:
            stmt = stmt.where(OutboxMessage.kind == kind)
        return list(uow.session.scalars(stmt))


@pytest.fixture
def people(make):
    make.admin  # noqa: B018 - the admin exists before staff, so it is told of requests too
    return {"staff": make.user(Role.STAFF, email="staff@test.example"),
            "member": make.user(email="member@test.example")}


def test_a_request_tells_every_active_approver_but_not_the_member(db, make, people):
    other_staff = make.user(Role.STAFF, email="other-staff@test.example")
    from engine.services import users
    users.deactivate_user(db.uow(), make.admin.id, other_staff.id)
    r = make.resource(name="Bay 1")
    b = make.booking(r, people["member"])
    rows = outbox(db, E.REQUESTED.value)
    assert [m.recipient_email for m in rows] == ["root-admin@test.example", "staff@test.example"]
    assert all(m.booking_id == b.id and m.status == "pending" for m in rows)
    assert rows[0].context["resource_name"] == "Bay 1"
    assert rows[0].context["requester_name"] == people["member"].name
    assert rows[0].next_attempt_at == make.clock.now


def test_staff_requesting_for_themselves_are_not_told_of_their_own_request(db, make, people):
    make.booking(make.resource(), people["staff"])
    assert [m.recipient_email for m in outbox(db, E.REQUESTED.value)] == [
        "root-admin@test.example"]


@pytest.mark.parametrize("action", ["approve", "deny", "cancel"])
def test_decisions_go_to_the_requester(db, make, people, action):
    b = make.booking(make.resource(), people["member"])
    if action == "approve":
        svc.approve_booking(db.uow(), people["staff"].id, b.id)
        kind = E.APPROVED
    elif action == "deny":
        svc.deny_booking(db.uow(), people["staff"].id, b.id, "Range closed for maintenance")
        kind = E.DENIED
    else:
        svc.cancel_booking(db.uow(), people["member"].id, b.id)
        kind = E.CANCELLED
    rows = outbox(db, kind.value)
    assert [m.recipient_email for m in rows] == ["member@test.example"]
    if kind is E.DENIED:
        assert rows[0].context["reason"] == "Range closed for maintenance"
        assert rows[0].context["actor_name"] == people["staff"].name


def test_reschedule_carries_the_old_and_new_window(db, make, people):
    b = make.booking(make.resource(name="Old bay"), people["member"],
                     approve_by=people["staff"])
    new_res = make.resource(name="New bay")
    start = b.start_time + timedelta(days=1)
    svc.reschedule_booking(db.uow(), people["staff"].id, b.id, start_time=start,
                           end_time=start + timedelta(hours=1), resource_id=new_res.id,
                           reason="Moved for a course")
    [m] = outbox(db, E.RESCHEDULED.value)
    assert m.recipient_email == "member@test.example"
    assert m.context["old_start_time"] == b.start_time.isoformat()
    assert m.context["start_time"] == start.isoformat()
    assert m.context["old_resource_name"] == "Old bay"
    assert m.context["resource_name"] == "New bay"
    assert m.context["reason"] == "Moved for a course"


def test_force_override_tells_the_bumped_requester_by_what(db, make, people):
    r = make.resource()
    low = make.booking(r, people["member"], priority=1, approve_by=people["staff"])
    other = make.user(email="high@test.example")
    high = make.booking(r, other, start=low.start_time, end=low.end_time, priority=5)
    svc.approve_booking(db.uow(), people["staff"].id, high.id, force_override=True)
    [bumped] = outbox(db, E.BUMPED.value)
    assert bumped.recipient_email == "member@test.example"
    assert bumped.context["bumped_by"]["booking_id"] == str(high.id)
    assert "displaced by higher-priority booking" in bumped.context["reason"]
    assert [m.recipient_email for m in outbox(db, E.APPROVED.value)] == [
        "high@test.example", "member@test.example"]


def test_a_blackout_that_displaces_bookings_tells_their_requesters(db, make, people):
    r = make.resource(name="Range A")
    b = make.booking(r, people["member"], approve_by=people["staff"])
    res.create_blackout(db.uow(), make.admin.id, resource_id=r.id, start_time=b.start_time,
                        end_time=b.end_time, reason="Unexploded ordnance sweep",
                        bump_conflicting=True)
    [m] = outbox(db, E.DISPLACED.value)
    assert m.recipient_email == "member@test.example"
    assert m.context["blackout"]["reason"] == "Unexploded ordnance sweep"
    assert outbox(db, E.BUMPED.value) == []


def test_a_refused_change_writes_no_message(db, make, people):
    r = make.resource()
    make.booking(r, people["member"], approve_by=people["staff"])
    rival = make.booking(r, make.user(), priority=0)
    before = len(outbox(db))
    with pytest.raises(ConflictError):
        svc.approve_booking(db.uow(), people["staff"].id, rival.id)
    with pytest.raises(ValidationError):
        svc.deny_booking(db.uow(), people["staff"].id, rival.id, "")
    with pytest.raises(ValidationError):
        svc.request_booking(db.uow(), people["member"].id, resource_id=r.id,
                            start_time=make.clock.now - timedelta(hours=2),
                            end_time=make.clock.now - timedelta(hours=1), purpose="Too late")
    assert len(outbox(db)) == before


def test_a_rolled_back_unit_of_work_leaves_no_message(db, make, people):
    user_id = people["member"].id
    with db.uow() as uow:
        from engine.models import User
        enqueue_message(uow, uow.session.get(User, user_id), subject="Hello", body="Body")
        uow.session.flush()
        # leaving without commit rolls back
    assert outbox(db) == []


def test_an_opted_out_person_gets_no_row(db, make, people):
    with db.uow() as uow:
        uow.session.add(NotificationPreference(user_id=people["member"].id,
                                               kind=E.APPROVED.value, enabled=False,
                                               updated_at=uow.now))
        uow.commit()
    b = make.booking(make.resource(), people["member"])
    svc.approve_booking(db.uow(), people["staff"].id, b.id)
    assert outbox(db, E.APPROVED.value) == []


def test_enqueue_message_to_a_bare_address(db):
    with db.uow() as uow:
        enqueue_message(uow, "someone@test.example", subject="Reset", body="Use this link")
        uow.commit()
    [m] = outbox(db)
    assert (m.kind, m.recipient_email, m.recipient_user_id, m.subject) == (
        "account", "someone@test.example", None, "Reset")


def test_an_approver_who_switched_requests_off_is_not_told(db, make, people):
    """The recipients of a new request and their preferences come from one query."""
    with db.uow() as uow:
        uow.session.add(NotificationPreference(user_id=people["staff"].id,
                                               kind=E.REQUESTED.value, enabled=False,
                                               updated_at=uow.now))
        uow.commit()
    make.booking(make.resource(), people["member"])
    assert [m.recipient_email for m in outbox(db, E.REQUESTED.value)] == [
        "root-admin@test.example"]
