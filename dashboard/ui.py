"""Shared dashboard helpers: the cached Database, the signed-in user, site-zone times, errors.

Pages stay thin: they read widgets, call one engine service and render its result with these.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol, TypeVar
from uuid import UUID

import pandas as pd
import streamlit as st

from engine.db import Database
from engine.domain.permissions import Permission, has_permission
from engine.errors import ConflictError, DomainError, ValidationError

T = TypeVar("T")


class _PageOf(Protocol):
    @property
    def items(self) -> Sequence[Any]: ...


PageT = TypeVar("PageT", bound=_PageOf)

#: Set by tests (and only tests) to run the app against a fixture database and clock.
database_override: Database | None = None

STATUS_COLOURS = {"pending": "#f0a202", "approved": "#2e933c", "denied": "#c0392b",
                  "cancelled": "#8d99ae", "bumped": "#7b2cbf", "blackout": "#1f2933"}
STATUSES = ("pending", "approved", "denied", "cancelled", "bumped")
#: A role as people call it (the engine's "user" is a member).
ROLE_WORDS = {"user": "Member", "manager": "Manager", "staff": "Staff", "admin": "Admin"}


@st.cache_resource
def _shared_database() -> Database:
    return Database()


def database() -> Database:
    """One Database (engine and pool) per process, never a Session."""
    return database_override or _shared_database()


def uow():
    return database().uow()


def tz():
    return database().settings.tz


# --- the signed-in user ---------------------------------------------------------------

def user_id() -> UUID:
    """The signed-in user's id; app.py only runs pages once sign-in has set it."""
    return UUID(st.session_state["rc_user_id"])


def role() -> str:
    return st.session_state.get("rc_role", "user")


def can(permission: Permission) -> bool:
    """For showing or hiding controls only; the engine checks every call itself."""
    return has_permission(role(), permission)


# --- times in the site's zone ---------------------------------------------------------

def local(dt: datetime) -> datetime:
    return dt.astimezone(tz())


def fmt(dt: datetime | None) -> str:
    return local(dt).strftime("%a %d %b %Y %H:%M") if dt is not None else ""


def fmt_span(start: datetime, end: datetime) -> str:
    s, e = local(start), local(end)
    tail = e.strftime("%H:%M") if s.date() == e.date() else e.strftime("%a %d %b %H:%M")
    return f"{s:%a %d %b %Y %H:%M} – {tail}"


def at(day: date, clock: time) -> datetime:
    """A date and wall-clock time typed in the site zone, as an aware datetime."""
    return datetime.combine(day, clock, tz())


def window_inputs(key: str, start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """Date, start and end pickers (site zone, 15-minute steps) for moving an existing
    booking's window; widget keys are `key` plus _day, _start, _end."""
    s, e = local(start), local(end)
    c1, c2, c3 = st.columns(3)
    day = c1.date_input("Date", value=s.date(), key=f"{key}_day", format="DD/MM/YYYY")
    t0 = c2.time_input("Start", value=s.time(), key=f"{key}_start", step=timedelta(minutes=15))
    t1 = c3.time_input("End", value=e.time(), key=f"{key}_end", step=timedelta(minutes=15))
    return at(day, t0), at(day, t1)


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tz())


def now() -> datetime:
    """The engine's clock (the same one services judge 'in the past' by), in the site zone."""
    return database().clock().astimezone(tz())


def today() -> date:
    return now().date()


# --- errors beside the form -----------------------------------------------------------

#: The words on the forms for the engine's field names, so messages read like the form.
FIELD_WORDS = {
    "start_time": "Start", "end_time": "End", "resource_id": "Resource", "purpose": "Purpose",
    "priority": "Priority", "reason": "Reason", "current_password": "Current password",
    "new_password": "New password", "password": "Password", "email": "Email", "name": "Name",
    "role": "Role", "opens_at": "Opens at", "closes_at": "Closes at",
    "resource_type": "Resource type", "safety_zone_id": "Safety zone",
    "in_favour_of": "Request", "booking_id": "Booking", "booking_ids": "Bookings",
    "window_start": "From", "window_end": "To", "description": "Description",
    # recurring series (dashboard/views/new_series.py)
    "rule.frequency": "Repeat", "rule.interval": "Every N", "rule.weekdays": "On",
    "rule.month_day": "Which day", "rule.month_week": "Which day", "rule.until": "Last date",
    "rule.count": "Number of dates", "skip_conflicts": "Taken dates",
    "from_booking_id": "Cancel", "series_id": "Series",
}
_FIELD_PATTERN = re.compile(r"\b(" + "|".join(sorted(FIELD_WORDS, key=len, reverse=True)) + r")\b")
_UUID_PATTERN = re.compile(r"\b([0-9a-f]{8})-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")


def words(text: str) -> str:
    """Engine text in the form's words: field names as labelled, ids as short references."""
    text = _FIELD_PATTERN.sub(lambda m: FIELD_WORDS[m.group(1)].lower(), text)
    return _UUID_PATTERN.sub(lambda m: m.group(1), text)


def error_text(exc: DomainError) -> str:
    if isinstance(exc, ValidationError):
        label = FIELD_WORDS.get(exc.field, exc.field.replace("_", " ").capitalize())
        rule = words(exc.rule)
        joined = rule.startswith(("must ", "is ", "may ", "cannot ", "should "))
        return f"{label} {rule}" if joined else f"{label}: {rule}"
    if isinstance(exc, ConflictError):
        return words(exc.summary)
    return words(exc.message)


def show_error(exc: DomainError) -> None:
    """A service's message in the form's words; conflicts listed one per row."""
    st.error(error_text(exc), icon=":material/warning:")
    if isinstance(exc, ConflictError) and exc.conflicts:
        st.dataframe(conflict_frame(exc.conflicts), hide_index=True, width="stretch")


def attempt(action: Callable[[], T], success: str | None = None) -> T | None:
    """Run one service call; show its DomainError beside the form (the widgets keep their
    values because nothing reruns), or a success toast."""
    try:
        result = action()
    except DomainError as exc:
        show_error(exc)
        return None
    if success:
        st.toast(success, icon=":material/check_circle:")
        st.session_state["rc_flash"] = success
    return result


def flash() -> None:
    """Show (once) the message the last successful action left before its rerun."""
    message = st.session_state.pop("rc_flash", None)
    if message:
        st.success(message)


def conflict_frame(conflicts) -> pd.DataFrame:
    return pd.DataFrame([{
        "What": c.kind, "Resource": c.resource_name, "When": fmt_span(c.start_time, c.end_time),
        "Priority": c.priority if c.priority is not None else "—",
        "Note": c.label or (c.status or ""), "Ref": short_id(c.id)} for c in conflicts])


#: Marks an occurrence of a recurring series in tables and on the calendar.
SERIES_MARK = "↻ series"


def iso(dt: datetime | None) -> str:
    """ISO 8601 in the site zone with its offset: spreadsheets read it as a date and time."""
    return local(dt).isoformat(timespec="minutes") if dt is not None else ""


def bookings_frame(bookings, *, requester: bool = True, for_csv: bool = False) -> pd.DataFrame:
    """One row per booking, named by its short reference; the CSV copy adds ISO 8601 times."""
    rows = []
    for b in bookings:
        row = {"Ref": short_id(b.id), "Status": b.status,
               "Series": SERIES_MARK if b.series_id else "", "Resource": b.resource_name}
        if for_csv:
            row |= {"Start (ISO 8601)": iso(b.start_time), "End (ISO 8601)": iso(b.end_time)}
        row |= {"Starts": fmt(b.start_time), "Ends": fmt(b.end_time), "Priority": b.priority,
                "Purpose": b.purpose or ""}
        if requester:
            row["Requested by"] = b.requester_name
        row["Reason"] = b.decision_reason or ""
        rows.append(row)
    return pd.DataFrame(rows)


def page_header(title: str, caption: str | None = None) -> None:
    st.title(title)
    if caption:
        st.caption(caption)


def paged(fetch: Callable[[int], PageT], key: str) -> PageT:
    """Fetch the page kept in session state under `key` (back to page 1 when a narrower filter
    leaves it empty) and return it; call `pager` after the table to draw the page picker."""
    number = int(st.session_state.get(key, 1))
    result = fetch(number)
    if number > 1 and not result.items:
        st.session_state.pop(key, None)
        result = fetch(1)
    return result


def pager(result, key: str) -> None:
    if result.pages > 1:
        c1, c2 = st.columns([1, 4])
        c1.number_input("Page", min_value=1, max_value=result.pages, step=1, key=key)
        more = "+" if getattr(result, "more", False) else ""
        c2.caption(f"Page {result.page} of {result.pages}{more} · {result.total:,}{more} in all")


@contextmanager
def section(title: str) -> Iterator[None]:
    with st.container(border=True):
        st.subheader(title)
        yield


def short_id(ident: UUID | str) -> str:
    return str(ident)[:8]


class ActionResult:
    """A page's last action result, kept across the rerun for the place it came from (a tab,
    a row), so the message shows there and the user's place is kept."""

    def __init__(self, key: str, *, toast: bool = False):
        self.key, self.toast = key, toast

    def done(self, where: str, message: str) -> None:
        st.session_state[self.key] = (where, message)
        if self.toast:
            st.toast(message, icon=":material/check_circle:")
        st.rerun()

    def show(self, where: str | None = None) -> None:
        """The result kept for `where` (None: whatever place it came from)."""
        result = st.session_state.get(self.key)
        if result and where in (None, result[0]):
            del st.session_state[self.key]
            st.success(result[1], icon=":material/check_circle:")
