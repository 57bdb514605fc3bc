"""Reports for managers: utilization, conflict and approval rates, turnaround, daily bookings.

Every figure comes from engine.services.reporting (aggregated in SQL); the page only draws it.
The figures and charts are cached per user, inputs and data version (report_charts.report_view):
a rerun or a second visit with nothing changed draws without a query beyond the version check.
"""
from __future__ import annotations

from datetime import timedelta

import streamlit as st

from dashboard import ui
from dashboard.report_charts import report_view
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
    db = ui.database()
    view = report_view(db, db.url, str(uid), services.report_version(db.uow(), uid), start, end,
                       period, group_by)
except DomainError as exc:
    ui.show_error(exc)
    st.stop()
figures = view.figures


def hours(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} h"


total, approvals = figures.overall, figures.approvals
m1, m2, m3, m4 = st.columns(4)
m1.metric("Decisions in range", total.decided if total else 0)
m2.metric("Median turnaround", hours(total.p50_hours if total else None))
m3.metric("90th percentile turnaround", hours(total.p90_hours if total else None))
m4.metric(f"Approval rate, latest {period}",
          f"{approvals[-1].rate:.0%}" if approvals and approvals[-1].denominator else "—")


def chart(key: str) -> None:
    st.vega_lite_chart(view.specs[key], width="stretch", key=key)


def download(name: str) -> None:
    st.download_button(f"CSV: {name}", view.csv[name],
                       file_name=f"{name}-{start:%Y%m%d}-{end:%Y%m%d}.csv", mime="text/csv",
                       icon=":material/download:", key=f"rp_csv_{name}")


# Lazy tabs: only the open tab's chart is sent and drawn (each Vega chart costs the browser
# a few hundred ms on a busy machine); switching tabs reruns from the cache.
TABS = ["Utilization", "Conflict and approval rates", "Approval turnaround", "Bookings per day"]
util_tab, rates_tab, turnaround_tab, daily_tab = st.tabs(TABS, key="rp_tab", on_change="rerun")
with util_tab:
    if util_tab.open:
        st.subheader(f"Utilization per {group_by} and {period}")
        if view.grid is not None:
            chart("rp_util")
            download("utilization")
        else:
            st.info("No utilization in this range.")
with rates_tab:
    if rates_tab.open:
        st.subheader("Conflict and approval rates")
        chart("rp_rates")
        download("conflict-rate")
        download("approval-rate")
with turnaround_tab:
    if turnaround_tab.open:
        st.subheader("Approval turnaround (hours from request to first decision)")
        chart("rp_turnaround")
        download("turnaround")
with daily_tab:
    if daily_tab.open:
        st.subheader("Bookings per day, by status (day the booking starts)")
        chart("rp_daily")
        download("bookings-per-day")
