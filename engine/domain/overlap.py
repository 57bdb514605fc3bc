"""The half-open overlap predicate, written once for Python and once as a SQL expression.

Windows are half-open [start, end): a booking ending at 10:00 does not overlap one starting
at 10:00.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any


def overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    """True when [a_start, a_end) and [b_start, b_end) share at least one instant."""
    return a_start < b_end and b_start < a_end


def overlaps_clause(start_col: Any, end_col: Any, start: Any, end: Any) -> Any:
    """The same predicate as a SQLAlchemy boolean expression over two columns."""
    from sqlalchemy import and_

    return and_(start_col < end, end_col > start)


def merge_intervals(intervals: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """Sorted, non-overlapping union of half-open intervals (touching ones are merged)."""
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def subtract_intervals(
    base: list[tuple[datetime, datetime]], busy: list[tuple[datetime, datetime]]
) -> list[tuple[datetime, datetime]]:
    """The parts of the `base` intervals not covered by any `busy` interval."""
    busy = merge_intervals(busy)
    free: list[tuple[datetime, datetime]] = []
    for b_start, b_end in merge_intervals(base):
        cursor = b_start
        for s, e in busy:
            if e <= cursor or s >= b_end:
                continue
            if s > cursor:
                free.append((cursor, s))
            cursor = max(cursor, e)
            if cursor >= b_end:
                break
        if cursor < b_end:
            free.append((cursor, b_end))
    return free
