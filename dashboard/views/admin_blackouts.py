"""Admin: blackout windows — closures nothing can be approved over."""
from __future__ import annotations

from datetime import time, timedelta

import pandas as pd
import streamlit as st

from dashboard import ui
from engine import services

ui.page_header("Blackouts", "Maintenance, weather, range clearance: nothing is approved over a "
                            "blackout, on its resource or anywhere in its safety zone.")
ui.flash()
uid = ui.user_id()
resources = {str(r.id): r for r in services.list_resources(ui.uow(), uid, include_inactive=True)}
c1, c2 = st.columns(2)
since = c1.date_input("Showing from", value=ui.today(), key="ab_bo_from", format="DD/MM/YYYY")
until = c2.date_input("until", value=ui.today() + timedelta(days=90), key="ab_bo_until",
                      format="DD/MM/YYYY")
blackouts = ui.attempt(lambda: services.list_blackouts(
    ui.uow(), uid, window_start=ui.day_start(since),
    window_end=ui.day_start(until + timedelta(days=1)))) or []
st.dataframe(pd.DataFrame([{"Resource": b.resource_name, "From": ui.fmt(b.start_time),
                            "Until": ui.fmt(b.end_time), "Reason": b.reason,
                            "Id": ui.short_id(b.id)} for b in blackouts],
                          columns=["Resource", "From", "Until", "Reason", "Id"]),
             hide_index=True, width="stretch")

create, remove = st.tabs(["Add a blackout", "Remove a blackout"])
with create:
    rid = st.selectbox("Resource", list(resources), format_func=lambda k: resources[k].name,
                       key="bo_resource")
    c1, c2, c3, c4 = st.columns(4)
    d0 = c1.date_input("From date", value=ui.today() + timedelta(days=1), key="bo_d0",
                       format="DD/MM/YYYY")
    t0 = c2.time_input("From time", value=time(8), key="bo_t0", step=timedelta(minutes=15))
    d1 = c3.date_input("Until date", value=ui.today() + timedelta(days=1), key="bo_d1",
                       format="DD/MM/YYYY")
    t1 = c4.time_input("Until time", value=time(18), key="bo_t1", step=timedelta(minutes=15))
    reason = st.text_input("Reason", key="bo_reason", placeholder="e.g. Butts maintenance")
    bump = st.checkbox("Bump approved bookings in the way (their requesters see the reason)",
                       key="bo_bump")
    if st.button("Add blackout", type="primary", key="bo_create"):
        if ui.attempt(lambda: services.create_blackout(
                ui.uow(), uid, resource_id=rid, start_time=ui.at(d0, t0), end_time=ui.at(d1, t1),
                reason=reason, bump_conflicting=bump), "Blackout added"):
            st.rerun()
with remove:
    if blackouts:
        by_id = {str(b.id): b for b in blackouts}
        pick = st.selectbox("Blackout", list(by_id), key="bo_pick", format_func=lambda k: (
            f"{by_id[k].resource_name} · {ui.fmt_span(by_id[k].start_time, by_id[k].end_time)}"
            f" · {by_id[k].reason}"))
        if st.button("Remove blackout", key="bo_delete"):
            if ui.attempt(lambda: services.delete_blackout(ui.uow(), uid, pick) or True,
                          "Blackout removed"):
                st.rerun()
    else:
        st.info("No blackouts in this window.")
