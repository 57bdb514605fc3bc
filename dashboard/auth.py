"""Sign-in through streamlit-authenticator, backed by the engine's users and auth_sessions.

streamlit-authenticator draws the forms and sets the cookie; the engine checks passwords
(hashes, lockout, deactivation) and keeps each sign-in as a revocable session. The cookie carries
that session's random token, so after sign-out the old cookie signs no one in.
"""
from __future__ import annotations

import ipaddress
import secrets
from datetime import datetime, timedelta
from typing import Any

import jwt
import streamlit as st
import streamlit_authenticator as stauth
from streamlit_authenticator.models import AuthenticationModel, CookieModel
from streamlit_authenticator.utilities import RegisterError, ResetError, Validator

from engine import services
from engine.config import Settings
from engine.db import Database
from engine.errors import AuthenticationError, DomainError
from engine.passwords import POLICY
from engine.services import sessions

SESSION_KEYS = ("rc_user_id", "rc_role", "rc_token")


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


class EngineValidator(Validator):
    """Password rules live in the engine (engine/passwords.py); the form defers to them."""

    def validate_password(self, password: str) -> bool:
        return True


def _remember(user, token: str) -> None:
    st.session_state.update(rc_user_id=str(user.id), rc_role=user.role, rc_token=token,
                            name=user.name, email=user.email, roles=[user.role])


def forget() -> None:
    for key in SESSION_KEYS:
        st.session_state.pop(key, None)


class EngineAuthenticationModel(AuthenticationModel):
    """The library's model with its credentials dict replaced by engine service calls."""

    def __init__(self, db: Database, expiry_days: float, validator: Validator):
        super().__init__({"usernames": {}}, auto_hash=False, validator=validator)
        self.db = db
        self.expiry = timedelta(days=expiry_days or 1)

    def check_credentials(self, username: str, password: str) -> bool:
        try:
            user = services.authenticate(self.db.uow(), username, password,
                                         source=source_address())
        except AuthenticationError as exc:
            st.session_state["rc_auth_error"] = exc.message
            return False
        token = secrets.token_urlsafe(32)
        sessions.open_session(self.db.uow(), user.id, kind="dashboard", token=token,
                              expires_at=self.db.clock() + self.expiry)
        self.credentials["usernames"][username] = {"email": user.email, "name": user.name,
                                                   "roles": [user.role]}
        st.session_state.pop("rc_auth_error", None)
        _remember(user, token)
        return True

    def login(self, username=None, password=None, max_concurrent_users=None,
              max_login_attempts=None, token: dict[str, Any] | None = None,
              single_session=False, callback=None):
        if username:
            return super().login(username, password, callback=callback)
        sid = (token or {}).get("sid")
        user_id = sessions.session_user(self.db.uow(), sid, kind="dashboard") if sid else None
        if user_id is None:
            return None  # revoked, expired or forged: the sign-in form shows
        user = services.get_user(self.db.uow(), user_id, user_id)
        _remember(user, sid)
        st.session_state.update(authentication_status=True, username=user.email)
        return None

    def logout(self, callback=None) -> None:
        token = st.session_state.get("rc_token")
        if token:
            sessions.revoke_session(self.db.uow(), token)
        forget()
        super().logout(callback)

    def register_user(self, new_first_name, new_last_name, new_email, new_username,
                      new_password, password_hint, pre_authorized=None, roles=None,
                      callback=None):
        """Self-registration: the same answer whether or not the e-mail was taken."""
        try:
            services.register_member(self.db.uow(), email=new_email, password=new_password,
                                     name=f"{new_first_name} {new_last_name}")
        except DomainError as exc:
            raise RegisterError(exc.message) from exc
        return new_email, new_email, f"{new_first_name} {new_last_name}"

    def reset_password(self, username, password, new_password, callback=None) -> bool:
        try:
            services.change_password(self.db.uow(), st.session_state["rc_user_id"],
                                     current_password=password, new_password=new_password,
                                     keep_session_token=st.session_state.get("rc_token"))
        except DomainError as exc:
            raise ResetError(exc.message) from exc
        return True


class SessionCookieModel(CookieModel):
    """The library's JWT cookie, also carrying the engine session token ('sid').

    The library sets and deletes the cookie in the run that signs in or out, which a rerun can
    cut short; `sync` instead draws the setter (or deleter) on every run until the browser's
    cookie matches the session, so a sign-in always reaches the browser.
    """

    def set_cookie(self) -> None:
        st.session_state["rc_cookie_exp"] = self._set_exp_date()

    def delete_cookie(self) -> None:
        st.session_state.pop("rc_cookie_exp", None)

    def _token_encode(self) -> str:
        return jwt.encode({"username": st.session_state["username"],
                           "exp_date": st.session_state["rc_cookie_exp"],
                           "sid": st.session_state.get("rc_token")},
                          self.cookie_key, algorithm="HS256")

    def browser_sid(self) -> str | None:
        raw = st.context.cookies.get(self.cookie_name)
        if not isinstance(raw, str) or not raw:
            return None
        try:
            return jwt.decode(raw, self.cookie_key, algorithms=["HS256"]).get("sid")
        except jwt.PyJWTError:
            return None

    def sync(self, signed_in: bool) -> None:
        if signed_in and self.cookie_expiry_days:
            if self.browser_sid() != st.session_state.get("rc_token"):
                st.session_state.setdefault("rc_cookie_exp", self._set_exp_date())
                expires = datetime.fromtimestamp(st.session_state["rc_cookie_exp"])
                self.cookie_manager.set(self.cookie_name, self._token_encode(),
                                        expires_at=expires, key="rc-set-cookie")
        elif not signed_in and isinstance(st.context.cookies.get(self.cookie_name), str):
            try:
                self.cookie_manager.delete(self.cookie_name, key="rc-delete-cookie")
            except KeyError:
                pass  # the component's cookie list had not arrived yet: deleted all the same


class EngineAuthenticate(stauth.Authenticate):
    """streamlit-authenticator's widgets over the engine (no YAML, no credentials dict)."""

    def __init__(self, db: Database, settings: Settings):
        super().__init__({"usernames": {}}, settings.cookie_name,
                         settings.signing_key("cookie_key"),
                         settings.cookie_expiry_days, validator=EngineValidator(),
                         auto_hash=False, login_sleep_time=0,
                         password_instructions=POLICY.help_text())
        validator = self.authentication_controller.validator
        self.authentication_controller.authentication_model = EngineAuthenticationModel(
            db, settings.cookie_expiry_days, validator)
        cookie = self.cookie_controller.cookie_model
        model = SessionCookieModel.__new__(SessionCookieModel)
        model.__dict__.update(cookie.__dict__)
        self.cookie_controller.cookie_model = model
        self.cookies = model

    def sync_cookie(self, signed_in: bool) -> None:
        self.cookies.sync(signed_in)


def signed_in_user(authn: EngineAuthenticate, db: Database):
    """The user behind this browser session, re-checked against the engine on every run:
    a revoked token, an expired session or a deactivated account signs the browser out."""
    if not st.session_state.get("authentication_status"):
        authn.login(location="unrendered")  # restores from the cookie, draws nothing
    if not st.session_state.get("authentication_status"):
        return None
    token = st.session_state.get("rc_token")
    user_id = sessions.session_user(db.uow(), token, kind="dashboard") if token else None
    user = None
    if user_id is not None:
        try:
            user = services.get_user(db.uow(), user_id, user_id)
        except DomainError:
            user = None
    if user is None:
        authn.logout(location="unrendered")
        st.session_state["rc_auth_error"] = "Your session has ended: please sign in again."
        return None
    st.session_state.update(rc_user_id=str(user.id), rc_role=user.role)
    return user
