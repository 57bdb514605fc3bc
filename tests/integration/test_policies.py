"""Booking policies on both databases: approval modes, the booking window, quotas (raced),
named approvers, and the audited admin services that edit them."""
from __future__ import annotations

import json
import threading
import time as clock_time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine import services as s
from engine.domain.permissions import Role
from engine.domain.policy import PolicyViolation
from engine.domain.status import BookingStatus
from engine.errors import ConflictError, PermissionDenied, ValidationError
from engine.models import AuditLog, Booking, BookingSignOff, Resource, User
from engine.services import policies
from engine.services.approval_queue import approve_clear, pending_requests
from engine.services.policies import SYSTEM_USER_ID
from tests.sql_trace import statements_sent


def counts(db):
    with db.uow().read() as uow:
        return (uow.session.scalar(select(func.count()).select_from(Booking)),
                uow.session.scalar(select(func.count()).select_from(AuditLog)))


def audit(db, booking_id, action=None):
    with db.uow().read() as uow:
        q = select(AuditLog).where(AuditLog.booking_id == booking_id).order_by(AuditLog.timestamp)
        if action:
            q = q.where(AuditLog.action == action)
        return list(uow.session.scalars(q).all())


def request(db, member, resource, start, end, **kw):
    return s.request_booking(db.uow(), member.id, resource_id=resource.id, start_time=start,
                             end_time=end, purpose="Qualification shoot", **kw)


def set_type(db, make, resource_type="range", **values):
    return policies.set_policy(db.uow(), make.admin.id, resource_type=resource_type, **values)


# --- approval modes ------------------------------------------------------------------------

def test_default_policy_is_todays_behaviour(db, make):
    r = make.resource()
    b = request(db, make.user(), r, *make.window(24, 2))
    assert b.status == "pending"
    start = make.clock.now + timedelta(days=367)
    with pytest.raises(PolicyViolation) as exc:
        request(db, make.user(), r, start, start + timedelta(hours=1))
    assert exc.value.field == "max_advance_days" and "366 days" in exc.value.message


def test_automatic_mode_approves_a_clear_request_at_once_as_the_system(db, make):
    r = make.resource()
    set_type(db, make, approval_mode="automatic")
    b = request(db, make.user(), r, *make.window(24, 2))
    assert b.status == "approved"
    approved = audit(db, b.id, "approved")
    assert len(approved) == 1 and approved[0].actor_id == SYSTEM_USER_ID
    assert json.loads(approved[0].details)["approval_mode"] == "automatic"
    with db.uow().read() as uow:
        assert uow.session.get(Booking, b.id).decided_by_id == SYSTEM_USER_ID


def test_automatic_mode_leaves_a_conflicting_request_for_staff(db, make):
    r = make.resource()
    set_type(db, make, approval_mode="automatic")
    w = make.window(24, 2)
    first = request(db, make.user(), r, *w)
    second = request(db, make.user(), r, w[0] + timedelta(hours=1), w[1] + timedelta(hours=1))
    assert first.status == "approved" and second.status == "pending"
    assert audit(db, second.id, "approved") == []


def test_a_resource_overrides_its_types_approval_mode(db, make):
    set_type(db, make, approval_mode="automatic")
    strict = make.resource()
    policies.set_policy(db.uow(), make.admin.id, resource_id=strict.id, approval_mode="staff")
    loose = make.resource()
    assert request(db, make.user(), strict, *make.window(24, 2)).status == "pending"
    assert request(db, make.user(), loose, *make.window(24, 2)).status == "approved"


def two_person(db, make, **kw):
    r = make.resource(**kw)
    policies.set_policy(db.uow(), make.admin.id, resource_id=r.id, approval_mode="two_person")
    return r


def test_two_person_needs_two_different_approvers(db, make):
    r = two_person(db, make)
    officer, safety = make.user(Role.STAFF), make.user(Role.STAFF)
    b = request(db, make.user(), r, *make.window(24, 2))
    after_first = s.approve_booking(db.uow(), officer.id, b.id)
    assert after_first.status == "pending"
    assert len(audit(db, b.id, "signed_off")) == 1
    before = counts(db)
    with pytest.raises(ValidationError) as exc:  # the same person signing twice
        s.approve_booking(db.uow(), officer.id, b.id)
    assert exc.value.field == "approver" and "second, different approver" in exc.value.message
    assert counts(db) == before
    done = s.approve_booking(db.uow(), safety.id, b.id)
    assert done.status == "approved"
    approved = audit(db, b.id, "approved")
    assert approved[0].actor_id == safety.id and json.loads(approved[0].details)["sign_offs"] == 2
    with db.uow().read() as uow:
        signers = set(uow.session.scalars(select(BookingSignOff.signer_id)).all())
    assert signers == {officer.id, safety.id}


def test_two_person_deny_by_either_ends_it(db, make):
    r = two_person(db, make)
    officer, safety = make.user(Role.STAFF), make.user(Role.STAFF)
    b = request(db, make.user(), r, *make.window(24, 2))
    s.approve_booking(db.uow(), officer.id, b.id)
    denied = s.deny_booking(db.uow(), safety.id, b.id, "Safety officer unavailable")
    assert denied.status == "denied"
    from engine.errors import InvalidTransition
    with pytest.raises(InvalidTransition):
        s.approve_booking(db.uow(), safety.id, b.id)


def test_two_person_second_approval_keeps_the_conflict_rules(db, make):
    r = two_person(db, make)
    officer, safety = make.user(Role.STAFF), make.user(Role.STAFF)
    w = make.window(24, 2)
    b = request(db, make.user(), r, *w)
    s.approve_booking(db.uow(), officer.id, b.id)
    blocker = request(db, make.user(), r, *w)
    s.approve_booking(db.uow(), officer.id, blocker.id)
    s.approve_booking(db.uow(), safety.id, blocker.id)  # blocker approved first
    before = counts(db)
    with pytest.raises(ConflictError):
        s.approve_booking(db.uow(), safety.id, b.id)
    assert counts(db) == before
    assert s.get_booking(db.uow(), safety.id, b.id).status == "pending"


def test_a_move_voids_earlier_sign_offs(db, make):
    r = two_person(db, make)
    officer, safety = make.user(Role.STAFF), make.user(Role.STAFF)
    b = request(db, make.user(), r, *make.window(24, 2))
    s.approve_booking(db.uow(), officer.id, b.id)
    w = make.window(48, 2)
    s.reschedule_booking(db.uow(), officer.id, b.id, start_time=w[0], end_time=w[1])
    assert s.approve_booking(db.uow(), safety.id, b.id).status == "pending"  # a first sign-off
    assert s.approve_booking(db.uow(), officer.id, b.id).status == "approved"


def test_queue_shows_who_signed_and_who_is_needed(db, make):
    r = two_person(db, make)
    officer = make.user(Role.STAFF, name="Range Officer")
    safety = make.user(Role.STAFF, name="Safety Officer")
    policies.set_approvers(db.uow(), make.admin.id, [officer.id, safety.id], resource_id=r.id)
    b = request(db, make.user(), r, *make.window(24, 2))
    plain = request(db, make.user(), make.resource(), *make.window(30, 2))
    s.approve_booking(db.uow(), officer.id, b.id)
    items = {i.booking.id: i for i in pending_requests(db.uow(), safety.id).items}
    status = items[b.id].sign_off
    assert status.signed_by == ["Range Officer"] and status.needed == 1
    assert status.candidates == ["Safety Officer"]
    assert "signed by Range Officer; 1 more needed from Safety Officer" == status.describe()
    assert items[plain.id].sign_off is None


def test_batch_approval_gives_two_person_requests_one_sign_off(db, make):
    r = two_person(db, make)
    officer = make.user(Role.STAFF)
    b = request(db, make.user(), r, *make.window(24, 2))
    result = approve_clear(db.uow(), officer.id, [b.id])
    assert result.signed == [b.id] and result.approved == []
    assert s.get_booking(db.uow(), officer.id, b.id).status == "pending"


# --- the booking window --------------------------------------------------------------------

@pytest.mark.parametrize("values, hours_from_now, hours, rule", [
    ({"min_notice_minutes": 48 * 60}, 24, 2, "min_notice_minutes"),
    ({"max_advance_days": 30}, 31 * 24, 2, "max_advance_days"),
    ({"min_length_minutes": 120}, 72, 1, "min_length_minutes"),
    ({"max_length_minutes": 240}, 72, 5, "max_length_minutes"),
])
def test_window_rules_refuse_and_write_nothing(db, make, values, hours_from_now, hours, rule):
    r = make.resource(name="Live-fire Range A")
    set_type(db, make, **values)
    member = make.user()
    before = counts(db)
    with pytest.raises(PolicyViolation) as exc:
        request(db, member, r, *make.window(hours_from_now, hours))
    assert exc.value.field == rule and exc.value.value == next(iter(values.values()))
    assert "Live-fire Range A" in exc.value.message and "booking policy" in exc.value.message
    assert counts(db) == before


def test_notice_message_names_the_value(db, make):
    r = make.resource(name="Live-fire Range A")
    set_type(db, make, min_notice_minutes=48 * 60)
    with pytest.raises(PolicyViolation, match="needs at least 2 days notice"):
        request(db, make.user(), r, *make.window(47, 1))
    assert request(db, make.user(), r, *make.window(49, 1)).status == "pending"


def test_a_longer_advance_replaces_the_global_366_days(db, make):
    r = make.resource()
    set_type(db, make, max_advance_days=500)
    start = make.clock.now + timedelta(days=400)
    assert request(db, make.user(), r, start, start + timedelta(hours=1)).status == "pending"


def test_a_resource_overrides_its_types_window(db, make):
    set_type(db, make, min_notice_minutes=48 * 60)
    quick = make.resource()
    policies.set_policy(db.uow(), make.admin.id, resource_id=quick.id, min_notice_minutes=60)
    assert request(db, make.user(), quick, *make.window(3, 1)).status == "pending"
    with pytest.raises(PolicyViolation):
        request(db, make.user(), make.resource(), *make.window(3, 1))


# --- quotas --------------------------------------------------------------------------------

def test_weekly_hours_quota(db, make):
    set_type(db, make, quota_hours_per_week=4)
    r, member = make.resource(), make.user()
    request(db, member, r, *make.window(24, 3))
    before = counts(db)
    with pytest.raises(PolicyViolation) as exc:
        request(db, member, r, *make.window(48, 2))
    assert exc.value.field == "quota_hours_per_week" and exc.value.value == 4
    assert "3 booked + 2 requested" in exc.value.message
    assert counts(db) == before
    assert request(db, member, r, *make.window(48, 1)).status == "pending"  # exactly 4 fits
    assert request(db, make.user(), r, *make.window(72, 3)).status == "pending"  # per member
    assert request(db, member, r, *make.window(24 * 7, 3)).status == "pending"  # next week


def test_quota_counts_per_type_and_ignores_cancelled(db, make):
    set_type(db, make, quota_hours_per_week=2)
    r, bay, member = make.resource(), make.resource(resource_type="bay"), make.user()
    first = request(db, member, r, *make.window(24, 2))
    assert request(db, member, bay, *make.window(30, 5)).status == "pending"  # other type
    with pytest.raises(PolicyViolation):
        request(db, member, make.resource(), *make.window(48, 1))  # another range, same type
    s.cancel_booking(db.uow(), member.id, first.id)
    assert request(db, member, r, *make.window(48, 2)).status == "pending"


def test_monthly_hours_quota(db, make):
    set_type(db, make, quota_hours_per_month=10)
    r, member = make.resource(), make.user()
    for days in (1, 8, 15):  # three weeks of January 2030, 3 hours each
        request(db, member, r, *make.window(24 * days, 3))
    with pytest.raises(PolicyViolation) as exc:
        request(db, member, r, *make.window(24 * 16, 2))
    assert exc.value.field == "quota_hours_per_month"
    start = make.clock.now.replace(month=2, day=1, hour=10)  # February starts afresh
    assert request(db, member, r, start, start + timedelta(hours=3)).status == "pending"


def test_cap_on_open_bookings(db, make):
    set_type(db, make, max_open_bookings=2)
    r, member = make.resource(), make.user()
    request(db, member, r, *make.window(24, 1))
    second = request(db, member, r, *make.window(48, 1))
    with pytest.raises(PolicyViolation) as exc:
        request(db, member, r, *make.window(72, 1))
    assert exc.value.field == "max_open_bookings" and "2 already" in exc.value.message
    staff = make.user(Role.STAFF)
    s.deny_booking(db.uow(), staff.id, second.id, "Range closed")
    assert request(db, member, r, *make.window(72, 1)).status == "pending"


def test_staff_may_exceed_a_quota_and_the_audit_says_so(db, make):
    set_type(db, make, max_open_bookings=1, quota_hours_per_week=2)
    r, staff = make.resource(), make.user(Role.STAFF)
    request(db, staff, r, *make.window(24, 2))
    b = request(db, staff, r, *make.window(48, 2), override_note="Instructor prep for course")
    created = json.loads(audit(db, b.id, "created")[0].details)
    assert any(q.startswith("max_open_bookings (1)") for q in created["quota_exceeded"])
    assert any(q.startswith("quota_hours_per_week (2)") for q in created["quota_exceeded"])
    assert created["override_note"] == "Instructor prep for course"
    plain = request(db, staff, make.resource(resource_type="bay"), *make.window(30, 1))
    assert "quota_exceeded" not in json.loads(audit(db, plain.id, "created")[0].details)


def test_managers_may_not_exceed_quotas(db, make):
    set_type(db, make, max_open_bookings=1)
    r, manager = make.resource(), make.user(Role.MANAGER)
    request(db, manager, r, *make.window(24, 1))
    with pytest.raises(PolicyViolation):
        request(db, manager, r, *make.window(48, 1))


THREADS = 8


def race_requests(db, member, resources, windows):
    barrier = threading.Barrier(len(windows))

    def go(i):
        barrier.wait()
        try:
            request(db, member, resources[i % len(resources)], *windows[i])
            return "ok"
        except PolicyViolation:
            return "refused"

    with ThreadPoolExecutor(len(windows)) as pool:
        return list(pool.map(go, range(len(windows))))


def open_count(db, member):
    with db.uow().read() as uow:
        return uow.session.scalar(select(func.count()).select_from(Booking).where(
            Booking.requester_id == member.id,
            Booking.status.in_([BookingStatus.PENDING, BookingStatus.APPROVED])))


@pytest.mark.slow
def test_racing_requests_cannot_pass_the_open_bookings_cap_together(db, make):
    set_type(db, make, max_open_bookings=2)
    member = make.user()
    resources = [make.resource() for _ in range(4)]
    windows = [make.window(24 + 3 * i, 1) for i in range(THREADS)]
    outcomes = race_requests(db, member, resources, windows)
    assert outcomes.count("ok") == 2 and outcomes.count("refused") == THREADS - 2
    assert open_count(db, member) == 2


@pytest.mark.slow
def test_racing_requests_cannot_pass_the_weekly_hours_together(db, make):
    set_type(db, make, quota_hours_per_week=5)
    member = make.user()
    resources = [make.resource() for _ in range(4)]
    windows = [make.window(24 + 3 * i, 2) for i in range(THREADS)]
    outcomes = race_requests(db, member, resources, windows)
    assert outcomes.count("ok") == 2  # 2 + 2 fit in 5 hours; a third would make 6
    assert open_count(db, member) == 2


@pytest.mark.slow
def test_without_the_quota_lock_the_race_is_lost(db, make, monkeypatch):
    """The control for the two tests above: with the lock taken out, and a pause between the
    count and the insert, parallel requests on PostgreSQL do pass the cap together."""
    if db.dialect != "postgresql":
        pytest.skip("SQLite's BEGIN IMMEDIATE serialises every writer anyway")
    set_type(db, make, max_open_bookings=1)
    member = make.user()
    resources = [make.resource() for _ in range(4)]
    real_use = policies.quota_use

    def slow_use(*a, **kw):
        use = real_use(*a, **kw)
        clock_time.sleep(0.3)
        return use

    monkeypatch.setattr(policies, "lock_quota", lambda *a, **kw: None)
    monkeypatch.setattr(policies, "quota_use", slow_use)
    outcomes = race_requests(db, member, resources, [make.window(24 + 3 * i, 1)
                                                     for i in range(4)])
    assert outcomes.count("ok") > 1


# --- named approvers -----------------------------------------------------------------------

def test_named_approvers_decide_others_see_but_cannot(db, make):
    r = make.resource()
    named, other = make.user(Role.STAFF), make.user(Role.STAFF)
    policies.set_approvers(db.uow(), make.admin.id, [named.id], resource_type="range")
    b1 = request(db, make.user(), r, *make.window(24, 1))
    b2 = request(db, make.user(), r, *make.window(48, 1))
    queue = {i.booking.id: i for i in pending_requests(db.uow(), other.id).items}
    assert b1.id in queue and queue[b1.id].may_decide is False
    before = counts(db)
    with pytest.raises(PermissionDenied, match="named approvers"):
        s.approve_booking(db.uow(), other.id, b1.id)
    with pytest.raises(PermissionDenied):
        s.deny_booking(db.uow(), other.id, b1.id, "Not mine to say")
    assert counts(db) == before
    assert s.approve_booking(db.uow(), named.id, b1.id).status == "approved"
    assert s.approve_booking(db.uow(), make.admin.id, b2.id).status == "approved"  # admins


def test_the_most_specific_approver_scope_wins(db, make):
    zone = make.zone()
    zoned, single, plain = (make.resource(safety_zone_id=zone.id), make.resource(),
                            make.resource(resource_type="classroom"))
    by_type, by_zone, by_resource, anyone = (make.user(Role.STAFF) for _ in range(4))
    policies.set_approvers(db.uow(), make.admin.id, [by_type.id], resource_type="range")
    policies.set_approvers(db.uow(), make.admin.id, [by_zone.id], safety_zone_id=zone.id)
    policies.set_approvers(db.uow(), make.admin.id, [by_resource.id], resource_id=single.id)
    with db.uow().read() as uow:
        def get(res):
            return uow.session.get(Resource, res.id)

        assert [u.id for u in policies.named_approvers(uow, get(zoned))] == [by_zone.id]
        assert [u.id for u in policies.named_approvers(uow, get(single))] == [by_resource.id]
        assert policies.named_approvers(uow, get(plain)) is None
        staff = uow.session.get(User, anyone.id)
        assert policies.may_decide(uow, staff, get(plain))
        assert not policies.may_decide(uow, staff, get(zoned))


def test_approvers_must_be_staff_and_the_change_is_audited(db, make):
    manager, staff = make.user(Role.MANAGER), make.user(Role.STAFF)
    with pytest.raises(ValidationError) as exc:
        policies.set_approvers(db.uow(), make.admin.id, [manager.id], resource_type="range")
    assert exc.value.field == "user_ids"
    policies.set_approvers(db.uow(), make.admin.id, [staff.id], resource_type="range")
    policies.set_approvers(db.uow(), make.admin.id, [], resource_type="range")
    assert policies.list_approvers(db.uow(), make.admin.id) == []
    with db.uow().read() as uow:
        entries = uow.session.scalars(select(AuditLog).where(
            AuditLog.action == "approvers_changed").order_by(AuditLog.timestamp)).all()
    assert [e.previous_state for e in entries] == [{"approvers": []},
                                                  {"approvers": [str(staff.id)]}]


@pytest.mark.parametrize("resource_type", ["   ", "x" * 51])
def test_a_blank_or_overlong_approver_type_is_refused_and_other_scopes_keep_their_approvers(
        db, make, resource_type):
    """A blank type once became an empty scope whose clause matched every type and zone row:
    naming nobody for "   " wiped every other list."""
    staff, zone = make.user(Role.STAFF), make.zone()
    policies.set_approvers(db.uow(), make.admin.id, [staff.id], resource_type="range")
    policies.set_approvers(db.uow(), make.admin.id, [staff.id], safety_zone_id=zone.id)
    before = counts(db)
    with pytest.raises(ValidationError) as exc:
        policies.set_approvers(db.uow(), make.admin.id, [], resource_type=resource_type)
    assert exc.value.field == "resource_type"
    assert counts(db) == before
    assert {(a.resource_type, a.safety_zone_id) for a in
            policies.list_approvers(db.uow(), make.admin.id)} == {("range", None), (None, zone.id)}


# --- admin edits ---------------------------------------------------------------------------

def test_policy_changes_are_audited_with_the_previous_state(db, make):
    first = set_type(db, make, min_notice_minutes=60, approval_mode="two_person")
    set_type(db, make, min_notice_minutes=120)
    with db.uow().read() as uow:
        entries = uow.session.scalars(select(AuditLog).where(
            AuditLog.entity_id == first.id).order_by(AuditLog.timestamp)).all()
    assert [e.action for e in entries] == ["policy_created", "policy_updated"]
    assert entries[0].previous_state is None
    assert entries[1].previous_state["min_notice_minutes"] == 60
    assert entries[1].previous_state["approval_mode"] == "two_person"
    views = policies.list_policies(db.uow(), make.user().id)
    assert [(v.resource_type, v.min_notice_minutes, v.approval_mode) for v in views] == [
        ("range", 120, "two_person")]
    policies.delete_policy(db.uow(), make.admin.id, first.id)
    assert policies.list_policies(db.uow(), make.admin.id) == []


@pytest.mark.parametrize("kw, field", [
    ({"resource_type": "range", "approval_mode": "sometimes"}, "approval_mode"),
    ({"resource_type": "range", "min_notice_minutes": -5}, "min_notice_minutes"),
    ({"resource_type": "range", "max_length_minutes": 2000}, "max_length_minutes"),
    ({"resource_type": "range", "min_length_minutes": 120, "max_length_minutes": 60},
     "max_length_minutes"),
    ({"resource_type": "range", "quota_hours_per_week": "many"}, "quota_hours_per_week"),
    ({"resource_type": "range", "colour": 1}, "colour"),
    ({}, "resource_type"),
])
def test_bad_policy_edits_name_the_field_and_write_nothing(db, make, kw, field):
    make.admin  # noqa: B018 - made (and audited) before counting
    before = counts(db)
    with pytest.raises(ValidationError) as exc:
        policies.set_policy(db.uow(), make.admin.id, **kw)
    assert exc.value.field == field
    assert counts(db) == before and policies.list_policies(db.uow(), make.admin.id) == []


def test_quotas_belong_to_the_type_in_the_service_and_the_database(db, make):
    r = make.resource()
    with pytest.raises(ValidationError, match="per resource type"):
        policies.set_policy(db.uow(), make.admin.id, resource_id=r.id, max_open_bookings=3)
    from sqlalchemy.exc import IntegrityError

    from engine.models import BookingPolicy
    with db.uow() as uow, pytest.raises(IntegrityError):
        uow.session.add(BookingPolicy(resource_id=r.id, max_open_bookings=3))
        uow.session.flush()


# --- the other callers of the one check ----------------------------------------------------

def test_a_series_counts_its_own_dates_against_the_quota(db, make):
    set_type(db, make, max_open_bookings=3)
    r, member = make.resource(), make.user()
    start, end = make.window(24, 1)
    before = counts(db)
    with pytest.raises(PolicyViolation) as exc:
        s.request_series(db.uow(), member.id, resource_id=r.id, start_time=start, end_time=end,
                         rule={"frequency": "daily", "count": 4}, purpose="Course week")
    assert exc.value.field == "max_open_bookings" and "occurrence on" in exc.value.rule
    assert counts(db) == before
    series = s.request_series(db.uow(), member.id, resource_id=r.id, start_time=start,
                              end_time=end, rule={"frequency": "daily", "count": 3},
                              purpose="Course week")
    assert len(series.occurrences) == 3


def test_a_series_on_a_two_person_resource_is_decided_date_by_date(db, make):
    r = two_person(db, make)
    member, staff = make.user(), make.user(Role.STAFF)
    start, end = make.window(24, 1)
    series = s.request_series(db.uow(), member.id, resource_id=r.id, start_time=start,
                              end_time=end, rule={"frequency": "daily", "count": 2},
                              purpose="Course week")
    with pytest.raises(ValidationError, match="needs two approvers"):
        s.approve_series(db.uow(), staff.id, series.id)


def test_the_availability_check_runs_the_policy(db, make):
    from engine.services.member_requests import check_request
    r = make.resource(name="Live-fire Range A")
    set_type(db, make, min_notice_minutes=48 * 60)
    member = make.user()
    check = check_request(db.uow(), member.id, r.id, *make.window(24, 1))
    assert not check.free and check.problem.field == "min_notice_minutes"
    assert check_request(db.uow(), member.id, r.id, *make.window(72, 1)).free


def test_new_request_mail_goes_to_the_named_approvers(db, make):
    from engine.models import OutboxMessage
    r = make.resource()
    named = make.user(Role.STAFF)
    make.user(Role.STAFF)  # another staff member: not named, so not told
    policies.set_approvers(db.uow(), make.admin.id, [named.id], resource_id=r.id)
    b = request(db, make.user(), r, *make.window(24, 1))
    with db.uow().read() as uow:
        told = set(uow.session.scalars(select(OutboxMessage.recipient_user_id).where(
            OutboxMessage.booking_id == b.id, OutboxMessage.kind == "booking_requested")))
    assert told == {named.id}


def test_a_queue_page_reads_policies_and_approvers_once_for_all_its_resources(db, make):
    """Each request keeps the approvers of its own most specific scope and its own approval
    mode, though the page reads the policy rows and the approvers in one statement each."""
    zone = make.zone()
    zoned, single, plain = (make.resource(safety_zone_id=zone.id), make.resource(),
                            make.resource(resource_type="classroom"))
    pair = two_person(db, make)
    by_type, by_zone, by_resource = (make.user(Role.STAFF) for _ in range(3))
    policies.set_approvers(db.uow(), make.admin.id, [by_type.id], resource_type="range")
    policies.set_approvers(db.uow(), make.admin.id, [by_zone.id], safety_zone_id=zone.id)
    policies.set_approvers(db.uow(), make.admin.id, [by_resource.id], resource_id=single.id)
    asked = {r.id: make.booking(r, start=make.window(24 + 3 * i, 1)[0],
                                end=make.window(24 + 3 * i, 1)[1])
             for i, r in enumerate((zoned, single, plain, pair))}
    items, sent = statements_sent(db, lambda: pending_requests(db.uow(), by_zone.id).items)
    queue = {i.booking.resource_id: i for i in items}
    assert {r: queue[r].booking.id for r in asked} == {r: b.id for r, b in asked.items()}
    assert {r: queue[r].may_decide for r in asked} == {
        zoned.id: True, single.id: False, plain.id: True, pair.id: False}
    assert queue[pair.id].sign_off is not None and queue[pair.id].sign_off.candidates == [
        by_type.name]
    assert queue[plain.id].sign_off is None
    assert len([q for q in sent if "FROM booking_policies" in q]) == 1
    assert len([q for q in sent if "FROM resource_approvers" in q]) == 1
