"""Auth over HTTP: registration without sign-in, OAuth2 login, throttling, token expiry,
refresh, logout, revocation, signing keys."""
from __future__ import annotations

import uuid

import jwt
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from engine import services
from engine.config import DEV_SECRET
from engine.services.throttle import FREE_ATTEMPTS
from tests.api.conftest import JWT_SECRET, PASSWORD, api_settings, bearer, login, make_app
from tests.conftest import test_settings as settings_with

REG = {"email": "new.member@test.example", "name": "New Member", "password": "long-enough-1"}


def test_register_creates_a_member_without_signing_in(client):
    r = client.post("/api/v1/auth/register", json=REG)
    assert r.status_code == 202
    body = r.json()
    assert set(body) == {"message"} and REG["password"] not in str(body)
    tokens = login(client, REG["email"], REG["password"])
    me = client.get("/api/v1/users/me", headers=bearer(tokens)).json()
    assert me["role"] == "user" and me["email"] == REG["email"] and me["is_active"]


def test_registering_a_taken_email_answers_exactly_like_a_new_one(client, make):
    owner = make.user(email="owner@test.example")
    new = client.post("/api/v1/auth/register", json=REG)
    taken = client.post("/api/v1/auth/register",
                        json={**REG, "email": "OWNER@test.example", "name": "Mallory"})
    assert (taken.status_code, taken.json()) == (new.status_code, new.json()) == (202, new.json())
    assert set(taken.headers) - {"x-trace-id"} == set(new.headers) - {"x-trace-id"}
    me = client.get("/api/v1/users/me", headers=bearer(login(client, owner.email))).json()
    assert me["name"] == owner.name  # the owner's account is untouched


@pytest.mark.parametrize("password,rule", [("short", "at least 10 characters"),
                                           (" " * 12, "only spaces"),
                                           ("qwertyuiop", "most common")])
def test_register_refuses_a_weak_password_naming_the_field(client, password, rule):
    r = client.post("/api/v1/auth/register", json={**REG, "password": password})
    assert r.status_code == 422 and r.json()["field"] == "password"
    assert rule in r.json()["error"]


def test_register_is_403_when_the_site_closed_self_registration(db):
    db.settings = settings_with(ALLOW_SELF_REGISTRATION=False, JWT_SECRET_KEY=JWT_SECRET)
    with TestClient(create_app(db, settings=db.settings, api_settings=api_settings())) as c:
        r = c.post("/api/v1/auth/register", json=REG)
    assert r.status_code == 403


def test_the_password_rules_are_documented_from_the_policy(client):
    from engine.passwords import POLICY
    schema = client.get("/api/v1/openapi.json").json()["components"]["schemas"]["RegisterIn"]
    assert schema["properties"]["password"]["description"] == POLICY.help_text()


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


def _answers(client, email, n):
    out = []
    for _ in range(n):
        r = client.post("/api/v1/auth/login", data={"username": email, "password": "nope-nope"})
        out.append((r.status_code, r.json(), r.headers.get("retry-after")))
    return out


def test_repeated_failures_are_throttled_alike_for_real_and_unknown_emails(client, make):
    u = make.user()
    real = _answers(client, u.email, FREE_ATTEMPTS + 1)
    unknown = _answers(client, "nobody-" + u.email, FREE_ATTEMPTS + 1)
    assert real == unknown
    assert [code for code, _, _ in real] == [401] * FREE_ATTEMPTS + [429]
    assert real[-1][2] == "60" and "try again" in real[-1][1]["error"]
    r = client.post("/api/v1/auth/login", data={"username": u.email, "password": PASSWORD})
    assert r.status_code == 429  # the right password waits too, from this address


def test_throttling_is_per_client_address(client, make, db):
    u = make.user()
    _answers(client, u.email, FREE_ATTEMPTS)  # TestClient's address is "testclient"
    assert client.post("/api/v1/auth/login", data={"username": u.email, "password": PASSWORD}
                       ).status_code == 429
    assert services.authenticate(db.uow(), u.email, PASSWORD, source="192.0.2.44").id == u.id


def test_requests_without_or_with_a_bad_token_are_401(client, make):
    assert client.get("/api/v1/bookings").status_code == 401
    r = client.get("/api/v1/bookings", headers={"Authorization": "Bearer not.a.jwt"})
    assert r.status_code == 401
    tokens = login(client, make.user().email)
    access = tokens["access_token"]
    forged = access[:-3] + ("AAA" if not access.endswith("AAA") else "BBB")
    r = client.get("/api/v1/bookings", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401


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
    r = client.get("/api/v1/bookings",
                   headers={"Authorization": f"Bearer {tokens['refresh_token']}"})
    assert r.status_code == 401


def test_logout_revokes_the_refresh_token(client, make):
    tokens = login(client, make.user().email)
    body = {"refresh_token": tokens["refresh_token"]}
    assert client.post("/api/v1/auth/logout", json=body).status_code == 204
    r = client.post("/api/v1/auth/refresh", json=body)
    assert r.status_code == 401 and "revoked" in r.json()["error"]


def test_a_role_change_ends_refresh_tokens_and_deactivation_stops_access(client, make, people):
    member = make.user()
    tokens = login(client, member.email)
    admin = people.headers["admin"]
    assert client.put(f"/api/v1/users/{member.id}", json={"role": "staff"},
                      headers=admin).status_code == 200
    r = client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert r.status_code == 401 and "revoked" in r.json()["error"]
    # The unexpired access token (claiming the old role) ended with its session.
    r = client.get("/api/v1/bookings", headers=bearer(tokens))
    assert r.status_code == 401 and "revoked" in r.json()["error"]
    as_staff = login(client, member.email)
    assert client.get("/api/v1/audit-logs", headers=bearer(as_staff)).status_code == 200
    assert client.delete(f"/api/v1/users/{member.id}", headers=admin).status_code == 200
    r = client.post("/api/v1/auth/refresh", json={"refresh_token": as_staff["refresh_token"]})
    assert r.status_code == 401
    r = client.get("/api/v1/bookings", headers=bearer(as_staff))
    assert r.status_code == 401 and "revoked" in r.json()["error"]


def test_after_a_password_change_old_refresh_tokens_stop_and_the_changer_keeps_its_own(
        client, make, db):
    u = make.user()
    old = login(client, u.email)
    mine = login(client, u.email)
    services.change_password(db.uow(), u.id, current_password=PASSWORD,
                             new_password="a-new-password-9", hash_rounds=4,
                             keep_session_token=mine["refresh_token"])
    r = client.post("/api/v1/auth/refresh", json={"refresh_token": old["refresh_token"]})
    assert r.status_code == 401 and "revoked" in r.json()["error"]
    r = client.post("/api/v1/auth/refresh", json={"refresh_token": mine["refresh_token"]})
    assert r.status_code == 200


def test_deactivate_then_reactivate_does_not_revive_old_refresh_tokens(client, make, people):
    member = make.user()
    tokens = login(client, member.email)
    admin = people.headers["admin"]
    assert client.put(f"/api/v1/users/{member.id}", json={"is_active": False},
                      headers=admin).status_code == 200
    assert client.put(f"/api/v1/users/{member.id}", json={"is_active": True},
                      headers=admin).status_code == 200
    r = client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert r.status_code == 401 and "revoked" in r.json()["error"]
    assert login(client, member.email)["token_type"] == "bearer"  # a fresh sign-in works


def test_production_refuses_the_default_jwt_secret(db):
    prod = settings_with(RANGE_CONTROL_ENV="production", JWT_SECRET_KEY=DEV_SECRET,
                         DATABASE_URL="postgresql://x@127.0.0.1/x")
    with pytest.raises(RuntimeError, match="JWT_SECRET_KEY"):
        create_app(db, settings=prod, api_settings=api_settings())
    short = settings_with(RANGE_CONTROL_ENV="production", JWT_SECRET_KEY="x" * 31,
                          DATABASE_URL="postgresql://x@127.0.0.1/x")
    with pytest.raises(RuntimeError, match="shorter than 32 bytes"):
        create_app(db, settings=short, api_settings=api_settings())
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


def test_a_token_forged_with_the_old_published_default_is_refused_on_a_default_install(
        db, make, tmp_path, clock):
    """No JWT_SECRET_KEY set: the API signs with a key generated into the data directory, so
    an admin token signed with the development default that used to ship is worthless."""
    admin = make.admin
    default_install = settings_with(RANGE_CONTROL_DATA_DIR=str(tmp_path))
    assert default_install.jwt_secret is None
    now = int(clock.now.timestamp())
    forged = jwt.encode({"sub": str(admin.id), "role": "admin", "type": "access", "iat": now,
                         "exp": now + 600, "jti": uuid.uuid4().hex}, DEV_SECRET,
                        algorithm="HS256")
    with TestClient(create_app(db, settings=default_install, api_settings=api_settings())) as c:
        r = c.get("/api/v1/users", headers={"Authorization": f"Bearer {forged}"})
        assert r.status_code == 401
        real = login(c, admin.email, "admin-password")
        assert c.get("/api/v1/users", headers=bearer(real)).status_code == 200
    assert (tmp_path / "jwt_secret.key").stat().st_mode & 0o777 == 0o600
