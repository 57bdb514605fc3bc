"""Calendar: resources as rows, bookings as bars coloured by status, blackouts shown.

Click an empty slot, or drag along a row, to start a booking there (the booking form opens
prefilled); click a bar to open that booking. Day and week views mark "now"; the month view
counts bookings per day per resource (in SQL), and clicking a day opens it.
Figures live in dashboard/calendar_chart.py, the meaning of a click or drag in
dashboard/calendar_picks.py.
"""
from __future__ import annotations

from datetime import timedelta

import streamlit as st

from dashboard import calendar_chart as chart
from dashboard import calendar_picks as picks
from dashboard import ui
from engine import services
from engine.errors import DomainError

ANY = "Any"
SPANS = {"Day": 1, "Week": 7, "Month": 31}
GOTO_KEY = "cal_goto"
OPEN_KEY = "cal_open"
LIST_KEY = "cal_list"
#: Shown on the booking form when a dragged window had to be cut (the form holds one day).
NOTE_KEY = "nb_notice"


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


def redraw_chart() -> None:
    """A fresh chart key: the old selection (a click or a box) is forgotten."""
    st.session_state["cal_chart_n"] = st.session_state.get("cal_chart_n", 0) + 1


def act(pick: picks.Pick | None) -> None:
    """Do what a click or drag asked: open the prefilled form, a booking, or a day."""
    if isinstance(pick, picks.Book):
        st.session_state.pop("nb_sent", None)
        if pick.note:
            st.session_state[NOTE_KEY] = pick.note
        st.session_state.update({"nb_type": ANY, "nb_zone": ANY, "nb_resource": pick.resource_id,
                                 "nb_date": pick.start.date(), "nb_start": pick.start.time(),
                                 "nb_end": pick.end.time()})
        st.switch_page("views/new_booking.py")
    elif isinstance(pick, picks.Open):
        st.session_state[OPEN_KEY] = pick.booking_id
    elif isinstance(pick, picks.GoToDay):
        st.session_state[GOTO_KEY] = ("Day", pick.day)
        redraw_chart()
        st.rerun()
    elif isinstance(pick, picks.Refuse):
        st.warning(pick.message, icon=":material/swipe:")


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
            redraw_chart()
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
    ui.page_header("Calendar", "Click an empty slot to book it or drag along a row to book that "
                               "window; click a bar to open it. Bars are coloured by status; "
                               "dark bars are blackouts.")
    apply_goto()
    uid = ui.user_id()
    view, anchor, rtype, zone_id, statuses = read_filters(uid)
    start = ui.day_start(anchor)
    end = ui.day_start(anchor + timedelta(days=SPANS[view]))
    month = view == "Month"
    # Day starts in the site's zone (a DST day is 23 or 25 hours): the month's counted days.
    bounds = ([ui.day_start(anchor + timedelta(days=i)) for i in range(SPANS[view] + 1)]
              if month else None)

    def fetch(page_no: int):
        return services.calendar_view(ui.uow(), uid, window_start=start, window_end=end,
                                      resource_type=rtype, safety_zone_id=zone_id,
                                      statuses=tuple(statuses or ()), page=page_no,
                                      resources_per_page=20, day_bounds=bounds)

    cal = ui.attempt(lambda: ui.paged(fetch, "cal_page"))
    if cal is None:
        return
    if not cal.resources:
        st.info("No active resources match these filters.")
        return
    rows = chart.entries(cal)
    lo, hi = chart.naive(start), chart.naive(end)
    spec = (chart.month_grid(cal, lo, hi) if month
            else chart.timeline(cal, rows, view, lo, hi, chart.naive(ui.now())))
    event = st.vega_lite_chart(spec=spec, width="stretch", on_select="rerun",
                               key=f"cal_chart_{st.session_state.get('cal_chart_n', 0)}")
    act(picks.read_event(event, [(r.name, str(r.id)) for r in cal.resources]))
    booking_card(uid)
    if cal.truncated:
        st.warning("Only the first bookings are drawn: narrow the window or filters to see all.")
    ui.pager(cal, "cal_page")
    st.caption(f"{ui.fmt(start)} – {ui.fmt(end)} · resources "
               f"{(cal.page - 1) * cal.page_size + 1}–"
               f"{(cal.page - 1) * cal.page_size + len(cal.resources)} of {cal.total_resources}")
    if not month:
        # Built only when opened: the table's grid was a good part of a first open's browser time.
        # A fixed label: a label that changes makes it a new, closed, expander.
        listing = st.expander("As a list", key=LIST_KEY, on_change="rerun")
        if listing.open:
            with listing:
                st.caption(f"{len(rows)} entries")
                st.dataframe(chart.listing(rows), hide_index=True, width="stretch")


main()
