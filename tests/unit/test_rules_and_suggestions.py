"""Request rules and the nearest-free-window arithmetic, without a database."""
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from engine.domain import rules
from engine.domain.suggestions import nearest_free_windows
from engine.errors import ValidationError

NOW = datetime(2030, 1, 7, 6, tzinfo=UTC)
UTC = UTC


def at(day: int, hour: float) -> datetime:
    return datetime(2030, 1, day, tzinfo=UTC) + timedelta(hours=hour)


@pytest.mark.parametrize("start,end,field,fragment", [
    (datetime(2030, 1, 8, 10), at(8, 12), "start_time", "timezone-aware"),
    (at(8, 12), at(8, 10), "end_time", "after start_time"),
    (at(8, 10), at(8, 10), "end_time", "after start_time"),
    (at(8, 10), at(8, 10.1), "end_time", "at least 15 minutes"),
    (at(8, 10), at(9, 11), "end_time", "at most 24 hours"),
    (at(6, 10), at(6, 12), "start_time", "in the past"),
    (at(8, 10) + timedelta(days=400), at(8, 12) + timedelta(days=400), "start_time", "within"),
    ("tomorrow", at(8, 12), "start_time", "date and time"),
])
def test_validate_window_rejects(start, end, field, fragment):
    with pytest.raises(ValidationError) as err:
        rules.validate_window(start, end, NOW)
    assert err.value.field == field and fragment in err.value.rule


def test_validate_window_normalises_to_utc():
    tz = ZoneInfo("Europe/London")
    s, e = rules.validate_window(datetime(2030, 6, 1, 10, tzinfo=tz),
                                 datetime(2030, 6, 1, 12, tzinfo=tz), NOW)
    assert s == datetime(2030, 6, 1, 9, tzinfo=UTC) and e.tzinfo == UTC


@pytest.mark.parametrize("value,ok", [(0, True), (10, True), (-1, False), (11, False),
                                      (True, False), ("3", False), (2.5, False)])
def test_priority_range(value, ok):
    if ok:
        assert rules.validate_priority(value) == value
    else:
        with pytest.raises(ValidationError, match="priority"):
            rules.validate_priority(value)


@pytest.mark.parametrize("value,ok", [("ab", False), ("   abc  ", True), ("x" * 500, True),
                                      ("x" * 501, False), (None, False)])
def test_purpose_length(value, ok):
    if ok:
        assert rules.validate_purpose(value) == value.strip()
    else:
        with pytest.raises(ValidationError, match="purpose"):
            rules.validate_purpose(value)


def test_operating_hours_in_site_zone():
    tz = ZoneInfo("Europe/London")  # BST in June: local 08:00 is 07:00 UTC
    assert rules.within_operating_hours(datetime(2030, 6, 3, 7, tzinfo=UTC),
                                        datetime(2030, 6, 3, 9, tzinfo=UTC), time(8), time(18), tz)
    assert not rules.within_operating_hours(datetime(2030, 6, 3, 6, tzinfo=UTC),
                                            datetime(2030, 6, 3, 8, tzinfo=UTC),
                                            time(8), time(18), tz)
    assert rules.within_operating_hours(at(8, 2), at(8, 23), None, None, tz)


def test_opening_intervals_day_by_day():
    got = rules.opening_intervals(time(8), time(18), ZoneInfo("UTC"), at(8, 0), at(10, 0))
    assert got == [(at(8, 8), at(8, 18)), (at(9, 8), at(9, 18))]


def test_nearest_free_window_prefers_closest_gap():
    open_ = [(at(8, 8), at(8, 18))]
    busy = [(at(8, 10), at(8, 12))]
    got = nearest_free_windows(at(8, 10), timedelta(hours=2), open_, busy, not_before=NOW, limit=3)
    assert got == [(at(8, 8), at(8, 10)), (at(8, 12), at(8, 14))]


def test_nearest_free_window_skips_gaps_too_short_and_the_past():
    open_ = [(at(8, 8), at(8, 18))]
    busy = [(at(8, 9), at(8, 12)), (at(8, 13), at(8, 18))]
    assert nearest_free_windows(at(8, 10), timedelta(hours=2), open_, busy,
                                not_before=NOW) == []
    assert nearest_free_windows(at(8, 10), timedelta(hours=1), open_, [],
                                not_before=at(8, 11)) == [(at(8, 11), at(8, 12))]


def test_nearest_free_window_inside_a_gap_lands_on_the_desired_time():
    got = nearest_free_windows(at(8, 11), timedelta(hours=1), [(at(8, 8), at(8, 18))], [],
                               not_before=NOW, limit=1)
    assert got == [(at(8, 11), at(8, 12))]


@pytest.mark.parametrize("value", [
    "\u200b\u200b\u200b\u200b",            # zero-width spaces (format characters)
    # ideographic/no-break space, word joiner, BOM, ZWJ, soft hyphen
    "\u3000\u00a0\u2060\ufeff\u200d\u00ad",
    "\u3164\u3164\u3164",                  # Hangul filler: shows nothing
    " \t\u2028\u2029 ",                    # whitespace and line/paragraph separators
    "a\u200bb\u200e\u202e",                # two visible characters, padded with invisibles
])
def test_text_made_of_invisible_characters_is_empty(value):
    for check, field in ((rules.validate_purpose, "purpose"), (rules.validate_reason, "reason")):
        with pytest.raises(ValidationError) as err:
            check(value)
        assert err.value.field == field and "visible characters" in str(err.value)


def test_invisible_characters_are_trimmed_from_the_ends_only():
    assert rules.validate_purpose("\u200b Night\u200bshoot \ufeff") == "Night\u200bshoot"
    assert rules.validate_reason("\u00a0ok!\u2060") == "ok!"
