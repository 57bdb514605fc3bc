"""Sign in: the form (dashboard/auth_forms.py), checked by the engine (throttle, deactivation),
with "Forgot password?" (an e-mailed one-time link) and the reset form that link opens
(`?token=...`, engine/services/password_reset.py)."""
from __future__ import annotations

import streamlit as st

from dashboard import auth, ui
from engine.errors import DomainError, ValidationError
from engine.passwords import POLICY

RESET_DONE = "Your password has been changed and every session signed out: sign in with it."
LINK_REFUSED = "This reset link is invalid, expired or already used: ask for a new one below."


def _accounts() -> auth.DashboardAccounts:
    db = ui.database()
    return auth.DashboardAccounts(db, db.settings)


def reset_form(token: str) -> None:
    """The page an e-mailed link opens: choose a new password, then sign in with it."""
    st.subheader("Choose a new password")
    with st.form("reset-password"):
        new = st.text_input("New password", type="password", help=POLICY.help_text())
        repeat = st.text_input("Repeat new password", type="password")
        sent = st.form_submit_button("Set new password", type="primary")
    if st.button("Back to sign in", key="reset-back"):
        del st.query_params["token"]
        st.rerun()
    if not sent:
        return
    if new != repeat:
        st.error("Repeat new password must match the new password.", icon=":material/warning:")
        return
    try:
        _accounts().reset_password_with_token(token, new)
    except ValidationError as exc:
        st.error(LINK_REFUSED if exc.field == "token" else ui.error_text(exc),
                 icon=":material/warning:")
        return
    except DomainError as exc:
        ui.show_error(exc)
        return
    st.session_state["rc_reset_done"] = RESET_DONE
    del st.query_params["token"]
    st.rerun()


def forgot_password() -> None:
    """Ask for a reset link: one answer whether or not the e-mail has an account."""
    with st.expander("Forgot password?", icon=":material/key:"):
        with st.form("forgot-password"):
            email = st.text_input("Your account's e-mail", key="forgot-email")
            sent = st.form_submit_button("Send me a reset link")
        if sent:
            try:
                st.success(_accounts().request_password_reset(email),
                           icon=":material/mail:")
            except DomainError as exc:
                ui.show_error(exc)


_, middle, _ = st.columns([1, 2, 1])
with middle:
    st.title("Range-Control")
    st.caption("Bookings and range control for ranges, bays, training areas, classrooms, "
               "vehicles and equipment.")
    token = st.query_params.get("token")
    if token:
        reset_form(token)
    else:
        done = st.session_state.pop("rc_reset_done", None)
        if done:
            st.success(done, icon=":material/check:")
        message = st.session_state["rc_forms"].sign_in(title="Sign in", email_label="Email",
                                                       button="Sign in")
        if st.session_state.get("authentication_status"):
            st.rerun()  # rebuild the navigation for the signed-in role
        message = message or st.session_state.pop("rc_auth_error", None)
        if message:
            st.error(message[:1].upper() + message[1:], icon=":material/lock:")
        forgot_password()
