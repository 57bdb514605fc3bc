"""engine.analytics and the reporting services, on SQLite and PostgreSQL (same figures on both)."""
from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event

from engine import analytics
from engine.domain.permissions import Role
from engine.errors import PermissionDenied, ValidationError
from engine.services import bookings as booking_services
from engine.services import reporting
from engine.services import resources as resource_services

UTC = UTC
LONDON = ZoneInfo("Europe/London")


def at(day: int, hour: int, month: int = 1) -> datetime:
    return datetime(2030, month, day, hour, tzinfo=UTC)


@pytest.fixture
def site(db, make):
    """Zone Z holds range A (08-18) and range B (always open); bay C has no zone.

    Approved: A Tue 09-11 and Wed 10-13, B Sun 22:00 - Mon 02:00 (crosses the week).
    Not counted: a pending and a cancelled booking on C. Blackout: A Thu 08-12.
    """
    zone = make.zone("Zone Z")
    a = make.resource(name="Range A", resource_type="range", safety_zone_id=zone.id,
                      opens_at=time(8), closes_at=time(18))
    b = make.resource(name="Range B", resource_type="range", safety_zone_id=zone.id)
    c = make.resource(name="Bay C", resource_type="bay")
    staff = make.user(Role.STAFF)
    member = make.user()
    make.booking(a, member, start=at(8, 9), end=at(8, 11), approve_by=staff)
    make.booking(a, member, start=at(9, 10), end=at(9, 13), approve_by=staff)
    make.booking(b, member, start=at(13, 22), end=at(14, 2), approve_by=staff)
    make.booking(c, member, start=at(8, 9), end=at(8, 12))  # stays pending
    cancelled = make.booking(c, member, start=at(9, 9), end=at(9, 12), approve_by=staff)
    booking_services.cancel_booking(db.uow(), staff.id, cancelled.id, reason="weather")
    resource_services.create_blackout(db.uow(), make.admin.id, resource_id=a.id,
                                      start_time=at(10, 8), end_time=at(10, 12),
                                      reason="berm repair")
    return {"a": a, "b": b, "c": c, "zone": zone, "staff": staff, "member": member}


def rows_by(rows, key="label"):
    return {(r.period_start, getattr(r, key)): r for r in rows}


def decide_after_waits(db, make, clock, resource, staff, member, waits):
    """One request a day from 20 Jan 09:00, each decided `hours` after the requests were
    made (the clock set back to 7 Jan 06:00 after each): the bookings, in order."""
    made = []
    for i, (hours, decision) in enumerate(waits):
        b = make.booking(resource, member, start=at(20 + i, 9), end=at(20 + i, 10))
        made.append(b)
        clock.advance(hours=hours)
        if decision == "approve":
            booking_services.approve_booking(db.uow(), staff.id, b.id)
        else:
            booking_services.deny_booking(db.uow(), staff.id, b.id, reason="range closed")
        clock.now = datetime(2030, 1, 7, 6, tzinfo=UTC)
    return made


def test_utilization_per_resource_and_week(db, site):
    with db.uow().read() as uow:
        rows = analytics.utilization(uow.session, start=date(2030, 1, 7), end=date(2030, 1, 21),
                                     tz=UTC, group_by="resource", period="week")
    got = {k: (r.booked_hours, r.bookable_hours, r.utilization) for k, r in rows_by(rows).items()}
    w1, w2 = date(2030, 1, 7), date(2030, 1, 14)
    assert got == {
        (w1, "Range A"): (5.0, 66.0, round(5 / 66, 6)),  # 7 days x 10 h, minus the 4 h blackout
        (w2, "Range A"): (0.0, 70.0, 0.0),
        (w1, "Range B"): (2.0, 168.0, round(2 / 168, 6)),  # Sun 22:00-24:00
        (w2, "Range B"): (2.0, 168.0, round(2 / 168, 6)),  # Mon 00:00-02:00
        (w1, "Bay C"): (0.0, 168.0, 0.0),
        (w2, "Bay C"): (0.0, 168.0, 0.0),
    }
    assert [r.period_start for r in rows] == [w1] * 3 + [w2] * 3
    assert {r.group_key for r in rows} == {str(site[k].id) for k in "abc"}


def test_utilization_grouped_by_type_and_zone(db, site):
    with db.uow().read() as uow:
        by_type = analytics.utilization(uow.session, start=date(2030, 1, 7),
                                        end=date(2030, 1, 14), tz=UTC, group_by="type")
        by_zone = analytics.utilization(uow.session, start=date(2030, 1, 7),
                                        end=date(2030, 1, 14), tz=UTC, group_by="zone")
    assert [(r.label, r.booked_hours, r.bookable_hours) for r in by_type] == [
        ("bay", 0.0, 168.0), ("range", 7.0, 234.0)]
    assert [(r.group_key, r.label, r.booked_hours, r.bookable_hours) for r in by_zone] == [
        (analytics.NO_ZONE_KEY, analytics.NO_ZONE_LABEL, 0.0, 168.0),
        (str(site["zone"].id), "Zone Z", 7.0, 234.0)]


def test_utilization_clips_bookings_to_the_period_and_day_buckets(db, site):
    with db.uow().read() as uow:
        rows = analytics.utilization(uow.session, start=date(2030, 1, 13), end=date(2030, 1, 15),
                                     tz=UTC, group_by="resource", period="day")
    b = {r.period_start: r.booked_hours for r in rows if r.label == "Range B"}
    assert b == {date(2030, 1, 13): 2.0, date(2030, 1, 14): 2.0}


def test_utilization_in_a_site_zone_with_daylight_saving(db, site):
    """Europe/London: 2030-03-31 has 23 hours; an always-open resource can be booked for 23."""
    with db.uow().read() as uow:
        rows = analytics.utilization(uow.session, start=date(2030, 3, 30), end=date(2030, 4, 1),
                                     tz=LONDON, group_by="resource", period="day")
        month = analytics.utilization(uow.session, start=date(2030, 3, 1), end=date(2030, 4, 1),
                                      tz=LONDON, group_by="resource", period="month")
    bookable = {(r.period_start, r.label): r.bookable_hours for r in rows}
    assert bookable[(date(2030, 3, 30), "Range B")] == 24.0
    assert bookable[(date(2030, 3, 31), "Range B")] == 23.0
    assert bookable[(date(2030, 3, 31), "Range A")] == 10.0  # local opening hours keep 10 h
    assert {r.label: r.bookable_hours for r in month} == {
        "Bay C": 31 * 24 - 1, "Range A": 310.0, "Range B": 31 * 24 - 1}


def test_utilization_week_label_is_the_monday_even_when_clipped(db, site):
    with db.uow().read() as uow:
        rows = analytics.utilization(uow.session, start=date(2030, 1, 9), end=date(2030, 1, 10),
                                     tz=UTC, group_by="resource", period="week")
    a = [r for r in rows if r.label == "Range A"]
    assert [(r.period_start, r.booked_hours, r.bookable_hours) for r in a] == [
        (date(2030, 1, 7), 3.0, 10.0)]


def test_booked_side_is_aggregated_in_the_database(db, site):
    """Every statement that reads bookings aggregates them (SUM ... GROUP BY, or one MAX)."""
    statements = []

    def record(conn, cursor, statement, *args):
        flat = " ".join(statement.split()).lower()
        if "from bookings" in flat or "join bookings" in flat:
            statements.append(flat)

    event.listen(db.engine, "after_cursor_execute", record)
    try:
        with db.uow().read() as uow:
            items = analytics.buckets(date(2030, 1, 7), date(2030, 1, 21), UTC, "week")
            booked = analytics.booked_seconds(uow.session, items, "type")
    finally:
        event.remove(db.engine, "after_cursor_execute", record)
    assert booked == {(0, "range"): 7 * 3600.0, (1, "range"): 2 * 3600.0}
    assert statements and any("sum(" in s and "group by" in s for s in statements)
    assert all(("sum(" in s and "group by" in s) or s.startswith("select max(")
               for s in statements)


def test_conflict_rate_counts_requests_that_met_a_hard_conflict(db, site, make, clock):
    member = site["member"]
    # Overlaps A's approved Tue 09-11 booking: a hard conflict at request time.
    make.booking(site["a"], member, start=at(8, 10), end=at(8, 12))
    with db.uow().read() as uow:
        rows = analytics.conflict_rate(uow.session, start=date(2030, 1, 7), end=date(2030, 1, 14),
                                       tz=UTC, period="week")
    # All six requests were made on Monday 2030-01-07 (the frozen clock).
    assert [(r.period_start, r.numerator, r.denominator, r.rate) for r in rows] == [
        (date(2030, 1, 7), 1, 6, round(1 / 6, 6))]


def test_turnaround_percentiles_and_approval_rate(db, make, clock):
    """Decisions after 2 h, 4 h and 10 h: p50 = 4 h, p90 = 4 + 0.8 * 6 = 8.8 h (interpolated)."""
    r = make.resource(name="Range T")
    staff, member = make.user(Role.STAFF), make.user()
    made = decide_after_waits(db, make, clock, r, staff, member,
                              [(2, "approve"), (10, "deny"), (4, "approve")])
    # A later bump keeps the booking counted as approved, at its first decision.
    clock.advance(days=1)
    booking_services.bump_booking(db.uow(), staff.id, made[0].id, reason="VIP exercise")
    with db.uow().read() as uow:
        overall = analytics.approval_turnaround(uow.session, start=date(2030, 1, 7),
                                                end=date(2030, 1, 9), tz=UTC)
        rate = analytics.approval_rate(uow.session, start=date(2030, 1, 7),
                                       end=date(2030, 1, 9), tz=UTC, period="day")
        bumps = analytics.bumps_and_cancellations(uow.session, start=date(2030, 1, 7),
                                                  end=date(2030, 1, 9), tz=UTC, period="day")
    assert overall == [analytics.TurnaroundRow(None, 3, 4.0, 8.8)]
    assert [(x.period_start, x.numerator, x.denominator) for x in rate] == [
        (date(2030, 1, 7), 2, 3), (date(2030, 1, 8), 0, 0)]
    assert rate[0].rate == round(2 / 3, 6) and rate[1].rate == 0.0
    assert [(x.period_start, x.bumps, x.cancellations) for x in bumps] == [
        (date(2030, 1, 7), 0, 0), (date(2030, 1, 8), 1, 0)]


def test_decision_figures_equal_approval_rate_and_turnaround_from_one_pass(db, make, clock):
    """The Reports page's one-pass figures are exactly the two separate ones, per period."""
    r = make.resource(name="Range D")
    staff, member = make.user(Role.STAFF), make.user()
    decide_after_waits(db, make, clock, r, staff, member,
                       [(1, "approve"), (3, "deny"), (30, "approve"), (50, "approve")])
    kw = dict(start=date(2030, 1, 6), end=date(2030, 1, 12), tz=UTC, period="day")
    with db.uow().read() as uow:
        rates, turnaround, overall = analytics.decision_figures(uow.session, **kw)
        assert rates == analytics.approval_rate(uow.session, **kw)
        assert turnaround == analytics.approval_turnaround(uow.session, **kw)
        assert [overall] == analytics.approval_turnaround(uow.session, **{**kw, "period": None})
        assert overall.decided == 4
        empty = dict(kw, start=date(2031, 1, 6), end=date(2031, 1, 8))  # no decisions there
        assert analytics.decision_figures(uow.session, **empty)[2] == \
            analytics.TurnaroundRow(None, 0, None, None)
    assert [(x.numerator, x.denominator) for x in rates if x.denominator] == [(1, 2), (1, 1),
                                                                              (1, 1)]


def test_turnaround_per_period_with_an_even_count(db, make, clock):
    r = make.resource(name="Range E")
    staff, member = make.user(Role.STAFF), make.user()
    decide_after_waits(db, make, clock, r, staff, member, [(1, "approve"), (3, "approve")])
    with db.uow().read() as uow:
        rows = analytics.approval_turnaround(uow.session, start=date(2030, 1, 7),
                                             end=date(2030, 1, 14), tz=UTC, period="week")
    assert rows == [analytics.TurnaroundRow(date(2030, 1, 7), 2, 2.0, 2.8)]


def test_bookings_per_day_and_cancellations(db, site):
    with db.uow().read() as uow:
        days = analytics.bookings_per_day(uow.session, start=date(2030, 1, 7),
                                          end=date(2030, 1, 15), tz=UTC)
        bc = analytics.bumps_and_cancellations(uow.session, start=date(2030, 1, 7),
                                               end=date(2030, 1, 14), tz=UTC)
    assert [(d.day, d.status, d.count) for d in days] == [
        (date(2030, 1, 8), "approved", 1), (date(2030, 1, 8), "pending", 1),
        (date(2030, 1, 9), "approved", 1), (date(2030, 1, 9), "cancelled", 1),
        (date(2030, 1, 13), "approved", 1)]
    assert [(x.bumps, x.cancellations) for x in bc] == [(0, 1)]


def test_reporting_services_check_the_permission(db, site):
    staff, member = site["staff"], site["member"]
    rows = reporting.utilization(db.uow(), staff.id, start=date(2030, 1, 7),
                                 end=date(2030, 1, 14), group_by="type")
    assert {r.label for r in rows} == {"bay", "range"}
    for fn in (reporting.utilization, reporting.conflict_rate, reporting.approval_rate,
               reporting.approval_turnaround, reporting.bookings_per_day,
               reporting.bumps_and_cancellations):
        with pytest.raises(PermissionDenied):
            fn(db.uow(), member.id, start=date(2030, 1, 7), end=date(2030, 1, 14))
        assert fn(db.uow(), staff.id, start=date(2030, 1, 7), end=date(2030, 1, 14)) is not None


@pytest.mark.parametrize("kwargs, field", [
    ({"start": date(2030, 1, 7), "end": date(2030, 1, 7)}, "end"),
    ({"start": datetime(2030, 1, 7), "end": date(2030, 1, 8)}, "start"),
    ({"start": "2030-01-07", "end": date(2030, 1, 8)}, "start"),
    ({"start": date(2030, 1, 7), "end": date(2030, 1, 8), "period": "year"}, "period"),
    ({"start": date(2030, 1, 7), "end": date(2030, 1, 8), "group_by": "colour"}, "group_by"),
    ({"start": date(2020, 1, 1), "end": date(2030, 1, 1), "period": "day"}, "period"),
])
def test_bad_input_names_the_field(db, site, kwargs, field):
    with pytest.raises(ValidationError) as err:
        reporting.utilization(db.uow(), site["staff"].id, **kwargs)
    assert err.value.field == field


def test_buckets_cover_the_range_in_local_time():
    items = analytics.buckets(date(2030, 3, 15), date(2030, 5, 2), LONDON, "month")
    assert [(b.period_start, b.first_day, b.end_day) for b in items] == [
        (date(2030, 3, 1), date(2030, 3, 15), date(2030, 4, 1)),
        (date(2030, 4, 1), date(2030, 4, 1), date(2030, 5, 1)),
        (date(2030, 5, 1), date(2030, 5, 1), date(2030, 5, 2))]
    assert items[1].utc_from == datetime(2030, 3, 31, 23, tzinfo=UTC)  # BST midnight
    assert items[0].utc_from == datetime(2030, 3, 15, 0, tzinfo=UTC)  # GMT midnight
    assert [b.utc_to for b in items[:-1]] == [b.utc_from for b in items[1:]]
