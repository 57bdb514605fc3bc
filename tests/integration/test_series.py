"""Recurring bookings on SQLite and PostgreSQL: request with preview and skip-conflicts,
partial approval, deny, cancel one / this-and-following / all, per-occurrence actions, the
audit trail, and bad rules that write nothing."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from engine import services as s
from engine.db import Database
from engine.domain.permissions import Role
from engine.errors import ConflictError, NotFoundError, PermissionDenied, ValidationError
from engine.models import AuditLog, Booking, BookingSeries
from engine.services.approval_queue import pending_requests
from engine.services.bookings import BookingFilter
from tests.conftest import Factory
from tests.conftest import test_settings as settings_with

WEEKLY_8 = {"frequency": "weekly", "count": 8}


@pytest.fixture
def staff(make):
    return make.user(Role.STAFF)


@pytest.fixture
def member(make):
    return make.user()


def first_window(make, days=1, hours=2):
    start = make.clock.now + timedelta(days=days, hours=12)
    return start, start + timedelta(hours=hours)


def request(db, member, resource, start, end, rule=WEEKLY_8, **kw):
    kw.setdefault("purpose", "Tuesday practice night")
    return s.request_series(db.uow(), member.id, resource_id=resource.id, start_time=start,
                            end_time=end, rule=rule, **kw)


def counts(db):
    with db.uow().read() as uow:
        return tuple(uow.session.scalar(select(func.count()).select_from(m))
                     for m in (BookingSeries, Booking, AuditLog))


def audit_rows(db, action):
    with db.uow().read() as uow:
        return list(uow.session.scalars(select(AuditLog).where(AuditLog.action == action)))


def test_request_creates_pending_occurrences_with_one_series_entry_and_one_per_occurrence(
        db, make, member):
    r = make.resource()
    start, end = first_window(make)
    series = request(db, member, r, start, end)
    assert len(series.occurrences) == 8 and series.count("pending") == 8
    assert [o.start_time for o in series.occurrences] == [start + timedelta(weeks=i)
                                                          for i in range(8)]
    assert all(o.series_id == series.id for o in series.occurrences)
    assert series.rule == "FREQ=WEEKLY;COUNT=8;BYDAY=" + ["MO", "TU", "WE", "TH", "FR", "SA",
                                                          "SU"][start.weekday()]
    assert len(audit_rows(db, "series_created")) == 1
    created = audit_rows(db, "created")
    assert {a.booking_id for a in created} == {o.id for o in series.occurrences}
    assert all(str(series.id) in a.details for a in created)
    page = s.list_bookings(db.uow(), member.id, BookingFilter(series_id=series.id))
    assert page.total == 8


def test_preview_reports_each_occurrences_conflicts_like_a_single_request(db, make, member,
                                                                           staff):
    r = make.resource()
    start, end = first_window(make)
    blocker = make.booking(r, start=start + timedelta(weeks=2), end=end + timedelta(weeks=2),
                           approve_by=staff)
    waiting = make.booking(r, start=start + timedelta(weeks=5), end=end + timedelta(weeks=5))
    preview = s.preview_series(db.uow(), member.id, resource_id=r.id, start_time=start,
                               end_time=end, rule=WEEKLY_8)
    assert len(preview.occurrences) == 8 and preview.conflicting == 1
    assert [c.id for c in preview.occurrences[2].conflicts.hard] == [blocker.id]
    assert [c.id for c in preview.occurrences[5].conflicts.soft] == [waiting.id]
    single = s.find_conflicts(db.uow(), member.id, r.id, preview.occurrences[2].start_time,
                              preview.occurrences[2].end_time)
    assert single == preview.occurrences[2].conflicts
    assert counts(db)[0] == 0  # a preview writes nothing


def test_skip_conflicts_leaves_out_the_dates_in_the_way(db, make, member, staff):
    r = make.resource()
    start, end = first_window(make)
    make.booking(r, start=start + timedelta(weeks=3), end=end + timedelta(weeks=3),
                 approve_by=staff)
    skipped = request(db, member, r, start, end, skip_conflicts=True)
    assert len(skipped.occurrences) == 7
    assert skipped.skipped_starts == [start + timedelta(weeks=3)]
    sent = request(db, make.user(), r, start, end)
    assert len(sent.occurrences) == 8
    assert [o.conflict_at_request for o in sent.occurrences].count(True) == 1


def test_a_window_breaking_a_rule_on_some_date_names_field_and_date_and_writes_nothing(
        db, make, member):
    r = make.resource()
    start = make.clock.now + timedelta(days=350)  # later occurrences pass 366 days ahead
    before = counts(db)
    with pytest.raises(ValidationError) as err:
        request(db, member, r, start, start + timedelta(hours=2))
    # the advance limit is the booking policy's (default 366 days), named as its rule
    assert err.value.field == "max_advance_days" and "at most 366 days ahead" in err.value.rule
    third = (start + timedelta(weeks=3)).date().isoformat()
    assert f"occurrence on {third}" in err.value.rule
    assert counts(db) == before


@pytest.mark.parametrize("rule,field", [
    ({"frequency": "weekly", "interval": 0, "count": 3}, "rule.interval"),
    ({"frequency": "weekly", "until": date(2029, 1, 1)}, "rule.until"),
    ({"frequency": "daily", "count": 400}, "rule.count"),
])
def test_bad_rules_write_nothing(db, make, member, rule, field):
    r = make.resource()
    start, end = first_window(make)
    before = counts(db)
    with pytest.raises(ValidationError) as err:
        request(db, member, r, start, end, rule=rule)
    assert err.value.field == field
    assert counts(db) == before


def test_the_occurrence_cap_is_a_setting(db_url, clock):
    db = Database(db_url, settings=settings_with(SERIES_MAX_OCCURRENCES=10), clock=clock)
    try:
        make = Factory(db, clock)
        r, member = make.resource(), make.user()
        start, end = first_window(make)
        with pytest.raises(ValidationError) as err:
            request(db, member, r, start, end, rule={"frequency": "weekly", "count": 11})
        assert "at most 10 occurrences" in err.value.rule
        assert len(request(db, member, r, start, end,
                           rule={"frequency": "weekly", "count": 10}).occurrences) == 10
    finally:
        db.dispose()


def test_series_in_the_site_zone_keep_wall_clock_time_and_operating_hours(db_url, clock):
    london = ZoneInfo("Europe/London")
    db = Database(db_url, settings=settings_with(SITE_TIMEZONE="Europe/London"), clock=clock)
    try:
        make = Factory(db, clock)
        r = make.resource(opens_at=time(8, 0), closes_at=time(22, 0))
        start = datetime(2030, 3, 12, 19, 0, tzinfo=london)
        series = request(db, make.user(), r, start, start + timedelta(hours=3),
                         rule={"frequency": "weekly", "count": 6})
        local = [o.start_time.astimezone(london) for o in series.occurrences]
        assert {(t.hour, t.minute) for t in local} == {(19, 0)}
        assert {o.start_time.hour for o in series.occurrences} == {19, 18}  # GMT, then BST
        late = datetime(2030, 3, 12, 20, 0, tzinfo=london)  # ends 23:00: after closing
        with pytest.raises(ValidationError) as err:
            request(db, make.user(), r, late, late + timedelta(hours=3),
                    rule={"frequency": "weekly", "count": 6})
        assert err.value.field == "start_time" and "2030-03-12" in err.value.rule
    finally:
        db.dispose()


def test_approve_series_approves_the_conflict_free_part_in_one_call(db, make, member, staff):
    r = make.resource()
    start, end = first_window(make)
    blocker = make.booking(r, start=start + timedelta(weeks=1), end=end + timedelta(weeks=1),
                           approve_by=staff)
    series = request(db, member, r, start, end)
    decision = s.approve_series(db.uow(), staff.id, series.id)
    assert len(decision.changed) == 7
    assert [b for b, _ in decision.left] == [series.occurrences[1].id]
    assert "conflicts with existing bookings" in decision.left[0][1]
    assert after_blocker(db, staff, blocker) == "approved"
    after = s.get_series(db.uow(), staff.id, series.id)
    assert after.count("approved") == 7 and after.count("pending") == 1
    assert after.conflicting == 1
    assert len(audit_rows(db, "series_approved")) == 1
    approved = [a for a in audit_rows(db, "approved") if a.booking_id in set(decision.changed)]
    assert len(approved) == 7 and all(a.previous_state["status"] == "pending"
                                      for a in approved)


def after_blocker(db, staff, blocker):
    return s.get_booking(db.uow(), staff.id, blocker.id).status


def test_approve_series_with_nothing_approvable_writes_nothing(db, make, member, staff):
    r = make.resource()
    start, end = first_window(make)
    series = request(db, member, r, start, end, rule={"frequency": "weekly", "count": 2})
    for o in series.occurrences:
        s.deny_booking(db.uow(), staff.id, o.id, "range closed")
    before = counts(db)
    decision = s.approve_series(db.uow(), staff.id, series.id)
    assert decision.changed == [] and counts(db) == before


def test_members_may_not_approve_or_deny_a_series(db, make, member):
    r = make.resource()
    series = request(db, member, r, *first_window(make))
    with pytest.raises(PermissionDenied):
        s.approve_series(db.uow(), member.id, series.id)
    with pytest.raises(PermissionDenied):
        s.deny_series(db.uow(), member.id, series.id, "no thanks")


def test_approve_or_deny_one_occurrence_then_deny_the_rest_with_one_reason(db, make, member,
                                                                           staff):
    r = make.resource()
    series = request(db, member, r, *first_window(make))
    one, two = series.occurrences[0], series.occurrences[1]
    assert s.approve_booking(db.uow(), staff.id, one.id).status == "approved"
    assert s.deny_booking(db.uow(), staff.id, two.id, "range maintenance").status == "denied"
    decision = s.deny_series(db.uow(), staff.id, series.id, "course cancelled by unit")
    assert len(decision.changed) == 6
    after = s.get_series(db.uow(), staff.id, series.id)
    assert (after.count("approved"), after.count("denied")) == (1, 7)
    assert {o.decision_reason for o in after.occurrences if o.status == "denied"} == {
        "range maintenance", "course cancelled by unit"}
    entry, = audit_rows(db, "series_denied")
    assert entry.entity_id == series.id and entry.entity_type == "booking_series"
    with pytest.raises(ValidationError):
        s.deny_series(db.uow(), staff.id, series.id, "")
    with pytest.raises(ConflictError):  # nothing pending any more
        s.deny_series(db.uow(), staff.id, series.id, "again please")


def test_cancel_this_and_following_keeps_the_earlier_occurrences(db, make, member, staff):
    r = make.resource()
    series = request(db, member, r, *first_window(make))
    s.approve_series(db.uow(), staff.id, series.id)
    fifth = series.occurrences[4]
    decision = s.cancel_series(db.uow(), member.id, series.id, from_booking_id=fifth.id,
                               reason="season ends early")
    assert decision.changed == [o.id for o in series.occurrences[4:]]
    after = s.get_series(db.uow(), member.id, series.id)
    assert [o.status for o in after.occurrences] == ["approved"] * 4 + ["cancelled"] * 4
    cancelled = [a for a in audit_rows(db, "cancelled")]
    assert len(cancelled) == 4 and all(a.previous_state["status"] == "approved"
                                       for a in cancelled)
    entry, = audit_rows(db, "series_cancelled")
    assert '"scope": "following"' in entry.details


def test_cancel_whole_series_skips_occurrences_already_over(db, make, member, staff, clock):
    r = make.resource()
    series = request(db, member, r, *first_window(make))
    s.approve_booking(db.uow(), staff.id, series.occurrences[0].id)
    clock.advance(days=9)  # the first occurrence is over, the second has passed too
    decision = s.cancel_series(db.uow(), member.id, series.id)
    assert len(decision.changed) == 6
    after = s.get_series(db.uow(), member.id, series.id)
    assert after.occurrences[0].status == "approved"


def test_cancel_one_occurrence_and_permissions_on_others_series(db, make, member, staff):
    r = make.resource()
    series = request(db, member, r, *first_window(make))
    assert s.cancel_booking(db.uow(), member.id, series.occurrences[2].id).status == "cancelled"
    stranger = make.user()
    with pytest.raises(NotFoundError):
        s.cancel_series(db.uow(), stranger.id, series.id)
    with pytest.raises(NotFoundError):
        s.get_series(db.uow(), stranger.id, series.id)
    other = request(db, stranger, make.resource(), *first_window(make))
    with pytest.raises(ValidationError) as err:
        s.cancel_series(db.uow(), member.id, series.id, from_booking_id=other.occurrences[0].id)
    assert err.value.field == "from_booking_id"
    assert len(s.cancel_series(db.uow(), staff.id, series.id).changed) == 7


def test_reschedule_force_override_and_bump_work_per_occurrence(db, make, member, staff):
    r = make.resource()
    start, end = first_window(make)
    low = make.booking(r, start=start, end=end, priority=1, approve_by=staff)
    series = request(db, member, r, start, end, priority=5)
    first = series.occurrences[0]
    with pytest.raises(ConflictError):
        s.approve_booking(db.uow(), staff.id, first.id)
    assert s.approve_booking(db.uow(), staff.id, first.id, force_override=True).status == (
        "approved")
    assert s.get_booking(db.uow(), staff.id, low.id).status == "bumped"
    moved = s.reschedule_booking(db.uow(), staff.id, series.occurrences[1].id,
                                 start_time=start + timedelta(weeks=1, hours=3),
                                 end_time=end + timedelta(weeks=1, hours=3))
    assert moved.series_id == series.id
    assert s.bump_booking(db.uow(), staff.id, first.id, reason="range needed").status == (
        "bumped")


def test_queue_shows_a_series_as_one_row_not_its_occurrences(db, make, member, staff):
    r = make.resource()
    start, end = first_window(make)
    make.booking(r, start=start + timedelta(weeks=1), end=end + timedelta(weeks=1),
                 approve_by=staff)
    single = make.booking(make.resource())
    series = request(db, member, r, start, end)
    queue = pending_requests(db.uow(), staff.id)
    assert [i.booking.id for i in queue.items] == [single.id]
    rows = s.series_queue(db.uow(), staff.id)
    assert rows.total == 1
    row, = rows.items
    assert (row.series.id, row.pending, row.conflicting) == (series.id, 8, 1)
    assert row.next_start == start
    with pytest.raises(PermissionDenied):
        s.series_queue(db.uow(), member.id)


def approve_series_at_once(db, staff, series_ids):
    barrier = threading.Barrier(len(series_ids))

    def approve(series_id):
        barrier.wait()
        return s.approve_series(db.uow(), staff.id, series_id)

    with ThreadPoolExecutor(len(series_ids)) as pool:
        return list(pool.map(approve, series_ids))


def approved_overlaps(db, resources):
    """Pairs of approved bookings that overlap on one resource or across the given ones."""
    with db.uow().read() as uow:
        rows = uow.session.execute(select(Booking.start_time, Booking.end_time).where(
            Booking.status == "approved", Booking.resource_id.in_([r.id for r in resources]))
            .order_by(Booking.start_time)).all()
    return [(a, b) for a, b in pairwise(rows) if b.start_time < a.end_time]


@pytest.mark.slow
@pytest.mark.parametrize("zone_wide", [False, True], ids=["one_resource", "safety_zone"])
def test_racing_approvals_of_overlapping_series_never_overlap(db, make, staff, zone_wide):
    zone = make.zone() if zone_wide else None
    resources = ([make.resource(safety_zone_id=zone.id) for _ in range(2)] if zone_wide
                 else [make.resource()] * 2)
    start, end = first_window(make, hours=3)
    rule = {"frequency": "weekly", "count": 12}
    # The second series starts an hour later: every occurrence overlaps the other's.
    a = request(db, make.user(), resources[0], start, end, rule=rule)
    b = request(db, make.user(), resources[1], start + timedelta(hours=1),
                end + timedelta(hours=1), rule=rule)
    decisions = approve_series_at_once(db, staff, [a.id, b.id])
    assert sum(len(d.changed) for d in decisions) == 12
    assert sum(len(d.left) for d in decisions) == 12
    assert approved_overlaps(db, resources) == []
    assert len(audit_rows(db, "approved")) == 12


def outbox_kinds(db):
    from engine.models import OutboxMessage

    with db.uow().read() as uow:
        rows = uow.session.execute(select(OutboxMessage.kind, OutboxMessage.recipient_email,
                                          OutboxMessage.context)).all()
    return rows


def test_each_series_action_is_one_message_not_one_per_occurrence(db, make, member, staff):
    r = make.resource()
    start, end = first_window(make)
    make.booking(r, start=start + timedelta(weeks=1), end=end + timedelta(weeks=1),
                 approve_by=staff)
    before = {k for k, _, _ in outbox_kinds(db)}
    series = request(db, member, r, start, end)
    s.approve_series(db.uow(), staff.id, series.id)
    s.cancel_series(db.uow(), member.id, series.id, from_booking_id=series.occurrences[6].id)
    s.deny_series(db.uow(), staff.id, series.id, "blocked week stays closed")
    rows = outbox_kinds(db)
    assert not any(k.startswith("series_") for k in before)
    series_rows = [(k, to, ctx) for k, to, ctx in rows if k.startswith("series_")]
    # one to each approver (the staff member and the admin), one each to the requester
    assert sorted((k, to) for k, to, _ in series_rows) == sorted([
        ("series_requested", staff.email), ("series_requested", make.admin.email),
        ("series_approved", member.email), ("series_cancelled", member.email),
        ("series_denied", member.email)])
    occurrence_ids = {str(o.id) for o in series.occurrences}
    per_occurrence = [k for k, _, ctx in rows
                      if not k.startswith("series_") and ctx.get("booking_id") in occurrence_ids]
    assert per_occurrence == []
    ctx = {k: c["series"] for k, _, c in series_rows}
    assert len(ctx["series_requested"]["occurrences"]) == 8
    assert len(ctx["series_approved"]["occurrences"]) == 7
    assert ctx["series_approved"]["rule"] == series.rule
    assert [x["booking_id"] for x in ctx["series_approved"]["left"]] == [
        str(series.occurrences[1].id)]
    assert len(ctx["series_cancelled"]["occurrences"]) == 2
    denied, = [c for k, _, c in series_rows if k == "series_denied"]
    assert denied["reason"] == "blocked week stays closed"
