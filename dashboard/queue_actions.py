"""The approval queue's decisions (dashboard/views/approval_queue.py draws the list).

One small function per action, each one engine call. The action tabs are keyed, so after an
action the page reruns on the tab the person used, and the result (or the error) is drawn in
that tab.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import ui
from engine import services
from engine.errors import DomainError

ACTIONS = ("Approve", "Deny", "Reschedule", "Bump", "Force override")
TAB_KEY = "aq_action"
RESULT = ui.ActionResult("aq_result", toast=True)
CONFIRM_KEY = "aq_confirm_clear"


def describe(view) -> str:
    """A booking the way people name it: who, what, when."""
    return (f"{view.requester_name}'s request for {view.resource_name}, "
            f"{ui.fmt_span(view.start_time, view.end_time)}")


# --- the whole page at once ------------------------------------------------------------

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
    if confirm_clear(chosen):
        batch = ui.attempt(lambda: services.approve_clear(ui.uow(), uid, [b.id for b in chosen]))
        del st.session_state[CONFIRM_KEY]
        if batch is not None:
            RESULT.done("approve_all", batch_note(batch, chosen))


def confirm_clear(chosen) -> bool:
    """The requests about to be approved, with Approve and Cancel; True once confirmed."""
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
    return confirm


def batch_note(batch, chosen) -> str:
    """What one "approve all" did: approved, signed off (two-person), left pending and why."""
    names = {b.id: f"{b.resource_name} {ui.fmt(b.start_time)}" for b in chosen}
    note = f"Approved {len(batch.approved)} request(s)."
    if batch.signed:
        note += (f" Signed off {len(batch.signed)} two-person request(s): each needs a "
                 "second approver.")
    if batch.skipped:
        note += f" Left {len(batch.skipped)} pending: " + "; ".join(
            f"{names.get(b, ui.short_id(b))} ({why})" for b, why in batch.skipped)
    return note


# --- one request: one function per action -----------------------------------------------

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
    taken = (start, end) != (b.start_time, b.end_time) and window_taken(uid, b, start, end)
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


def window_taken(uid, b, start, end) -> bool:
    """Show whether the new window is free (or what holds it); True when it is taken."""
    try:
        report = services.find_conflicts(ui.uow(), uid, b.resource_id, start, end,
                                         exclude_booking_id=b.id)
    except DomainError as exc:
        ui.show_error(exc)
        return False
    if report.has_hard:
        st.warning(f"{ui.fmt_span(start, end)} is taken on {b.resource_name}: the request "
                   "would stay pending and could not be approved there as it stands.",
                   icon=":material/warning:")
        st.dataframe(ui.conflict_frame(report.hard), hide_index=True, width="stretch")
        return True
    st.success(f"{b.resource_name} is free {ui.fmt_span(start, end)}.",
               icon=":material/check_circle:")
    return False


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


def action_tabs(uid, item) -> None:
    """One tab per action; the tab used last stays open after the rerun, with its result.
    Only the open tab is drawn (choosing another reruns): the others' forms, their pickers
    and the reschedule tab's conflict check cost every visit but are rarely used."""
    tabs = st.tabs(ACTIONS, key=TAB_KEY, on_change="rerun")
    for name, tab in zip(ACTIONS, tabs, strict=True):
        if tab.open is False:
            continue
        with tab:
            RESULT.show(name)
            HANDLERS[name](uid, item)
