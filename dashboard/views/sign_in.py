"""Sign in: the form (dashboard/auth_forms.py), checked by the engine (throttle, deactivation)."""
from __future__ import annotations

import streamlit as st

_, middle, _ = st.columns([1, 2, 1])
with middle:
    st.title("Range-Control")
    st.caption("Bookings and range control for ranges, bays, training areas, classrooms, "
               "vehicles and equipment.")
    message = st.session_state["rc_forms"].sign_in(title="Sign in", email_label="Email",
                                                   button="Sign in")
    if st.session_state.get("authentication_status"):
        st.rerun()  # rebuild the navigation for the signed-in role
    message = message or st.session_state.pop("rc_auth_error", None)
    if message:
        st.error(message[:1].upper() + message[1:], icon=":material/lock:")
