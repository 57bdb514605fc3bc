"""The waitlist: joining on conflict, offers in order of priority then joining, expiry passing
the window on, every way a window frees, and racing frees (on SQLite and PostgreSQL)."""
from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import and_, func, select
from sqlalchemy.orm import aliased

from engine import services as s
from engine.db import Database
from engine.domain.permissions import Role
from engine.errors import NotFoundError, StateConflict, ValidationError, WaitlistTransition
from engine.models import AuditLog, Booking, OutboxMessage, WaitlistEntry
from engine.system import SYSTEM_USER_ID
from tests.conftest import test_settings as settings_for


@pytest.fixture
def wl(db, make):
    staff = make.user(Role.STAFF)
    s.set_checkin_rule(db.uow(), make.admin.id, "range", offer_minutes=30, required=False)
    r = make.resource(resource_type="range")
    start, end = make.window(24, 2)
    holder = make.booking(r, start=start, end=end, approve_by=staff)
    return staff, r, holder


def join(db, member, r, start, end, priority=0):
    return s.join_waitlist(db.uow(), member.id, resource_id=r.id, start_time=start,
                           end_time=end, purpose="Qualification shoot", priority=priority)


def entries(db, member):
    return {e.id: e for e in s.list_waitlist(db.uow(), member.id)}


def test_join_only_when_the_window_conflicts_and_once(db, make, wl):
    staff, r, holder = wl
    m = make.user()
    free_start = holder.end_time + timedelta(hours=1)
    with pytest.raises(ValidationError) as exc:
        join(db, m, r, free_start, free_start + timedelta(hours=1))
    assert exc.value.field == "start_time" and "free" in exc.value.rule
    e = join(db, m, r, holder.start_time, holder.end_time)
    assert e.status == "waiting"
    with pytest.raises(ValidationError, match="already on the waitlist"):
        join(db, m, r, holder.start_time, holder.end_time)
    with pytest.raises(ValidationError) as exc:
        s.join_waitlist(db.uow(), m.id, resource_id=r.id, start_time=holder.start_time,
                        end_time=holder.end_time, purpose="x")
    assert exc.value.field == "purpose"
    with db.uow().read() as uow:
        assert uow.session.scalar(select(func.count()).select_from(WaitlistEntry)) == 1


def test_cancel_offers_the_window_by_priority_then_joining(db, make, wl):
    staff, r, holder = wl
    first, higher, later = make.user(), make.user(), make.user()
    e_first = join(db, first, r, holder.start_time, holder.end_time, priority=1)
    make.clock.advance(seconds=1)
    e_higher = join(db, higher, r, holder.start_time, holder.end_time, priority=5)
    make.clock.advance(seconds=1)
    e_later = join(db, later, r, holder.start_time, holder.end_time, priority=1)
    s.cancel_booking(db.uow(), holder.requester_id, holder.id)
    offered = entries(db, higher)[e_higher.id]
    assert offered.status == "offered" and offered.booking_id is not None
    assert offered.offer_expires_at == make.clock.now + timedelta(minutes=30)
    booking = s.get_booking(db.uow(), higher.id, offered.booking_id)
    assert (booking.status, booking.requester_id, booking.start_time) == \
        ("pending", higher.id, holder.start_time)
    assert entries(db, first)[e_first.id].status == "waiting"
    assert entries(db, later)[e_later.id].status == "waiting"
    with db.uow().read() as uow:
        actors = uow.session.scalars(select(AuditLog.actor_id).where(
            AuditLog.booking_id == booking.id)).all()
    assert set(actors) == {SYSTEM_USER_ID}
    with db.uow().read() as uow:  # the member is told of the offer, staff of the request
        mails = uow.session.execute(select(OutboxMessage.kind, OutboxMessage.recipient_user_id)
                                    .where(OutboxMessage.booking_id == booking.id)).all()
    assert ("waitlist_offer", higher.id) in mails and ("booking_requested", staff.id) in mails
    # Declining passes it to the next: same priority, earlier joined.
    s.decline_offer(db.uow(), higher.id, e_higher.id)
    assert entries(db, higher)[e_higher.id].status == "declined"
    assert s.get_booking(db.uow(), staff.id, offered.booking_id).status == "cancelled"
    assert entries(db, first)[e_first.id].status == "offered"
    assert entries(db, later)[e_later.id].status == "waiting"


def test_offer_expires_and_passes_on_unless_accepted(db, make, clock, wl):
    staff, r, holder = wl
    a, b, c = make.user(), make.user(), make.user()
    ea = join(db, a, r, holder.start_time, holder.end_time)
    clock.advance(seconds=1)
    eb = join(db, b, r, holder.start_time, holder.end_time)
    clock.advance(seconds=1)
    ec = join(db, c, r, holder.start_time, holder.end_time)
    s.bump_booking(db.uow(), staff.id, holder.id, reason="range closed for the VIP shoot")
    assert entries(db, a)[ea.id].status == "offered"
    clock.advance(minutes=29)
    assert s.expire_offers(db).expired == []
    clock.advance(minutes=1)
    assert s.expire_offers(db).expired == [ea.id]
    assert entries(db, a)[ea.id].status == "expired"
    offer_b = entries(db, b)[eb.id]
    assert offer_b.status == "offered"
    assert s.expire_offers(db).expired == []  # idempotent
    s.accept_offer(db.uow(), b.id, eb.id)
    clock.advance(hours=2)
    assert s.expire_offers(db).expired == []
    assert entries(db, b)[eb.id].status == "accepted"
    assert s.get_booking(db.uow(), b.id, offer_b.booking_id).status == "pending"
    assert entries(db, c)[ec.id].status == "waiting"
    with pytest.raises(NotFoundError):
        s.accept_offer(db.uow(), c.id, eb.id)


def test_deny_no_show_and_reschedule_away_free_the_window(db, make, clock, wl):
    staff, r, holder = wl
    m1, m2, m3 = make.user(), make.user(), make.user()
    # deny: a pending request in the way is denied
    later = holder.end_time + timedelta(hours=2)
    pend = make.booking(r, start=later, end=later + timedelta(hours=1))
    e1 = join(db, m1, r, later, later + timedelta(hours=1))
    s.deny_booking(db.uow(), staff.id, pend.id, reason="no range officer available")
    assert entries(db, m1)[e1.id].status == "offered"
    # reschedule away
    e2 = join(db, m2, r, holder.start_time, holder.end_time)
    s.reschedule_booking(db.uow(), staff.id, holder.id,
                         start_time=holder.start_time + timedelta(days=2),
                         end_time=holder.end_time + timedelta(days=2))
    assert entries(db, m2)[e2.id].status == "offered"
    # no-show release
    s.set_checkin_rule(db.uow(), make.admin.id, "range", offer_minutes=30, required=True)
    soon = clock.now + timedelta(hours=1)
    b = make.booking(r, start=soon, end=soon + timedelta(hours=3), approve_by=staff)
    clock.now = soon - timedelta(minutes=10)
    e3 = join(db, m3, r, soon + timedelta(hours=1), soon + timedelta(hours=2))
    clock.now = soon + timedelta(minutes=15)
    assert s.release_no_shows(db).released == [b.id]
    offer = entries(db, m3)[e3.id]
    assert offer.status == "offered"
    assert offer.offer_expires_at == clock.now + timedelta(minutes=30)


def test_approving_the_offer_settles_it_and_leaving_is_only_while_waiting(db, make, wl):
    staff, r, holder = wl
    m, n = make.user(), make.user()
    e = join(db, m, r, holder.start_time, holder.end_time)
    f = join(db, n, r, holder.start_time, holder.end_time)
    s.leave_waitlist(db.uow(), n.id, f.id)
    s.cancel_booking(db.uow(), staff.id, holder.id)
    offer = entries(db, m)[e.id]
    with pytest.raises(WaitlistTransition, match="is offered: it cannot be left now "
                                                 r"\(it holds an offer: accept or decline it\)"):
        s.leave_waitlist(db.uow(), m.id, e.id)
    s.approve_booking(db.uow(), staff.id, offer.booking_id)
    assert entries(db, m)[e.id].status == "accepted"
    assert entries(db, n)[f.id].status == "left"


def test_a_step_the_entrys_status_does_not_allow_is_a_conflict_and_writes_nothing(
        db, make, wl):
    staff, r, holder = wl
    m = make.user()
    e = join(db, m, r, holder.start_time, holder.end_time)

    def refused(step, status: str, target: str, why: str) -> None:
        with db.uow().read() as uow:
            rows_before = uow.session.scalar(select(func.count()).select_from(AuditLog))
            bookings_before = uow.session.scalar(select(func.count()).select_from(Booking))
        with pytest.raises(WaitlistTransition) as exc:
            step(db.uow(), m.id, e.id)
        assert isinstance(exc.value, StateConflict)
        assert not isinstance(exc.value, ValidationError)
        assert (exc.value.entry_id, exc.value.status, exc.value.target) == (e.id, status, target)
        assert exc.value.message == (f"waitlist entry {str(e.id)[:8]} is {status}: "
                                     f"it cannot be {target} now ({why})")
        assert entries(db, m)[e.id].status == status
        with db.uow().read() as uow:
            assert uow.session.scalar(select(func.count()).select_from(AuditLog)) == rows_before
            assert uow.session.scalar(select(func.count()).select_from(Booking)) \
                == bookings_before

    no_offer = "no offer has been made on it yet"
    refused(s.accept_offer, "waiting", "accepted", no_offer)
    refused(s.decline_offer, "waiting", "declined", no_offer)
    s.leave_waitlist(db.uow(), m.id, e.id)
    ended = "it is no longer on the waitlist"
    refused(s.accept_offer, "left", "accepted", ended)
    refused(s.decline_offer, "left", "declined", ended)
    refused(s.leave_waitlist, "left", "left", ended)


def _no_double_offers(db):
    """No entry has two offers, and no two live offers or approvals overlap on a resource."""
    with db.uow().read() as uow:
        per_entry = uow.session.execute(
            select(WaitlistEntry.id, func.count(Booking.id))
            .join(Booking, Booking.id == WaitlistEntry.booking_id)
            .group_by(WaitlistEntry.id).having(func.count(Booking.id) > 1)).all()
        a, b = aliased(Booking), aliased(Booking)
        live = ("pending", "approved")
        overlapping = uow.session.execute(
            select(a.id, b.id).join(b, and_(a.resource_id == b.resource_id, a.id < b.id,
                                            a.start_time < b.end_time, b.start_time < a.end_time))
            .where(a.status.in_(live), b.status.in_(live))).all()
        offered = uow.session.scalar(select(func.count()).select_from(WaitlistEntry).where(
            WaitlistEntry.booking_id.is_not(None)))
    return per_entry, overlapping, offered


@pytest.mark.slow
def test_racing_frees_give_each_window_once_and_each_entry_one_offer(db_url, db, make, clock):
    staff = make.user(Role.STAFF)
    zone = make.zone()
    r1 = make.resource(resource_type="range", safety_zone_id=zone.id)
    r2 = make.resource(resource_type="range", safety_zone_id=zone.id)
    base = clock.now + timedelta(days=1)
    # Two holders side by side; entries want both halves at once or one of them.
    h1 = make.booking(r1, start=base, end=base + timedelta(hours=1), approve_by=staff)
    h2 = make.booking(r1, start=base + timedelta(hours=1), end=base + timedelta(hours=2),
                      approve_by=staff)
    h3 = make.booking(r2, start=base + timedelta(hours=3), end=base + timedelta(hours=4),
                      approve_by=staff)
    members = [make.user() for _ in range(4)]
    both = join(db, members[0], r1, base, base + timedelta(hours=2), priority=3)
    first_half = join(db, members[1], r1, base, base + timedelta(hours=1), priority=1)
    second_half = join(db, members[2], r1, base + timedelta(hours=1), base + timedelta(hours=2),
                       priority=1)
    other = join(db, members[3], r2, base + timedelta(hours=3), base + timedelta(hours=4))
    workers = [Database(db_url, settings=settings_for(), clock=clock) for _ in range(3)]
    barrier = threading.Barrier(3)

    def cancel(args):
        worker, holder = args
        barrier.wait()
        s.cancel_booking(worker.uow(), staff.id, holder.id)

    with ThreadPoolExecutor(3) as pool:
        list(pool.map(cancel, zip(workers, (h1, h2, h3), strict=True)))
    for w in workers:
        w.dispose()
    per_entry, overlapping, offered = _no_double_offers(db)
    assert per_entry == [] and overlapping == []
    statuses = {e: entries(db, m)[e.id].status for e, m in
                ((both, members[0]), (first_half, members[1]), (second_half, members[2]),
                 (other, members[3]))}
    assert statuses[other] == "offered"
    # Whichever cancel came first offered its half; once both were free the two-hour entry
    # could only be offered if no half-offer was pending on it.
    assert offered == sum(1 for v in statuses.values() if v == "offered")
    assert offered in (2, 3)


def test_an_offer_on_an_automatic_resource_is_approved_at_once(db, make, wl):
    from engine.services.policies import set_policy

    staff, r, holder = wl
    set_policy(db.uow(), make.admin.id, resource_type="range", approval_mode="automatic")
    m = make.user()
    e = join(db, m, r, holder.start_time, holder.end_time)
    s.cancel_booking(db.uow(), staff.id, holder.id)
    entry = entries(db, m)[e.id]
    assert entry.status == "accepted"
    booking = s.get_booking(db.uow(), m.id, entry.booking_id)
    assert booking.status == "approved" and booking.decided_by_id == SYSTEM_USER_ID
    assert s.expire_offers(db).expired == []


def test_joining_follows_the_booking_policy_window_rules(db, make, wl):
    from engine.services.policies import set_policy

    staff, r, holder = wl
    set_policy(db.uow(), make.admin.id, resource_type="range", max_length_minutes=60)
    with pytest.raises(ValidationError) as exc:
        join(db, make.user(), r, holder.start_time, holder.end_time)  # two hours
    assert exc.value.field == "max_length_minutes"
    assert join(db, make.user(), r, holder.start_time,
                holder.start_time + timedelta(hours=1)).status == "waiting"


QUOTAS = {"weekly hours": {"quota_hours_per_week": 2},
          "monthly hours": {"quota_hours_per_month": 2},
          "open bookings": {"max_open_bookings": 1}}


@pytest.mark.parametrize("quota", QUOTAS.values(), ids=QUOTAS.keys())
def test_an_offer_skips_a_member_their_quota_would_refuse_and_passes_the_window_on(
        db, make, wl, quota):
    """The offer is the member's request: with an hour already booked, a two-hour window would
    break their quota, so the next entry gets it; the skipped entry keeps waiting and is
    offered once the quota has room."""
    from engine.services.policies import set_policy

    staff, r, holder = wl
    set_policy(db.uow(), make.admin.id, resource_type="range", **quota)
    over, next_up = make.user(), make.user()
    booked = make.booking(r, over, start=holder.end_time + timedelta(hours=1),
                          end=holder.end_time + timedelta(hours=2))
    e_over = join(db, over, r, holder.start_time, holder.end_time, priority=5)
    e_next = join(db, next_up, r, holder.start_time, holder.end_time)
    s.cancel_booking(db.uow(), holder.requester_id, holder.id)
    assert entries(db, over)[e_over.id].status == "waiting"
    assert entries(db, next_up)[e_next.id].status == "offered"
    with db.uow().read() as uow:  # no request, no audit entry for the member skipped
        assert uow.session.scalars(select(Booking.id).where(
            Booking.requester_id == over.id)).all() == [booked.id]
        assert uow.session.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.entity_id == e_over.id, AuditLog.action == "waitlist_offered")) == 0
    s.cancel_booking(db.uow(), over.id, booked.id)  # room again
    s.decline_offer(db.uow(), next_up.id, e_next.id)
    assert entries(db, over)[e_over.id].status == "offered"


def test_a_staff_members_offer_may_exceed_a_quota_and_the_audit_says_so(db, make, wl):
    from engine.services.policies import set_policy

    staff, r, holder = wl
    set_policy(db.uow(), make.admin.id, resource_type="range", max_open_bookings=1)
    instructor = make.user(Role.STAFF)
    make.booking(r, instructor, start=holder.end_time, end=holder.end_time + timedelta(hours=1))
    e = join(db, instructor, r, holder.start_time, holder.end_time)
    s.cancel_booking(db.uow(), holder.requester_id, holder.id)
    offered = entries(db, instructor)[e.id]
    assert offered.status == "offered"
    with db.uow().read() as uow:
        created = uow.session.scalar(select(AuditLog.details).where(
            AuditLog.booking_id == offered.booking_id, AuditLog.action == "created"))
    assert any(q.startswith("max_open_bookings (1)")
               for q in json.loads(created)["quota_exceeded"])


def test_an_offer_inside_the_notice_period_is_still_made(db, make, clock, wl):
    """The window rules were checked when the member joined; only the quotas are checked
    again at offer time, so a window freed close to its start still reaches the waitlist."""
    from engine.services.policies import set_policy

    staff, r, holder = wl
    m = make.user()
    e = join(db, m, r, holder.start_time, holder.end_time)
    set_policy(db.uow(), make.admin.id, resource_type="range", min_notice_minutes=48 * 60,
               quota_hours_per_week=10)
    s.cancel_booking(db.uow(), holder.requester_id, holder.id)
    assert entries(db, m)[e.id].status == "offered"
