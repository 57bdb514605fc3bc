"""Calendar: resources as rows, bookings as bars coloured by status, blackouts shown.

Click an empty slot to start a booking there (the booking form opens prefilled); click a bar
to open that booking. Day and week views mark "now"; the month view counts bookings per day
per resource, and clicking a day opens it.
"""
from __future__ import annotations

from datetime import datetime, time, timedelta

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from dashboard import ui
from engine import services
from engine.errors import DomainError

ANY = "Any"
SPANS = {"Day": 1, "Week": 7, "Month": 31}
GOTO_KEY = "cal_goto"
OPEN_KEY = "cal_open"
#: Chart config: no toolbar, and nothing loaded from the internet (no MathJax, no logo link).
CHART_CONFIG = {"displayModeBar": False, "displaylogo": False}


def apply_goto() -> None:
    """A click on a month cell asks for that day; widget keys may only change before the
    widgets are drawn, so it is applied at the top of the next run."""
    goto = st.session_state.pop(GOTO_KEY, None)
    if goto:
        st.session_state["cal_view"], st.session_state["cal_from"] = goto


def read_filters(uid):
    types = services.list_resource_types(ui.uow(), uid)
    zones = {z.name: z.id for z in services.list_zones(ui.uow(), uid)}
    c1, c2, c3, c4 = st.columns([1.2, 1, 1, 1])
    view = c1.segmented_control("View", list(SPANS), default="Week", key="cal_view") or "Week"
    anchor = c2.date_input("From", value=ui.today(), key="cal_from", format="DD/MM/YYYY")
    rtype = c3.selectbox("Resource type", [ANY, *types], key="cal_type")
    zone = c4.selectbox("Safety zone", [ANY, *zones], key="cal_zone")
    statuses = st.pills("Show", ui.STATUSES, selection_mode="multi",
                        default=["pending", "approved"], key="cal_status")
    if view == "Week":
        anchor = anchor - timedelta(days=anchor.weekday())
    return view, anchor, (None if rtype == ANY else rtype), zones.get(zone), statuses


def naive(dt: datetime) -> datetime:
    return ui.local(dt).replace(tzinfo=None)


def entries(cal) -> pd.DataFrame:
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
    return pd.DataFrame(rows, columns=["Resource", "Start", "End", "Status", "What", "Who",
                                       "Priority", "Series", "Ref", "Id", "Kind"])


def slot_trace(cal, frame: pd.DataFrame, lo: datetime, hi: datetime,
               step: timedelta) -> go.Scatter:
    """Invisible, clickable points, one per free slot of each resource: a click there starts
    a booking (slots that anything overlaps get none, so clicks there reach the bar)."""
    taken: dict[str, list[tuple[datetime, datetime]]] = {}
    for row in frame.itertuples():
        taken.setdefault(row.Resource, []).append((row.Start, row.End))
    xs, ys, data = [], [], []
    for r in cal.resources:
        at = lo
        while at < hi:
            if not any(s < at + step and at < e for s, e in taken.get(r.name, ())):
                xs.append(at + step / 2)
                ys.append(r.name)
                data.append(["slot", str(r.id), at.isoformat()])
            at += step
    return go.Scatter(x=xs, y=ys, mode="markers", customdata=data, showlegend=False,
                      marker=dict(size=14, opacity=0.01, symbol="square"), name="free slot",
                      hovertemplate="Book %{y} at %{x|%a %d %b %H:%M}<extra></extra>")


def timeline(cal, frame: pd.DataFrame, view: str, lo: datetime, hi: datetime) -> go.Figure:
    order = [r.name for r in cal.resources]
    step = timedelta(hours=1) if view == "Day" else timedelta(hours=3)
    fig = go.Figure()
    fig.add_trace(slot_trace(cal, frame, lo, hi, step))
    if not frame.empty:
        bars = px.timeline(frame, x_start="Start", x_end="End", y="Resource", color="Status",
                           color_discrete_map=ui.STATUS_COLOURS, hover_name="What",
                           # occurrences of a recurring series are hatched
                           pattern_shape="Series",
                           pattern_shape_map={ui.SERIES_MARK: "/", "": ""},
                           custom_data=["Kind", "Id", "Ref"],
                           hover_data={"Who": True, "Priority": True, "Status": True,
                                       "Series": True, "Resource": False, "Kind": False,
                                       "Id": False})
        bars.update_traces(marker_line_width=0, opacity=0.9)
        for trace in bars.data:
            fig.add_trace(trace)
    # Floored to 5 minutes: the chart's identity includes its figure, so a line that moved
    # every second would drop the click that the rerun is carrying.
    now = naive(ui.now())
    now = now.replace(minute=now.minute - now.minute % 5, second=0, microsecond=0)
    if lo <= now < hi:
        fig.add_vline(x=now, line_color="#d62828", line_width=2)
        fig.add_annotation(x=now, y=1, yref="paper", text="now", showarrow=False,
                           font=dict(color="#d62828"), yanchor="bottom")
    fig.update_yaxes(categoryorder="array", categoryarray=list(reversed(order)), title=None,
                     type="category")
    fig.update_xaxes(type="date", range=[lo, hi], title=None, showgrid=True,
                     dtick=3600000 * (2 if view == "Day" else 24),
                     tickformat="%H:%M" if view == "Day" else "%a %d %b")
    fig.update_layout(height=120 + 34 * len(order), margin=dict(l=10, r=10, t=30, b=10),
                      legend=dict(orientation="h", y=1.02, x=0, title=None), bargap=0.25,
                      barmode="overlay")
    return fig


def month_grid(cal, frame: pd.DataFrame, lo: datetime, hi: datetime) -> go.Figure:
    """Bookings per day per resource: a readable month instead of slivers."""
    days = pd.date_range(lo, hi - timedelta(days=1), freq="D")
    order = [r.name for r in cal.resources]
    counts = pd.DataFrame(0, index=order, columns=days)
    for row in frame[frame["Kind"] == "booking"].itertuples():
        day = pd.Timestamp(row.Start.date())
        while day < row.End and day in counts.columns:
            counts.loc[row.Resource, day] += 1
            day += pd.Timedelta(days=1)
    text = counts.map(lambda n: str(n) if n else "")
    fig = go.Figure(go.Heatmap(
        z=counts.values, x=[d.strftime("%a %d") for d in days], y=order, text=text.values,
        texttemplate="%{text}", colorscale=[[0, "#f4f6f8"], [1, "#2e933c"]], showscale=False,
        xgap=2, ygap=2, customdata=[[["day", d.date().isoformat()] for d in days] for _ in order],
        hovertemplate="%{y}, %{x}: %{z} booking(s) — click to open the day<extra></extra>"))
    fig.update_yaxes(autorange="reversed", title=None)
    fig.update_xaxes(side="top", title=None)
    fig.update_layout(height=120 + 30 * len(order), margin=dict(l=10, r=10, t=40, b=10))
    return fig


def start_booking_at(resource_id: str, start: datetime) -> None:
    """Prefill the booking form with this resource and slot, then open it."""
    begin = start.time()
    end = (datetime.combine(start.date(), begin) + timedelta(hours=2))
    end_t = end.time() if end.date() == start.date() else time(23, 45)
    st.session_state.pop("nb_sent", None)
    st.session_state.update({"nb_type": ANY, "nb_zone": ANY, "nb_resource": resource_id,
                             "nb_date": start.date(), "nb_start": begin, "nb_end": end_t})
    st.switch_page("views/new_booking.py")


def handle_pick(event) -> None:
    """What a click on the chart means: a slot, a bar, or a month cell."""
    points = (event or {}).get("selection", {}).get("points", []) if event else []
    for point in points:
        data = point.get("customdata") or []
        if not data:
            continue
        if data[0] == "slot":
            start_booking_at(data[1], datetime.fromisoformat(data[2]))
        elif data[0] == "booking" and data[1]:
            st.session_state[OPEN_KEY] = data[1]
            return
        elif data[0] == "day":
            st.session_state[GOTO_KEY] = ("Day", datetime.fromisoformat(data[1]).date())
            st.session_state["cal_chart_n"] = st.session_state.get("cal_chart_n", 0) + 1
            st.rerun()


def booking_card(uid) -> None:
    """The booking a bar was clicked for; staff get a way to decide a pending one."""
    booking_id = st.session_state.get(OPEN_KEY)
    if not booking_id:
        return
    try:
        b = services.get_booking(ui.uow(), uid, booking_id)
    except DomainError:
        st.session_state.pop(OPEN_KEY, None)
        return
    with st.container(border=True):
        c1, c2 = st.columns([5, 1])
        c1.subheader(f"{b.resource_name} · {ui.fmt_span(b.start_time, b.end_time)}")
        if c2.button("Close", key="cal_close", icon=":material/close:"):
            st.session_state.pop(OPEN_KEY, None)
            st.session_state["cal_chart_n"] = st.session_state.get("cal_chart_n", 0) + 1
            st.rerun()
        st.markdown(f"**{b.requester_name}** · {b.status} · priority {b.priority} · "
                    f"reference `{ui.short_id(b.id)}`  \n_{b.purpose or ''}_")
        if b.decision_reason:
            st.caption(f"Note: {b.decision_reason}")
        if b.status == "pending" and ui.role() in ("staff", "admin"):
            if st.button("Decide in the approval queue", type="primary",
                         icon=":material/fact_check:", key="cal_decide"):
                st.session_state.update({"aq_pick": str(b.id), "aq_past": True})
                st.switch_page("views/approval_queue.py")


def main() -> None:
    ui.page_header("Calendar", "Click an empty slot to book it, a bar to open it. Bars are "
                               "coloured by status; dark bars are blackouts.")
    apply_goto()
    uid = ui.user_id()
    view, anchor, rtype, zone_id, statuses = read_filters(uid)
    start = ui.day_start(anchor)
    end = ui.day_start(anchor + timedelta(days=SPANS[view]))

    def fetch(page_no: int):
        return services.calendar_view(ui.uow(), uid, window_start=start, window_end=end,
                                      resource_type=rtype, safety_zone_id=zone_id,
                                      statuses=tuple(statuses or ()), page=page_no,
                                      resources_per_page=20)

    cal = ui.attempt(lambda: ui.paged(fetch, "cal_page"))
    if cal is None:
        return
    if not cal.resources:
        st.info("No active resources match these filters.")
        return
    frame = entries(cal)
    lo, hi = start.replace(tzinfo=None), end.replace(tzinfo=None)
    fig = month_grid(cal, frame, lo, hi) if view == "Month" else timeline(cal, frame, view, lo, hi)
    event = st.plotly_chart(fig, width="stretch", config=CHART_CONFIG, on_select="rerun",
                            selection_mode="points",
                            key=f"cal_chart_{st.session_state.get('cal_chart_n', 0)}")
    handle_pick(event)
    booking_card(uid)
    if cal.truncated:
        st.warning("Only the first bookings are drawn: narrow the window or filters to see all.")
    ui.pager(cal, "cal_page")
    st.caption(f"{ui.fmt(start)} – {ui.fmt(end)} · resources "
               f"{(cal.page - 1) * cal.page_size + 1}–"
               f"{(cal.page - 1) * cal.page_size + len(cal.resources)} of {cal.total_resources}")
    with st.expander(f"As a list ({len(frame)} entries)"):
        listing = frame.sort_values("Start").assign(
            Start=lambda f: f["Start"].dt.strftime("%a %d %b %H:%M"),
            End=lambda f: f["End"].dt.strftime("%a %d %b %H:%M")).drop(columns=["Id", "Kind"])
        st.dataframe(listing, hide_index=True, width="stretch")


main()
