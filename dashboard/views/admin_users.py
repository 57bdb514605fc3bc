"""Admin: users — create staff and admins, change roles, deactivate, reset passwords."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import ui
from engine import services

ROLES = ui.ROLE_WORDS

ui.page_header("Users")
ui.flash()
uid = ui.user_id()
c1, c2 = st.columns([2, 1])
search = c1.text_input("Search name or email", key="au_search")
role = c2.selectbox("Role", ["Any", *ROLES], key="au_role",
                    format_func=lambda r: ROLES.get(r, r))
result = ui.attempt(lambda: ui.paged(lambda n: services.list_users(
    ui.uow(), uid, role=None if role == "Any" else role, search=search or None, page=n,
    page_size=50), "au_page"))
if result is None:
    st.stop()
st.dataframe(pd.DataFrame([{
    "Name": u.name, "Email": u.email, "Role": ROLES[u.role],
    "Active": "yes" if u.is_active else "no",
    "Since": ui.fmt(u.created_at)} for u in result.items]), hide_index=True, width="stretch")
ui.pager(result, "au_page")

TAB_KEY = "au_tab"
RESULT = ui.ActionResult("au_result")


def change_role_box(u) -> None:
    new_role = st.selectbox("Role", list(ROLES), index=list(ROLES).index(u.role),
                            format_func=ROLES.__getitem__, key=f"au_newrole_{u.id}")
    if st.button("Change role", key="au_change_role"):
        if new_role == u.role:
            st.info(f"Nothing changed: {u.name} is already {ROLES[u.role]}.",
                    icon=":material/info:")
        elif ui.attempt(lambda: services.change_role(ui.uow(), uid, u.id, new_role)):
            RESULT.done("manage", f"{u.name} is now {ROLES[new_role]}; their sessions are ended.")


def activation_box(u) -> None:
    st.write("Active" if u.is_active else "Deactivated")
    if u.is_active and st.button("Deactivate", key="au_deactivate"):
        if ui.attempt(lambda: services.deactivate_user(ui.uow(), uid, u.id)):
            RESULT.done("manage", f"{u.name} deactivated.")
    if not u.is_active and st.button("Reactivate", key="au_reactivate"):
        if ui.attempt(lambda: services.reactivate_user(ui.uow(), uid, u.id)):
            RESULT.done("manage", f"{u.name} reactivated.")


def password_box(u) -> None:
    new_pw = st.text_input("New password", type="password", key=f"au_pw_{u.id}")
    if st.button("Reset password", key="au_reset"):
        if ui.attempt(lambda: services.reset_password(ui.uow(), uid, u.id, new_pw)):
            RESULT.done("manage", f"Password reset for {u.name}; their sessions are ended.")


def manage_user(users) -> None:
    RESULT.show("manage")
    if not users:
        st.caption("No user matches the search.")
        return
    pick = st.selectbox("User", list(users), key="au_pick",
                        format_func=lambda k: f"{users[k].name} <{users[k].email}>")
    u = users[pick]
    c1, c2, c3 = st.columns(3)
    with c1, st.container(border=True):
        change_role_box(u)
    with c2, st.container(border=True):
        activation_box(u)
    with c3, st.container(border=True):
        password_box(u)


def add_user() -> None:
    RESULT.show("add")
    with st.form("au_create", clear_on_submit=False):
        c1, c2 = st.columns(2)
        name = c1.text_input("Name")
        email = c2.text_input("Email")
        c1, c2 = st.columns(2)
        new_role = c1.selectbox("Role", list(ROLES), format_func=ROLES.__getitem__, index=0)
        password = c2.text_input("First password", type="password")
        if st.form_submit_button("Add user", type="primary"):
            made = ui.attempt(lambda: services.register_user(
                ui.uow(), email=email, name=name, password=password, role=new_role,
                actor_id=uid))
            if made:
                RESULT.done("add", f"Added {made.name} <{made.email}> as {ROLES[made.role]}.")


manage, create = st.tabs(["Manage a user", "Add a user"], key=TAB_KEY, on_change="rerun")
with manage:
    manage_user({str(u.id): u for u in result.items})
with create:
    add_user()
