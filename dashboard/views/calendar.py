"""Calendar: resources as rows, bookings as bars coloured by status, blackouts shown."""
from __future__ import annotations

from datetime import timedelta

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from dashboard import ui
from engine import services
from engine.services.calendar import calendar

ANY = "Any"
SPANS = {"Day": 1, "Week": 7, "Month": 31}

ui.page_header("Calendar", "Who has what, when. Bars are coloured by status; dark bars are "
                           "blackouts.")
uid = ui.user_id()
types = services.list_resource_types(ui.uow(), uid)
zones = {z.name: z.id for z in services.list_zones(ui.uow(), uid)}

c1, c2, c3, c4 = st.columns([1.2, 1, 1, 1])
view = c1.segmented_control("View", list(SPANS), default="Week", key="cal_view") or "Week"
anchor = c2.date_input("From", value=ui.today(), key="cal_from", format="DD/MM/YYYY")
rtype = c3.selectbox("Resource type", [ANY, *types], key="cal_type")
zone = c4.selectbox("Safety zone", [ANY, *zones], key="cal_zone")
statuses = st.pills("Show", ui.STATUSES, selection_mode="multi", default=["pending", "approved"],
                    key="cal_status")
if view == "Week":
    anchor = anchor - timedelta(days=anchor.weekday())
start = ui.day_start(anchor)
end = ui.day_start(anchor + timedelta(days=SPANS[view]))


def fetch(page_no: int):
    return calendar(ui.uow(), uid, window_start=start, window_end=end,
                    resource_type=None if rtype == ANY else rtype,
                    safety_zone_id=zones.get(zone), statuses=tuple(statuses or ()),
                    page=page_no, resources_per_page=20)


cal = ui.attempt(lambda: ui.paged(fetch, "cal_page"))
if cal is None:
    st.stop()
if not cal.resources:
    st.info("No active resources match these filters.")
    st.stop()

names = {r.id: r.name for r in cal.resources}
rows = [{"Resource": names[b.resource_id], "Start": ui.local(b.start_time).replace(tzinfo=None),
         "End": ui.local(b.end_time).replace(tzinfo=None), "Status": b.status,
         "What": b.purpose or ("Your booking" if b.own else "Booked"),
         "Who": b.requester_name or "", "Priority": b.priority,
         "Series": ui.SERIES_MARK if b.series_id else ""} for b in cal.bars]
rows += [{"Resource": names[x.resource_id], "Start": ui.local(x.start_time).replace(tzinfo=None),
          "End": ui.local(x.end_time).replace(tzinfo=None), "Status": "blackout",
          "What": x.reason, "Who": "", "Priority": None, "Series": ""} for x in cal.blackouts]
frame = pd.DataFrame(rows, columns=["Resource", "Start", "End", "Status", "What", "Who",
                                    "Priority", "Series"])
order = [r.name for r in cal.resources]
lo, hi = start.replace(tzinfo=None), end.replace(tzinfo=None)
if frame.empty:
    fig = go.Figure()
else:
    fig = px.timeline(frame, x_start="Start", x_end="End", y="Resource", color="Status",
                      color_discrete_map=ui.STATUS_COLOURS, hover_name="What",
                      # occurrences of a recurring series are hatched
                      pattern_shape="Series", pattern_shape_map={ui.SERIES_MARK: "/", "": ""},
                      hover_data={"Who": True, "Priority": True, "Status": True,
                                  "Series": True, "Resource": False})
    fig.update_traces(marker_line_width=0, opacity=0.9)
fig.add_trace(go.Scatter(x=[lo] * len(order), y=order, mode="markers", marker_opacity=0,
                         showlegend=False, hoverinfo="skip"))
fig.update_yaxes(categoryorder="array", categoryarray=list(reversed(order)), title=None)
fig.update_xaxes(range=[lo, hi], title=None, showgrid=True,
                 dtick=3600000 * (2 if view == "Day" else 24),
                 tickformat="%H:%M" if view == "Day" else "%a %d %b")
fig.update_layout(height=120 + 34 * len(order), margin=dict(l=10, r=10, t=30, b=10),
                  legend=dict(orientation="h", y=1.02, x=0, title=None), bargap=0.25)
st.plotly_chart(fig, width="stretch", key="cal_chart")
if cal.truncated:
    st.warning("Only the first bookings are drawn: narrow the window or filters to see all.")
ui.pager(cal, "cal_page")
st.caption(f"{ui.fmt(start)} – {ui.fmt(end)} · resources {(cal.page - 1) * cal.page_size + 1}–"
           f"{(cal.page - 1) * cal.page_size + len(cal.resources)} of {cal.total_resources}")
with st.expander(f"As a list ({len(frame)} entries)"):
    listing = frame.sort_values("Start").assign(
        Start=lambda f: f["Start"].dt.strftime("%a %d %b %H:%M"),
        End=lambda f: f["End"].dt.strftime("%a %d %b %H:%M"))
    st.dataframe(listing, hide_index=True, width="stretch")
