"""What a click or a drag on the calendar's chart means: book a window, open a booking, show a day.

Nothing here reads or writes Streamlit state, so an event's meaning is tested with plain dicts.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

#: The booking form's time step: a dragged window is rounded out to it.
GRID = timedelta(minutes=15)
#: What a click on a free slot asks for (the form shows it, the member adjusts it).
CLICK_LENGTH = timedelta(hours=2)
#: The last end time the booking form can hold on a day.
LAST_END = time(23, 45)

@dataclass(frozen=True)
class Book:
    """Open the booking form for this resource and local (naive) window."""
    resource_id: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Open:
    """Show this booking's card."""
    booking_id: str


@dataclass(frozen=True)
class GoToDay:
    """Switch to the day view of this date (a month cell was clicked)."""
    day: date


Pick = Book | Open | GoToDay


def _when(value: Any) -> datetime:
    """A date-axis value as plotly reports it: "2026-11-28 09:30:12.5" or epoch ms."""
    if isinstance(value, int | float):
        return datetime(1970, 1, 1) + timedelta(milliseconds=value)
    return datetime.fromisoformat(str(value))


def _floor(t: datetime) -> datetime:
    base = datetime.combine(t.date(), time())
    return base + (t - base) // GRID * GRID


def _ceil(t: datetime) -> datetime:
    down = _floor(t)
    return down if down == t else down + GRID


def window_to_book(resource_id: str, t1: datetime, t2: datetime) -> Book:
    """[t1, t2) rounded out to the form's 15-minute grid, kept on t1's day (the form holds
    one date), at least one step long."""
    start = _floor(min(t1, t2))
    end = max(_ceil(max(t1, t2)), start + GRID)
    last = datetime.combine(start.date(), LAST_END)
    return Book(resource_id, min(start, last - GRID), min(end, last))


def _box_pick(box: dict[str, Any], rows_bottom_up: Sequence[tuple[str, str]]) -> Book | None:
    """A box dragged across a row: the row under its middle, the window it spans."""
    xs, ys = box.get("x") or [], box.get("y") or []
    if len(xs) < 2 or len(ys) < 2 or not rows_bottom_up:
        return None
    # A category axis numbers its rows 0, 1, ... from the bottom.
    row = round((float(ys[0]) + float(ys[1])) / 2)
    if not 0 <= row < len(rows_bottom_up):
        return None
    return window_to_book(rows_bottom_up[row][1], _when(xs[0]), _when(xs[1]))


def read_event(event: Any, rows_bottom_up: Sequence[tuple[str, str]]) -> Pick | None:
    """What the chart's selection asks for. `rows_bottom_up` is (name, resource id) per row,
    bottom row first, as the y axis numbers them. A drawn box wins over the points in it."""
    selection = (event or {}).get("selection") or {}
    for box in selection.get("box") or []:
        pick = _box_pick(box, rows_bottom_up)
        if pick:
            return pick
    if selection.get("box"):
        return None
    for point in selection.get("points") or []:
        data = point.get("customdata") or []
        if not data:
            continue
        if data[0] == "slot":
            start = datetime.fromisoformat(data[2])
            return window_to_book(data[1], start, start + CLICK_LENGTH)
        if data[0] == "booking" and data[1]:
            return Open(data[1])
        if data[0] == "day":
            return GoToDay(date.fromisoformat(data[1]))
    return None
