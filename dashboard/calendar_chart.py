"""The calendar's figures (what a click or a drag on them means: dashboard/calendar_picks.py).

Figures are plain plotly dicts wrapped without validation: the page redraws on every rerun,
and plotly's per-property validation (and plotly.express) cost most of a run. Nothing here
reads or writes Streamlit state, so an event's meaning is tested with plain dicts.
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from dashboard import ui

NOW_COLOUR = "#d62828"
COLUMNS = ["Resource", "Start", "End", "Status", "What", "Who", "Priority", "Series", "Ref",
           "Id", "Kind"]


def naive(dt: datetime) -> datetime:
    """Site-local wall time without a zone: what the chart's date axis shows."""
    return ui.local(dt).replace(tzinfo=None)


def entries(cal) -> list[dict[str, Any]]:
    """Bookings and blackouts as rows, times naive in the site's zone."""
    names = {r.id: r.name for r in cal.resources}

    rows = [{"Resource": names[b.resource_id], "Start": naive(b.start_time),
             "End": naive(b.end_time), "Status": b.status,
             "What": b.purpose or ("Your booking" if b.own else "Booked"),
             "Who": b.requester_name or "", "Priority": b.priority,
             "Series": ui.SERIES_MARK if b.series_id else "", "Ref": ui.short_id(b.booking_id),
             "Id": str(b.booking_id), "Kind": "booking"} for b in cal.bars]
    rows += [{"Resource": names[x.resource_id], "Start": naive(x.start_time),
              "End": naive(x.end_time), "Status": "blackout", "What": x.reason, "Who": "",
              "Priority": None, "Series": "", "Ref": "", "Id": "", "Kind": "blackout"}
             for x in cal.blackouts]
    return rows


def listing(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The same entries as a table, earliest first, without the internal columns."""
    frame = pd.DataFrame(rows, columns=COLUMNS).sort_values("Start")
    for col in ("Start", "End"):
        frame[col] = [f"{t:%a %d %b %H:%M}" for t in frame[col]]
    return frame.drop(columns=["Id", "Kind"])


def figure(spec: dict[str, Any]) -> go.Figure:
    """A Figure around a spec we built ourselves; tests build the same spec validated."""
    return go.Figure(spec, _validate=False)


def _free_slots(cal, rows, lo: datetime, hi: datetime, step: timedelta) -> dict[str, Any]:
    """An invisible bar over each free slot of each resource: clicking it starts a booking
    there. Bars, not markers: the one under the pointer wins a click, where a marker next
    to a booking would take clicks meant for it. Slots anything overlaps get none."""
    n = max(1, math.ceil((hi - lo) / step))
    taken = {r.name: bytearray(n) for r in cal.resources}
    for row in rows:
        first = max(0, int((row["Start"] - lo) // step))
        last = min(n, math.ceil((row["End"] - lo) / step))
        taken[row["Resource"]][first:last] = b"\x01" * max(0, last - first)
    # Strings, not datetimes: plotly and Streamlit deep-copy the figure, and copying a
    # datetime costs twenty times a string's.
    base: list[str] = []
    ys: list[str] = []
    data: list[list[str]] = []
    for r in cal.resources:
        busy, rid = taken[r.name], str(r.id)
        for i in range(n):
            if not busy[i]:
                at = lo + i * step
                base.append(at.isoformat())
                ys.append(r.name)
                data.append(["slot", rid, at.isoformat(), f"{at:%a %d %b %H:%M}"])
    return {"type": "bar", "orientation": "h", "name": "free slot", "showlegend": False,
            "y": ys, "base": base, "x": [step / timedelta(milliseconds=1)] * len(ys),
            "customdata": data, "marker": {"color": "rgba(0,0,0,0)"},
            "hovertemplate": "Book %{y} at %{customdata[3]}<extra></extra>"}


def _span(row: dict[str, Any]) -> str:
    start, end = row["Start"], row["End"]
    same_day = end.date() == start.date()
    return f"{start:%a %d %b %H:%M} – {end:{'%H:%M' if same_day else '%a %d %b %H:%M'}}"


def _bars(rows) -> list[dict[str, Any]]:
    """One horizontal bar trace per status (so the legend names them), series hatched."""
    by_status: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_status.setdefault(row["Status"], []).append(row)
    traces = []
    for status, group in by_status.items():
        traces.append({
            "type": "bar", "orientation": "h", "name": status, "legendgroup": status,
            "y": [g["Resource"] for g in group],
            "base": [g["Start"].isoformat() for g in group],
            "x": [(g["End"] - g["Start"]) / timedelta(milliseconds=1) for g in group],
            "customdata": [[g["Kind"], g["Id"], g["Ref"], g["What"], g["Who"], _span(g),
                            "" if g["Priority"] is None else f"priority {g['Priority']}",
                            g["Series"]] for g in group],
            "marker": {"color": ui.STATUS_COLOURS.get(status, "#888"), "line": {"width": 0},
                       "pattern": {"shape": ["/" if g["Series"] else "" for g in group]}},
            "opacity": 0.9,
            "hovertemplate": ("<b>%{customdata[3]}</b><br>%{y} · " + status
                              + "<br>%{customdata[5]}<br>%{customdata[4]} %{customdata[6]} "
                              "%{customdata[7]}<extra></extra>"),
        })
    return traces


def now_marks(now: datetime, lo: datetime, hi: datetime) -> tuple[list, list]:
    """The "now" line, floored to 5 minutes: the chart's identity includes its figure, so a
    line that moved every second would drop the click the rerun is carrying."""
    now = now.replace(minute=now.minute - now.minute % 5, second=0, microsecond=0)
    if not lo <= now < hi:
        return [], []
    shape = {"type": "line", "x0": now, "x1": now, "xref": "x", "y0": 0, "y1": 1,
             "yref": "paper", "line": {"color": NOW_COLOUR, "width": 2}}
    # Inside the plot, right of the line: above it the date labels (upright on a phone) sit.
    note = {"x": now, "y": 1, "xref": "x", "yref": "paper", "text": "now", "showarrow": False,
            "font": {"color": NOW_COLOUR}, "yanchor": "top", "xanchor": "left",
            "bgcolor": "rgba(255,255,255,0.7)"}
    return [shape], [note]


def timeline(cal, rows, view: str, lo: datetime, hi: datetime, now: datetime
             ) -> dict[str, Any]:
    """Resources as rows, bookings as bars. Axes are fixed: a drag selects (in drag mode)
    and never zooms or pans."""
    order = [r.name for r in cal.resources]
    step = timedelta(hours=1) if view == "Day" else timedelta(hours=3)
    shapes, notes = now_marks(now, lo, hi)
    return {
        "data": [_free_slots(cal, rows, lo, hi, step), *_bars(rows)],
        "layout": {
            # Dates on top, where they stay in sight of the first rows; the legend below.
            "height": 130 + 34 * len(order), "margin": {"l": 10, "r": 10, "t": 50, "b": 10},
            "legend": {"orientation": "h", "y": -0.01, "yanchor": "top", "x": 0,
                       "title": {"text": ""}},
            "bargap": 0.25, "barmode": "overlay", "shapes": shapes, "annotations": notes,
            # A drag selects the rectangle drawn; by default a flat drag selects the full
            # height, which would lose the row it was drawn across.
            "selectdirection": "d",
            "yaxis": {"type": "category", "categoryorder": "array",
                      "categoryarray": list(reversed(order)), "title": {"text": ""},
                      "fixedrange": True},
            "xaxis": {"type": "date", "range": [lo, hi], "title": {"text": ""}, "side": "top",
                      "showgrid": True, "fixedrange": True,
                      "dtick": 3600000 * (2 if view == "Day" else 24),
                      "tickformat": "%H:%M" if view == "Day" else "%a %d %b"},
        },
    }


def month_grid(cal, rows, lo: datetime, hi: datetime) -> dict[str, Any]:
    """Bookings per day per resource, a day a row and a resource a column: 31 day columns
    turned into slivers on a phone, while a column per resource stays wide enough."""
    days = [lo.date() + timedelta(days=i) for i in range((hi - lo).days)]
    order = [r.name for r in cal.resources]
    index = {name: i for i, name in enumerate(order)}
    counts = [[0] * len(order) for _ in days]
    first = days[0]
    for row in rows:
        if row["Kind"] != "booking":
            continue
        # Half-open: a booking ending at 00:00 does not count on that day.
        end = row["End"] - timedelta(microseconds=1)
        d0 = max(0, (row["Start"].date() - first).days)
        d1 = min(len(days) - 1, (end.date() - first).days)
        for d in range(d0, d1 + 1):
            counts[d][index[row["Resource"]]] += 1
    labels = [f"{d:%a %d %b}" for d in days]
    return {
        "data": [{
            "type": "heatmap", "z": counts, "x": order, "y": labels,
            "text": [[str(n) if n else "" for n in line] for line in counts],
            "texttemplate": "%{text}", "colorscale": [[0, "#f4f6f8"], [1, "#2e933c"]],
            "showscale": False, "xgap": 2, "ygap": 2,
            "customdata": [[["day", d.isoformat()]] * len(order) for d in days],
            "hovertemplate": "%{x}, %{y}: %{z} booking(s) — click to open the day"
                             "<extra></extra>"}],
        "layout": {"height": 160 + 26 * len(days),
                   "margin": {"l": 10, "r": 10, "t": 10, "b": 10},
                   "yaxis": {"autorange": "reversed", "title": {"text": ""},
                             "fixedrange": True, "type": "category"},
                   "xaxis": {"side": "top", "title": {"text": ""}, "fixedrange": True,
                             "type": "category", "tickangle": -60, "automargin": True,
                             "dtick": 1, "tickfont": {"size": 11}}},
    }
