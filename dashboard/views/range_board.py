"""Today: the live range board for the range desk. Refreshes itself (a fragment with
run_every) without reloading the page; staff check bookings in and out from it, managers
read it."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import ui
from engine import services
from engine.errors import DomainError

REFRESH_SECONDS = ui.database().settings.board_refresh_seconds

ui.page_header("Today", "Every resource now and next, checked in or not, hot or cold; "
                        f"refreshes every {REFRESH_SECONDS} s.")
types = ["All types"] + [t for t in services.list_resource_types(ui.uow(), ui.user_id())]
chosen_type = st.selectbox("Resource type", types, key="board_type")


def _who(b: services.BoardBooking | None) -> str:
    if b is None:
        return ""
    mark = "✔ in" if b.checked_in else "not in"
    if b.checked_out_at:
        mark = "out"
    return (f"{b.requester_name} · {ui.local(b.start_time):%H:%M}–"
            f"{ui.local(b.end_time):%H:%M} · {mark}")


def _state(row: services.BoardRow) -> str:
    if row.blacked_out_now:
        return "BLACKOUT"
    return "HOT" if row.hot else "cold"


def board_frame(board: services.Board) -> pd.DataFrame:
    return pd.DataFrame([{
        "Resource": r.resource_name, "Zone": r.zone_name or "", "State": _state(r),
        "Now": _who(r.current), "Next": _who(r.next),
        "Blackouts": "; ".join(f"{ui.local(b.start_time):%H:%M}–{ui.local(b.end_time):%H:%M} "
                               f"{b.reason}" for b in r.blackouts),
        "No-shows today": "; ".join(f"{n.requester_name} {ui.local(n.start_time):%H:%M}"
                                    for n in r.no_shows),
    } for r in board.rows], columns=["Resource", "Zone", "State", "Now", "Next", "Blackouts",
                                     "No-shows today"])


def _act(kind: str, booking_id: str, label: str) -> None:
    """Button callback: runs before the board is read again, so the redraw shows the change."""
    service = services.check_in if kind == "in" else services.check_out
    try:
        service(ui.uow(), ui.user_id(), booking_id)
    except DomainError as exc:
        st.session_state["rc_board_error"] = exc
        return
    st.session_state["rc_board_flash"] = label


@st.fragment(run_every=REFRESH_SECONDS)
def live_board() -> None:
    board = ui.attempt(lambda: services.range_board(
        ui.uow(), ui.user_id(), resource_type=None if chosen_type == "All types" else chosen_type))
    if board is None:
        return
    note = st.session_state.pop("rc_board_flash", None)
    if note:
        st.success(note, icon=":material/check_circle:")
    error = st.session_state.pop("rc_board_error", None)
    if error is not None:
        ui.show_error(error)
    now = board.now
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Resources", len(board.rows))
    c2.metric("Hot now", board.hot_count)
    c3.metric("No-shows today", board.no_show_count)
    c4.metric("Updated", f"{ui.local(now):%H:%M:%S}")
    st.dataframe(board_frame(board), hide_index=True, width="stretch",
                 column_config={"State": st.column_config.TextColumn("State", width="small"),
                                "Now": st.column_config.TextColumn("Now", width="medium"),
                                "Next": st.column_config.TextColumn("Next", width="medium")})
    if not board.can_act:
        st.caption("Read-only view: check-in and check-out are for range staff.")
        return
    actions = [(row, b) for row in board.rows for b in (row.current, row.next)
               if b is not None and (b.can_check_in(now) or b.can_check_out(now))]
    if not actions:
        st.caption("Nothing to check in or out right now.")
        return
    st.subheader("Check in / out")
    for row, b in actions:
        text = (f"{row.resource_name} · {b.requester_name} · "
                f"{ui.local(b.start_time):%H:%M}–{ui.local(b.end_time):%H:%M}")
        col1, col2 = st.columns([4, 1])
        col1.markdown(text)
        if b.can_check_in(now):
            col2.button("Check in", key=f"board_in_{b.id}", on_click=_act, args=(
                "in", str(b.id), f"Checked in {b.requester_name} on {row.resource_name}"))
        else:
            col2.button("Check out", key=f"board_out_{b.id}", on_click=_act, args=(
                "out", str(b.id), f"Checked out {b.requester_name} on {row.resource_name}: "
                                  "the rest of the window is free"))


live_board()
