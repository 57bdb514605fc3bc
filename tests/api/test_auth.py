"""Auth over HTTP: registration without sign-in, OAuth2 login, token expiry, refresh, logout."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from engine.config import DEV_SECRET
from tests.api.conftest import JWT_SECRET, PASSWORD, api_settings, bearer, login, make_app
from tests.conftest import test_settings as settings_with

REG = {"email": "new.member@test.example", "name": "New Member", "password": "long-enough-1"}


def test_register_creates_a_member_without_signing_in(client):
    r = client.post("/api/v1/auth/register", json=REG)
    assert r.status_code == 201
    body = r.json()
    assert body["role"] == "user" and body["email"] == REG["email"] and body["is_active"]
    assert "access_token" not in body and "password" not in str(body)
    assert login(client, REG["email"], REG["password"])["token_type"] == "bearer"


def test_register_twice_names_the_email_field(client):
    assert client.post("/api/v1/auth/register", json=REG).status_code == 201
    r = client.post("/api/v1/auth/register", json=REG)
    assert r.status_code == 422
    assert r.json()["field"] == "email"


def test_register_refuses_a_short_password_naming_the_field(client):
    r = client.post("/api/v1/auth/register", json={**REG, "password": "short"})
    assert r.status_code == 422 and r.json()["field"] == "password"


def test_register_is_403_when_the_site_closed_self_registration(db):
    db.settings = settings_with(ALLOW_SELF_REGISTRATION=False, JWT_SECRET_KEY=JWT_SECRET)
    with TestClient(create_app(db, settings=db.settings, api_settings=api_settings())) as c:
        r = c.post("/api/v1/auth/register", json=REG)
    assert r.status_code == 403


def test_login_returns_both_tokens_with_architecture_lifetimes(client, make):
    u = make.user()
    tokens = login(client, u.email)
    assert tokens["expires_in"] == 15 * 60
    assert tokens["refresh_expires_in"] == 7 * 24 * 3600
    me = client.get("/api/v1/users/me", headers=bearer(tokens))
    assert me.status_code == 200 and me.json()["id"] == str(u.id)


def test_wrong_password_is_401_with_bearer_challenge(client, make):
    u = make.user()
    r = client.post("/api/v1/auth/login", data={"username": u.email, "password": "wrong-pass"})
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    assert "incorrect" in r.json()["error"]


def test_login_needs_the_form_fields(client):
    r = client.post("/api/v1/auth/login", json={"username": "a@b.cd", "password": "x" * 10})
    assert r.status_code == 422 and r.json()["field"] == "username"


def test_five_failures_lock_the_account_with_423(client, make):
    u = make.user()
    for _ in range(5):
        client.post("/api/v1/auth/login", data={"username": u.email, "password": "nope-nope"})
    r = client.post("/api/v1/auth/login", data={"username": u.email, "password": PASSWORD})
    assert r.status_code == 423 and "locked" in r.json()["error"]


def test_requests_without_or_with_a_bad_token_are_401(client, make):
    assert client.get("/api/v1/bookings").status_code == 401
    r = client.get("/api/v1/bookings", headers={"Authorization": "Bearer not.a.jwt"})
    assert r.status_code == 401
    tokens = login(client, make.user().email)
    forged = tokens["access_token"][:-3] + ("AAA" if not tokens["access_token"].endswith("AAA") else "BBB")
    assert client.get("/api/v1/bookings", headers={"Authorization": f"Bearer {forged}"}).status_code == 401


def test_access_token_expires_after_15_minutes(client, make, clock):
    tokens = login(client, make.user().email)
    clock.advance(minutes=14)
    assert client.get("/api/v1/bookings", headers=bearer(tokens)).status_code == 200
    clock.advance(minutes=2)
    r = client.get("/api/v1/bookings", headers=bearer(tokens))
    assert r.status_code == 401 and "expired" in r.json()["error"]


def test_refresh_mints_a_working_access_token_until_7_days(client, make, clock):
    tokens = login(client, make.user().email)
    clock.advance(days=6, hours=23)
    r = client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert r.status_code == 200
    assert client.get("/api/v1/bookings", headers=bearer(r.json())).status_code == 200
    clock.advance(hours=2)
    r = client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert r.status_code == 401


def test_an_access_token_cannot_be_used_to_refresh_nor_a_refresh_token_to_call(client, make):
    tokens = login(client, make.user().email)
    r = client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["access_token"]})
    assert r.status_code == 401
    r = client.get("/api/v1/bookings", headers={"Authorization": f"Bearer {tokens['refresh_token']}"})
    assert r.status_code == 401


def test_logout_revokes_the_refresh_token(client, make):
    tokens = login(client, make.user().email)
    body = {"refresh_token": tokens["refresh_token"]}
    assert client.post("/api/v1/auth/logout", json=body).status_code == 204
    r = client.post("/api/v1/auth/refresh", json=body)
    assert r.status_code == 401 and "revoked" in r.json()["error"]


def test_refresh_reflects_a_role_change_and_stops_after_deactivation(client, make, people):
    member = make.user()
    tokens = login(client, member.email)
    admin = people.headers["admin"]
    assert client.put(f"/api/v1/users/{member.id}", json={"role": "staff"},
                      headers=admin).status_code == 200
    fresh = client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert client.get("/api/v1/audit-logs", headers=bearer(fresh.json())).status_code == 200
    assert client.delete(f"/api/v1/users/{member.id}", headers=admin).status_code == 200
    r = client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert r.status_code == 401
    # The unexpired access token is refused by the engine: the account is no longer active.
    assert client.get("/api/v1/bookings", headers=bearer(tokens)).status_code == 403


def test_production_refuses_the_default_jwt_secret(db):
    prod = settings_with(RANGE_CONTROL_ENV="production", JWT_SECRET_KEY=DEV_SECRET,
                         DATABASE_URL="postgresql://x@127.0.0.1/x")
    with pytest.raises(RuntimeError, match="JWT_SECRET_KEY"):
        create_app(db, settings=prod, api_settings=api_settings())
    ok = settings_with(RANGE_CONTROL_ENV="production", JWT_SECRET_KEY="a-real-secret-" + "x" * 20,
                       DATABASE_URL="postgresql://x@127.0.0.1/x")
    assert create_app(db, settings=ok, api_settings=api_settings()) is not None


def test_tokens_signed_with_another_secret_are_refused(db, make):
    other = settings_with(JWT_SECRET_KEY="another-secret-" + "y" * 20)
    with TestClient(create_app(db, settings=other, api_settings=api_settings())) as c1, \
            TestClient(make_app(db)) as c2:
        tokens = login(c1, make.user().email)
        assert c1.get("/api/v1/bookings", headers=bearer(tokens)).status_code == 200
        assert c2.get("/api/v1/bookings", headers=bearer(tokens)).status_code == 401
