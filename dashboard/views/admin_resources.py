"""Admin: resources — create, edit, deactivate; types, safety zones and operating hours."""
from __future__ import annotations

from datetime import time

import pandas as pd
import streamlit as st

from dashboard import ui
from engine import services

NEW_TYPE = "+ new type"
NO_ZONE = "None"

ui.page_header("Resources")
ui.flash()
uid = ui.user_id()
resources = services.list_resources(ui.uow(), uid, include_inactive=True)
types = services.list_resource_types(ui.uow(), uid)
zones = {z.name: z.id for z in services.list_zones(ui.uow(), uid)}
st.dataframe(pd.DataFrame([{
    "Name": r.name, "Type": r.resource_type, "Safety zone": r.safety_zone_name or "",
    "Hours": f"{r.opens_at:%H:%M}–{r.closes_at:%H:%M}" if r.opens_at else "24h",
    "Active": "yes" if r.is_active else "no", "Description": r.description or ""}
    for r in resources]), hide_index=True, width="stretch")


def resource_fields(prefix: str, current=None) -> dict:
    """The shared create/edit fields, prefilled from `current`; returns service keywords."""
    c1, c2 = st.columns(2)
    name = c1.text_input("Name", value=current.name if current else "", key=f"{prefix}_name")
    type_options = [*types, NEW_TYPE]
    picked = c2.selectbox("Type", type_options, key=f"{prefix}_type",
                          index=type_options.index(current.resource_type) if current else 0)
    rtype = c2.text_input("New type (lowercase, e.g. simulator)", key=f"{prefix}_newtype") \
        if picked == NEW_TYPE else picked
    zone_names = [NO_ZONE, *zones]
    zone = c1.selectbox("Safety zone", zone_names, key=f"{prefix}_zone",
                        index=zone_names.index(current.safety_zone_name)
                        if current and current.safety_zone_name else 0)
    description = st.text_area("Description", value=(current.description or "") if current
                               else "", key=f"{prefix}_desc")
    limited = st.toggle("Has operating hours (otherwise open 24h)", key=f"{prefix}_limited",
                        value=bool(current.opens_at) if current else True)
    c1, c2 = st.columns(2)
    opens = c1.time_input("Opens", value=(current.opens_at if current and current.opens_at
                                          else time(8)), key=f"{prefix}_opens",
                          disabled=not limited)
    closes = c2.time_input("Closes", value=(current.closes_at if current and current.closes_at
                                            else time(18)), key=f"{prefix}_closes",
                           disabled=not limited)
    return {"name": name, "resource_type": rtype, "safety_zone_id": zones.get(zone),
            "description": description or None,
            "opens_at": opens if limited else None, "closes_at": closes if limited else None}


edit, create = st.tabs(["Edit a resource", "Add a resource"])
with edit:
    by_id = {str(r.id): r for r in resources}
    if by_id:
        pick = st.selectbox("Resource", list(by_id), key="ar_pick", format_func=lambda k: (
            by_id[k].name + ("" if by_id[k].is_active else " (deactivated)")))
        current = by_id[pick]
        values = resource_fields(f"ar_edit_{pick}", current)
        c1, c2 = st.columns([1, 3])
        if c1.button("Save changes", type="primary", key="ar_save"):
            if ui.attempt(lambda: services.update_resource(ui.uow(), uid, current.id, **values),
                          f"Saved {values['name']}"):
                st.rerun()
        label = "Deactivate" if current.is_active else "Reactivate"
        if c2.button(label, key="ar_active"):
            if ui.attempt(lambda: services.set_resource_active(ui.uow(), uid, current.id,
                                                               not current.is_active),
                          f"{current.name}: {label.lower()}d"):
                st.rerun()
        if current.is_active:
            st.caption("Deactivating stops new requests and approvals; existing bookings stay "
                       "for staff to handle.")
with create:
    values = resource_fields("ar_new")
    if st.button("Add resource", type="primary", key="ar_create"):
        if ui.attempt(lambda: services.create_resource(ui.uow(), uid, **values),
                      f"Added {values['name']}"):
            st.rerun()
