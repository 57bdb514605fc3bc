"""An access token stops working as soon as the refresh session it was issued from is revoked
(logout, sign out everywhere, a password change or reset, deactivation) or expires; tokens
without a session, or naming another user's session, are refused."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from api.tokens import ACCESS
from engine import services
from engine.services.password_reset import request_password_reset, reset_password_with_token
from tests.api.conftest import PASSWORD, bearer, login
from tests.integration.test_password_reset import _outbox, _token_from

BOOKINGS = "/api/v1/bookings"


def refused(client, tokens: dict, why: str) -> None:
    r = client.get(BOOKINGS, headers=bearer(tokens))
    assert r.status_code == 401, r.text
    assert why in r.json()["error"], r.json()
    assert r.headers["www-authenticate"].lower().startswith("bearer")


def works(client, tokens: dict) -> None:
    r = client.get(BOOKINGS, headers=bearer(tokens))
    assert r.status_code == 200, r.text


def test_logout_ends_the_access_tokens_of_that_session_at_once(client, make):
    u = make.user()
    gone, kept = login(client, u.email), login(client, u.email)
    works(client, gone)
    assert client.post("/api/v1/auth/logout",
                       json={"refresh_token": gone["refresh_token"]}).status_code == 204
    refused(client, gone, "revoked")
    works(client, kept)  # another session of the same user lives on


def test_an_access_token_from_refresh_ends_with_its_session(client, make):
    tokens = login(client, make.user().email)
    r = client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    refreshed = {"access_token": r.json()["access_token"]}
    works(client, refreshed)
    client.post("/api/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]})
    refused(client, refreshed, "revoked")


def test_sign_out_everywhere_ends_every_access_token_of_the_user(client, make):
    u, other = make.user(), make.user()
    phone, laptop = login(client, u.email), login(client, u.email)
    theirs = login(client, other.email)
    assert services.sign_out_everywhere(make.db.uow(), u.id) == 2
    refused(client, phone, "revoked")
    refused(client, laptop, "revoked")
    works(client, theirs)


def test_a_password_change_ends_other_sessions_access_tokens_and_keeps_the_changers(
        client, make, db):
    u = make.user()
    old, mine = login(client, u.email), login(client, u.email)
    services.change_password(db.uow(), u.id, current_password=PASSWORD,
                             new_password="a-new-password-9", hash_rounds=4,
                             keep_session_token=mine["refresh_token"])
    refused(client, old, "revoked")
    works(client, mine)


def test_an_admin_password_reset_ends_every_access_token_of_the_user(client, make, db):
    u = make.user()
    tokens = login(client, u.email)
    services.reset_password(db.uow(), make.admin.id, u.id, "a-reset-password-7", hash_rounds=4)
    refused(client, tokens, "revoked")


def test_a_reset_link_ends_every_access_token_of_the_user(client, make, db):
    u = make.user(email="known@example.org")
    tokens = login(client, u.email)
    request_password_reset(db.uow(), u.email, source="203.0.113.9")
    reset_password_with_token(db.uow(), _token_from(_outbox(db)[-1]), "a-brand-new-secret",
                              hash_rounds=4)
    refused(client, tokens, "revoked")


def test_deactivation_ends_the_users_access_tokens_with_401(client, make, people):
    u = make.user()
    tokens = login(client, u.email)
    r = client.delete(f"/api/v1/users/{u.id}", headers=people.headers["admin"])
    assert r.status_code == 200
    refused(client, tokens, "revoked")


def test_an_access_token_stops_when_its_session_expires(client, make, clock):
    """Refreshed a minute before the 7-day session ends, the new access token (15 minutes)
    still stops with the session."""
    tokens = login(client, make.user().email)
    clock.advance(days=6, hours=23, minutes=59)
    r = client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    refreshed = {"access_token": r.json()["access_token"]}
    works(client, refreshed)
    clock.advance(minutes=2)
    refused(client, refreshed, "session expired")


def test_a_token_naming_another_users_session_is_refused(client, make):
    """A correctly signed token for user A carrying B's live session id (what a leaked signing
    key or a bug could produce) is refused: the session must be the token's user's."""
    a, b = make.user(), make.user()
    login(client, a.email)
    b_tokens = login(client, b.email)
    tokens = client.app.state.tokens
    b_sid = tokens.decode(b_tokens["access_token"], ACCESS).session_id
    assert b_sid is not None
    forged, _ = tokens.issue(a.id, "user", ACCESS, session_id=b_sid)
    refused(client, {"access_token": forged}, "session is unknown")
    unknown, _ = tokens.issue(a.id, "user", ACCESS, session_id=uuid.uuid4())
    refused(client, {"access_token": unknown}, "session is unknown")
    works(client, b_tokens)


def test_a_token_naming_the_users_own_dashboard_session_is_refused(client, make, clock):
    """Only the API's refresh sessions back access tokens: a live dashboard (cookie) session
    of the same user, whose revocation the API never sees, does not."""
    u = make.user()
    dash_sid = services.open_session(make.db.uow(), u.id, kind="dashboard",
                                     token="a-dashboard-cookie",
                                     expires_at=clock.now + timedelta(hours=12))
    assert services.session_user(make.db.uow(), "a-dashboard-cookie", kind="dashboard") == u.id
    forged, _ = client.app.state.tokens.issue(u.id, "user", ACCESS, session_id=dash_sid)
    refused(client, {"access_token": forged}, "session is unknown")
    works(client, login(client, u.email))


def test_an_access_token_without_a_session_is_refused(client, make):
    """Tokens minted before access tokens named their session: refused, the client refreshes."""
    u = make.user()
    old_style, _ = client.app.state.tokens.issue(u.id, "user", ACCESS)
    refused(client, {"access_token": old_style}, "names no session")


@pytest.mark.parametrize("path", ["/api/v1/users/me", BOOKINGS])
def test_a_live_sessions_token_keeps_working_request_after_request(client, make, path):
    tokens = login(client, make.user().email)
    for _ in range(3):
        assert client.get(path, headers=bearer(tokens)).status_code == 200
