"""One test per booking rule, on SQLite and PostgreSQL alike."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.domain.permissions import Role
from engine.errors import ConflictError, InvalidTransition, NotFoundError, ValidationError
from engine.models import AuditLog
from engine.services import bookings as svc
from engine.services.conflicts import find_conflicts, suggest_alternatives


@pytest.fixture
def staff(make):
    return make.user(Role.STAFF)


def audit_actions(db, booking_id):
    with db.uow().read() as uow:
        return list(uow.session.scalars(select(AuditLog.action).where(
            AuditLog.booking_id == booking_id).order_by(AuditLog.timestamp, AuditLog.action)))


def test_request_creates_pending_booking_with_audit_entry(db, make):
    r = make.resource()
    b = make.booking(r, priority=3)
    assert b.status == "pending" and b.priority == 3
    assert audit_actions(db, b.id) == ["created"]


def test_approve_sets_approved_and_records_previous_state(db, make, staff):
    b = make.booking(make.resource())
    approved = svc.approve_booking(db.uow(), staff.id, b.id)
    assert approved.status == "approved" and approved.decided_by_id == staff.id
    with db.uow().read() as uow:
        entry = uow.session.scalar(select(AuditLog).where(AuditLog.action == "approved"))
    assert entry.previous_state["status"] == "pending" and entry.actor_id == staff.id


def test_approving_over_an_approved_booking_fails_listing_the_conflict(db, make, staff):
    r = make.resource()
    first = make.booking(r, approve_by=staff)
    second = make.booking(r)
    with pytest.raises(ConflictError) as err:
        svc.approve_booking(db.uow(), staff.id, second.id)
    assert [c.id for c in err.value.conflicts] == [first.id]
    assert str(first.id)[:8] in err.value.message and r.name in err.value.message
    assert svc.get_booking(db.uow(), staff.id, second.id).status == "pending"
    assert audit_actions(db, second.id) == ["created"]


def test_half_open_windows_touching_do_not_conflict(db, make, staff):
    r = make.resource()
    s, e = make.window(hours=2)
    make.booking(r, start=s, end=e, approve_by=staff)
    after = make.booking(r, start=e, end=e + timedelta(hours=1), approve_by=staff)
    assert after.status == "approved"


def test_safety_zone_blocks_other_resources_of_the_zone(db, make, staff):
    zone = make.zone()
    r1, r2 = make.resource(safety_zone_id=zone.id), make.resource(safety_zone_id=zone.id)
    first = make.booking(r1, approve_by=staff)
    second = make.booking(r2)
    with pytest.raises(ConflictError) as err:
        svc.approve_booking(db.uow(), staff.id, second.id)
    assert err.value.conflicts[0].id == first.id and err.value.conflicts[0].resource_id == r1.id


def test_resources_outside_the_zone_are_not_blocked(db, make, staff):
    zone = make.zone()
    r1, r3 = make.resource(safety_zone_id=zone.id), make.resource()
    make.booking(r1, approve_by=staff)
    assert make.booking(r3, approve_by=staff).status == "approved"


def test_force_override_bumps_lower_priority_in_same_transaction(db, make, staff):
    r = make.resource()
    low = make.booking(r, priority=1, approve_by=staff)
    high = make.booking(r, priority=5)
    approved = svc.approve_booking(db.uow(), staff.id, high.id, force_override=True)
    assert approved.status == "approved"
    bumped = svc.get_booking(db.uow(), staff.id, low.id)
    assert bumped.status == "bumped" and bumped.bumped_by_booking_id == high.id
    assert "higher-priority" in bumped.decision_reason
    assert sorted(audit_actions(db, low.id)) == ["approved", "bumped", "created"]


@pytest.mark.parametrize("other_priority", [5, 7])
def test_force_override_fails_against_equal_or_higher_priority(db, make, staff, other_priority):
    r = make.resource()
    other = make.booking(r, priority=other_priority, approve_by=staff)
    mine = make.booking(r, priority=5)
    with pytest.raises(ConflictError) as err:
        svc.approve_booking(db.uow(), staff.id, mine.id, force_override=True)
    assert [c.id for c in err.value.conflicts] == [other.id]
    assert svc.get_booking(db.uow(), staff.id, other.id).status == "approved"


def test_force_override_never_overrides_a_blackout(db, make, staff):
    from engine.services.resources import create_blackout

    r = make.resource()
    s, e = make.window()
    create_blackout(db.uow(), make.admin.id, resource_id=r.id, start_time=s, end_time=e,
                    reason="Butt repairs")
    b = make.booking(r, start=s, end=e, priority=10)
    assert b.conflict_at_request is True
    with pytest.raises(ConflictError) as err:
        svc.approve_booking(db.uow(), staff.id, b.id, force_override=True)
    assert err.value.conflicts[0].kind == "blackout"


def test_deny_requires_reason_and_records_it(db, make, staff):
    b = make.booking(make.resource())
    with pytest.raises(ValidationError) as err:
        svc.deny_booking(db.uow(), staff.id, b.id, "")
    assert err.value.field == "reason"
    denied = svc.deny_booking(db.uow(), staff.id, b.id, "Range closed for a match")
    assert denied.status == "denied" and denied.decision_reason == "Range closed for a match"


def test_denied_booking_cannot_be_approved(db, make, staff):
    b = make.booking(make.resource())
    svc.deny_booking(db.uow(), staff.id, b.id, "No range officer")
    with pytest.raises(InvalidTransition):
        svc.approve_booking(db.uow(), staff.id, b.id)


def test_member_cancels_own_booking_but_not_anothers(db, make):
    r = make.resource()
    alice, bob = make.user(), make.user()
    b = make.booking(r, alice)
    with pytest.raises(NotFoundError):
        svc.cancel_booking(db.uow(), bob.id, b.id)
    assert svc.cancel_booking(db.uow(), alice.id, b.id).status == "cancelled"


def test_reschedule_rechecks_conflicts_for_approved_booking(db, make, staff):
    r = make.resource()
    a = make.booking(r, approve_by=staff)
    s, e = make.window(hours_from_now=48)
    b = make.booking(r, start=s, end=e, approve_by=staff)
    with pytest.raises(ConflictError):
        svc.reschedule_booking(db.uow(), staff.id, b.id, start_time=a.start_time,
                               end_time=a.end_time)
    moved = svc.reschedule_booking(db.uow(), staff.id, b.id, start_time=s + timedelta(hours=3),
                                   end_time=e + timedelta(hours=3))
    assert moved.status == "approved" and moved.start_time == s + timedelta(hours=3)
    assert "rescheduled" in audit_actions(db, b.id)


def test_bump_in_favour_of_higher_priority_request(db, make, staff):
    r = make.resource()
    low = make.booking(r, priority=1, approve_by=staff)
    high = make.booking(r, priority=4)
    svc.bump_booking(db.uow(), staff.id, low.id, reason="Police qualification",
                     in_favour_of=high.id)
    assert svc.get_booking(db.uow(), staff.id, low.id).status == "bumped"
    assert svc.get_booking(db.uow(), staff.id, high.id).status == "approved"


def test_nothing_is_approved_over_a_blackout(db, make, staff):
    from engine.services.resources import create_blackout

    r = make.resource()
    b = make.booking(r)
    create_blackout(db.uow(), make.admin.id, resource_id=r.id, start_time=b.start_time,
                    end_time=b.end_time, reason="Maintenance")
    with pytest.raises(ConflictError):
        svc.approve_booking(db.uow(), staff.id, b.id)


def test_find_conflicts_reports_hard_and_soft(db, make, staff):
    zone = make.zone()
    r1, r2 = make.resource(safety_zone_id=zone.id), make.resource(safety_zone_id=zone.id)
    approved = make.booking(r1, approve_by=staff)
    pending = make.booking(r2)
    report = find_conflicts(db.uow(), staff.id, r2.id, approved.start_time, approved.end_time)
    assert [c.id for c in report.hard] == [approved.id]
    assert [c.id for c in report.soft] == [pending.id]


def test_suggest_alternatives_same_resource_first_then_same_type(db, make, staff):
    from datetime import time

    r = make.resource(opens_at=time(8), closes_at=time(18))
    other = make.resource(opens_at=time(8), closes_at=time(18))
    s = make.clock.now.replace(hour=10) + timedelta(days=1)
    taken = make.booking(r, start=s, end=s + timedelta(hours=2), approve_by=staff)
    sugg = suggest_alternatives(db.uow(), staff.id, r.id, s, s + timedelta(hours=2))
    same = [x for x in sugg if x.same_resource]
    assert same and all(x.resource_id == r.id for x in same)
    assert same[0].start_time in (taken.end_time, taken.start_time - timedelta(hours=2))
    assert all(x.end_time - x.start_time == timedelta(hours=2) for x in sugg)
    others = [x for x in sugg if not x.same_resource]
    assert others[0].resource_id == other.id and others[0].start_time == s


def test_list_bookings_members_see_only_their_own(db, make, staff):
    r = make.resource()
    alice, bob = make.user(), make.user()
    make.booking(r, alice)
    make.booking(r, bob, start=make.window(48)[0], end=make.window(48)[1])
    page = svc.list_bookings(db.uow(), alice.id)
    assert page.total == 1 and page.items[0].requester_id == alice.id
    assert svc.list_bookings(db.uow(), staff.id).total == 2


def test_list_bookings_filters_and_paginates(db, make, staff):
    r1, r2 = make.resource(), make.resource(resource_type="classroom")
    for i in range(5):
        make.booking(r1, start=make.window(24 + 3 * i)[0], end=make.window(24 + 3 * i)[1])
    make.booking(r2)
    page = svc.list_bookings(db.uow(), staff.id, svc.BookingFilter(resource_type="range"),
                             page=2, page_size=2)
    assert page.total == 5 and len(page.items) == 2 and page.pages == 3
    assert all(b.resource_id == r1.id for b in page.items)
    starts = [b.start_time for b in svc.list_bookings(db.uow(), staff.id, page_size=10).items]
    assert starts == sorted(starts)


def test_bump_in_favour_of_a_lower_priority_request_is_refused(db, make, staff):
    r = make.resource()
    high = make.booking(r, priority=5, approve_by=staff)
    low = make.booking(r, priority=2)
    with pytest.raises(ValidationError) as err:
        svc.bump_booking(db.uow(), staff.id, high.id, reason="Try it", in_favour_of=low.id)
    assert err.value.field == "in_favour_of"
    assert svc.get_booking(db.uow(), staff.id, high.id).status == "approved"
    assert audit_actions(db, high.id) == ["approved", "created"]


def test_bump_is_undone_when_the_replacement_still_conflicts(db, make, staff):
    zone = make.zone()
    r1, r2 = make.resource(safety_zone_id=zone.id), make.resource()
    s, e = make.window()
    low = make.booking(r2, priority=1, start=s, end=e, approve_by=staff)
    blocker = make.booking(r1, priority=9, start=s, end=e, approve_by=staff)
    winner = make.booking(r1, priority=5, start=s, end=e)
    with pytest.raises(ConflictError) as err:
        svc.bump_booking(db.uow(), staff.id, low.id, reason="Make room", in_favour_of=winner.id)
    assert [c.id for c in err.value.conflicts] == [blocker.id]
    assert svc.get_booking(db.uow(), staff.id, low.id).status == "approved"
    assert svc.get_booking(db.uow(), staff.id, winner.id).status == "pending"
