"""Recurring booking: a first window and a repetition rule; every date with its conflicts shows
before sending, and the member chooses to skip the conflicting dates or send them all."""
from __future__ import annotations

from datetime import time, timedelta

import pandas as pd
import streamlit as st

from dashboard import ui
from engine import services
from engine.domain.recurrence import WEEKDAY_NAMES
from engine.errors import DomainError

ANY = "Any"
FREQUENCIES = {"Daily": "daily", "Weekly": "weekly", "Monthly": "monthly"}
UNITS = {"daily": "day(s)", "weekly": "week(s)", "monthly": "month(s)"}
ORDINALS = {1: "first", 2: "second", 3: "third", 4: "fourth", -1: "last"}
SKIP, SEND_ALL = "Skip the conflicting dates", "Send them all for staff to decide"


def read_rule(day) -> dict:
    """The rule widgets, turned into the engine's rule fields."""
    c1, c2 = st.columns([2, 1])
    label = c1.segmented_control("Repeat", list(FREQUENCIES), default="Weekly", key="ns_freq")
    frequency = FREQUENCIES[label or "Weekly"]
    interval = c2.number_input(f"Every N {UNITS[frequency]}", min_value=1, max_value=52,
                               value=1, step=1, key="ns_interval")
    rule = {"frequency": frequency, "interval": int(interval)}
    if frequency == "weekly":
        days = st.multiselect("On", list(range(7)), default=[day.weekday()],
                              format_func=lambda d: WEEKDAY_NAMES[d], key="ns_weekdays")
        rule["weekdays"] = days
    elif frequency == "monthly":
        nth = (day.day - 1) // 7 + 1
        options = {"day": f"On day {day.day} of each month",
                   "nth": f"On the {ORDINALS.get(nth, str(nth))} {WEEKDAY_NAMES[day.weekday()]}"}
        last_week = (day + timedelta(days=7)).month != day.month
        if last_week:
            options["last_weekday"] = f"On the last {WEEKDAY_NAMES[day.weekday()]}"
        if (day + timedelta(days=1)).month != day.month:
            options["last_day"] = "On the last day of each month"
        how = st.radio("Which day", list(options), format_func=options.__getitem__,
                       key="ns_monthly",
                       horizontal=True)
        if how == "day":
            rule["month_day"] = day.day
        elif how == "nth":
            rule["month_week"] = nth if nth <= 4 else -1
        elif how == "last_weekday":
            rule["month_week"] = -1
        else:
            rule["month_day"] = -1
    c1, c2 = st.columns(2)
    ends = c1.radio("Ends", ["After a number of dates", "On a date"], key="ns_ends",
                    horizontal=True)
    if ends == "On a date":
        rule["until"] = c2.date_input("Last date", value=day + timedelta(weeks=12),
                                      key="ns_until", format="DD/MM/YYYY")
    else:
        rule["count"] = int(c2.number_input("Number of dates", min_value=1, max_value=1000,
                                            value=10, step=1, key="ns_count"))
    return rule


def preview_table(preview) -> pd.DataFrame:
    rows = []
    for o in preview.occurrences:
        if o.conflicts.hard:
            state = "taken: " + "; ".join(
                f"{c.resource_name} {'blackout' if c.kind == 'blackout' else 'booked'} "
                f"{ui.fmt_span(c.start_time, c.end_time)}" for c in o.conflicts.hard)
        else:
            state = "free"
        if o.conflicts.soft:
            state += f" · {len(o.conflicts.soft)} other request(s) pending"
        rows.append({"Date": ui.local(o.start_time).strftime("%a %d %b %Y"),
                     "When": ui.fmt_span(o.start_time, o.end_time), "Availability": state})
    return pd.DataFrame(rows)


ui.page_header("Recurring booking", "One request for every date of a repeating booking, e.g. "
                                    "every Tuesday evening. Times are in the site's time zone "
                                    f"({ui.database().settings.site_timezone}) and keep their "
                                    "clock time across daylight-saving changes.")
ui.flash()
uid = ui.user_id()
types = services.list_resource_types(ui.uow(), uid)
rtype = st.selectbox("Resource type", [ANY, *types], key="ns_type")
resources = services.list_resources(ui.uow(), uid, resource_type=None if rtype == ANY else rtype)
by_id = {str(r.id): r for r in resources}
if not by_id:
    st.info("No active resources match.")
    st.stop()
resource_id = st.selectbox("Resource", list(by_id), key="ns_resource", format_func=lambda k: (
    f"{by_id[k].name} · {by_id[k].resource_type}"
    + (f" · {by_id[k].opens_at:%H:%M}–{by_id[k].closes_at:%H:%M}" if by_id[k].opens_at else "")))
resource = by_id[resource_id]

if st.session_state.get("ns_times_for") != resource_id:  # a new resource: its own hours
    opens, closes = resource.opens_at, resource.closes_at
    evening = opens is None or closes is None or opens <= time(18) <= time(20) <= closes
    first = time(18) if evening or opens is None else opens  # evening when the hours allow
    st.session_state.update({"ns_times_for": resource_id, "ns_start": first,
                             "ns_end": time(min(first.hour + 2, 23), first.minute)})
c1, c2, c3 = st.columns(3)
day = c1.date_input("First date", value=ui.today() + timedelta(days=1), key="ns_date",
                    format="DD/MM/YYYY")
start_t = c2.time_input("Start", key="ns_start", step=timedelta(minutes=15))
end_t = c3.time_input("End", key="ns_end", step=timedelta(minutes=15))
rule = read_rule(day)
purpose = st.text_area("Purpose", key="ns_purpose", max_chars=500,
                       placeholder="e.g. Club practice night")
priority = st.slider("Priority", 0, 10, key="ns_priority", value=0)
start, end = ui.at(day, start_t), ui.at(day, end_t)

with ui.section("Dates and availability"):
    try:
        preview = services.preview_series(ui.uow(), uid, resource_id=resource.id,
                                          start_time=start, end_time=end, rule=rule)
    except DomainError as exc:
        ui.show_error(exc)
        st.stop()
    n, taken = len(preview.occurrences), preview.conflicting
    st.write(f"**{n} date(s)**, {preview.description}; **{taken}** taken.")
    st.dataframe(preview_table(preview), hide_index=True, width="stretch")
    choice = SEND_ALL
    if taken:
        choice = st.radio(f"{taken} date(s) are taken", [SKIP, SEND_ALL], key="ns_skip")

if st.button("Send series request", type="primary", icon=":material/send:", key="ns_send"):
    series = ui.attempt(lambda: services.request_series(
        ui.uow(), uid, resource_id=resource.id, start_time=start, end_time=end, rule=rule,
        purpose=purpose, priority=int(priority), skip_conflicts=choice == SKIP))
    if series is not None:
        skipped = f", {len(series.skipped_starts)} skipped" if series.skipped_starts else ""
        st.session_state["rc_flash"] = (
            f"Series sent: {len(series.occurrences)} date(s) on {series.resource_name}"
            f"{skipped} — pending staff approval (reference {ui.short_id(series.id)}).")
        st.session_state.pop("ns_purpose", None)
        st.rerun()
