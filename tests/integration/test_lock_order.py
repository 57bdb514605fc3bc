"""One lock order: a transaction that takes both a scope (zone) lock and a (member, resource
type) quota lock takes the scope lock first, so a member's own request and a waitlist offer to
that member on the same zone cannot deadlock (PostgreSQL aborts one of two transactions that
wait on each other's advisory locks, with an error that is no domain error)."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy.exc import DBAPIError

from engine import services as s
from engine.db import UnitOfWork
from engine.domain.permissions import Role
from engine.services import policies
from tests.races import race

ROUNDS = 30


def join(db, member, resource, start, end):
    return s.join_waitlist(db.uow(), member.id, resource_id=resource.id, start_time=start,
                           end_time=end, purpose="Qualification shoot")


def request(db, member, resource, start, end):
    return s.request_booking(db.uow(), member.id, resource_id=resource.id, start_time=start,
                             end_time=end, purpose="Qualification shoot")


@pytest.fixture
def zone_with_quota(db, make):
    """Two ranges in one zone, approved automatically, with a weekly quota on the type."""
    staff = make.user(Role.STAFF)
    zone = make.zone()
    waited_on = make.resource(resource_type="range", safety_zone_id=zone.id)
    requested = make.resource(resource_type="range", safety_zone_id=zone.id)
    policies.set_policy(db.uow(), make.admin.id, resource_type="range",
                        approval_mode="automatic", quota_hours_per_week=100)
    return staff, waited_on, requested


def _race_once(db, pool, staff, holder, member, requested, after):
    """At once: staff cancel the holder (the member's waitlist entry is offered the window),
    and the member asks for the hour after it on another range of the zone."""
    return race(pool, [lambda: s.cancel_booking(db.uow(), staff.id, holder.id),
                       lambda: request(db, member, requested, after, after + timedelta(hours=1))])


@pytest.mark.slow
def test_an_automatic_request_racing_an_offer_to_the_same_member_never_deadlocks(
        db, make, zone_with_quota):
    """Each round: a member waits for a taken window on one range of the zone; staff cancel
    the holder (zone lock, then the offer's quota check for the member) while the member asks
    for another window of the same zone (quota check, and, before the fix, the zone lock after
    it). Both must go through, every round, with no deadlock error escaping."""
    if db.dialect != "postgresql":
        pytest.skip("SQLite's BEGIN IMMEDIATE serialises every writer anyway")
    staff, waited_on, requested = zone_with_quota
    holder_user = make.user()
    outcomes, deadlocks = [], 0
    with ThreadPoolExecutor(2) as pool:
        for i in range(ROUNDS):
            start, end = make.window(24 + 3 * i, 1)
            holder = make.booking(waited_on, holder_user, start=start, end=end)  # automatic
            member = make.user()
            entry = join(db, member, waited_on, start, end)
            try:
                outcomes.append(_race_once(db, pool, staff, holder, member, requested, end))
            except DBAPIError as exc:
                if "deadlock" not in str(exc):
                    raise
                deadlocks += 1
                continue
            offered = {e.id: e for e in s.list_waitlist(db.uow(), member.id)}[entry.id]
            mine = s.list_bookings(db.uow(), member.id, s.BookingFilter(
                requester_id=member.id)).items
            # The offer was approved at once (automatic) and so was the member's own request.
            assert offered.status == "accepted"
            assert sorted(b.status for b in mine) == ["approved", "approved"]
    assert deadlocks == 0, f"{deadlocks} of {ROUNDS} rounds ended in a deadlock"
    assert outcomes == [["ok", "ok"]] * ROUNDS


def test_every_path_takes_the_scope_lock_before_the_quota_lock(db, make, zone_with_quota,
                                                                monkeypatch):
    """The rule itself, on both databases: the lock calls of an automatic request, an edit of
    a pending request, a waiting request and an offer, recorded in order; no quota lock is
    ever followed by a scope lock in the same transaction."""
    staff, waited_on, requested = zone_with_quota
    calls: list[str] = []
    real_scope, real_quota = UnitOfWork.lock_scope, policies.lock_quota

    def scope_spy(self, *keys):
        calls.append("scope")
        return real_scope(self, *keys)

    def quota_spy(*a, **kw):
        calls.append("quota")
        return real_quota(*a, **kw)

    monkeypatch.setattr(UnitOfWork, "lock_scope", scope_spy)
    monkeypatch.setattr(policies, "lock_quota", quota_spy)

    def order_of(call):
        calls.clear()
        call()
        return list(calls)

    member = make.user()
    assert order_of(lambda: request(db, member, requested, *make.window(30, 1))) == \
        ["scope", "quota"]
    # The offer: the cancel locks the zone, then checks the waiting member's quota.
    start, end = make.window(24, 1)
    holder = make.booking(waited_on, start=start, end=end)
    join(db, member, waited_on, start, end)
    offer = order_of(lambda: s.cancel_booking(db.uow(), staff.id, holder.id))
    assert offer.index("scope") < offer.index("quota")
    assert "scope" not in offer[offer.index("quota"):]
    # A request that waits for staff takes the quota lock only; its edit locks the zone first.
    policies.set_policy(db.uow(), make.admin.id, resource_type="range",
                        approval_mode="staff")
    later_start, later_end = make.window(48, 1)
    waiting = request(db, member, requested, later_start, later_end)
    assert order_of(lambda: request(db, member, requested, *make.window(72, 1))) == ["quota"]
    edit = order_of(lambda: s.edit_request(db.uow(), member.id, waiting.id,
                                           start_time=later_start + timedelta(minutes=30),
                                           end_time=later_end + timedelta(minutes=30),
                                           purpose="Qualification shoot"))
    assert edit == ["scope", "quota"]
