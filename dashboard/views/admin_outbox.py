"""Outbox (admins): e-mails queued, sent, failed or skipped; retry the ones that failed."""
from __future__ import annotations

from functools import partial

import pandas as pd
import streamlit as st

from dashboard import ui
from engine import services

ui.page_header("Outbox", "E-mails the notify worker sends (python -m engine notify). Failed "
               "ones stopped after their last attempt; retry them once the cause is fixed.")


def kind_words(kind: str) -> str:
    """`booking_approved` -> "Booking approved"."""
    return kind.replace("_", " ").capitalize()


ui.flash()
uid = ui.user_id()
counts = services.outbox_counts(ui.uow(), uid)
for col, (status, n) in zip(st.columns(len(counts)), counts.items(), strict=True):
    col.metric(status.title(), n)
status = st.selectbox("Show", list(services.OUTBOX_STATUSES), index=2, key="outbox-status",
                      format_func=str.capitalize)
page = ui.paged(lambda p: services.list_outbox(ui.uow(), uid, status=status, page=p,
                                               page_size=50), key="outbox")
if not page.items:
    st.info(f"No {status} e-mails.")
else:
    st.dataframe(pd.DataFrame([{
        "Ref": ui.short_id(m.id), "E-mail": kind_words(m.kind), "To": m.recipient_email,
        "Booking": ui.short_id(m.booking_id) if m.booking_id else "",
        "Attempts": m.attempts, "Queued": ui.fmt(m.created_at),
        "Next attempt" if status == "pending" else "Sent": ui.fmt(
            m.next_attempt_at if status == "pending" else m.sent_at),
        "Last error": ui.words(m.last_error or "")} for m in page.items]),
        hide_index=True, width="stretch")
    ui.pager(page, key="outbox")
    if status == "failed":
        labels = {f"{ui.short_id(m.id)} {kind_words(m.kind)} to {m.recipient_email}": m.id
                  for m in page.items}
        chosen = st.multiselect("Retry", list(labels), key="outbox-retry")
        if st.button("Retry selected", icon=":material/replay:", disabled=not chosen,
                     key="outbox-retry-button"):
            done = [ui.attempt(partial(services.retry_message, ui.uow(), uid, labels[c]))
                    for c in chosen]
            if all(d is not None for d in done):
                st.session_state["rc_flash"] = f"{len(done)} e-mail(s) queued again."
                st.rerun()
