"""Series rules: expansion keeps wall-clock time across daylight-saving changes, handles month
ends, and bad rules are refused naming the field (and the date where a limit is crossed)."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from engine.domain.recurrence import describe, expand, parse_rule, rrule_text
from engine.errors import ValidationError

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")


def windows(rule: dict, start: datetime, hours: float = 2, tz=LONDON, **kw):
    text = rrule_text(parse_rule(rule), start.replace(tzinfo=None))
    return expand(text, start, start + timedelta(hours=hours), tz, **kw)


def local(ws, tz=LONDON):
    return [(s.astimezone(tz), e.astimezone(tz)) for s, e in ws]


def test_weekly_keeps_wall_clock_time_across_spring_forward_and_fall_back():
    # London: clocks go forward 31 March 2030 and back 27 October 2030.
    ws = windows({"frequency": "weekly", "weekdays": [1], "until": date(2030, 11, 5)},
                 datetime(2030, 3, 19, 18, 0, tzinfo=LONDON))
    loc = local(ws)
    assert all((s.hour, s.minute, e.hour) == (18, 0, 20) for s, e in loc)
    assert all(s.weekday() == 1 for s, _ in loc)
    utc_hours = {s.date(): s.hour for s, _ in ws}
    assert utc_hours[date(2030, 3, 26)] == 18   # GMT
    assert utc_hours[date(2030, 4, 2)] == 17    # BST: same wall clock, an hour earlier in UTC
    assert utc_hours[date(2030, 10, 22)] == 17
    assert utc_hours[date(2030, 10, 29)] == 18  # GMT again
    assert all(e - s == timedelta(hours=2) for s, e in ws)


def test_daily_across_a_us_change_keeps_local_time():
    ws = windows({"frequency": "daily", "count": 5},
                 datetime(2030, 3, 8, 9, 0, tzinfo=NEW_YORK), tz=NEW_YORK)
    assert [s.astimezone(NEW_YORK).hour for s, _ in ws] == [9] * 5
    assert [s.hour for s, _ in ws] == [14, 14, 13, 13, 13]  # EST then EDT (10 March 2030)


def test_a_start_in_the_spring_forward_gap_moves_forward_by_the_gap():
    ws = windows({"frequency": "weekly", "count": 3},
                 datetime(2030, 3, 24, 1, 30, tzinfo=LONDON), hours=1)
    assert [s.astimezone(LONDON).strftime("%d %H:%M") for s, _ in ws] == [
        "24 01:30", "31 02:30", "07 01:30"]


def test_monthly_on_the_31st_skips_shorter_months_as_rfc5545_says():
    ws = windows({"frequency": "monthly", "month_day": 31, "count": 4},
                 datetime(2030, 1, 31, 10, 0, tzinfo=LONDON))
    assert [s.astimezone(LONDON).date() for s, _ in ws] == [
        date(2030, 1, 31), date(2030, 3, 31), date(2030, 5, 31), date(2030, 7, 31)]


def test_monthly_on_the_last_day_follows_month_ends_and_leap_years():
    ws = windows({"frequency": "monthly", "month_day": -1, "count": 4},
                 datetime(2031, 12, 31, 10, 0, tzinfo=LONDON))
    assert [s.astimezone(LONDON).date() for s, _ in ws] == [
        date(2031, 12, 31), date(2032, 1, 31), date(2032, 2, 29), date(2032, 3, 31)]


def test_monthly_on_the_second_tuesday():
    ws = windows({"frequency": "monthly", "month_week": 2, "count": 4},
                 datetime(2030, 1, 8, 18, 0, tzinfo=LONDON))
    days = [s.astimezone(LONDON).date() for s, _ in ws]
    assert days == [date(2030, 1, 8), date(2030, 2, 12), date(2030, 3, 12), date(2030, 4, 9)]
    assert describe(rrule_text(parse_rule({"frequency": "monthly", "month_week": 2,
                                           "count": 4}), datetime(2030, 1, 8, 18))) == (
        "every month on second Tue, 4 times")


def test_every_two_weeks_on_two_weekdays_and_every_three_days():
    ws = windows({"frequency": "weekly", "interval": 2, "weekdays": [1, 3], "count": 4},
                 datetime(2030, 1, 8, 18, 0, tzinfo=UTC), tz=UTC)
    assert [s.date() for s, _ in ws] == [date(2030, 1, 8), date(2030, 1, 10),
                                        date(2030, 1, 22), date(2030, 1, 24)]
    ws = windows({"frequency": "daily", "interval": 3, "until": date(2030, 1, 14)},
                 datetime(2030, 1, 8, 18, 0, tzinfo=UTC), tz=UTC)
    assert [s.day for s, _ in ws] == [8, 11, 14]


@pytest.mark.parametrize("rule,field", [
    ({"frequency": "hourly", "count": 3}, "rule.frequency"),
    ({"frequency": "weekly", "interval": 0, "count": 3}, "rule.interval"),
    ({"frequency": "weekly", "interval": 53, "count": 3}, "rule.interval"),
    ({"frequency": "weekly"}, "rule.count"),
    ({"frequency": "weekly", "count": 3, "until": date(2030, 3, 1)}, "rule.count"),
    ({"frequency": "weekly", "count": 0}, "rule.count"),
    ({"frequency": "weekly", "weekdays": [7], "count": 3}, "rule.weekdays"),
    ({"frequency": "daily", "weekdays": [1], "count": 3}, "rule.weekdays"),
    ({"frequency": "monthly", "month_day": 0, "count": 3}, "rule.month_day"),
    ({"frequency": "monthly", "month_day": 3, "month_week": 1, "count": 3}, "rule.month_week"),
    ({"frequency": "monthly", "month_week": 5, "count": 3}, "rule.month_week"),
    ("weekly", "rule"),
])
def test_bad_rule_shapes_name_the_field(rule, field):
    with pytest.raises(ValidationError) as err:
        parse_rule(rule)
    assert err.value.field == field


@pytest.mark.parametrize("rule,field,words", [
    ({"frequency": "weekly", "until": date(2030, 1, 1)}, "rule.until", "on or after"),
    ({"frequency": "weekly", "weekdays": [0], "count": 3}, "rule.weekdays", "Tue"),
    ({"frequency": "monthly", "month_day": 9, "count": 3}, "rule.month_day", "day 8"),
    ({"frequency": "monthly", "month_week": 3, "count": 3}, "rule.month_week", "third Tue"),
])
def test_a_first_window_the_rule_would_not_produce_is_refused(rule, field, words):
    with pytest.raises(ValidationError) as err:
        rrule_text(parse_rule(rule), datetime(2030, 1, 8, 18, 0))
    assert err.value.field == field and words in err.value.rule


def test_more_occurrences_than_allowed_names_the_date():
    with pytest.raises(ValidationError) as err:
        windows({"frequency": "daily", "count": 30}, datetime(2030, 1, 8, 18, tzinfo=LONDON),
                max_occurrences=20)
    assert err.value.field == "rule.count" and "at most 20" in err.value.rule
    assert "2030-01-28" in err.value.rule  # the 21st day


def test_a_series_spans_at_most_a_year():
    with pytest.raises(ValidationError) as err:
        windows({"frequency": "monthly", "until": date(2031, 3, 1)},
                datetime(2030, 1, 8, 18, tzinfo=LONDON))
    assert err.value.field == "rule.until" and "2031-02-08" in err.value.rule
    assert len(windows({"frequency": "weekly", "count": 52},
                       datetime(2030, 1, 8, 18, tzinfo=LONDON))) == 52
