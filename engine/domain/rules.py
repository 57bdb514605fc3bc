"""Booking request rules: the limits and the checks on a requested window, with no database."""
from __future__ import annotations

import unicodedata
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from engine.errors import ValidationError

MIN_DURATION = timedelta(minutes=15)
MAX_DURATION = timedelta(hours=24)
MAX_ADVANCE = timedelta(days=366)
PURPOSE_MIN, PURPOSE_MAX = 3, 500
PRIORITY_MIN, PRIORITY_MAX = 0, 10
REASON_MIN, REASON_MAX = 3, 500


def require_aware(field: str, value: object) -> datetime:
    if not isinstance(value, datetime):
        raise ValidationError(field, "must be a date and time")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(field, "must be timezone-aware (include a UTC offset)")
    return value


def validate_window(start: object, end: object, now: datetime, *, allow_past: bool = False,
                    max_advance: timedelta | None = MAX_ADVANCE) -> tuple[datetime, datetime]:
    """Check a requested [start, end) and return it normalised to UTC.

    max_advance=None leaves the advance limit to the resource's booking policy.
    """

    start = require_aware("start_time", start).astimezone(UTC)
    end = require_aware("end_time", end).astimezone(UTC)
    if end <= start:
        raise ValidationError("end_time", "must be after start_time")
    if end - start < MIN_DURATION:
        raise ValidationError("end_time", f"booking must last at least {_fmt(MIN_DURATION)}")
    if end - start > MAX_DURATION:
        raise ValidationError("end_time", f"booking may last at most {_fmt(MAX_DURATION)}")
    if not allow_past and start < now:
        raise ValidationError("start_time", "must not be in the past")
    if max_advance is not None and start - now > max_advance:
        raise ValidationError("start_time", f"must be within {max_advance.days} days from now")
    return start, end


#: Unicode categories that show nothing: separators (spaces, line and paragraph separators),
#: controls, and format characters (zero-width space/joiners, BOM, bidi marks, soft hyphen).
INVISIBLE_CATEGORIES = frozenset({"Zs", "Zl", "Zp", "Cc", "Cf"})


def is_invisible(ch: str) -> bool:
    """True for a character that prints nothing (including U+3164 and the other fillers)."""
    return (unicodedata.category(ch) in INVISIBLE_CATEGORIES or ch.isspace()
            or ch in "\u115f\u1160\u3164\uffa0\u2800")


def visible_length(value: str) -> int:
    return sum(1 for ch in value if not is_invisible(ch))


def strip_invisible(value: str) -> str:
    """Trim invisible characters from both ends; those between words are kept."""
    start, end = 0, len(value)
    while start < end and is_invisible(value[start]):
        start += 1
    while end > start and is_invisible(value[end - 1]):
        end -= 1
    return value[start:end]


def validate_text(field: str, value: object, lo: int, hi: int) -> str:
    """At least `lo` visible characters: text made only of spaces, zero-width or other format
    characters is empty, whichever entrypoint sent it."""
    if not isinstance(value, str) or visible_length(value) < lo:
        raise ValidationError(field, f"must contain at least {lo} visible characters")
    value = strip_invisible(value)
    if len(value) > hi:
        raise ValidationError(field, f"must be at most {hi} characters")
    return value


def validate_purpose(value: object) -> str:
    return validate_text("purpose", value, PURPOSE_MIN, PURPOSE_MAX)


def validate_reason(value: object) -> str:
    return validate_text("reason", value, REASON_MIN, REASON_MAX)


def validate_priority(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError("priority", "must be a whole number")
    if not PRIORITY_MIN <= value <= PRIORITY_MAX:
        raise ValidationError("priority", f"must be between {PRIORITY_MIN} and {PRIORITY_MAX}")
    return value


def within_operating_hours(start: datetime, end: datetime, opens: time | None,
                           closes: time | None, tz: ZoneInfo) -> bool:
    """True when [start, end) lies inside one day's opening hours in the site's time zone.

    A resource with no hours set is always open.
    """
    if opens is None or closes is None:
        return True
    local_start, local_end = start.astimezone(tz), end.astimezone(tz)
    day = local_start.date()
    day_open = datetime.combine(day, opens, tz)
    day_close = datetime.combine(day, closes, tz)
    return day_open <= local_start and local_end <= day_close


def local_midnight_utc(day: date, tz: ZoneInfo) -> datetime:
    """The start of `day` in the site zone `tz`, as UTC."""
    return datetime.combine(day, time(0), tz).astimezone(UTC)


def local_day_utc(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[00:00, next 00:00) of `day` in the site zone, as UTC: 23 or 25 hours on the days
    daylight saving time changes."""
    return local_midnight_utc(day, tz), local_midnight_utc(day + timedelta(days=1), tz)


def day_window(day: date, opens: time | None, closes: time | None, tz: ZoneInfo
               ) -> tuple[datetime, datetime]:
    """A resource's bookable window on one local day, as UTC (the whole day when it has no
    operating hours)."""
    if opens is None or closes is None:
        return local_day_utc(day, tz)
    return (datetime.combine(day, opens, tz).astimezone(UTC),
            datetime.combine(day, closes, tz).astimezone(UTC))


def opening_intervals(opens: time | None, closes: time | None, tz: ZoneInfo,
                      start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """The resource's open intervals (UTC) that meet [start, end), day by day in the site zone."""
    if opens is None or closes is None:
        return [(start, end)]
    out = []
    day = start.astimezone(tz).date() - timedelta(days=1)
    last = end.astimezone(tz).date()
    while day <= last:
        o, c = day_window(day, opens, closes, tz)
        s, e = max(o, start), min(c, end)
        if s < e:
            out.append((s, e))
        day += timedelta(days=1)
    return out


def _fmt(d: timedelta) -> str:
    minutes = int(d.total_seconds() // 60)
    return f"{minutes // 60} hours" if minutes % 60 == 0 and minutes >= 60 else f"{minutes} minutes"
