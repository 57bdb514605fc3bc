"""Repetition rules for booking series: validated input, the RFC 5545 RRULE it stands for, and
its expansion into UTC windows that keep their wall-clock time in the site's time zone.

The date arithmetic is dateutil.rrule's (RFC 5545); this module only checks the input, builds
the rule and attaches the time zone. No database here.
"""
from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import islice
from typing import Literal
from zoneinfo import ZoneInfo

from dateutil.rrule import DAILY, MONTHLY, WEEKLY, rrule, rrulestr, weekday

from engine.errors import ValidationError

#: The last occurrence may start at most this long after the first ("at most one year").
MAX_SERIES_SPAN = timedelta(days=366)
#: Default cap on occurrences (SERIES_MAX_OCCURRENCES overrides it): a daily series for a year.
DEFAULT_MAX_OCCURRENCES = 366
WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_ORDINALS = {1: "first", 2: "second", 3: "third", 4: "fourth", -1: "last"}


class Frequency(str, enum.Enum):
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


_FREQ: dict[Frequency, Literal[0, 1, 2, 3, 4, 5, 6]] = {
    Frequency.DAILY: DAILY, Frequency.WEEKLY: WEEKLY, Frequency.MONTHLY: MONTHLY}
#: The largest interval that still repeats within MAX_SERIES_SPAN.
_MAX_INTERVAL = {Frequency.DAILY: 366, Frequency.WEEKLY: 52, Frequency.MONTHLY: 12}


@dataclass(frozen=True)
class RecurrenceRule:
    """What a member chooses. Weekdays are 0 (Monday) to 6 (Sunday); `until` is a day in the
    site time zone, included. Exactly one of `until` and `count` ends the series. Monthly
    repeats on `month_day` (1-31, or -1 for the last day) or on the `month_week`-th (1-4, or
    -1 for last) weekday of the first window's weekday ("the second Tuesday")."""

    frequency: Frequency
    interval: int = 1
    weekdays: tuple[int, ...] = ()
    month_day: int | None = None
    month_week: int | None = None
    until: date | None = None
    count: int | None = None


def _whole(field: str, value: object, lo: int, hi: int, what: str = "") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ValidationError(field, what or f"must be a whole number from {lo} to {hi}")
    return value


def parse_rule(raw: object) -> RecurrenceRule:
    """Check the shape of a rule (types and ranges) and return it as a RecurrenceRule."""
    if isinstance(raw, RecurrenceRule):
        raw = raw.__dict__
    if not isinstance(raw, Mapping):
        raise ValidationError("rule", "must give frequency, interval and until or count")
    try:
        freq = Frequency(raw.get("frequency"))
    except ValueError:
        raise ValidationError("rule.frequency", "must be one of "
                              + ", ".join(f.value for f in Frequency)) from None
    interval = _whole("rule.interval", raw.get("interval", 1), 1, _MAX_INTERVAL[freq])
    weekdays = raw.get("weekdays") or ()
    if not isinstance(weekdays, (list, tuple, set, frozenset)):
        raise ValidationError("rule.weekdays", "must be a list of weekdays 0 (Mon) to 6 (Sun)")
    weekdays = tuple(sorted({_whole("rule.weekdays", d, 0, 6) for d in weekdays}))
    if weekdays and freq is not Frequency.WEEKLY:
        raise ValidationError("rule.weekdays", "only a weekly rule takes weekdays")
    month_day, month_week = raw.get("month_day"), raw.get("month_week")
    if (month_day is not None or month_week is not None) and freq is not Frequency.MONTHLY:
        raise ValidationError("rule.month_day", "only a monthly rule takes a day of the month")
    if month_day is not None and month_week is not None:
        raise ValidationError("rule.month_week", "give a day of the month or a week of the "
                                                 "month, not both")
    if month_day is not None:
        _whole("rule.month_day", month_day, -1, 31, "must be 1 to 31, or -1 for the last day")
        if month_day == 0:
            raise ValidationError("rule.month_day", "must be 1 to 31, or -1 for the last day")
    if month_week is not None and month_week not in _ORDINALS:
        raise ValidationError("rule.month_week", "must be 1, 2, 3, 4, or -1 for the last")
    until, count = raw.get("until"), raw.get("count")
    if isinstance(until, datetime):
        raise ValidationError("rule.until", "must be a date (a day in the site time zone)")
    if until is not None and not isinstance(until, date):
        raise ValidationError("rule.until", "must be a date")
    if (until is None) == (count is None):
        raise ValidationError("rule.count", "give either an end date (until) or a number of "
                                            "occurrences (count), exactly one")
    if count is not None:
        _whole("rule.count", count, 1, 100_000, "must be a whole number from 1")
    return RecurrenceRule(freq, interval, weekdays, month_day, month_week, until, count)


def rrule_text(rule: RecurrenceRule, first_local: datetime) -> str:
    """The RFC 5545 RRULE (without DTSTART) for `rule`, anchored on the first window's local
    start. Refuses a first window that the rule itself would not produce."""
    kwargs: dict = {"interval": rule.interval}
    if rule.frequency is Frequency.WEEKLY:
        days = rule.weekdays or (first_local.weekday(),)
        if first_local.weekday() not in days:
            raise ValidationError("rule.weekdays", f"the first window is on a "
                                  f"{WEEKDAY_NAMES[first_local.weekday()]}: include that day")
        kwargs["byweekday"] = days
    elif rule.frequency is Frequency.MONTHLY:
        if rule.month_week is not None:
            day = weekday(first_local.weekday(), rule.month_week)
            kwargs["byweekday"] = day
            if not _is_nth_weekday(first_local.date(), rule.month_week):
                raise ValidationError("rule.month_week", f"{first_local.date()} is not the "
                                      f"{_ORDINALS[rule.month_week]} "
                                      f"{WEEKDAY_NAMES[first_local.weekday()]} of its month")
        else:
            month_day = rule.month_day if rule.month_day is not None else first_local.day
            last = _last_day(first_local.date())
            if not (month_day == first_local.day or (month_day == -1 and first_local.day == last)):
                raise ValidationError("rule.month_day", f"the first window is on day "
                                      f"{first_local.day}, not on day {month_day}")
            kwargs["bymonthday"] = month_day
    if rule.count is not None:
        kwargs["count"] = rule.count
    else:
        assert rule.until is not None  # a rule ends by count or by date (checked on parsing)
        if rule.until < first_local.date():
            raise ValidationError("rule.until", "must be on or after the first window's date")
        kwargs["until"] = datetime.combine(rule.until, datetime.max.time())
    text = str(rrule(_FREQ[rule.frequency], dtstart=first_local, **kwargs))
    return next(line for line in text.splitlines() if line.startswith("RRULE:"))[6:]


def _is_nth_weekday(day: date, nth: int) -> bool:
    if nth > 0:
        return (day.day - 1) // 7 + 1 == nth
    return day.day + 7 > _last_day(day)


def _last_day(day: date) -> int:
    nxt = (day.replace(day=28) + timedelta(days=4))
    return (nxt - timedelta(days=nxt.day)).day


def expand(rule: str, first_start: datetime, first_end: datetime, tz: ZoneInfo, *,
           max_occurrences: int = DEFAULT_MAX_OCCURRENCES
           ) -> list[tuple[datetime, datetime]]:
    """The series' windows in UTC. Each keeps the first window's wall-clock start and end in
    `tz` across daylight-saving changes (a start inside a spring-forward gap moves forward by
    the gap, as zoneinfo resolves it). Refuses more than `max_occurrences` or a span over
    MAX_SERIES_SPAN, naming the date where the limit is crossed."""
    local_start = first_start.astimezone(tz).replace(tzinfo=None)
    local_length = first_end.astimezone(tz).replace(tzinfo=None) - local_start
    field = "rule.count" if "COUNT=" in rule else "rule.until"
    dates = list(islice(rrulestr(rule, dtstart=local_start), max_occurrences + 1))
    if len(dates) > max_occurrences:
        raise ValidationError(field, f"a series has at most {max_occurrences} occurrences "
                                     f"(the rule passes that on {dates[-1].date()})")
    if dates and dates[-1] - local_start > MAX_SERIES_SPAN:
        last_ok = local_start + MAX_SERIES_SPAN
        raise ValidationError(field, f"a series spans at most {MAX_SERIES_SPAN.days} days: the "
                              f"last occurrence would be on {dates[-1].date()}, after "
                              f"{last_ok.date()}")
    out = []
    for local in dates:
        start = local.replace(tzinfo=tz).astimezone(UTC)
        end = (local + local_length).replace(tzinfo=tz).astimezone(UTC)
        out.append((start, end))
    return out


def describe(rule: str) -> str:
    """A short English reading of a stored RRULE, for lists and messages."""
    parts = dict(p.split("=", 1) for p in rule.split(";") if "=" in p)
    freq, n = parts.get("FREQ", "").lower(), int(parts.get("INTERVAL", "1"))
    unit = {"daily": "day", "weekly": "week", "monthly": "month"}.get(freq, freq)
    text = f"every {unit}" if n == 1 else f"every {n} {unit}s"
    names = {"MO": "Mon", "TU": "Tue", "WE": "Wed", "TH": "Thu", "FR": "Fri", "SA": "Sat",
             "SU": "Sun"}
    if "BYDAY" in parts:
        days = []
        for d in parts["BYDAY"].split(","):
            nth, code = d[:-2], d[-2:]
            days.append(f"{_ORDINALS.get(int(nth), nth)} {names[code]}" if nth else names[code])
        text += " on " + ", ".join(days)
    if "BYMONTHDAY" in parts:
        md = int(parts["BYMONTHDAY"])
        text += " on the last day" if md == -1 else f" on day {md}"
    if "COUNT" in parts:
        text += f", {parts['COUNT']} times"
    if "UNTIL" in parts:
        u = parts["UNTIL"]
        text += f", until {u[:4]}-{u[4:6]}-{u[6:8]}"
    return text
