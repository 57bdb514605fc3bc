"""Admin: safety zones — resources in one zone never have overlapping approved bookings."""
from __future__ import annotations

from uuid import UUID

import pandas as pd
import streamlit as st

from dashboard import ui
from engine import services

ui.page_header("Safety zones", "Resources whose danger areas overlap share a zone: an approved "
                               "booking on one blocks the others.")
ui.flash()
uid = ui.user_id()
zones = services.list_zones(ui.uow(), uid)
members: dict[UUID, list[str]] = {}
for r in services.list_resources(ui.uow(), uid, include_inactive=True):
    if r.safety_zone_id:
        members.setdefault(r.safety_zone_id, []).append(r.name)
st.dataframe(pd.DataFrame([{"Zone": z.name, "Resources": ", ".join(members.get(z.id, [])),
                            "Description": z.description or ""} for z in zones],
                          columns=["Zone", "Resources", "Description"]),
             hide_index=True, width="stretch")

edit, create = st.tabs(["Edit a zone", "Add a zone"])
with edit:
    by_id = {str(z.id): z for z in zones}
    if by_id:
        pick = st.selectbox("Zone", list(by_id), format_func=lambda k: by_id[k].name,
                            key="az_pick")
        z = by_id[pick]
        name = st.text_input("Name", value=z.name, key=f"az_name_{pick}")
        desc = st.text_area("Description", value=z.description or "", key=f"az_desc_{pick}")
        if st.button("Save zone", type="primary", key="az_save"):
            if ui.attempt(lambda: services.update_zone(ui.uow(), uid, z.id, name=name,
                                                       description=desc),
                          f"Saved zone {name}"):
                st.rerun()
        st.caption("Put a resource in a zone from the Resources page.")
    else:
        st.info("No zones yet.")
with create:
    name = st.text_input("Name", key="az_new_name")
    desc = st.text_area("Description", key="az_new_desc")
    if st.button("Add zone", type="primary", key="az_create"):
        if ui.attempt(lambda: services.create_zone(ui.uow(), uid, name=name,
                                                   description=desc or None),
                      f"Added zone {name}"):
            st.rerun()
