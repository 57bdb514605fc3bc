"""Sign in: streamlit-authenticator's form, checked by the engine (lockout, deactivation)."""
from __future__ import annotations

import streamlit as st
from streamlit_authenticator.utilities import LoginError

_, middle, _ = st.columns([1, 2, 1])
with middle:
    st.title("Range-Control")
    st.caption("Bookings and range control for ranges, bays, training areas, classrooms, "
               "vehicles and equipment.")
    authn = st.session_state["rc_authn"]
    message = None
    try:
        authn.login(location="main", key="sign-in",
                    fields={"Form name": "Sign in", "Username": "Email",
                            "Password": "Password", "Login": "Sign in"})
    except LoginError as exc:
        message = str(exc)
    if st.session_state.get("authentication_status"):
        st.rerun()  # rebuild the navigation for the signed-in role
    message = message or st.session_state.pop("rc_auth_error", None)
    if st.session_state.get("authentication_status") is False and not message:
        message = "email or password is incorrect"
    if message:
        st.error(message[:1].upper() + message[1:], icon=":material/lock:")
