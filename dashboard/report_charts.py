"""The Reports page's charts, as Vega-Lite specs, and the cache that keeps them between runs.

Vega-Lite, not plotly: the browser loads Streamlit's Vega chunk (about 0.8 MB) instead of
plotly.js (4.7 MB), which alone took seconds on a page opened by URL, and a spec is a small dict.
Periods are categories labelled by the calendar (e.g. "Sep 2026"), so each cell sits under its
own month, week or day however long it is; groups read top to bottom in name order.
"""
from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass, fields
from datetime import date
from typing import Any

import streamlit as st

from dashboard.ui import STATUS_COLOURS, STATUSES
from engine import services
from engine.analytics import (
    NO_ZONE_KEY,
    DailyCountRow,
    GroupBy,
    Period,
    RateRow,
    TurnaroundRow,
    UtilizationRow,
)
from engine.db import Database
from engine.services.reporting import ReportFigures
from reports.wording import readable

Spec = dict[str, Any]
TOP_LEGEND = {"orient": "top", "title": None, "labelLimit": 400}


def period_label(start: date | None, period: Period) -> str:
    """How a period is named on the axis: "Sep 2026", "w/c 07 Sep", "Mon 07 Sep"."""
    if start is None:
        return "Whole range"
    if period == "month":
        return f"{start:%b %Y}"
    if period == "week":
        return f"w/c {start:%d %b}"
    return f"{start:%a %d %b}"


def group_label(row: UtilizationRow, group_by: GroupBy) -> str:
    """Resource and zone names as they are; resource types in words ("Training area")."""
    return readable(row.label) if group_by == "type" else row.label


@dataclass(frozen=True)
class UtilizationGrid:
    starts: list[date]  # each column's period, oldest first
    x: list[str]  # the columns' labels
    y: list[str]  # the rows' labels, top to bottom
    z: list[list[float]]  # z[row][column]: booked ÷ bookable
    hours: list[list[tuple[float, float]]]  # [row][column]: (booked, bookable)


def utilization_grid(rows: list[UtilizationRow], period: Period,
                     group_by: GroupBy) -> UtilizationGrid:
    """Rows = groups in name order (case-insensitive; no safety zone last), columns = periods in
    calendar order; a group missing from a period reads 0 of 0 hours."""
    starts = sorted({r.period_start for r in rows if r.period_start is not None})
    keys: dict[str, str] = {}
    for r in rows:
        keys.setdefault(r.group_key, group_label(r, group_by))
    order = sorted(keys, key=lambda k: (k == NO_ZONE_KEY, keys[k].casefold(), k))
    cell = {(r.group_key, r.period_start): r for r in rows}
    z, hours = [], []
    for k in order:
        found = [cell.get((k, s)) for s in starts]
        z.append([c.utilization if c else 0.0 for c in found])
        hours.append([(c.booked_hours, c.bookable_hours) if c else (0.0, 0.0) for c in found])
    return UtilizationGrid(starts, [period_label(s, period) for s in starts],
                           [keys[k] for k in order], z, hours)


def _category(field: str, order: list[str], **axis: Any) -> Spec:
    """A category axis in the given order (never alphabetical: "Dec" before "Nov")."""
    return {"field": field, "type": "ordinal", "sort": order,
            "axis": {"title": None, "labelAngle": 0, "labelOverlap": True, "labelLimit": 240,
                     **axis}}


def utilization_spec(grid: UtilizationGrid) -> Spec:
    """The grid as a heatmap: one cell per group and period, periods on top, first row on top."""
    values = [{"group": g, "period": p, "used": grid.z[i][j], "booked": grid.hours[i][j][0],
               "bookable": grid.hours[i][j][1]}
              for i, g in enumerate(grid.y) for j, p in enumerate(grid.x)]
    return {
        "data": {"values": values},
        "height": 24 * len(grid.y) + 20,
        "mark": {"type": "rect"},
        "encoding": {  # gaps between cells show the page's background, light or dark
            "x": {**_category("period", grid.x, orient="top"), "scale": {"paddingInner": 0.06}},
            "y": {**_category("group", grid.y), "scale": {"paddingInner": 0.08}},
            "color": {"field": "used", "type": "quantitative",
                      "scale": {"domain": [0, 1], "scheme": "greens"},
                      "legend": {"format": ".0%", "title": None}},
            "tooltip": [{"field": "group", "title": "Group"},
                        {"field": "period", "title": "Period"},
                        {"field": "used", "title": "Utilization", "format": ".0%"},
                        {"field": "booked", "title": "Booked h", "format": ".1f"},
                        {"field": "bookable", "title": "Bookable h", "format": ".1f"}]},
    }


def rates_spec(conflicts: list[RateRow], approvals: list[RateRow], period: Period) -> Spec:
    """Conflict and approval rates per period as two lines on a 0-100 % axis."""
    series = (("Requests that met a conflict", conflicts), ("Decisions that approved", approvals))
    values = [{"period": period_label(r.period_start, period), "series": name, "rate": r.rate}
              for name, rows in series for r in rows]
    return {
        "data": {"values": values},
        "height": 300,
        "mark": {"type": "line", "point": True},
        "encoding": {
            "x": _category("period", [period_label(r.period_start, period) for r in conflicts]),
            "y": {"field": "rate", "type": "quantitative", "scale": {"domain": [0, 1]},
                  "axis": {"format": ".0%", "title": None}},
            "color": {"field": "series", "type": "nominal", "legend": TOP_LEGEND,
                      "scale": {"domain": [name for name, _ in series],
                                "range": [STATUS_COLOURS["denied"], STATUS_COLOURS["approved"]]}},
            "tooltip": [{"field": "series", "title": "What"},
                        {"field": "period", "title": "Period"},
                        {"field": "rate", "title": "Rate", "format": ".0%"}]},
    }


def turnaround_spec(rows: list[TurnaroundRow], period: Period) -> Spec:
    """Median turnaround per period as bars, the 90th percentile as a line over them."""
    labels = [period_label(r.period_start, period) for r in rows]
    values = [{"period": label, "series": name, "hours": hours}
              for label, r in zip(labels, rows, strict=True)
              for name, hours in (("Median (h)", r.p50_hours), ("90th percentile (h)",
                                                                 r.p90_hours))
              if hours is not None]
    names = ["Median (h)", "90th percentile (h)"]

    def layer(mark: Spec, name: str) -> Spec:
        return {"transform": [{"filter": {"field": "series", "equal": name}}], "mark": mark}

    return {
        "data": {"values": values},
        "height": 300,
        "encoding": {
            "x": _category("period", labels),
            "y": {"field": "hours", "type": "quantitative", "axis": {"title": None}},
            "color": {"field": "series", "type": "nominal", "legend": TOP_LEGEND,
                      "scale": {"domain": names, "range": ["#4c78a8", STATUS_COLOURS["pending"]]}},
            "tooltip": [{"field": "series", "title": "What"},
                        {"field": "period", "title": "Period"},
                        {"field": "hours", "title": "Hours", "format": ".1f"}]},
        "layer": [layer({"type": "bar"}, names[0]),
                  layer({"type": "line", "point": True}, names[1])],
    }


def daily_spec(daily: list[DailyCountRow]) -> Spec:
    """Bookings per day stacked by status, in the dashboard's status colours."""
    shown = [s for s in STATUSES if any(r.status == s for r in daily)]
    rank = {s: i for i, s in enumerate(STATUSES)}
    values = [{"day": r.day.isoformat(), "status": r.status, "count": r.count,
               "rank": rank.get(r.status, len(rank))} for r in daily]
    return {
        "data": {"values": values},
        "height": 300,
        "mark": {"type": "bar"},
        "encoding": {
            "x": {"field": "day", "type": "temporal", "timeUnit": "yearmonthdate",
                  "axis": {"title": None, "format": "%d %b"}},
            "y": {"field": "count", "type": "quantitative", "stack": "zero",
                  "axis": {"title": None}},
            "color": {"field": "status", "type": "nominal", "legend": TOP_LEGEND,
                      "scale": {"domain": shown,
                                "range": [STATUS_COLOURS[s] for s in shown]}},
            "order": {"field": "rank", "type": "quantitative"},
            "tooltip": [{"field": "day", "type": "temporal", "title": "Day",
                         "format": "%a %d %b %Y"},
                        {"field": "status", "title": "Status"},
                        {"field": "count", "title": "Bookings"}]},
    }


def csv_bytes(rows: list, kind: type) -> bytes:
    """The rows as CSV with a header (dates as ISO 8601), even when there are none."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[f.name for f in fields(kind)])
    writer.writeheader()
    writer.writerows(asdict(r) for r in rows)
    return out.getvalue().encode()


@dataclass(frozen=True)
class ReportView:
    """What the page draws: the engine's figures, the chart specs and the CSV downloads."""

    figures: ReportFigures
    grid: UtilizationGrid | None
    specs: dict[str, Spec]
    csv: dict[str, bytes]


@st.cache_data(max_entries=64, ttl=3600, show_spinner=False)
def report_view(_db: Database, database_url: str, actor_id: str, version: str, start: date,
                end: date, period: Period, group_by: GroupBy) -> ReportView:
    """The page's figures and charts, cached per database, user, data version and inputs.

    The caller fetches `version` (services.report_version, which checks the role) on every
    run: any booking, decision or resource change moves it, so a cached view is never stale,
    and one user never gets a view computed for another. The TTL only bounds memory.
    """
    f = services.report_figures(_db.uow(), actor_id, start=start, end=end, period=period,
                                group_by=group_by)
    grid = utilization_grid(f.utilization, period, group_by) if f.utilization else None
    specs = {"rp_rates": rates_spec(f.conflicts, f.approvals, period),
             "rp_turnaround": turnaround_spec(f.turnaround, period),
             "rp_daily": daily_spec(f.daily)}
    if grid is not None:
        specs["rp_util"] = utilization_spec(grid)
    kinds: dict[str, tuple[list[Any], type]] = {"utilization": (f.utilization, UtilizationRow),
             "conflict-rate": (f.conflicts, RateRow), "approval-rate": (f.approvals, RateRow),
             "turnaround": (f.turnaround, TurnaroundRow),
             "bookings-per-day": (f.daily, DailyCountRow)}
    return ReportView(f, grid, specs, {name: csv_bytes(rows, kind)
                                       for name, (rows, kind) in kinds.items()})
