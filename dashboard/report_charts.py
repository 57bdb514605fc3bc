"""The Reports page's utilization grid: one cell per group and calendar period.

Periods are categories labelled by the calendar (e.g. "Sep 2026"), so each cell sits under its
own month, week or day however long it is; groups read top to bottom in name order.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import plotly.graph_objects as go

from engine.analytics import NO_ZONE_KEY, GroupBy, Period, UtilizationRow
from reports.definitions import readable


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


def utilization_figure(grid: UtilizationGrid) -> go.Figure:
    """The grid as a heatmap: category axes (one cell per period), first row on top."""
    fig = go.Figure(go.Heatmap(
        x=grid.x, y=grid.y, z=grid.z, zmin=0, zmax=1, colorscale="Greens", xgap=1, ygap=1,
        customdata=grid.hours,
        hovertemplate="%{y}<br>%{x}<br>%{z:.0%} (%{customdata[0]:.1f} of "
                      "%{customdata[1]:.1f} h)<extra></extra>",
        colorbar=dict(tickformat=".0%")))
    fig.update_xaxes(type="category", side="top")
    fig.update_yaxes(type="category", autorange="reversed")
    return fig
