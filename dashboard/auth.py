"""Who is signed in to the dashboard: ours, decided by the engine on every run.

Each sign-in is an engine session (engine/services/sessions.py) whose random token lives in
st.session_state and, for the next visit, in our signed cookie (dashboard/session_cookie.py);
sign-out, "sign out everywhere", a password change or a deactivation revoke the session, so an
old token or cookie signs no one in. The forms are drawn by dashboard/auth_forms.py (the one
module that imports streamlit-authenticator), which calls back into `DashboardAccounts`.
"""
from __future__ import annotations

import ipaddress
import secrets
from datetime import timedelta

import streamlit as st

from dashboard.auth_forms import Forms
from dashboard.session_cookie import SessionCookie, sync_browser
from engine import services
from engine.config import Settings
from engine.db import Database
from engine.errors import DomainError
from engine.passwords import POLICY

SESSION_KEYS = ("rc_user_id", "rc_role", "rc_token")
#: What the pages (and the tests' signed-in helper) read about the signed-in user.
FORM_KEYS = ("authentication_status", "username", "name", "email", "roles")
SESSION_ENDED = "Your session has ended: please sign in again."


def client_address(peer: str | None, forwarded_for: str | None) -> str:
    """The browser's address for sign-in throttling. A peer that is not a public internet
    address (private, loopback, or carrier-grade NAT like Railway's 100.64.0.0/10) is a proxy:
    then the right-most X-Forwarded-For hop, the one that proxy appended, is the client. A
    public peer is the client itself, whatever headers it sends."""
    peer = peer or "127.0.0.1"  # Streamlit reports localhost as None
    try:
        behind_proxy = not ipaddress.ip_address(peer).is_global
    except ValueError:
        return peer
    forwarded = (forwarded_for or "").split(",")[-1].strip()
    return (forwarded or peer) if behind_proxy else peer


def source_address() -> str:
    return client_address(st.context.ip_address, st.context.headers.get("X-Forwarded-For"))


def _remember(user, token: str) -> None:
    st.session_state.update(rc_user_id=str(user.id), rc_role=user.role, rc_token=token,
                            authentication_status=True, username=user.email, name=user.name,
                            email=user.email, roles=[user.role])


def forget() -> None:
    for key in SESSION_KEYS:
        st.session_state.pop(key, None)
    st.session_state.update(dict.fromkeys(FORM_KEYS))


class DashboardAccounts:
    """The engine calls behind the forms (see auth_forms.Accounts)."""

    def __init__(self, db: Database, settings: Settings):
        self.db = db
        self.expiry = timedelta(days=settings.cookie_expiry_days or 1)

    def sign_in(self, email: str, password: str) -> tuple[str, str, str]:
        user = services.authenticate(self.db.uow(), email, password, source=source_address())
        token = secrets.token_urlsafe(32)
        services.open_session(self.db.uow(), user.id, kind="dashboard", token=token,
                              expires_at=self.db.clock() + self.expiry)
        _remember(user, token)
        return user.email, user.name, user.role

    def register(self, email: str, password: str, name: str) -> None:
        """Self-registration: the same answer whether or not the e-mail was taken."""
        services.register_member(self.db.uow(), email=email, password=password, name=name)

    def request_password_reset(self, email: str) -> str:
        """"Forgot password?": the same answer for every e-mail (throttled per source)."""
        return services.request_password_reset(self.db.uow(), email,
                                               source=source_address())

    def reset_password_with_token(self, token: str, new_password: str) -> None:
        services.reset_password_with_token(self.db.uow(), token, new_password)

    def change_password(self, current_password: str, new_password: str) -> None:
        services.change_password(self.db.uow(), st.session_state["rc_user_id"],
                                 current_password=current_password, new_password=new_password,
                                 keep_session_token=st.session_state.get("rc_token"))


def accounts(db: Database, settings: Settings) -> DashboardAccounts:
    return DashboardAccounts(db, settings)


def forms(db: Database, settings: Settings) -> Forms:
    return Forms(DashboardAccounts(db, settings), secret_key=settings.signing_key("cookie_key"),
                 password_help=POLICY.help_text())


def session_cookie(settings: Settings) -> SessionCookie:
    return SessionCookie(settings.cookie_name, settings.signing_key("cookie_key"),
                         settings.cookie_expiry_days)


def sign_out(db: Database) -> None:
    token = st.session_state.get("rc_token")
    if token:
        services.revoke_session(db.uow(), token)
    forget()


def signed_in_user(db: Database, cookie: SessionCookie):
    """The user behind this browser session, re-checked against the engine on every run: a
    revoked token, an expired session or a deactivated account signs the browser out. With
    no session yet, the browser's cookie may bring one back (a new tab, a reload)."""
    token: str | None = st.session_state.get("rc_token")
    from_cookie = token is None
    if token is None:
        token = cookie.sid(st.context.cookies.get(cookie.name))
        if token is None:
            return None
    user_id = services.session_user(db.uow(), token, kind="dashboard")
    user = None
    if user_id is not None:
        try:
            user = services.get_user(db.uow(), user_id, user_id)
        except DomainError:
            user = None
    if user is None:
        forget()
        if not from_cookie:  # a stale cookie just shows the sign-in form
            st.session_state["rc_auth_error"] = SESSION_ENDED
        return None
    _remember(user, token)
    return user


def sync_cookie(cookie: SessionCookie, user) -> None:
    sync_browser(cookie, st.session_state.get("rc_token") if user is not None else None)
