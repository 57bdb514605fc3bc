"""The sign-in cookie, ours rather than the form library's: a signed JWT that carries only the
engine session's random token ('sid'), so the engine decides on every run whether it still
signs anyone in (sign-out, "sign out everywhere", a password change or a deactivation revoke
the session and the cookie with it).

Streamlit can read cookies (`st.context.cookies`) but needs a browser component to write them;
extra-streamlit-components' CookieManager is the one streamlit-authenticator itself uses.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import jwt
import streamlit as st

ALGORITHM = "HS256"


@dataclass(frozen=True)
class SessionCookie:
    name: str
    key: str
    expiry_days: float

    def encode(self, sid: str, now: datetime) -> str:
        """The cookie value for engine session `sid`, expiring `expiry_days` after `now`."""
        return jwt.encode({"sid": sid, "exp": now + timedelta(days=self.expiry_days)},
                          self.key, algorithm=ALGORITHM)

    def sid(self, raw: object, now: datetime | None = None) -> str | None:
        """The session token a cookie value carries; None when absent, forged (another key),
        malformed or expired."""
        if not isinstance(raw, str) or not raw:
            return None
        try:
            claims = jwt.decode(raw, self.key, algorithms=[ALGORITHM],
                                options={"require": ["exp", "sid"], "verify_exp": now is None})
        except jwt.PyJWTError:
            return None
        if now is not None and claims["exp"] <= now.timestamp():
            return None
        sid = claims["sid"]
        return sid if isinstance(sid, str) and sid else None

    def needed(self, raw: object, sid: str | None) -> Literal["set", "delete"] | None:
        """What the browser's cookie (`raw`) needs so that it matches the signed-in session
        `sid` (None: signed out): set, delete, or nothing."""
        if sid:
            return None if self.sid(raw) == sid else "set"
        return "delete" if isinstance(raw, str) and raw else None


def cookie_manager() -> Any:
    """The browser component that writes cookies, drawn on every run from the first (like
    the library's own): drawn only when needed, its first answer reruns the page just after
    sign-in and a page's fresh widgets (the New booking times) lose their defaults."""
    import extra_streamlit_components as stx

    return stx.CookieManager(key="rc-cookies")


def sync_browser(cookie: SessionCookie, sid: str | None, manager: Any) -> None:
    """Draw the cookie setter (or deleter) on every run until the browser's cookie matches
    the session: a run that signs in or out can be cut short by a rerun, so one attempt in
    that run alone would sometimes never reach the browser."""
    raw = st.context.cookies.get(cookie.name)
    action = cookie.needed(raw, sid)
    if action is None:
        st.session_state.pop("rc_cookie_value", None)
        return
    if action == "set" and sid:
        # The same value on every run until it lands: a new one each run would redraw it.
        kept: tuple[str, datetime] | None = st.session_state.get("rc_cookie_value")
        if kept is None or cookie.sid(kept[0]) != sid:
            now = datetime.now(UTC)
            kept = cookie.encode(sid, now), now + timedelta(days=cookie.expiry_days)
            st.session_state["rc_cookie_value"] = kept
        value, expires = kept
        manager.set(cookie.name, value, key="rc-set-cookie",
                    expires_at=expires.astimezone().replace(tzinfo=None))
    else:
        try:
            manager.delete(cookie.name, key="rc-delete-cookie")
        except KeyError:
            pass  # the component's cookie list had not arrived yet: deleted all the same
