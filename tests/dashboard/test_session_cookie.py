"""Our sign-in cookie on its own (dashboard/session_cookie.py): what it carries, what it
refuses, and what the browser is told to do."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from dashboard.session_cookie import SessionCookie

NOW = datetime.now(UTC)
COOKIE = SessionCookie("range_control_auth", "k" * 64, expiry_days=1)


def test_the_cookie_carries_the_engine_session_token_and_nothing_else():
    raw = COOKIE.encode("sid-123", NOW)
    assert COOKIE.sid(raw) == "sid-123"
    claims = jwt.decode(raw, COOKIE.key, algorithms=["HS256"])
    assert set(claims) == {"sid", "exp"}
    assert claims["exp"] == int((NOW + timedelta(days=1)).timestamp())


@pytest.mark.parametrize("raw", [
    None, "", 42, "not-a-jwt",
    SessionCookie("range_control_auth", "other-key" * 6, 1).encode("sid-123", NOW),  # forged
    jwt.encode({"sid": "sid-123"}, "k" * 64, algorithm="HS256"),                   # no expiry
    jwt.encode({"exp": NOW + timedelta(hours=1)}, "k" * 64, algorithm="HS256"),    # no sid
    jwt.encode({"sid": "sid-123", "exp": NOW + timedelta(hours=1)}, "k" * 64,
               algorithm="HS512"),                                                 # other alg
])
def test_a_cookie_that_is_absent_forged_or_malformed_signs_no_one_in(raw):
    assert COOKIE.sid(raw) is None


def test_an_expired_cookie_signs_no_one_in():
    old = COOKIE.encode("sid-123", NOW - timedelta(days=2))
    assert COOKIE.sid(old) is None
    fresh = COOKIE.encode("sid-123", NOW)
    assert COOKIE.sid(fresh, now=NOW + timedelta(hours=23)) == "sid-123"
    assert COOKIE.sid(fresh, now=NOW + timedelta(days=1, seconds=1)) is None


def test_the_browser_is_told_to_set_the_cookie_until_it_carries_this_session():
    current = COOKIE.encode("sid-123", NOW)
    assert COOKIE.needed(None, "sid-123") == "set"
    assert COOKIE.needed(COOKIE.encode("old-sid", NOW), "sid-123") == "set"  # another session
    assert COOKIE.needed("garbage", "sid-123") == "set"
    assert COOKIE.needed(current, "sid-123") is None


def test_a_signed_out_browser_is_told_to_delete_any_cookie_it_still_has():
    assert COOKIE.needed(COOKIE.encode("sid-123", NOW), None) == "delete"
    assert COOKIE.needed("garbage", None) == "delete"
    assert COOKIE.needed(None, None) is None
    assert COOKIE.needed(object(), None) is None  # AppTest hands out mocks, not strings


def test_the_page_script_writes_the_cookie_for_the_whole_site_until_it_expires_or_deletes_it():
    from dashboard.session_cookie import cookie_script

    expires = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    written = cookie_script("range_control_auth", "abc.def.ghi", expires)
    assert ('document.cookie = "range_control_auth=abc.def.ghi; '
            'expires=Tue, 01 Dec 2026 09:30:00 GMT; path=/; SameSite=Strict";') in written
    deleted = cookie_script("range_control_auth", None)
    assert ('"range_control_auth=; expires=Thu, 01 Jan 1970 00:00:00 GMT; path=/; '
            'SameSite=Strict"') in deleted
