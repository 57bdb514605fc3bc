"""All bookings: filters and pagination in SQL, CSV download of the filtered result."""
from __future__ import annotations

from datetime import timedelta

import streamlit as st

from dashboard import ui
from engine import services

ANY = "Any"
PAGE_SIZE = 50
CSV_LIMIT = 20_000

ui.page_header("All bookings")
uid = ui.user_id()
types = services.list_resource_types(ui.uow(), uid)
zones = {z.name: z.id for z in services.list_zones(ui.uow(), uid)}
resources = {r.name: r.id for r in services.list_resources(ui.uow(), uid, include_inactive=True)}

c1, c2, c3 = st.columns(3)
rtype = c1.selectbox("Resource type", [ANY, *types], key="ab_type")
zone = c2.selectbox("Safety zone", [ANY, *zones], key="ab_zone")
resource = c3.selectbox("Resource", [ANY, *resources], key="ab_resource")
c1, c2, c3 = st.columns([2, 1, 1])
statuses = c1.pills("Status", ui.STATUSES, selection_mode="multi", key="ab_status")
since = c2.date_input("From", value=ui.today() - timedelta(days=30), key="ab_from",
                      format="DD/MM/YYYY")
until = c3.date_input("Until", value=ui.today() + timedelta(days=60), key="ab_until",
                      format="DD/MM/YYYY")
flt = services.BookingFilter(resource_id=resources.get(resource),
                             resource_type=None if rtype == ANY else rtype,
                             safety_zone_id=zones.get(zone), statuses=tuple(statuses or ()),
                             window_start=ui.day_start(since),
                             window_end=ui.day_start(until + timedelta(days=1)), order="start")

result = ui.attempt(lambda: ui.paged(lambda n: services.list_bookings(
    ui.uow(), uid, flt, page=n, page_size=PAGE_SIZE), "ab_page"))
if result is None:
    st.stop()
st.caption(f"{result.total} booking(s) match")
st.dataframe(ui.bookings_frame(result.items), hide_index=True, width="stretch")
ui.pager(result, "ab_page")


db = ui.database()


def csv_bytes() -> bytes:
    """Built only when the download is asked for, 500 rows per query."""
    rows: list[services.BookingView] = []
    page = 1
    while len(rows) < CSV_LIMIT:
        chunk = services.list_bookings(db.uow(), uid, flt, page=page, page_size=500)
        rows += chunk.items
        if page >= chunk.pages:
            break
        page += 1
    return ui.bookings_frame(rows[:CSV_LIMIT], for_csv=True).to_csv(index=False).encode()


st.download_button(f"Download CSV ({min(result.total, CSV_LIMIT)} rows)", csv_bytes,
                   file_name=f"bookings-{since:%Y%m%d}-{until:%Y%m%d}.csv", mime="text/csv",
                   icon=":material/download:", disabled=not result.total, key="ab_csv")
