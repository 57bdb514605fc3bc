"""My bookings: status, the reason for a denial or bump, and cancelling.

An e-mail's link (my_bookings?booking=<id>) opens the page with that booking first: its card,
its row marked in the table, and it chosen in the cancel and change forms."""
from __future__ import annotations

import streamlit as st

from dashboard import ui
from dashboard.series_views import cancel_series_section
from engine import services
from engine.domain.status import BookingAction, allowed_actions
from engine.errors import DomainError

PAGE_SIZE = 25

BADGE = {"pending": "orange", "approved": "green", "denied": "red", "cancelled": "gray",
         "bumped": "violet"}
LINK_PARAM = "booking"


def badge(status: str) -> str:
    return f":{BADGE.get(status, 'gray')}-badge[{status.replace('_', ' ')}]"


def linked_booking(uid):
    """The booking the page's link names (?booking=<id>), or None; a link to a booking one
    may not see (or a mangled one) says so instead of failing."""
    ref = st.query_params.get(LINK_PARAM)
    if not ref:
        return None
    try:
        return services.get_booking(ui.uow(), uid, ref)
    except DomainError:
        st.warning("The booking in this link is not one of yours or no longer exists; "
                   "your bookings are listed below.", icon=":material/link_off:")
        return None


def linked_card(b, uid) -> None:
    """The linked booking's details, above everything else."""
    with st.container(border=True, key="mb_linked"):
        st.subheader(f"{b.resource_name}, {ui.fmt_span(b.start_time, b.end_time)}")
        lines = [f"{badge(b.status)} Reference **{ui.short_id(b.id)}**"
                 + (f" · {ui.SERIES_MARK}" if b.series_id else "")]
        if b.purpose:
            lines.append(f"**Purpose:** {b.purpose}")
        if b.requester_id != uid:
            lines.append(f"**Requested by:** {b.requester_name}")
        if b.created_at:
            lines.append(f"**Requested:** {ui.fmt(b.created_at)}")
        if b.decision_reason:
            word = "Reason" if b.status in ("denied", "bumped", "cancelled") else "Note from staff"
            lines.append(f"**{word}:** {b.decision_reason}")
        st.markdown("  \n".join(lines))
        if st.button("Show all my bookings", icon=":material/list:", key="mb_unlink"):
            del st.query_params[LINK_PARAM]
            st.rerun()

ui.page_header("My bookings", "Your requests and bookings, soonest first.")
ui.flash()
uid = ui.user_id()
linked = linked_booking(uid)
if linked is not None:
    linked_card(linked, uid)
upcoming = services.list_bookings(ui.uow(), uid, services.BookingFilter(
    requester_id=uid, statuses=("pending", "approved"), window_start=ui.now(), order="start"),
    page=1, page_size=3)
if upcoming.items:
    st.markdown("**Next up**")
    for col, b in zip(st.columns(3), upcoming.items, strict=False):  # at most three
        with col, st.container(border=True):
            st.markdown(f"**{b.resource_name}**  \n{ui.fmt_span(b.start_time, b.end_time)}  \n"
                        f"{badge(b.status)} {b.purpose or ''}")
c1, c2, c3 = st.columns([3, 1, 1])
statuses = c1.pills("Status", ui.STATUSES, selection_mode="multi", key="mb_status",
                    default=["pending", "approved"])
order = c2.selectbox("Order", ["Soonest first", "Latest first"], key="mb_order")
past = c3.toggle("Include past", key="mb_past")
flt = services.BookingFilter(requester_id=uid, statuses=tuple(statuses or ()),
                             window_start=None if past else ui.now(),
                             order="start" if order == "Soonest first" else "-start")
page = ui.attempt(lambda: ui.paged(lambda n: services.list_bookings(
    ui.uow(), uid, flt, page=n, page_size=PAGE_SIZE), "mb_page"))
if page is None:
    st.stop()
if not page.items:
    st.info("No bookings match. Use **New booking** to request one.")
    if linked is None:
        st.stop()
else:
    frame = ui.bookings_frame(page.items, requester=False)
    if linked is not None:  # the linked booking's row marked, where it is on this page
        ref = ui.short_id(linked.id)
        frame = frame.style.apply(lambda row: ["background-color: rgba(31, 111, 235, 0.18)"
                                               if row["Ref"] == ref else "" for _ in row], axis=1)
    st.dataframe(frame, hide_index=True, width="stretch", column_config={
        "Reason": st.column_config.TextColumn("Reason / note", width="large")})
    ui.pager(page, "mb_page")

for b in page.items:
    if b.status in ("denied", "bumped") and b.decision_reason:
        st.warning(f"**{b.resource_name}, {ui.fmt_span(b.start_time, b.end_time)}** was "
                   f"{b.status}: {b.decision_reason}", icon=":material/info:")
    elif b.status in ("pending", "approved") and b.decision_reason:
        st.info(f"**{b.resource_name}, {ui.fmt_span(b.start_time, b.end_time)}**, note from "
                f"staff: {b.decision_reason}", icon=":material/info:")


def with_linked(bookings: list, keep) -> list:
    """The page's bookings that `keep` accepts, the linked one first (even from another page)."""
    chosen = [b for b in bookings if keep(b) and (linked is None or b.id != linked.id)]
    return [linked, *chosen] if linked is not None and keep(linked) else chosen


cancellable = with_linked(page.items, lambda b: BookingAction.CANCEL in allowed_actions(b.status)
                          and b.requester_id == uid)
if cancellable:
    with ui.section("Cancel a booking"):
        labels = {str(b.id): f"{b.resource_name} · {ui.fmt_span(b.start_time, b.end_time)} "
                             f"({b.status})" for b in cancellable}
        chosen = st.selectbox("Booking", list(labels), format_func=labels.__getitem__,
                              key="mb_cancel_id")
        reason = st.text_input("Reason (optional)", key="mb_cancel_reason")
        if st.button("Cancel booking", icon=":material/event_busy:", key="mb_cancel"):
            done = ui.attempt(lambda: services.cancel_booking(ui.uow(), uid, chosen,
                                                              reason or None),
                              f"Booking cancelled: {labels[chosen]}")
            if done is not None:
                st.rerun()


def edit_pending(pending) -> None:
    """Change window and purpose of one's own pending request: the same checks as a new one.
    The form and its availability check are drawn only once asked for: most visits only read
    the list, and the date and time pickers cost the browser more than the list itself."""
    labels = {str(b.id): f"{b.resource_name} · {ui.fmt_span(b.start_time, b.end_time)} "
                         f"(reference {ui.short_id(b.id)})" for b in pending}
    chosen = st.selectbox("Request", list(labels), format_func=labels.__getitem__, key="mb_edit_id")
    if not st.toggle("Change its window or purpose", key="mb_edit_open"):
        return
    b = next(x for x in pending if str(x.id) == chosen)
    start, end = ui.window_inputs(f"mb_edit_{b.id}", b.start_time, b.end_time)
    purpose = st.text_area("Purpose", value=b.purpose or "", key=f"mb_edit_purpose_{b.id}",
                           max_chars=500)
    try:
        check = services.check_request(ui.uow(), uid, b.resource_id, start, end,
                                       exclude_booking_id=b.id)
    except DomainError as exc:
        ui.show_error(exc)
        check = None
    if check is not None and check.problem is not None:
        st.warning(f"This window cannot be requested: {ui.error_text(check.problem)}.",
                   icon=":material/block:")
    elif check is not None and check.conflicts.has_hard:
        st.warning("This window is already taken: staff cannot approve it as it stands.",
                   icon=":material/warning:")
        st.dataframe(ui.conflict_frame(check.conflicts.hard), hide_index=True, width="stretch")
    elif check is not None:
        st.success(f"{b.resource_name} is free {ui.fmt_span(start, end)}.",
                   icon=":material/check_circle:")
    if st.button("Save changes", icon=":material/save:", key="mb_edit_save"):
        view = ui.attempt(lambda: services.edit_request(ui.uow(), uid, b.id, start_time=start,
                                                        end_time=end, purpose=purpose))
        if view is not None:
            st.session_state["rc_flash"] = (
                f"Request changed: {view.resource_name}, "
                f"{ui.fmt_span(view.start_time, view.end_time)} — still pending.")
            st.rerun()


pending = with_linked(page.items, lambda b: b.status == "pending" and b.requester_id == uid)
if pending:
    with ui.section("Change a pending request"):
        edit_pending(pending)

cancel_series_section(uid, page.items)
