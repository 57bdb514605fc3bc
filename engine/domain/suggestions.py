"""Nearest free windows: pure arithmetic on intervals, used by `suggest_alternatives`."""
from __future__ import annotations

from datetime import datetime, timedelta

from engine.domain.overlap import subtract_intervals


def nearest_free_windows(
    desired_start: datetime,
    duration: timedelta,
    open_intervals: list[tuple[datetime, datetime]],
    busy: list[tuple[datetime, datetime]],
    *,
    not_before: datetime,
    limit: int = 5,
    step: timedelta = timedelta(minutes=15),
) -> list[tuple[datetime, datetime]]:
    """Up to `limit` windows of `duration`, free of `busy`, inside `open_intervals`, nearest first.

    Each free gap offers at most one window: the start inside it closest to `desired_start`
    (rounded to `step` from the gap's start, so suggestions land on clean times).
    """
    candidates: list[tuple[timedelta, datetime]] = []
    for gap_start, gap_end in subtract_intervals(open_intervals, busy):
        gap_start = max(gap_start, not_before)
        if gap_end - gap_start < duration:
            continue
        latest = gap_end - duration
        if desired_start <= gap_start:
            start = gap_start
        elif desired_start >= latest:
            start = latest
        else:
            steps = round((desired_start - gap_start) / step)
            start = min(gap_start + steps * step, latest)
        candidates.append((abs(start - desired_start), start))
    candidates.sort()
    return [(s, s + duration) for _, s in candidates[:limit]]
