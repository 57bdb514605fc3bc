"""My waitlist: the windows a member waits for, and the offers to accept or decline in time."""
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

st.dataframe(pd.DataFrame([{
    "Status": e.status, "Resource": e.resource_name, "When": ui.fmt_span(e.start_time, e.end_time),
    "Priority": e.priority, "Joined": ui.fmt(e.joined_at),
    "Offer expires": ui.fmt(e.offer_expires_at) if e.status == "offered" else "",
    "Purpose": e.purpose} for e in entries]), hide_index=True, width="stretch")

for e in entries:
    if e.status not in ("offered", "waiting"):
        continue
    with st.container(border=True):
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
