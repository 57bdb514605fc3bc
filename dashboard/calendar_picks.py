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
    """Open the booking form for this resource and local (naive) window; `note` says how the
    window differs from what was dragged (the form holds one day)."""
    resource_id: str
    start: datetime
    end: datetime
    note: str = ""


@dataclass(frozen=True)
class Open:
    """Show this booking's card."""
    booking_id: str


@dataclass(frozen=True)
class GoToDay:
    """Switch to the day view of this date (a month cell was clicked)."""
    day: date


@dataclass(frozen=True)
class Refuse:
    """A drag that cannot be read as one booking; the message says why and what to do."""
    message: str


Pick = Book | Open | GoToDay | Refuse


def _when(value: Any) -> datetime:
    """A time as the chart reports it: epoch milliseconds of the site's wall time (the chart's
    UTC scale), or the same as an ISO string ("2026-11-28T09:30:12.500Z")."""
    if isinstance(value, int | float):
        return datetime(1970, 1, 1) + timedelta(milliseconds=value)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).replace(tzinfo=None)


def _floor(t: datetime) -> datetime:
    base = datetime.combine(t.date(), time())
    return base + (t - base) // GRID * GRID


def _ceil(t: datetime) -> datetime:
    down = _floor(t)
    return down if down == t else down + GRID


def window_to_book(resource_id: str, t1: datetime, t2: datetime, *, say: bool = True) -> Book:
    """[t1, t2) rounded out to the form's 15-minute grid, kept on the start's day (the form
    holds one date), at least one step long. A window running past that day's 23:45 is cut
    there, and the note says so."""
    start = _floor(min(t1, t2))
    end = max(_ceil(max(t1, t2)), start + GRID)
    last = datetime.combine(start.date(), LAST_END)
    start = min(start, last - GRID)
    if end > last and say:
        return Book(resource_id, start, last,
                    f"The window you dragged ran to {end:%a %d %b %H:%M}; a request covers one "
                    f"day, so this one ends at {last:%H:%M}. Request the rest on "
                    f"{end:%a %d %b} separately.")
    return Book(resource_id, start, min(end, last))


def _drag_pick(drag: dict[str, Any], rows: Sequence[tuple[str, str]]) -> Pick | None:
    """A window dragged along a row. `rows` are (name, resource id), top row first (row i
    spans i-0.5 to i+0.5 on the chart's y scale). A drag across the middles of several rows
    is refused: which one was meant is a guess; a wobble into the next row is not."""
    xs, ys = drag.get("s") or [], drag.get("y0") or []
    if len(xs) < 2 or len(ys) < 2 or not rows:
        return None
    y_lo, y_hi = sorted(float(y) for y in ys)
    # Rows whose middle the drag crossed; a flat drag crosses none: the row it lies in.
    hit = [i for i in range(len(rows)) if y_lo <= i <= y_hi]
    if not hit:
        middle = round((y_lo + y_hi) / 2)
        if not 0 <= middle < len(rows):
            return None
        hit = [middle]
    if len(hit) > 1:
        names = ", ".join(rows[i][0] for i in hit[:4]) + (" …" if len(hit) > 4 else "")
        return Refuse(f"That drag covered {len(hit)} rows ({names}): drag along one "
                      "resource's row to book it.")
    return window_to_book(rows[hit[0]][1], _when(xs[0]), _when(xs[1]))


def read_event(event: Any, rows: Sequence[tuple[str, str]]) -> Pick | None:
    """What the chart's selection asks for: a dragged window ("drag") wins over the click
    ("pick") that ends every drag. `rows` are (name, resource id), top row first."""
    selection = (event or {}).get("selection") or {}
    drag = selection.get("drag") or {}
    if drag:
        return _drag_pick(drag, rows)
    for point in selection.get("pick") or []:
        kind = point.get("k")
        if kind == "slot" and point.get("id"):
            start = _when(point["s"])
            return window_to_book(point["id"], start, start + CLICK_LENGTH, say=False)
        if kind == "booking" and point.get("id"):
            return Open(point["id"])
        if point.get("day"):
            return GoToDay(date.fromisoformat(point["day"]))
    return None
