"""check_request runs request_booking's rules before a form says "free"; edit_request lets a
member change their own pending request under the same rules."""
from __future__ import annotations

from datetime import time, timedelta

import pytest
from sqlalchemy import select

from engine import services as svc
from engine.domain.permissions import Role
from engine.errors import InvalidTransition, NotFoundError, ValidationError
from engine.models import AuditLog
from engine.services.member_requests import check_request, edit_request


def test_a_window_in_the_past_is_not_free(db, make):
    member, r = make.user(), make.resource()
    start = make.clock.now - timedelta(hours=3)
    check = check_request(db.uow(), member.id, r.id, start, start + timedelta(hours=1))
    assert not check.free and check.problem.field == "start_time"
    assert "past" in check.problem.rule


def test_a_window_outside_opening_hours_is_not_free(db, make):
    member = make.user()
    r = make.resource(opens_at=time(8), closes_at=time(18))
    start = (make.clock.now + timedelta(days=1)).replace(hour=19, minute=0)
    check = check_request(db.uow(), member.id, r.id, start, start + timedelta(hours=1))
    assert not check.free and check.problem is not None
    with pytest.raises(ValidationError) as err:  # the request service agrees
        svc.request_booking(db.uow(), member.id, resource_id=r.id, start_time=start,
                            end_time=start + timedelta(hours=1), purpose="Night shoot")
    assert err.value.rule == check.problem.rule


def test_a_free_window_is_free_and_own_requests_for_it_are_listed(db, make):
    member, r = make.user(), make.resource()
    s, e = make.window()
    assert check_request(db.uow(), member.id, r.id, s, e).free
    mine = make.booking(r, member, start=s, end=e)
    make.booking(r, make.user(), start=s, end=e)  # someone else's: not "already"
    check = check_request(db.uow(), member.id, r.id, s + timedelta(minutes=30), e)
    assert [b.id for b in check.already] == [mine.id]
    assert check.free  # pending requests are soft conflicts only
    assert not check_request(db.uow(), member.id, r.id, s, e, exclude_booking_id=mine.id).already


def test_member_edits_their_pending_request_and_the_audit_keeps_the_old_window(db, make):
    member, r = make.user(), make.resource()
    b = make.booking(r, member)
    s, e = make.window(hours_from_now=48)
    view = edit_request(db.uow(), member.id, b.id, start_time=s, end_time=e,
                        purpose="Moved practice")
    assert (view.start_time, view.end_time, view.purpose, view.status) == (
        s, e, "Moved practice", "pending")
    with db.uow().read() as uow:
        [entry] = uow.session.scalars(select(AuditLog).where(
            AuditLog.booking_id == b.id, AuditLog.action == "rescheduled")).all()
        assert entry.actor_id == member.id
        assert entry.previous_state["purpose"] == "Practice session"


def test_edit_applies_the_same_rules_and_changes_nothing_when_refused(db, make):
    member, r = make.user(), make.resource()
    b = make.booking(r, member)
    past = make.clock.now - timedelta(hours=2)
    with pytest.raises(ValidationError):
        edit_request(db.uow(), member.id, b.id, start_time=past,
                     end_time=past + timedelta(hours=1), purpose="Too late")
    with pytest.raises(ValidationError) as err:
        edit_request(db.uow(), member.id, b.id, start_time=b.start_time, end_time=b.end_time,
                     purpose="x")
    assert err.value.field == "purpose"
    assert svc.get_booking(db.uow(), member.id, b.id).purpose == "Practice session"


def test_only_the_requester_edits_and_only_while_pending(db, make):
    staff = make.user(Role.STAFF)
    member, other, r = make.user(), make.user(), make.resource()
    b = make.booking(r, member)
    with pytest.raises(NotFoundError):
        edit_request(db.uow(), other.id, b.id, start_time=b.start_time, end_time=b.end_time,
                     purpose="Mine now")
    svc.approve_booking(db.uow(), staff.id, b.id)
    with pytest.raises(InvalidTransition):
        edit_request(db.uow(), member.id, b.id, start_time=b.start_time, end_time=b.end_time,
                     purpose="Changed after approval")
