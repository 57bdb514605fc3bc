"""My bookings: status, the reason for a denial or bump, and cancelling."""
from __future__ import annotations

import streamlit as st

from dashboard import ui
from engine import services
from engine.domain.status import BookingAction, allowed_actions
from engine.services import BookingFilter

PAGE_SIZE = 25

BADGE = {"pending": "orange", "approved": "green", "denied": "red", "cancelled": "gray",
         "bumped": "violet"}

ui.page_header("My bookings", "Your requests and bookings, soonest first.")
ui.flash()
uid = ui.user_id()
upcoming = services.list_bookings(ui.uow(), uid, BookingFilter(
    requester_id=uid, statuses=("pending", "approved"), window_start=ui.now(), order="start"),
    page=1, page_size=3)
if upcoming.items:
    st.markdown("**Next up**")
    for col, b in zip(st.columns(3), upcoming.items):
        with col, st.container(border=True):
            st.markdown(f"**{b.resource_name}**  \n{ui.fmt_span(b.start_time, b.end_time)}  \n"
                        f":{BADGE[b.status]}-badge[{b.status}] {b.purpose or ''}")
c1, c2, c3 = st.columns([3, 1, 1])
statuses = c1.pills("Status", ui.STATUSES, selection_mode="multi", key="mb_status",
                    default=["pending", "approved"])
order = c2.selectbox("Order", ["Soonest first", "Latest first"], key="mb_order")
past = c3.toggle("Include past", key="mb_past")
flt = BookingFilter(requester_id=uid, statuses=tuple(statuses or ()),
                    window_start=None if past else ui.now(),
                    order="start" if order == "Soonest first" else "-start")
page = ui.attempt(lambda: ui.paged(lambda n: services.list_bookings(
    ui.uow(), uid, flt, page=n, page_size=PAGE_SIZE), "mb_page"))
if page is None:
    st.stop()
if not page.items:
    st.info("No bookings match. Use **New booking** to request one.")
    st.stop()
st.dataframe(ui.bookings_frame(page.items, requester=False), hide_index=True, width="stretch",
             column_config={"Reason": st.column_config.TextColumn("Reason / note", width="large")})
ui.pager(page, "mb_page")

for b in page.items:
    if b.status in ("denied", "bumped") and b.decision_reason:
        st.warning(f"**{b.resource_name}, {ui.fmt_span(b.start_time, b.end_time)}** was "
                   f"{b.status}: {b.decision_reason}", icon=":material/info:")
    elif b.status in ("pending", "approved") and b.decision_reason:
        st.info(f"**{b.resource_name}, {ui.fmt_span(b.start_time, b.end_time)}**, note from "
                f"staff: {b.decision_reason}", icon=":material/info:")

cancellable = [b for b in page.items if BookingAction.CANCEL in allowed_actions(b.status)]
if cancellable:
    with ui.section("Cancel a booking"):
        labels = {str(b.id): f"{b.resource_name} · {ui.fmt_span(b.start_time, b.end_time)} "
                             f"({b.status})" for b in cancellable}
        chosen = st.selectbox("Booking", list(labels), format_func=labels.get, key="mb_cancel_id")
        reason = st.text_input("Reason (optional)", key="mb_cancel_reason")
        if st.button("Cancel booking", icon=":material/event_busy:", key="mb_cancel"):
            done = ui.attempt(lambda: services.cancel_booking(ui.uow(), uid, chosen,
                                                              reason or None),
                              f"Booking cancelled: {labels[chosen]}")
            if done is not None:
                st.rerun()
