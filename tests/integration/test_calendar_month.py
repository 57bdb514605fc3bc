"""The calendar's month overview: bookings per resource per day, counted in SQL (both
backends), the same as counting the bars one by one."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from engine import services as s
from engine.domain.permissions import Role
from tests.conftest import NOW


def test_month_counts_each_booking_on_every_day_it_touches_per_resource(db, make):
    r1, r2 = make.resource(name="Range 1"), make.resource(name="Range 2")
    member = make.user(Role.USER)
    make.booking(r1, member, start=NOW + timedelta(hours=4), end=NOW + timedelta(hours=6))
    make.booking(r1, member, start=NOW + timedelta(hours=8), end=NOW + timedelta(hours=9))
    # Tue 18:00 to Wed 06:00: counts on both days; one ending at midnight does not count on
    # the next day.
    make.booking(r2, member, start=NOW + timedelta(days=1, hours=12),
                 end=NOW + timedelta(days=2))
    make.booking(r2, member, start=NOW + timedelta(days=3, hours=12),
                 end=NOW + timedelta(days=3, hours=18))
    day0 = NOW.replace(hour=0)
    bounds = [day0 + timedelta(days=i) for i in range(6)]
    month = s.calendar_view(db.uow(), member.id, window_start=day0, window_end=bounds[-1],
                            day_bounds=bounds)
    assert month.bars == [] and month.truncated is False
    assert month.day_counts == {(r1.id, 0): 2, (r2.id, 1): 1, (r2.id, 2): 1, (r2.id, 3): 1}


def test_month_days_follow_the_given_bounds_across_a_clock_change(db, make):
    """A 25-hour day (Europe/London, Sunday 27 October 2030) holds a booking in its 25th hour."""
    r1 = make.resource(name="Range 1")
    member = make.user(Role.USER)
    london = ZoneInfo("Europe/London")
    bounds = [datetime(2030, 10, 27 + i, tzinfo=london) for i in range(3)]
    late = bounds[0].astimezone(UTC) + timedelta(hours=24, minutes=30)  # 23:30 GMT
    make.booking(r1, member, start=late, end=late + timedelta(minutes=20))
    month = s.calendar_view(db.uow(), member.id, window_start=bounds[0],
                            window_end=bounds[-1], day_bounds=bounds)
    assert month.day_counts == {(r1.id, 0): 1}
