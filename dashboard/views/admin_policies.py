"""Admin: booking policies per resource type (overridable per resource) and named approvers.

Every save is one service call (engine/services/policies.py); the engine validates and audits
it, and the change history below comes from the audit trail.
"""
from __future__ import annotations

import json
from typing import Any

import pandas as pd
import streamlit as st

from dashboard import ui
from engine import services
from engine.domain.policy import ApprovalMode

MODES = {"": "Inherit", **{m.value: m.value.replace("_", "-").capitalize() for m in ApprovalMode}}
NUMBERS = {  # field -> (label, help)
    "min_notice_minutes": ("Minimum notice (minutes)", "e.g. 2880 for 48 hours"),
    "max_advance_days": ("Maximum advance (days)", "default 366"),
    "min_length_minutes": ("Minimum length (minutes)", "15 to 1440"),
    "max_length_minutes": ("Maximum length (minutes)", "15 to 1440"),
    "quota_hours_per_week": ("Hours per member per week", "per resource type"),
    "quota_hours_per_month": ("Hours per member per month", "per resource type"),
    "max_open_bookings": ("Pending + approved future bookings per member", "per resource type"),
}
QUOTAS = ("quota_hours_per_week", "quota_hours_per_month", "max_open_bookings")


def policy_table(rows) -> None:
    frame = pd.DataFrame([{
        "Applies to": f"type: {p.resource_type}" if p.resource_type else f"resource: "
        f"{p.resource_name}", "Approval": MODES.get(p.approval_mode or "", "Inherit"),
        **{NUMBERS[f][0]: getattr(p, f) for f in NUMBERS}} for p in rows],
        columns=["Applies to", "Approval", *(NUMBERS[f][0] for f in NUMBERS)])
    st.dataframe(frame, hide_index=True, width="stretch")


def scope_picker(key: str, types: list[str], resources: dict, *, zones: dict | None = None
                 ) -> tuple[dict[str, Any], str]:
    """Which scope an edit is for: returns the keyword arguments naming it, and a label."""
    kinds = ["Resource type", "Resource"] + (["Safety zone"] if zones else [])
    kind = st.radio("Applies to", kinds, horizontal=True, key=f"{key}_kind")
    if kind == "Resource type":
        chosen = st.selectbox("Resource type", types, key=f"{key}_type")
        return {"resource_type": chosen}, f"type {chosen}"
    if kind == "Safety zone" and zones:
        zone = st.selectbox("Safety zone", list(zones), key=f"{key}_zone",
                            format_func=zones.__getitem__)
        return {"safety_zone_id": zone}, f"zone {zones.get(zone)}"
    chosen = st.selectbox("Resource", list(resources), key=f"{key}_resource",
                          format_func=lambda k: resources[k])
    return {"resource_id": chosen}, f"resource {resources.get(chosen)}"


def policy_editor(rows, types, resources) -> None:
    scope, label = scope_picker("pol", types, resources)
    current = next((p for p in rows if (p.resource_type and p.resource_type ==
                                        scope.get("resource_type")) or
                    (p.resource_id and str(p.resource_id) == scope.get("resource_id"))), None)
    st.caption("Empty fields inherit: a resource from its type, a type from the defaults "
               "(staff approval, 366 days ahead, 15 minutes to 24 hours, no quota).")
    key = f"pol_{label}"
    mode = st.selectbox("Approval mode", list(MODES), format_func=MODES.__getitem__,
                        key=f"{key}_mode",
                        index=list(MODES).index(current.approval_mode or "") if current else 0)
    values: dict[str, Any] = {"approval_mode": mode or None}
    cols = st.columns(2)
    for i, (name, (text, help_text)) in enumerate(NUMBERS.items()):
        if "resource_id" in scope and name in QUOTAS:
            continue  # quotas count per member per type
        values[name] = cols[i % 2].number_input(
            text, value=getattr(current, name) if current else None, min_value=0, step=1,
            help=help_text, key=f"{key}_{name}")
    c1, c2 = st.columns(2)
    if c1.button("Save policy", type="primary", key="pol_save"):
        clean: dict[str, Any] = {k: (int(v) if isinstance(v, (int, float)) else v)
                                 for k, v in values.items()}
        if ui.attempt(lambda: services.set_policy(ui.uow(), ui.user_id(), **scope, **clean),
                      f"Policy for {label} saved"):
            st.rerun()
    if current is not None and c2.button("Remove this policy", key="pol_delete"):
        def remove() -> bool:
            services.delete_policy(ui.uow(), ui.user_id(), current.id)
            return True

        if ui.attempt(remove, f"Policy for {label} removed"):
            st.rerun()


def approver_editor(types, resources, zones, staff) -> None:
    scope, label = scope_picker("apr", types, resources, zones=zones)
    named = [a for a in services.list_approvers(ui.uow(), ui.user_id())
             if (a.resource_type and a.resource_type == scope.get("resource_type"))
             or (a.resource_id and str(a.resource_id) == scope.get("resource_id"))
             or (a.safety_zone_id and str(a.safety_zone_id) == scope.get("safety_zone_id"))]
    chosen = st.multiselect("Approvers (none: every staff member decides)", list(staff),
                            default=[str(a.user_id) for a in named if str(a.user_id) in staff],
                            format_func=lambda k: staff[k], key=f"apr_users_{label}")
    if st.button("Save approvers", type="primary", key="apr_save"):
        if ui.attempt(lambda: services.set_approvers(ui.uow(), ui.user_id(), chosen, **scope),
                      f"Approvers for {label} saved"):
            st.rerun()


def history() -> None:
    entries = ui.attempt(lambda: services.policy_history(ui.uow(), ui.user_id())) or []
    st.dataframe(pd.DataFrame([{
        "When": ui.fmt(e.timestamp), "Who": e.actor_name, "Action": e.action,
        "Change": e.details or "", "Before": json.dumps(e.previous_state, sort_keys=True)
        if e.previous_state else ""} for e in entries],
        columns=["When", "Who", "Action", "Change", "Before"]), hide_index=True, width="stretch")


ui.page_header("Booking policies", "Rules per resource type, overridable per resource: "
                                   "approval mode, booking window and quotas.")
ui.flash()
uid = ui.user_id()
rows = services.list_policies(ui.uow(), uid)
types = services.list_resource_types(ui.uow(), uid)
resources = {str(r.id): r.name for r in services.list_resources(ui.uow(), uid)}
zones = {str(z.id): z.name for z in services.list_zones(ui.uow(), uid)}
staff = {str(u.id): u.name for u in services.list_users(ui.uow(), uid, active=True,
                                                        page_size=500).items
         if u.role in ("staff", "admin")}
policy_table(rows)
edit, approvers, changes = st.tabs(["Edit a policy", "Approvers", "Change history"])
with edit:
    policy_editor(rows, types, resources)
with approvers:
    approver_editor(types, resources, zones, staff)
with changes:
    history()
