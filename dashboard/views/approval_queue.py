"""Approval queue: pending requests soonest first, each with its conflicts, and the decisions.

One small function per action. The action tabs are keyed, so after an action the page reruns on
the tab the person used, and the result (or the error) is drawn in that tab.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import ui
from dashboard.series_views import series_queue_section
from engine import services
from engine.errors import DomainError

ANY = "Any"
PAGE_SIZE = 20
ACTIONS = ("Approve", "Deny", "Reschedule", "Bump", "Force override")
TAB_KEY = "aq_action"
RESULT = ui.ActionResult("aq_result", toast=True)
CONFIRM_KEY = "aq_confirm_clear"


# --- results shown where the person is looking ----------------------------------------

def describe(view) -> str:
    """A booking the way people name it: who, what, when."""
    return (f"{view.requester_name}'s request for {view.resource_name}, "
            f"{ui.fmt_span(view.start_time, view.end_time)}")


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


def approve_all(uid, queue) -> None:
    """Approve every conflict-free request on the page, after showing which ones."""
    RESULT.show("approve_all")
    clear = {str(i.booking.id): i.booking for i in queue.items if not i.conflicts.has_hard}
    if not clear:
        return
    pending_ids = st.session_state.get(CONFIRM_KEY)
    if pending_ids is None:
        if st.button(f"Approve all {len(clear)} conflict-free requests on this page",
                     icon=":material/done_all:", key="aq_approve_clear"):
            st.session_state[CONFIRM_KEY] = list(clear)
            st.rerun()
        return
    chosen = [clear[k] for k in pending_ids if k in clear]
    with st.container(border=True):
        st.markdown(f"**Approve these {len(chosen)} request(s)?**")
        st.dataframe(pd.DataFrame([{
            "When": ui.fmt_span(b.start_time, b.end_time), "Resource": b.resource_name,
            "Requested by": b.requester_name, "Purpose": b.purpose,
            "Ref": ui.short_id(b.id)} for b in chosen]), hide_index=True, width="stretch")
        c1, c2 = st.columns(2)
        confirm = c1.button(f"Approve these {len(chosen)}", type="primary",
                            icon=":material/done_all:", key="aq_approve_clear_confirm",
                            disabled=not chosen)
        if c2.button("Cancel", key="aq_approve_clear_cancel"):
            del st.session_state[CONFIRM_KEY]
            st.rerun()
    if confirm:
        batch = ui.attempt(lambda: services.approve_clear(ui.uow(), uid, [b.id for b in chosen]))
        del st.session_state[CONFIRM_KEY]
        if batch is not None:
            names = {b.id: f"{b.resource_name} {ui.fmt(b.start_time)}" for b in chosen}
            note = f"Approved {len(batch.approved)} request(s)."
            if batch.signed:
                note += (f" Signed off {len(batch.signed)} two-person request(s): each needs a "
                         "second approver.")
            if batch.skipped:
                note += f" Left {len(batch.skipped)} pending: " + "; ".join(
                    f"{names.get(b, ui.short_id(b))} ({why})" for b, why in batch.skipped)
            RESULT.done("approve_all", note)


# --- the decision card: one function per action ------------------------------------------

def approve_action(uid, item) -> None:
    b = item.booking
    if st.button("Approve", type="primary", icon=":material/check:", key="aq_approve"):
        view = ui.attempt(lambda: services.approve_booking(ui.uow(), uid, b.id))
        if view is not None and view.status == "pending":  # a two-person first sign-off
            RESULT.done("Approve", f"Signed off: {describe(b)}. A second approver must approve it.")
        elif view is not None:
            RESULT.done("Approve", f"Approved: {describe(b)}.")


def deny_action(uid, item) -> None:
    b = item.booking
    reason = st.text_input("Reason (the requester sees it)", key=f"aq_deny_reason_{b.id}")
    if st.button("Deny", icon=":material/block:", key="aq_deny"):
        if ui.attempt(lambda: services.deny_booking(ui.uow(), uid, b.id, reason)):
            RESULT.done("Deny", f"Denied: {describe(b)}.")


def reschedule_action(uid, item) -> None:
    """Pick the new window; its conflicts show before anything is saved."""
    b = item.booking
    start, end = ui.window_inputs(f"aq_mv_{b.id}", b.start_time, b.end_time)
    note = st.text_input("Note to the requester (optional)", key=f"aq_mv_note_{b.id}")
    moved = (start, end) != (b.start_time, b.end_time)
    taken = False
    if moved:
        try:
            report = services.find_conflicts(ui.uow(), uid, b.resource_id, start, end,
                                             exclude_booking_id=b.id)
        except DomainError as exc:
            ui.show_error(exc)
            report = None
        if report is not None and report.has_hard:
            taken = True
            st.warning(f"{ui.fmt_span(start, end)} is taken on {b.resource_name}: the request "
                       "would stay pending and could not be approved there as it stands.",
                       icon=":material/warning:")
            st.dataframe(ui.conflict_frame(report.hard), hide_index=True, width="stretch")
        elif report is not None:
            st.success(f"{b.resource_name} is free {ui.fmt_span(start, end)}.",
                       icon=":material/check_circle:")
    anyway = taken and st.checkbox("Move it into the taken window anyway",
                                   key=f"aq_mv_anyway_{b.id}")
    if st.button("Reschedule", icon=":material/schedule:", key="aq_move",
                 disabled=taken and not anyway):
        view = ui.attempt(lambda: services.reschedule_booking(
            ui.uow(), uid, b.id, start_time=start, end_time=end, reason=note or None))
        if view is not None:
            RESULT.done("Reschedule", f"Rescheduled: {view.requester_name}'s request for "
                               f"{view.resource_name} is now "
                               f"{ui.fmt_span(view.start_time, view.end_time)}.")


def bump_action(uid, item) -> None:
    """Every approved booking in the way, displaced together; blockers point elsewhere."""
    b = item.booking
    in_way = [c for c in item.conflicts.hard if c.kind == "booking"]
    blockers = [c for c in item.conflicts.hard
                if c.kind == "blackout" or (c.priority or 0) >= b.priority]
    if not in_way:
        st.caption("Bumping displaces approved bookings in this request's way; there are none.")
        return
    st.write(f"{len(in_way)} approved booking(s) stand in the way:")
    st.dataframe(ui.conflict_frame(in_way), hide_index=True, width="stretch")
    if blockers:
        st.info("A bump cannot clear this request: "
                + "; ".join(f"{c.resource_name} "
                            f"{'blackout' if c.kind == 'blackout' else f'priority {c.priority}'}"
                            for c in blockers)
                + f" {'is' if len(blockers) == 1 else 'are'} not outranked by its priority "
                  f"{b.priority}. Deny or reschedule it instead.", icon=":material/info:")
        return
    why = st.text_input("Reason (its requester sees it)", key=f"aq_bump_reason_{b.id}")
    losers = ("the other booking loses its" if len(in_way) == 1
              else f"these {len(in_way)} bookings lose their")
    sure = st.checkbox(f"I understand {losers} "
                       "slot and this request is approved in its place", key=f"aq_bump_ok_{b.id}")
    label = "Bump and approve" if len(in_way) == 1 else f"Bump all {len(in_way)} and approve"
    if st.button(label, icon=":material/swap_horiz:", key="aq_bump", disabled=not sure):
        if ui.attempt(lambda: services.bump_together(ui.uow(), uid, [c.id for c in in_way],
                                                     reason=why, in_favour_of=b.id)):
            RESULT.done("Bump", f"Displaced {len(in_way)} booking(s); approved {describe(b)}.")


def force_action(uid, item) -> None:
    b = item.booking
    lower = [c for c in item.conflicts.hard if c.kind == "booking" and c.priority < b.priority]
    st.write("Approves this request and bumps every lower-priority approved booking in its "
             "way. Blackouts and bookings of equal or higher priority still block it.")
    if lower:
        st.warning(f"{len(lower)} booking(s) would be bumped.", icon=":material/swap_horiz:")
        st.dataframe(ui.conflict_frame(lower), hide_index=True, width="stretch")
    sure = st.checkbox("I confirm the force override", key=f"aq_force_ok_{b.id}")
    if st.button("Force override", type="primary", icon=":material/bolt:", key="aq_force",
                 disabled=not sure):
        if ui.attempt(lambda: services.approve_booking(ui.uow(), uid, b.id, force_override=True)):
            RESULT.done("Force override", f"Approved with override: {describe(b)}.")


HANDLERS = {"Approve": approve_action, "Deny": deny_action, "Reschedule": reschedule_action,
            "Bump": bump_action, "Force override": force_action}


def pick_request(queue):
    items = {str(i.booking.id): i for i in queue.items}
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
        tabs = st.tabs(ACTIONS, key=TAB_KEY, on_change="rerun")
        for name, tab in zip(ACTIONS, tabs, strict=True):
            with tab:
                RESULT.show(name)
                HANDLERS[name](uid, item)


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
        RESULT.show()  # the last action emptied the queue: its result shows here
        if series_waiting:
            st.info("No single requests waiting: only the recurring series above.",
                    icon=":material/info:")
        else:
            st.success("Nothing waiting: every request has been decided.",
                       icon=":material/celebration:")
        return
    queue_table(queue)
    ui.pager(queue, "aq_page")
    approve_all(uid, queue)
    decision_card(uid, pick_request(queue))


main()
