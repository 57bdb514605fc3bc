"""New booking: pick a resource, a window in the site's zone, see conflicts and alternatives,
send."""
from __future__ import annotations

from datetime import time, timedelta

import streamlit as st

from dashboard import ui
from engine import services
from engine.errors import DomainError

ANY = "Any"
NO_ZONE = "No safety zone"


def use_suggestion(resource_id: str, resource_type: str, start, end) -> None:
    """Callback: copy an alternative into the form (runs before the widgets are drawn)."""
    s, e = ui.local(start), ui.local(end)
    st.session_state.update({"nb_type": resource_type, "nb_zone": ANY, "nb_resource": resource_id,
                             "nb_date": s.date(), "nb_start": s.time(), "nb_end": e.time()})


ui.page_header("New booking", f"Times are in the site's time zone "
                              f"({ui.database().settings.site_timezone}).")
ui.flash()
if notice := st.session_state.pop("nb_notice", None):  # the calendar cut a dragged window
    st.warning(notice, icon=":material/content_cut:")
uid = ui.user_id()
if st.session_state.get("nb_sent"):
    st.success(st.session_state["nb_sent"], icon=":material/send:")
    c1, c2 = st.columns(2)
    if c1.button("Make another request", icon=":material/add_circle:", key="nb_again"):
        del st.session_state["nb_sent"]
        st.rerun()
    c2.page_link("views/my_bookings.py", label="See it in My bookings",
                 icon=":material/event_note:")
    st.stop()
types = services.list_resource_types(ui.uow(), uid)
zones = services.list_zones(ui.uow(), uid)
zone_ids = {z.name: z.id for z in zones}

c1, c2 = st.columns(2)
rtype = c1.selectbox("Resource type", [ANY, *types], key="nb_type")
zone = c2.selectbox("Safety zone", [ANY, *zone_ids, NO_ZONE], key="nb_zone")
resources = services.list_resources(ui.uow(), uid, resource_type=None if rtype == ANY else rtype,
                                    safety_zone_id=zone_ids.get(zone))
if zone == NO_ZONE:
    resources = [r for r in resources if r.safety_zone_id is None]
by_id = {str(r.id): r for r in resources}
if not by_id:
    st.info("No active resources match these filters.")
    st.stop()
if st.session_state.get("nb_resource") not in by_id:
    st.session_state["nb_resource"] = next(iter(by_id))


def describe(rid: str) -> str:
    r = by_id[rid]
    hours = f"{r.opens_at:%H:%M}–{r.closes_at:%H:%M}" if r.opens_at else "open 24h"
    return f"{r.name} · {r.resource_type} · {hours}"


resource_id = st.selectbox("Resource", list(by_id), format_func=describe, key="nb_resource")
resource = by_id[resource_id]
if resource.description:
    st.caption(resource.description + (f" · zone: {resource.safety_zone_name}"
                                       if resource.safety_zone_name else ""))

st.session_state.setdefault("nb_date", ui.today() + timedelta(days=1))
st.session_state.setdefault("nb_start", resource.opens_at or time(9))
st.session_state.setdefault("nb_end", time(min((st.session_state["nb_start"].hour + 2), 23)))
c1, c2, c3 = st.columns(3)
day = c1.date_input("Date", key="nb_date", format="DD/MM/YYYY")
start_t = c2.time_input("Start", key="nb_start", step=timedelta(minutes=15))
end_t = c3.time_input("End", key="nb_end", step=timedelta(minutes=15))
purpose = st.text_area("Purpose", key="nb_purpose", max_chars=500,
                       placeholder="e.g. Club practice night, 12 shooters")
priority = st.slider("Priority", 0, 10, key="nb_priority", value=0,
                     help="Higher priority requests may displace lower ones when staff approve "
                          "them with an override (0 = routine, 10 = most urgent).")
start, end = ui.at(day, start_t), ui.at(day, end_t)

SENT_KEY = "nb_sent"


def availability() -> services.RequestCheck | None:
    """The request service's rules and what is in the way, before anyone says "free"."""
    try:
        check = services.check_request(ui.uow(), uid, resource.id, start, end)
    except DomainError as exc:
        ui.show_error(exc)
        return None
    if check.problem is not None:
        st.warning(f"This window cannot be requested: {ui.error_text(check.problem)}.",
                   icon=":material/block:")
        return check
    report = check.conflicts
    if report.has_hard:
        st.warning("This window is already taken: staff cannot approve it as it stands. "
                   "Pick an alternative below, or send it anyway to ask for an override.",
                   icon=":material/warning:")
        st.dataframe(ui.conflict_frame(report.hard), hide_index=True, width="stretch")
    else:
        st.success(f"{resource.name} is free {ui.fmt_span(start, end)}.",
                   icon=":material/check_circle:")
    if report.soft:
        st.info(f"{len(report.soft)} other pending request(s) ask for overlapping time; "
                "staff decide between them.")
    if check.already:
        st.warning("You already have " + "; ".join(
            f"a {b.status} request for {b.resource_name}, {ui.fmt_span(b.start_time, b.end_time)}"
            f" (reference {ui.short_id(b.id)})" for b in check.already)
            + ". Change that one in **My bookings** rather than sending another.",
            icon=":material/content_copy:")
    if report.has_hard:
        alternatives()
    return check


def alternatives() -> None:
    try:
        suggestions = services.suggest_alternatives(ui.uow(), uid, resource.id, start, end)
    except DomainError as exc:
        ui.show_error(exc)
        suggestions = []
    if suggestions:
        st.markdown("**Free alternatives**")
    for i, sug in enumerate(suggestions):
        a, b = st.columns([4, 1])
        where = "same resource" if sug.same_resource else "similar resource"
        a.write(f"{sug.resource_name} · {ui.fmt_span(sug.start_time, sug.end_time)} · _{where}_")
        b.button("Use this", key=f"nb_use_{i}", on_click=use_suggestion,
                 args=(str(sug.resource_id), rtype, sug.start_time, sug.end_time))


def send(check: services.RequestCheck | None) -> None:
    """Send once: a duplicate needs a tick, and after sending the form locks until the member
    asks for a new one."""
    duplicate = bool(check and check.already)
    anyway = duplicate and st.checkbox("Send another request for this window anyway",
                                       key="nb_send_anyway")
    if st.button("Send request", type="primary", icon=":material/send:",
                 disabled=duplicate and not anyway):
        booking = ui.attempt(lambda: services.request_booking(
            ui.uow(), uid, resource_id=resource.id, start_time=start, end_time=end,
            purpose=purpose, priority=int(priority)))
        if booking is not None:
            st.session_state[SENT_KEY] = (
                f"Request sent: {booking.resource_name}, "
                f"{ui.fmt_span(booking.start_time, booking.end_time)} — now pending staff "
                f"approval (reference {ui.short_id(booking.id)}).")
            for key in ("nb_purpose", "nb_send_anyway"):
                st.session_state.pop(key, None)
            st.rerun()


def join_waitlist(check: services.RequestCheck | None) -> None:
    """When the window is taken, the member may wait for it instead of sending a request."""
    if check is None or check.problem is not None or not (check.conflicts.hard
                                                          or check.conflicts.soft):
        return
    st.caption("Or wait for it: if the window frees (a cancellation, denial, bump or no-show) "
               "the first on the waitlist is offered it as a request.")
    if st.button("Join the waitlist for this window", icon=":material/hourglass_top:",
                 key="nb_waitlist"):
        entry = ui.attempt(lambda: services.join_waitlist(
            ui.uow(), uid, resource_id=resource.id, start_time=start, end_time=end,
            purpose=purpose, priority=int(priority)))
        if entry is not None:
            st.success(f"On the waitlist for {entry.resource_name}, "
                       f"{ui.fmt_span(entry.start_time, entry.end_time)}: see **My waitlist**.",
                       icon=":material/hourglass_top:")


with ui.section("Availability"):
    checked = availability()
send(checked)
join_waitlist(checked)
