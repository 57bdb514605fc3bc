"""Audit log: who did what, filtered in SQL; each entry's previous state beside the change."""
from __future__ import annotations

import json
from datetime import timedelta

import pandas as pd
import streamlit as st

from dashboard import ui
from engine import services
from engine.audit import AuditAction

ANY = "Any"
PAGE_SIZE = 50

ui.page_header("Audit log", "Append-only: every change, newest first.")
uid = ui.user_id()
c1, c2, c3 = st.columns(3)
booking = c1.text_input("Booking id", key="al_booking", placeholder="full id")
actor = c2.text_input("Actor id", key="al_actor", placeholder="full id")
action = c3.selectbox("Action", [ANY, *(a.value for a in AuditAction)], key="al_action")
c1, c2 = st.columns(2)
since = c1.date_input("From", value=ui.today() - timedelta(days=30), key="al_from",
                      format="DD/MM/YYYY")
until = c2.date_input("Until", value=ui.today(), key="al_until", format="DD/MM/YYYY")

result = ui.attempt(lambda: ui.paged(lambda n: services.list_audit_logs(
    ui.uow(), uid, booking_id=booking.strip() or None, by_actor_id=actor.strip() or None,
    action=None if action == ANY else action, since=ui.day_start(since),
    until=ui.day_start(until + timedelta(days=1)), page=n, page_size=PAGE_SIZE), "al_page"))
if result is None:
    st.stop()
if not result.items:
    st.info("No audit entries match.")
    st.stop()


def parse(details):
    try:
        return json.loads(details) if details else None
    except ValueError:
        return details


st.dataframe(pd.DataFrame([{
    "When": ui.fmt(a.timestamp), "Actor": a.actor_name, "Action": a.action,
    "Booking": ui.short_id(a.booking_id) if a.booking_id else "",
    "Entity": f"{a.entity_type or ''} {ui.short_id(a.entity_id) if a.entity_id else ''}".strip(),
    "Change": a.details or "", "Entry": ui.short_id(a.id)} for a in result.items]),
    hide_index=True, width="stretch")
ui.pager(result, "al_page")

entries = {str(a.id): a for a in result.items}
pick = st.selectbox("Entry", list(entries), key="al_pick", format_func=lambda k: (
    f"{ui.fmt(entries[k].timestamp)} · {entries[k].actor_name} · {entries[k].action}"))
entry = entries[pick]
st.caption(f"Actor id `{entry.actor_id}` · booking `{entry.booking_id or '—'}` · "
           f"entity `{entry.entity_id or '—'}`")
left, right = st.columns(2)
with left:
    st.markdown("**Previous state**")
    st.json(entry.previous_state or {}, expanded=True)
with right:
    st.markdown("**What changed**")
    st.json(parse(entry.details) or {}, expanded=True)
