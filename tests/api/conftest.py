"""API fixtures: the app on the test database (SQLite and PostgreSQL), and signed-in callers."""
from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.config import ApiSettings
from engine.domain.permissions import Role
from tests.conftest import test_settings as settings_with

#: Long enough for HS256 (PyJWT warns below 32 bytes).
JWT_SECRET = "api-test-secret-" + "s" * 32

PASSWORD = "password-123"


def api_settings(**overrides) -> ApiSettings:
    """Limits off unless a test sets one. Windows are a day: a test that spends a limit in a
    few requests must not see its fixed window end (and the count restart) halfway, which a
    minute's window did whenever a slow run crossed a minute boundary."""
    values = {"API_RATE_LIMIT_PER_IP": 0, "API_RATE_LIMIT_PER_USER": 0, "API_BCRYPT_ROUNDS": 4,
              "API_AUTH_RATE_LIMIT_PER_IP": 0, "API_AUTH_RATE_LIMIT_PER_ACCOUNT": 0,
              "API_RATE_LIMIT_WINDOW_SECONDS": 86400, "API_AUTH_RATE_LIMIT_WINDOW_SECONDS": 86400}
    values.update(overrides)
    return ApiSettings(**values)


def make_app(db, **api_overrides):
    return create_app(db, settings=settings_with(JWT_SECRET_KEY=JWT_SECRET),
                      api_settings=api_settings(**api_overrides))


@pytest.fixture
def client(db):
    with TestClient(make_app(db)) as c:
        yield c


def login(client: TestClient, email: str, password: str = PASSWORD) -> dict:
    r = client.post("/api/v1/auth/login", data={"username": email, "password": password})
    assert r.status_code == 200, r.text
    return r.json()


def bearer(tokens: dict) -> dict:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


@dataclass
class People:
    """Signed-in callers of each role; `anon` sends no token."""

    admin: object
    staff: object
    member: object
    other: object
    headers: dict
    manager: object = None


@pytest.fixture
def people(client, make) -> People:
    admin = make.admin
    staff = make.user(Role.STAFF)
    member = make.user(Role.USER)
    other = make.user(Role.USER)
    manager = make.user(Role.MANAGER)
    headers = {
        "manager": bearer(login(client, manager.email)),
        "admin": bearer(login(client, admin.email, "admin-password")),
        "staff": bearer(login(client, staff.email)),
        "member": bearer(login(client, member.email)),
        "other": bearer(login(client, other.email)),
        "anon": {},
    }
    return People(admin, staff, member, other, headers, manager)


def iso(dt) -> str:
    return dt.isoformat().replace("+00:00", "Z")
