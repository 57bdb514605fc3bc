"""Reports for managers: utilization, conflict and approval rates, turnaround, daily bookings.

Every figure comes from engine.services.reporting (aggregated in SQL); the page only draws it.
"""
from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import ui
from dashboard.report_charts import period_label, utilization_figure, utilization_grid
from engine import services
from engine.analytics import GroupBy, Period
from engine.errors import DomainError

ui.page_header("Reports", "Periods follow the site's time zone; the range includes the first "
                          "day and excludes the last.")
uid = ui.user_id()
c1, c2, c3, c4 = st.columns(4)
start = c1.date_input("From", value=ui.today() - timedelta(days=84), key="rp_from",
                      format="DD/MM/YYYY")
end = c2.date_input("To (exclusive)", value=ui.today() + timedelta(days=1), key="rp_to",
                    format="DD/MM/YYYY")
periods: list[Period] = ["day", "week", "month"]
groupings: list[GroupBy] = ["resource", "type", "zone"]
period = c3.segmented_control("Period", periods, default="week", key="rp_period") or "week"
group_by = c4.selectbox("Utilization by", groupings, key="rp_group")

try:
    util = services.utilization(ui.uow(), uid, start=start, end=end, group_by=group_by,
                                period=period)
    conflicts = services.conflict_rate(ui.uow(), uid, start=start, end=end, period=period)
    approvals = services.approval_rate(ui.uow(), uid, start=start, end=end, period=period)
    turnaround = services.approval_turnaround(ui.uow(), uid, start=start, end=end,
                                              period=period)
    overall = services.approval_turnaround(ui.uow(), uid, start=start, end=end, period=None)
    daily = services.bookings_per_day(ui.uow(), uid, start=start, end=end)
except DomainError as exc:
    ui.show_error(exc)
    st.stop()


def hours(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} h"


total = overall[0] if overall else None
m1, m2, m3, m4 = st.columns(4)
m1.metric("Decisions in range", total.decided if total else 0)
m2.metric("Median turnaround", hours(total.p50_hours if total else None))
m3.metric("90th percentile turnaround", hours(total.p90_hours if total else None))
m4.metric(f"Approval rate, latest {period}",
          f"{approvals[-1].rate:.0%}" if approvals and approvals[-1].denominator else "—")


def layout(fig: go.Figure, height: int = 320, percent: bool = False) -> go.Figure:
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=10, b=10),
                      legend=dict(orientation="h", y=1.1, x=0))
    if percent:
        fig.update_yaxes(tickformat=".0%", range=[0, 1])
    return fig


def download(rows, name: str) -> None:
    st.download_button(f"CSV: {name}", pd.DataFrame([asdict(r) for r in rows]).to_csv(
        index=False).encode(), file_name=f"{name}-{start:%Y%m%d}-{end:%Y%m%d}.csv",
        mime="text/csv", icon=":material/download:", key=f"rp_csv_{name}")


with st.container(border=True):
    st.subheader(f"Utilization per {group_by} and {period}")
    if util:
        grid = utilization_grid(util, period, group_by)
        st.plotly_chart(layout(utilization_figure(grid), 160 + 24 * len(grid.y)),
                        width="stretch", key="rp_util")
        download(util, "utilization")
    else:
        st.info("No utilization in this range.")



def axis(rows) -> list[str]:
    """The rows' periods as axis categories ("Sep 2026"): each point under its own period."""
    return [period_label(r.period_start, period) for r in rows]


left, right = st.columns(2)
with left, st.container(border=True):
    st.subheader("Conflict and approval rates")
    fig = go.Figure()
    fig.add_scatter(x=axis(conflicts), y=[r.rate for r in conflicts],
                    name="Requests that met a conflict", mode="lines+markers")
    fig.add_scatter(x=axis(approvals), y=[r.rate for r in approvals],
                    name="Decisions that approved", mode="lines+markers")
    st.plotly_chart(layout(fig, percent=True), width="stretch", key="rp_rates")
    download(conflicts, "conflict-rate")
    download(approvals, "approval-rate")
with right, st.container(border=True):
    st.subheader("Approval turnaround")
    fig = go.Figure()
    fig.add_bar(x=axis(turnaround), y=[r.p50_hours for r in turnaround], name="Median (h)")
    fig.add_scatter(x=axis(turnaround), y=[r.p90_hours for r in turnaround],
                    name="90th percentile (h)", mode="lines+markers")
    st.plotly_chart(layout(fig), width="stretch", key="rp_turnaround")
    download(turnaround, "turnaround")

with st.container(border=True):
    st.subheader("Bookings per day, by status (day the booking starts)")
    fig = go.Figure()
    for status in ui.STATUSES:
        rows = [r for r in daily if r.status == status]
        if rows:
            fig.add_bar(x=[r.day for r in rows], y=[r.count for r in rows], name=status,
                        marker_color=ui.STATUS_COLOURS[status])
    fig.update_layout(barmode="stack")
    st.plotly_chart(layout(fig), width="stretch", key="rp_daily")
    download(daily, "bookings-per-day")
