"""Approval queue: pending requests soonest first, each with its conflicts, and the decisions."""
from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st

from dashboard import ui
from engine import services
from engine.services.approval_queue import approval_queue, approve_clear

ANY = "Any"
PAGE_SIZE = 20

ui.page_header("Approval queue", "Pending requests, soonest start first. Approval is refused "
                                 "over approved bookings and blackouts unless you override.")
ui.flash()
uid = ui.user_id()
types = services.list_resource_types(ui.uow(), uid)
zones = {z.name: z.id for z in services.list_zones(ui.uow(), uid)}
c1, c2, c3, c4 = st.columns([2, 2, 1, 2])
rtype = c1.selectbox("Resource type", [ANY, *types], key="aq_type")
zone = c2.selectbox("Safety zone", [ANY, *zones], key="aq_zone")
per_page = c3.selectbox("Per page", [PAGE_SIZE, 50, 100], key="aq_per_page")
past = c4.toggle("Include requests whose start has passed", key="aq_past")

queue = ui.attempt(lambda: ui.paged(lambda n: approval_queue(
    ui.uow(), uid, page=n, page_size=per_page, resource_type=None if rtype == ANY else rtype,
    safety_zone_id=zones.get(zone), include_past=past), "aq_page"))
if queue is None:
    st.stop()
if not queue.items:
    st.success("Nothing waiting: every request has been decided.", icon=":material/celebration:")
    st.stop()


def conflict_summary(report) -> str:
    hard = [f"{c.resource_name} {'blackout' if c.kind == 'blackout' else f'p{c.priority}'}"
            for c in report.hard]
    text = ("blocked by " + "; ".join(hard)) if hard else "clear"
    return text + (f" · {len(report.soft)} competing" if report.soft else "")


st.dataframe(pd.DataFrame([{
    "When": ui.fmt_span(i.booking.start_time, i.booking.end_time),
    "Resource": i.booking.resource_name, "Requested by": i.booking.requester_name,
    "Priority": i.booking.priority, "Conflicts": conflict_summary(i.conflicts),
    "Purpose": i.booking.purpose, "Ref": ui.short_id(i.booking.id)}
    for i in queue.items]), hide_index=True, width="stretch",
    column_config={"Conflicts": st.column_config.TextColumn(width="large"),
                   "When": st.column_config.TextColumn(width="medium")})
ui.pager(queue, "aq_page")

clear = [i.booking.id for i in queue.items if not i.conflicts.has_hard]
if clear and st.button(f"Approve all {len(clear)} conflict-free requests on this page",
                       icon=":material/done_all:", key="aq_approve_clear"):
    batch = ui.attempt(lambda: approve_clear(ui.uow(), uid, clear))
    if batch is not None:
        note = f"Approved {len(batch.approved)} request(s)."
        if batch.skipped:
            note += f" Left {len(batch.skipped)} pending: " + "; ".join(
                f"{ui.short_id(b)} ({why})" for b, why in batch.skipped)
        st.session_state["rc_flash"] = note
        st.rerun()

items = {str(i.booking.id): i for i in queue.items}
chosen = st.selectbox("Request to decide", list(items), key="aq_pick", format_func=lambda k: (
    f"{ui.fmt(items[k].booking.start_time)} · {items[k].booking.resource_name} · "
    f"{items[k].booking.requester_name} (p{items[k].booking.priority})"))
item = items[chosen]
b = item.booking

with st.container(border=True):
    st.subheader(f"{b.resource_name} · {ui.fmt_span(b.start_time, b.end_time)}")
    st.write(f"**{b.requester_name}** asks for it: _{b.purpose}_ · priority **{b.priority}** · "
             f"requested {ui.fmt(b.created_at)} · reference `{ui.short_id(b.id)}`")
    if item.conflicts.hard:
        st.error(f"{len(item.conflicts.hard)} conflict(s) stand in the way:", icon=":material/warning:")
        st.dataframe(ui.conflict_frame(item.conflicts.hard), hide_index=True, width="stretch")
    else:
        st.success("No approved booking or blackout stands in the way.", icon=":material/check_circle:")
    if item.conflicts.soft:
        st.info(f"{len(item.conflicts.soft)} other pending request(s) want overlapping time "
                "(approving this one will make them conflict):")
        st.dataframe(ui.conflict_frame(item.conflicts.soft), hide_index=True, width="stretch")

    approve, deny, move, bump, force = st.tabs(
        ["Approve", "Deny", "Reschedule", "Bump", "Force override"])
    with approve:
        if st.button("Approve", type="primary", icon=":material/check:", key="aq_approve"):
            if ui.attempt(lambda: services.approve_booking(ui.uow(), uid, b.id),
                          f"Approved: {b.resource_name}, {ui.fmt_span(b.start_time, b.end_time)}"):
                st.rerun()
    with deny:
        reason = st.text_input("Reason (the requester sees it)", key=f"aq_deny_reason_{b.id}")
        if st.button("Deny", icon=":material/block:", key="aq_deny"):
            if ui.attempt(lambda: services.deny_booking(ui.uow(), uid, b.id, reason),
                          f"Denied: {b.resource_name}, {ui.fmt_span(b.start_time, b.end_time)}"):
                st.rerun()
    with move:
        s, e = ui.local(b.start_time), ui.local(b.end_time)
        c1, c2, c3 = st.columns(3)
        day = c1.date_input("Date", value=s.date(), key=f"aq_mv_day_{b.id}", format="DD/MM/YYYY")
        t0 = c2.time_input("Start", value=s.time(), key=f"aq_mv_start_{b.id}",
                           step=timedelta(minutes=15))
        t1 = c3.time_input("End", value=e.time(), key=f"aq_mv_end_{b.id}",
                           step=timedelta(minutes=15))
        note = st.text_input("Note (optional)", key=f"aq_mv_note_{b.id}")
        if st.button("Reschedule", icon=":material/schedule:", key="aq_move"):
            if ui.attempt(lambda: services.reschedule_booking(
                    ui.uow(), uid, b.id, start_time=ui.at(day, t0), end_time=ui.at(day, t1),
                    reason=note or None), f"Rescheduled: {b.resource_name}"):
                st.rerun()
    with bump:
        victims = {str(c.id): c for c in item.conflicts.hard if c.kind == "booking"}
        if not victims:
            st.caption("Bumping displaces an approved booking in this request's way; "
                       "there is none.")
        else:
            vid = st.selectbox("Approved booking to displace", list(victims),
                               key=f"aq_bump_pick_{b.id}", format_func=lambda k: (
                                   f"{victims[k].resource_name} {ui.fmt_span(victims[k].start_time, victims[k].end_time)}"
                                   f" (priority {victims[k].priority})"))
            why = st.text_input("Reason (its requester sees it)", key=f"aq_bump_reason_{b.id}")
            sure = st.checkbox("I understand the other booking loses its slot and this request "
                               "is approved in its place", key=f"aq_bump_ok_{b.id}")
            if st.button("Bump and approve", icon=":material/swap_horiz:", key="aq_bump",
                         disabled=not sure):
                if ui.attempt(lambda: services.bump_booking(ui.uow(), uid, vid, reason=why,
                                                            in_favour_of=b.id),
                              f"Bumped {ui.short_id(vid)}; approved {ui.short_id(b.id)}"):
                    st.rerun()
    with force:
        lower = [c for c in item.conflicts.hard if c.kind == "booking" and c.priority < b.priority]
        st.write("Approves this request and bumps every lower-priority approved booking in its "
                 "way. Blackouts and bookings of equal or higher priority still block it.")
        if lower:
            st.warning(f"{len(lower)} booking(s) would be bumped.", icon=":material/swap_horiz:")
        sure = st.checkbox("I confirm the force override", key=f"aq_force_ok_{b.id}")
        if st.button("Force override", type="primary", icon=":material/bolt:", key="aq_force",
                     disabled=not sure):
            if ui.attempt(lambda: services.approve_booking(ui.uow(), uid, b.id,
                                                           force_override=True),
                          f"Approved with override: {b.resource_name}"):
                st.rerun()
