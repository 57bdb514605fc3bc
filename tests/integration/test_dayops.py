"""Check-in, early check-out and the automatic no-show release, on SQLite and PostgreSQL."""
from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine import services as s
from engine.db import Database
from engine.domain.permissions import Role
from engine.errors import (
    AuthenticationError,
    InvalidTransition,
    NotFoundError,
    PermissionDenied,
    StateConflict,
    ValidationError,
)
from engine.models import AuditLog, Booking, OutboxMessage
from engine.services.users import SIGN_IN_FAILED
from engine.system import SYSTEM_USER_EMAIL, SYSTEM_USER_ID
from tests.conftest import test_settings as settings_for


@pytest.fixture
def day(db, make):
    """A staff member, a member, a 'range' type that requires check-in (30 min before, 15 grace)."""
    staff = make.user(Role.STAFF)
    member = make.user()
    s.set_checkin_rule(db.uow(), make.admin.id, "range", opens_before_minutes=30,
                       grace_minutes=15, offer_minutes=60, required=True)
    resource = make.resource(resource_type="range")
    return staff, member, resource


def approved(make, resource, member, staff, hours_from_now=2.0, hours=2.0):
    start, end = make.window(hours_from_now, hours)
    return make.booking(resource, member, start=start, end=end, approve_by=staff)


def audit(db, booking_id, action):
    with db.uow().read() as uow:
        return uow.session.scalars(select(AuditLog).where(
            AuditLog.booking_id == booking_id, AuditLog.action == action)).all()


def test_check_in_window_edges_in_the_site_time_zone(db_url, clock, make):
    db = Database(db_url, settings=settings_for(SITE_TIMEZONE="America/New_York"), clock=clock)
    make.db = db
    staff, member = make.user(Role.STAFF), make.user()
    s.set_checkin_rule(db.uow(), make.admin.id, "range", opens_before_minutes=30,
                       grace_minutes=15, required=True)
    r = make.resource(resource_type="range")
    b = approved(make, r, member, staff, hours_from_now=3)
    clock.now = b.start_time - timedelta(minutes=30, seconds=1)
    with pytest.raises(StateConflict) as exc:  # the booking's time, not the caller's input
        s.check_in(db.uow(), member.id, b.id)
    # 2030-01-07 09:00 UTC start is 04:00 in New York; check-in opens 03:30 local.
    assert not isinstance(exc.value, ValidationError)
    assert exc.value.message == (f"booking {str(b.id)[:8]} is not open for check-in yet: "
                                 "check-in opens at 2030-01-07 03:30 (America/New_York), "
                                 "30 minutes before the start")
    assert audit(db, b.id, "checked_in") == []
    clock.now = b.start_time - timedelta(minutes=30)
    view = s.check_in(db.uow(), member.id, b.id)
    assert view.status == "approved"
    b2 = approved(make, r, member, staff, hours_from_now=5)
    clock.now = b2.start_time + timedelta(minutes=15)
    with pytest.raises(StateConflict,
                       match=r"past its check-in time: check-in closed at 2030-01-07 08:45 "
                             r"\(America/New_York\)"):
        s.check_in(db.uow(), staff.id, b2.id)
    clock.now = b2.start_time + timedelta(minutes=15) - timedelta(seconds=1)
    s.check_in(db.uow(), staff.id, b2.id)
    entry = audit(db, b2.id, "checked_in")[0]
    assert entry.actor_id == staff.id and json.loads(entry.details) == {"on_behalf": True}
    assert entry.previous_state["checked_in_at"] is None
    db.dispose()


def test_check_in_permissions_and_transitions(db, make, clock, day):
    staff, member, r = day
    other = make.user()
    b = approved(make, r, member, staff)
    clock.now = b.start_time
    with pytest.raises(NotFoundError):
        s.check_in(db.uow(), other.id, b.id)
    s.check_in(db.uow(), member.id, b.id)
    with pytest.raises(StateConflict, match="is already checked in: it was checked in at "):
        s.check_in(db.uow(), staff.id, b.id)
    pending = make.booking(r, member, start=b.end_time + timedelta(hours=1),
                           end=b.end_time + timedelta(hours=2))
    clock.now = pending.start_time
    with pytest.raises(InvalidTransition):
        s.check_in(db.uow(), member.id, pending.id)
    assert len(audit(db, b.id, "checked_in")) == 1


def test_early_check_out_frees_the_rest_of_the_window(db, make, clock, day):
    staff, member, r = day
    b = approved(make, r, member, staff)
    clock.now = b.start_time
    with pytest.raises(StateConflict, match="is not checked in: only a checked-in booking"):
        s.check_out(db.uow(), member.id, b.id)
    s.check_in(db.uow(), member.id, b.id)
    with pytest.raises(StateConflict, match="is not started yet: cancel it instead"):
        s.check_out(db.uow(), member.id, b.id)
    clock.now = b.start_time + timedelta(minutes=40, seconds=10)
    view = s.check_out(db.uow(), member.id, b.id)
    assert view.end_time == b.start_time + timedelta(minutes=41)
    entry = audit(db, b.id, "checked_out")[0]
    assert entry.previous_state["end_time"] == b.end_time.isoformat()
    # The freed rest can be approved for someone else now.
    later = make.booking(r, make.user(), start=b.start_time + timedelta(minutes=45),
                         end=b.end_time, approve_by=staff)
    assert later.status == "approved"
    with pytest.raises(StateConflict, match="is already checked out: it was checked out at "):
        s.check_out(db.uow(), member.id, b.id)
    assert len(audit(db, b.id, "checked_out")) == 1


def test_every_check_in_or_out_the_bookings_state_refuses_is_a_conflict_and_writes_nothing(
        db, make, clock, day):
    staff, member, r = day
    b = approved(make, r, member, staff)

    def refused(service, actor, at: timedelta, state: str) -> None:
        clock.now = b.start_time + at
        with db.uow().read() as uow:
            rows_before = uow.session.scalar(select(func.count()).select_from(AuditLog))
            before = uow.session.get(Booking, b.id)
            was = (before.checked_in_at, before.checked_out_at, before.end_time,
                   before.updated_at)
        with pytest.raises(StateConflict) as exc:
            service(db.uow(), actor.id, b.id)
        assert not isinstance(exc.value, ValidationError)
        assert exc.value.kind == "booking" and exc.value.ident == b.id
        assert exc.value.message.startswith(f"booking {str(b.id)[:8]} is {state}: ")
        with db.uow().read() as uow:
            assert uow.session.scalar(select(func.count()).select_from(AuditLog)) == rows_before
            after = uow.session.get(Booking, b.id)
            assert (after.checked_in_at, after.checked_out_at, after.end_time,
                    after.updated_at) == was

    refused(s.check_in, member, -timedelta(minutes=31), "not open for check-in yet")
    refused(s.check_out, member, timedelta(minutes=5), "not checked in")
    refused(s.check_in, staff, timedelta(minutes=15), "past its check-in time")
    clock.now = b.start_time
    s.check_in(db.uow(), member.id, b.id)
    refused(s.check_in, staff, timedelta(minutes=1), "already checked in")
    refused(s.check_out, member, timedelta(0), "not started yet")
    refused(s.check_out, staff, b.end_time - b.start_time, "already over")
    clock.now = b.start_time + timedelta(minutes=30)
    s.check_out(db.uow(), member.id, b.id)
    refused(s.check_out, member, timedelta(minutes=31), "already checked out")


def test_release_with_a_moving_clock(db, make, clock, day):
    staff, member, r = day
    early = approved(make, r, member, staff, hours_from_now=1)
    late = approved(make, r, member, staff, hours_from_now=4)
    attended = approved(make, r, member, staff, hours_from_now=7)
    other_type = make.resource(resource_type="classroom")  # check-in not required there
    free_type = approved(make, other_type, member, staff, hours_from_now=1)
    clock.now = early.start_time + timedelta(minutes=14, seconds=59)
    assert s.release_no_shows(db).released == []
    clock.now = early.start_time + timedelta(minutes=15)
    assert s.release_no_shows(db).released == [early.id]
    assert s.release_no_shows(db).released == []  # idempotent
    # The window is free again: another member's request there can be approved.
    again = make.booking(r, make.user(), start=clock.now + timedelta(minutes=15),
                         end=early.end_time, approve_by=staff)
    assert again.status == "approved"
    clock.now = attended.start_time
    s.check_in(db.uow(), member.id, attended.id)
    clock.now = attended.start_time + timedelta(hours=1)
    assert s.release_no_shows(db).released == [again.id, late.id]  # by start time
    states = {b.id: s.get_booking(db.uow(), staff.id, b.id).status
              for b in (early, late, attended, free_type)}
    assert states == {early.id: "no_show", late.id: "no_show", attended.id: "approved",
                      free_type.id: "approved"}
    entry = audit(db, early.id, "no_show")[0]
    assert entry.actor_id == SYSTEM_USER_ID and entry.previous_state["status"] == "approved"
    with db.uow().read() as uow:  # the member is told, through the outbox
        mails = uow.session.execute(select(OutboxMessage.kind, OutboxMessage.recipient_user_id)
                                    .where(OutboxMessage.booking_id == early.id)).all()
    assert ("booking_no_show", member.id) in mails


def test_bookings_from_before_check_in_was_required_are_never_released(db, make, clock):
    staff, member = make.user(Role.STAFF), make.user()
    r = make.resource(resource_type="bay")
    old = approved(make, r, member, staff, hours_from_now=1)
    clock.now = old.start_time + timedelta(minutes=5)
    s.set_checkin_rule(db.uow(), make.admin.id, "bay", required=True)
    clock.now = old.start_time + timedelta(hours=1)
    assert s.release_no_shows(db).released == []
    s.set_checkin_rule(db.uow(), make.admin.id, "bay", required=False)
    new = approved(make, r, member, staff, hours_from_now=2)
    clock.now = new.start_time + timedelta(hours=1)
    assert s.release_no_shows(db).released == []


def test_the_system_user_cannot_act_or_sign_in(db, make, clock, day):
    staff, member, r = day
    b = approved(make, r, member, staff, hours_from_now=1)
    clock.now = b.start_time + timedelta(hours=1)
    s.release_no_shows(db)
    with pytest.raises(PermissionDenied):
        s.list_bookings(db.uow(), SYSTEM_USER_ID)
    with pytest.raises(AuthenticationError, match=SIGN_IN_FAILED):
        s.authenticate(db.uow(), SYSTEM_USER_EMAIL, "!")


def test_checkin_rule_input_is_validated_and_audited(db, make):
    with pytest.raises(ValidationError) as exc:
        s.set_checkin_rule(db.uow(), make.admin.id, "range", grace_minutes=0)
    assert exc.value.field == "grace_minutes"
    staff = make.user(Role.STAFF)
    with pytest.raises(PermissionDenied):
        s.set_checkin_rule(db.uow(), staff.id, "range")
    with db.uow().read() as uow:
        assert uow.session.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.action == "checkin_rule_set")) == 0
    rule = s.set_checkin_rule(db.uow(), make.admin.id, "range", grace_minutes=20)
    assert rule.grace_minutes == 20 and rule.required_since is not None
    assert [r.grace_minutes for r in s.list_checkin_rules(db.uow(), staff.id)] == [20]


@pytest.mark.slow
def test_release_twice_in_parallel_releases_each_once(db_url, clock, make):
    db = make.db
    staff, member = make.user(Role.STAFF), make.user()
    s.set_checkin_rule(db.uow(), make.admin.id, "range", required=True)
    zone = make.zone()
    resources = [make.resource(resource_type="range", safety_zone_id=zone.id if i % 2 else None)
                 for i in range(6)]
    due = []
    for i, r in enumerate(resources):
        for k in range(4):
            start = clock.now + timedelta(hours=1 + 3 * k, minutes=i)
            if r.safety_zone_id:  # zone-mates may not overlap: stagger them by day
                start += timedelta(days=i)
            due.append(make.booking(r, member, start=start, end=start + timedelta(hours=1),
                                    approve_by=staff))
    clock.now += timedelta(days=8)
    workers = [Database(db_url, settings=settings_for(), clock=clock) for _ in range(2)]
    barrier = threading.Barrier(2)

    def run(worker):
        barrier.wait()
        return s.release_no_shows(worker, batch_size=5).released

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(run, workers))
    for w in workers:
        w.dispose()
    released = results[0] + results[1]
    assert sorted(released) == sorted(b.id for b in due)
    assert len(set(released)) == len(released)
    with db.uow().read() as uow:
        assert uow.session.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.action == "no_show")) == len(due)
        assert uow.session.scalar(select(func.count()).select_from(Booking).where(
            Booking.status == "no_show")) == len(due)


def test_release_command_runs_from_cron(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "RANGE_CONTROL_DATA_DIR": str(tmp_path), "DATABASE_URL": ""}
    root = Path(__file__).resolve().parents[2]
    run = [sys.executable, "-m", "engine"]
    assert subprocess.run(run + ["migrate"], cwd=root, env=env, capture_output=True).returncode == 0
    done = subprocess.run(run + ["release-no-shows"], cwd=root, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["released 0 no-show booking(s)",
                                        "expired 0 waitlist offer(s)"]


def test_the_notify_worker_releases_no_shows_and_mails_the_member(db, make, clock, day):
    """The worker that already runs scheduled jobs runs the release each pass."""
    from engine.notifications.worker import Worker
    from tests.notify.conftest import SmtpSink, notify_settings

    staff, member, r = day
    b = approved(make, r, member, staff, hours_from_now=1)
    clock.now = b.start_time + timedelta(minutes=16)
    sink = SmtpSink()
    sink.start()
    try:
        Worker(db, sink.settings, notify_settings(), worker_id="w").run_once()
    finally:
        sink.stop()
    assert s.get_booking(db.uow(), staff.id, b.id).status == "no_show"
    assert [m for _, to, m in sink.inbox.messages if member.email in to]


def test_a_no_show_still_counts_against_the_members_weekly_quota(db, make, clock, day):
    from engine.services.policies import set_policy

    staff, member, r = day
    set_policy(db.uow(), make.admin.id, resource_type="range", quota_hours_per_week=3)
    b = approved(make, r, member, staff, hours_from_now=1, hours=2)
    clock.now = b.start_time + timedelta(minutes=15)
    assert s.release_no_shows(db).released == [b.id]
    later = b.end_time + timedelta(hours=1)
    with pytest.raises(ValidationError) as exc:  # 2 h no-show + 2 h asked > 3 h
        s.request_booking(db.uow(), member.id, resource_id=r.id, start_time=later,
                          end_time=later + timedelta(hours=2), purpose="Second try")
    assert exc.value.field == "quota_hours_per_week"
    ok = s.request_booking(db.uow(), member.id, resource_id=r.id, start_time=later,
                           end_time=later + timedelta(hours=1), purpose="Second try")
    assert ok.status == "pending"
