"""Account: change your password, or sign out of every browser at once."""
from __future__ import annotations

import streamlit as st
from streamlit_authenticator.utilities import CredentialsError, ResetError

from dashboard import ui
from engine import services

ui.page_header("Account")
ui.flash()
uid = ui.user_id()
me = services.get_user(ui.uow(), uid, uid)
c1, c2, c3 = st.columns(3)
c1.metric("Name", me.name)
c2.metric("Email", me.email)
c3.metric("Role", {"user": "Member"}.get(me.role, me.role.title()))

left, right = st.columns(2)
with left:
    authn = st.session_state["rc_authn"]
    try:
        if authn.reset_password(st.session_state["username"], key="change-password",
                                fields={"Form name": "Change password",
                                        "Reset": "Change password"}):
            st.success("Password changed; your other signed-in browsers are signed out.")
    except (ResetError, CredentialsError) as exc:
        st.error(str(exc), icon=":material/warning:")
with right:
    with ui.section("Sign out everywhere"):
        st.write("Ends every signed-in browser of yours, including this one.")
        if st.button("Sign out everywhere", icon=":material/devices:", key="signout-all"):
            if ui.attempt(lambda: services.sign_out_everywhere(ui.uow(), uid)) is not None:
                st.rerun()
