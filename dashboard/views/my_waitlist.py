"""My waitlist: the windows a member waits for, and the offers to accept or decline in time.

An offer e-mail's link (my_waitlist?entry=<id>) opens the page with that entry first."""
from __future__ import annotations

from functools import partial

import pandas as pd
import streamlit as st

from dashboard import ui
from engine import services

ui.page_header("My waitlist", "Windows you wait for. When one frees you are offered it as a "
                              "request: accept it before the offer expires.")
ui.flash()
uid = ui.user_id()
entries = ui.attempt(lambda: services.list_waitlist(ui.uow(), uid))
if entries is None:
    st.stop()
if not entries:
    st.info("You are not waiting for anything. When a window you want is taken, "
            "**New booking** lets you join its waitlist.")
    st.stop()

linked_id = st.query_params.get("entry")
linked = next((e for e in entries if str(e.id) == linked_id), None)
if linked_id and linked is None:
    st.warning("The waitlist entry in this link is not one of yours or no longer exists.",
               icon=":material/link_off:")
elif linked is not None:  # first, wherever it would sort
    entries = [linked, *(e for e in entries if e.id != linked.id)]
    if linked.status not in ("offered", "waiting"):
        st.info(f"The offer of **{linked.resource_name}**, "
                f"{ui.fmt_span(linked.start_time, linked.end_time)} is now {linked.status}.",
                icon=":material/info:")

st.dataframe(pd.DataFrame([{
    "Status": e.status, "Resource": e.resource_name, "When": ui.fmt_span(e.start_time, e.end_time),
    "Priority": e.priority, "Joined": ui.fmt(e.joined_at),
    "Offer expires": ui.fmt(e.offer_expires_at) if e.status == "offered" else "",
    "Purpose": e.purpose} for e in entries]), hide_index=True, width="stretch")

for e in entries:
    if e.status not in ("offered", "waiting"):
        continue
    with st.container(border=True):
        if linked is not None and e.id == linked.id:
            st.caption("From your e-mail")
        what = f"**{e.resource_name}**, {ui.fmt_span(e.start_time, e.end_time)}"
        if e.status == "offered":
            st.markdown(f"{what} is offered to you until **{ui.fmt(e.offer_expires_at)}**.")
            a, b, _ = st.columns([1, 1, 3])
            if a.button("Accept", key=f"wl_accept_{e.id}", type="primary"):
                if ui.attempt(partial(services.accept_offer, ui.uow(), uid, e.id),
                              "Offer accepted: your request waits for staff approval."):
                    st.rerun()
            if b.button("Decline", key=f"wl_decline_{e.id}"):
                if ui.attempt(partial(services.decline_offer, ui.uow(), uid, e.id),
                              "Offer declined: it passes to the next in line."):
                    st.rerun()
        else:
            st.markdown(f"{what}: waiting.")
            if st.button("Leave the waitlist", key=f"wl_leave_{e.id}"):
                if ui.attempt(partial(services.leave_waitlist, ui.uow(), uid, e.id),
                              "You left the waitlist."):
                    st.rerun()
