"""The sign-in cookie, ours rather than the form library's: a signed JWT that carries only the
engine session's random token ('sid'), so the engine decides on every run whether it still
signs anyone in (sign-out, "sign out everywhere", a password change or a deactivation revoke
the session and the cookie with it).

Streamlit can read cookies (`st.context.cookies`) but not write them: a small script in the
page (`st.html`) writes it, without the rerun a cookie component would cause.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Literal

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


#: Marks the cookie writer's (invisible) element, so the page's style hides its gap.
WRITER_CLASS = "rc-cookie-writer"


def cookie_script(name: str, value: str | None, expires: datetime | None = None) -> str:
    """A script that sets the cookie (or, for None, deletes it) in the browser."""
    if value is None:
        attrs = f"{name}=; expires=Thu, 01 Jan 1970 00:00:00 GMT"
    else:
        assert expires is not None
        attrs = f"{name}={value}; expires={format_datetime(expires.astimezone(UTC), usegmt=True)}"
    line = json.dumps(f"{attrs}; path=/; SameSite=Strict")
    return f'<div class="{WRITER_CLASS}"><script>document.cookie = {line};</script></div>'


def sync_browser(cookie: SessionCookie, sid: str | None) -> None:
    """Write (or delete) the browser's cookie until it matches the session, with a script in
    the page: a cookie component would answer with a rerun, and a rerun just after sign-in
    can reach the browser before the first page's widgets have mounted, so New booking's
    times showed their defaults. Drawn on every run until it matches (st.context.cookies are
    the browser's at connection time), as a run that signs in or out can be cut short."""
    raw = st.context.cookies.get(cookie.name)
    action = cookie.needed(raw, sid)
    if action == "delete" or (sid is None and "rc_cookie_value" in st.session_state):
        # Signed out in this tab after a cookie was written: deleted on every run until the
        # next sign-in, like the setter (st.context.cookies never saw the written one).
        st.html(cookie_script(cookie.name, None), unsafe_allow_javascript=True)
        return
    if action is None or sid is None:
        st.session_state.pop("rc_cookie_value", None)
        return
    # The same value on every run until it lands: a new one each run would redraw it.
    kept: tuple[str, datetime] | None = st.session_state.get("rc_cookie_value")
    if kept is None or cookie.sid(kept[0]) != sid:
        now = datetime.now(UTC)
        kept = cookie.encode(sid, now), now + timedelta(days=cookie.expiry_days)
        st.session_state["rc_cookie_value"] = kept
    st.html(cookie_script(cookie.name, *kept), unsafe_allow_javascript=True)
