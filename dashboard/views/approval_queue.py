"""Approval queue: pending requests soonest first, each with its conflicts, and the decisions.

The page lists; the decisions (approve all, approve, deny, reschedule, bump, force override)
live in dashboard/queue_actions.py, one small function each.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import queue_actions, ui
from dashboard.series_views import series_queue_section
from engine import services

ANY = "Any"
PAGE_SIZE = 20


# --- the list ---------------------------------------------------------------------------

def read_filters(uid) -> dict:
    types = services.list_resource_types(ui.uow(), uid)
    zones = {z.name: z.id for z in services.list_zones(ui.uow(), uid)}
    c1, c2, c3, c4 = st.columns([2, 2, 1, 2])
    rtype = c1.selectbox("Resource type", [ANY, *types], key="aq_type")
    zone = c2.selectbox("Safety zone", [ANY, *zones], key="aq_zone")
    per_page = c3.selectbox("Per page", [PAGE_SIZE, 50, 100], key="aq_per_page")
    past = c4.toggle("Include requests whose start has passed", key="aq_past")
    return {"page_size": per_page, "resource_type": None if rtype == ANY else rtype,
            "safety_zone_id": zones.get(zone), "include_past": past}


def conflict_summary(report) -> str:
    hard = [f"{c.resource_name} {'blackout' if c.kind == 'blackout' else f'p{c.priority}'}"
            for c in report.hard]
    text = ("blocked by " + "; ".join(hard)) if hard else "clear"
    return text + (f" · {len(report.soft)} competing" if report.soft else "")


def sign_off_summary(item) -> str:
    """Two-person requests: how many of the two sign-offs are in."""
    if item.sign_off is None:
        return ""
    return f"{2 - item.sign_off.needed}/2 signed"


def sign_off_panel(item) -> None:
    """Who has signed a two-person request and who is still needed; named approvers only."""
    if item.sign_off is not None:
        st.info(f"Two-person approval: {item.sign_off.describe()}.", icon=":material/group:")
    if not item.may_decide:
        st.warning("You are not a named approver for this resource: you can see this request "
                   "but not decide it.", icon=":material/lock:")


def queue_table(queue) -> None:
    st.dataframe(pd.DataFrame([{
        "When": ui.fmt_span(i.booking.start_time, i.booking.end_time),
        "Resource": i.booking.resource_name, "Requested by": i.booking.requester_name,
        "Priority": i.booking.priority, "Conflicts": conflict_summary(i.conflicts),
        "Sign-off": sign_off_summary(i),
        "Purpose": i.booking.purpose, "Ref": ui.short_id(i.booking.id)}
        for i in queue.items]), hide_index=True, width="stretch",
        column_config={"Conflicts": st.column_config.TextColumn(width="large"),
                       "When": st.column_config.TextColumn(width="medium")})


# --- one request: its card, with the action tabs (dashboard/queue_actions.py) -------------

def pick_request(queue):
    items = {str(i.booking.id): i for i in queue.items}
    linked = st.query_params.get("booking")  # a new-request e-mail's link: that request first
    if linked in items and st.session_state.get("aq_linked") != linked:  # once per link
        st.session_state["aq_linked"] = st.session_state["aq_pick"] = linked
    chosen = st.selectbox("Request to decide", list(items), key="aq_pick", format_func=lambda k: (
        f"{ui.fmt(items[k].booking.start_time)} · {items[k].booking.resource_name} · "
        f"{items[k].booking.requester_name} (p{items[k].booking.priority})"))
    return items[chosen]


def decision_card(uid, item) -> None:
    b = item.booking
    with st.container(border=True):
        st.subheader(f"{b.resource_name} · {ui.fmt_span(b.start_time, b.end_time)}")
        st.write(f"**{b.requester_name}** asks for it: _{b.purpose}_ · priority **{b.priority}** "
                 f"· requested {ui.fmt(b.created_at)} · reference `{ui.short_id(b.id)}`")
        if item.conflicts.hard:
            st.error(f"{len(item.conflicts.hard)} conflict(s) stand in the way:",
                     icon=":material/warning:")
            st.dataframe(ui.conflict_frame(item.conflicts.hard), hide_index=True, width="stretch")
        else:
            st.success("No approved booking or blackout stands in the way.",
                       icon=":material/check_circle:")
        if item.conflicts.soft:
            st.info(f"{len(item.conflicts.soft)} other pending request(s) want overlapping time "
                    "(approving this one will make them conflict):")
            st.dataframe(ui.conflict_frame(item.conflicts.soft), hide_index=True, width="stretch")
        sign_off_panel(item)
        queue_actions.action_tabs(uid, item)


def main() -> None:
    ui.page_header("Approval queue", "Pending requests, soonest start first. Approval is refused "
                                     "over approved bookings and blackouts unless you override.")
    ui.flash()
    uid = ui.user_id()
    series_waiting = series_queue_section(uid)  # one row per recurring series, above the rest
    filters = read_filters(uid)
    queue = ui.attempt(lambda: ui.paged(
        lambda n: services.pending_requests(ui.uow(), uid, page=n, **filters), "aq_page"))
    if queue is None:
        return
    if not queue.items:
        queue_actions.RESULT.show()  # the last action emptied the queue: its result shows here
        if series_waiting:
            st.info("No single requests waiting: only the recurring series above.",
                    icon=":material/info:")
        else:
            st.success("Nothing waiting: every request has been decided.",
                       icon=":material/celebration:")
        return
    queue_table(queue)
    ui.pager(queue, "aq_page")
    queue_actions.approve_all(uid, queue)
    decision_card(uid, pick_request(queue))


main()
