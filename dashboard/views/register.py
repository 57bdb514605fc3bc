"""Self-registration for members, where the site allows it (staff and admins are made by admins)."""
from __future__ import annotations

import streamlit as st

from dashboard.auth_forms import FormError
from engine import services

_, middle, _ = st.columns([1, 2, 1])
with middle:
    st.title("Create a member account")
    st.caption("Staff and admin accounts are created by an admin.")
    try:
        email = st.session_state["rc_forms"].register(title="Your details",
                                                      button="Create account")
    except FormError as exc:
        st.error(str(exc), icon=":material/warning:")
    else:
        if email:
            st.success(services.REGISTRATION_RECEIVED)
            st.page_link("views/sign_in.py", label="Go to sign in", icon=":material/login:")
