"""Recurring series on the staff queue and on My bookings: one row per series, its
occurrences on demand, and the series-wide actions. Each action is one engine call.

Kept apart from the pages that call it (approval_queue.py, my_bookings.py), which only add
one line each.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import ui
from engine import services

SERIES_PAGE_SIZE = 10


def occurrences_frame(series) -> pd.DataFrame:
    """Each occurrence with its status and, for pending ones, what stands in its way."""
    rows = []
    for o in series.occurrences:
        report = series.conflicts.get(o.id)
        if report is None:
            note = ""
        elif report.hard:
            note = "blocked by " + "; ".join(
                f"{c.resource_name} {'blackout' if c.kind == 'blackout' else f'p{c.priority}'}"
                for c in report.hard)
        else:
            note = "clear" + (f" · {len(report.soft)} competing" if report.soft else "")
        rows.append({"When": ui.fmt_span(o.start_time, o.end_time), "Status": o.status,
                     "Conflicts": note, "Reason": o.decision_reason or "",
                     "Ref": ui.short_id(o.id)})
    return pd.DataFrame(rows)


def series_label(series) -> str:
    return (f"{series.resource_name} · {series.description} · from "
            f"{ui.fmt(series.first_start)} · {series.requester_name}")


def _finish(message: str) -> None:
    st.session_state["rc_flash"] = message
    st.rerun()


def _approve_series(uid, series) -> None:
    clear = [o for o in series.occurrences
             if o.status == "pending" and o.id in series.conflicts
             and not series.conflicts[o.id].has_hard]
    label = f"Approve all {len(clear)} conflict-free occurrences"
    if st.button(label, type="primary", icon=":material/done_all:", key="sq_approve_all",
                 disabled=not clear):
        decision = ui.attempt(lambda: services.approve_series(ui.uow(), uid, series.id))
        if decision is not None:
            note = f"Approved {len(decision.changed)} occurrence(s) of {series_label(series)}."
            if decision.left:
                note += f" Left {len(decision.left)} pending."
            _finish(note)


def _deny_series(uid, series) -> None:
    reason = st.text_input("Reason for denying the whole series (the requester sees it)",
                           key=f"sq_deny_reason_{series.id}")
    if st.button("Deny every pending occurrence", icon=":material/block:", key="sq_deny_all"):
        decision = ui.attempt(lambda: services.deny_series(ui.uow(), uid, series.id, reason))
        if decision is not None:
            _finish(f"Denied {len(decision.changed)} occurrence(s) of {series_label(series)}.")


def _one_occurrence(uid, series) -> None:
    """Approve or deny a single date; force override, bump and reschedule are the ordinary
    booking actions (the occurrence is a normal booking)."""
    pending = [o for o in series.occurrences if o.status == "pending"]
    if not pending:
        return
    labels = {str(o.id): ui.fmt_span(o.start_time, o.end_time) for o in pending}
    chosen = st.selectbox("Occurrence", list(labels), format_func=labels.__getitem__, key="sq_one")
    c1, c2, c3 = st.columns([1, 2, 1])
    if c1.button("Approve this date", icon=":material/check:", key="sq_one_approve"):
        if ui.attempt(lambda: services.approve_booking(ui.uow(), uid, chosen)):
            _finish(f"Approved {labels[chosen]} of {series_label(series)}.")
    why = c2.text_input("Reason", key=f"sq_one_reason_{chosen}", label_visibility="collapsed",
                        placeholder="Reason to deny this date")
    if c3.button("Deny this date", icon=":material/block:", key="sq_one_deny"):
        if ui.attempt(lambda: services.deny_booking(ui.uow(), uid, chosen, why)):
            _finish(f"Denied {labels[chosen]} of {series_label(series)}.")


def series_queue_section(uid) -> int:
    """Series waiting for staff, one row each with its counts; open one to decide. Returns
    how many series wait."""
    page = ui.attempt(lambda: services.series_queue(ui.uow(), uid, page_size=SERIES_PAGE_SIZE))
    if page is None or not page.items:
        return 0
    with ui.section(f"Recurring series waiting ({page.total})"):
        st.dataframe(pd.DataFrame([{
            "Series": r.series.description, "Resource": r.series.resource_name,
            "Requested by": r.series.requester_name, "Next": ui.fmt(r.next_start),
            "Occurrences": len(r.series.occurrences), "Pending": r.pending,
            "Conflicting": r.conflicting, "Priority": r.series.priority,
            "Purpose": r.series.purpose, "Ref": ui.short_id(r.series.id)}
            for r in page.items]), hide_index=True, width="stretch")
        rows = {str(r.series.id): r for r in page.items}
        chosen = st.selectbox("Series to decide", list(rows), key="sq_pick",
                              format_func=lambda k: series_label(rows[k].series))
        series = ui.attempt(lambda: services.get_series(ui.uow(), uid, chosen))
        if series is None:
            return page.total
        st.caption(f"{series.purpose} · priority {series.priority} · RRULE `{series.rule}`")
        st.dataframe(occurrences_frame(series), hide_index=True, width="stretch")
        _approve_series(uid, series)
        _deny_series(uid, series)
        _one_occurrence(uid, series)
    return page.total


def cancel_series_section(uid, bookings) -> None:
    """On My bookings: cancel a series from one date on, or all of it."""
    series_ids = {b.series_id for b in bookings
                  if b.series_id and b.status in ("pending", "approved")}
    if not series_ids:
        return
    with ui.section("Cancel a recurring series"):
        names: dict[str, str] = {}
        for b in sorted(bookings, key=lambda b: b.start_time):
            if b.series_id in series_ids:
                names.setdefault(str(b.series_id), f"{b.resource_name} · from "
                                                   f"{ui.fmt(b.start_time)}")
        chosen = st.selectbox("Series", list(names), key="ms_series", format_func=names.__getitem__)
        series = ui.attempt(lambda: services.get_series(ui.uow(), uid, chosen))
        if series is None:
            return
        st.caption(f"{series.description} · {series.count('approved')} approved, "
                   f"{series.count('pending')} pending")
        live = [o for o in series.occurrences if o.status in ("pending", "approved")
                and o.end_time > ui.now()]
        if not live:
            return
        labels = {"all": "The whole series (every date not yet over)"}
        labels |= {str(o.id): f"{ui.fmt_span(o.start_time, o.end_time)} and every later date"
                   for o in live}
        scope = st.selectbox("Cancel", list(labels), format_func=labels.__getitem__, key="ms_scope")
        reason = st.text_input("Reason (optional)", key="ms_reason")
        if st.button("Cancel these dates", icon=":material/event_busy:", key="ms_cancel"):
            decision = ui.attempt(lambda: services.cancel_series(
                ui.uow(), uid, chosen, from_booking_id=None if scope == "all" else scope,
                reason=reason or None))
            if decision is not None:
                _finish(f"Cancelled {len(decision.changed)} date(s) of the series.")
