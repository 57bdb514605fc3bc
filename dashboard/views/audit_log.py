"""Audit log: who did what, filtered in SQL; each entry as a readable before/after list."""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from uuid import UUID

import pandas as pd
import streamlit as st

from dashboard import ui
from engine import services
from engine.domain.audit_actions import AuditAction

ANY = "Any"
PAGE_SIZE = 50
#: What the status became, for actions whose details do not say it.
STATUS_AFTER = {"approved": "approved", "denied": "denied", "cancelled": "cancelled",
                "bumped": "bumped"}
HIDDEN_FIELDS = {"id", "created_at", "updated_at", "session_version"}


def action_words(action: str) -> str:
    return action.replace("_", " ").capitalize()


def field_words(key: str) -> str:
    return ui.FIELD_WORDS.get(key, key.removesuffix("_id").replace("_", " ").capitalize())


def parse(details) -> dict:
    try:
        value = json.loads(details) if details else {}
    except ValueError:
        return {"note": details}
    return value if isinstance(value, dict) else {"note": value}


def ids_in(entry) -> set[str]:
    found = {str(x) for x in (entry.booking_id, entry.entity_id) if x}
    for state in (entry.previous_state or {}, parse(entry.details)):
        for value in state.values():
            values = value if isinstance(value, list) else [value]
            found |= {v for v in values
                      if isinstance(v, str) and len(v) == 36 and v.count("-") == 4}
    return found


def readable(value, names: dict[str, str]) -> str:
    """Times in the site zone, ids as names, lists joined, empty as a dash."""
    if value is None or value == "":
        return "—"
    if isinstance(value, list):
        return ", ".join(readable(v, names) for v in value) or "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        if value in names:
            return names[value]
        try:
            UUID(value)
            return ui.short_id(value)
        except ValueError:
            pass
        if len(value) >= 16 and value[4:5] == "-" and "T" in value:
            try:
                return ui.fmt(datetime.fromisoformat(value))
            except ValueError:
                return value
    return str(value)


def value_words(key: str, value):
    """A role as people call it ("Member", not "user"); other values as they are."""
    return ui.ROLE_WORDS.get(value, value) if key == "role" and isinstance(value, str) else value


def subject(entry, names: dict[str, str]) -> str:
    ident = entry.booking_id or entry.entity_id
    return names.get(str(ident), ui.short_id(ident)) if ident else ""


def changes(entry, names: dict[str, str]) -> list[tuple[str, str, str]]:
    """The fields the entry changed: (field, before, after), as people read them."""
    before = entry.previous_state or {}
    after = parse(entry.details)
    if entry.action in STATUS_AFTER and before:
        after.setdefault("status", STATUS_AFTER[entry.action])
    return [(field_words(k), readable(value_words(k, before.get(k)), names),
             readable(value_words(k, v), names))
            for k, v in after.items() if k not in HIDDEN_FIELDS]


def before_after(entry, names: dict[str, str]) -> pd.DataFrame:
    """The chosen entry's changes as a table (the list's rows use `changes` directly: a
    DataFrame per row cost more than the rest of the page's run)."""
    return pd.DataFrame(changes(entry, names), columns=["Field", "Before", "After"])


def change_summary(entry, names: dict[str, str]) -> str:
    return "; ".join(f"{field}: {was} → {now}" if was != "—" else f"{field}: {now}"
                     for field, was, now in changes(entry, names))


def filters(uid):
    c1, c2 = st.columns(2)
    booking = c1.text_input("Booking reference", key="al_booking",
                            placeholder="e.g. 1f3a9c02, as shown in the tables")
    action = c2.selectbox("Action", [ANY, *(a.value for a in AuditAction)], key="al_action",
                          format_func=lambda a: a if a == ANY else action_words(a))
    c1, c2 = st.columns(2)
    since = c1.date_input("From", value=ui.today() - timedelta(days=30), key="al_from",
                          format="DD/MM/YYYY")
    until = c2.date_input("Until", value=ui.today(), key="al_until", format="DD/MM/YYYY")
    return dict(booking_id=booking.strip() or None, action=None if action == ANY else action,
                since=ui.day_start(since), until=ui.day_start(until + timedelta(days=1)))


def main() -> None:
    ui.page_header("Audit log", "Append-only: every change, newest first.")
    uid = ui.user_id()
    chosen = filters(uid)
    result = ui.attempt(lambda: ui.paged(lambda n: services.list_audit_logs(
        ui.uow(), uid, page=n, page_size=PAGE_SIZE, **chosen), "al_page"))
    if result is None:
        return
    if not result.items:
        st.info("No audit entries match.")
        return
    wanted = set().union(*(ids_in(a) for a in result.items))
    names = services.audit_names(ui.uow(), uid, wanted)
    st.dataframe(pd.DataFrame([{
        "When": ui.fmt(a.timestamp), "Who": a.actor_name, "Action": action_words(a.action),
        "About": subject(a, names), "Change": change_summary(a, names)}
        for a in result.items]), hide_index=True, width="stretch",
        column_config={"Change": st.column_config.TextColumn(width="large")})
    ui.pager(result, "al_page")
    entries = {str(a.id): a for a in result.items}
    pick = st.selectbox("Entry", list(entries), key="al_pick", format_func=lambda k: (
        f"{ui.fmt(entries[k].timestamp)} · {entries[k].actor_name} · "
        f"{action_words(entries[k].action)}"))
    entry = entries[pick]
    with st.container(border=True):
        st.markdown(f"**{action_words(entry.action)}** by {entry.actor_name}, "
                    f"{ui.fmt(entry.timestamp)}" + (f" · {subject(entry, names)}"
                                                    if subject(entry, names) else ""))
        st.dataframe(before_after(entry, names), hide_index=True, width="stretch")
        if entry.previous_state:
            with st.expander("Everything as it was before"):
                st.dataframe(pd.DataFrame([
                    {"Field": field_words(k), "Value": readable(value_words(k, v), names)}
                    for k, v in entry.previous_state.items() if k not in HIDDEN_FIELDS]),
                    hide_index=True, width="stretch")


main()
