"""Fixtures shared by every test: a migrated database on SQLite and on the real PostgreSQL.

Every service test runs on both. PostgreSQL is required when CI is set (or
RANGE_CONTROL_REQUIRE_POSTGRES=1): a missing server then fails the run instead of skipping.
"""
from __future__ import annotations

import os
import shutil
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from engine import migrate
from engine.config import Settings
from engine.db import Database
from engine.domain.permissions import Role
from engine.models import Base
from engine.services import bookings as booking_services
from engine.services import resources as resource_services
from engine.services import users as user_services

PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_ADMIN_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REQUIRE_PG = bool(os.environ.get("CI")) or os.environ.get("RANGE_CONTROL_REQUIRE_POSTGRES") == "1"
#: A Monday morning, so operating hours and "not in the past" are deterministic.
NOW = datetime(2030, 1, 7, 6, 0, tzinfo=UTC)


class Clock:
    """A clock the tests move by hand."""

    def __init__(self, now: datetime = NOW):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw) -> None:
        self.now += timedelta(**kw)


def _pg_url(dbname: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + dbname


@pytest.fixture(scope="session")
def pg_database_url():
    """A fresh, migrated PostgreSQL database for this test process (dropped at the end)."""
    name = f"rc_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - any failure to reach the server
        admin.dispose()
        if REQUIRE_PG:
            pytest.fail(f"PostgreSQL is required here but unreachable: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    url = _pg_url(name)
    migrate.upgrade(url)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


def _truncate_pg(url: str) -> None:
    engine = create_engine(url)
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        # Between tests only: the superuser's replica mode skips audit_logs' TRUNCATE trigger.
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text(f"TRUNCATE {tables} CASCADE"))
    engine.dispose()


def test_settings(**overrides) -> Settings:
    values = {"SITE_TIMEZONE": "UTC", "ALLOW_SELF_REGISTRATION": True}
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    """The URL of an empty, migrated database: once per backend."""
    if request.param == "sqlite":
        path = tmp_path / "rc.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("pg_database_url")
    _truncate_pg(url)
    return url


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def db(db_url, clock) -> Database:
    database = Database(db_url, settings=test_settings(), clock=clock)
    yield database
    database.dispose()


class Factory:
    """Builds users, zones, resources and bookings through the services."""

    def __init__(self, db: Database, clock: Clock):
        self.db, self.clock = db, clock
        self._admin = None
        self._n = 0

    def _next(self) -> int:
        self._n += 1
        return self._n

    @property
    def admin(self):
        if self._admin is None:
            from engine.bootstrap import create_first_admin
            self._admin = create_first_admin(self.db, email="root-admin@test.example",
                                             name="Root Admin", password="admin-password",
                                             hash_rounds=4)
        return self._admin

    def user(self, role: Role | str = Role.USER, **kw):
        n = self._next()
        return user_services.register_user(
            self.db.uow(), email=kw.get("email", f"user{n}@test.example"),
            name=kw.get("name", f"User {n}"), password=kw.get("password", "password-123"),
            role=Role(role), actor_id=self.admin.id, hash_rounds=4)

    def zone(self, name: str | None = None):
        return resource_services.create_zone(self.db.uow(), self.admin.id,
                                             name=name or f"Zone {self._next()}")

    def resource(self, **kw):
        kw.setdefault("name", f"Range {self._next()}")
        kw.setdefault("resource_type", "range")
        return resource_services.create_resource(self.db.uow(), self.admin.id, **kw)

    def window(self, hours_from_now: float = 24, hours: float = 2):
        start = self.clock.now + timedelta(hours=hours_from_now)
        return start, start + timedelta(hours=hours)

    def booking(self, resource, requester=None, *, start=None, end=None, priority=0,
                purpose="Practice session", approve_by=None):
        requester = requester or self.user()
        if start is None:
            start, end = self.window()
        b = booking_services.request_booking(
            self.db.uow(), requester.id, resource_id=resource.id, start_time=start,
            end_time=end, purpose=purpose, priority=priority)
        if approve_by is not None:
            b = booking_services.approve_booking(self.db.uow(), approve_by.id, b.id)
        return b


@pytest.fixture
def make(db, clock) -> Factory:
    return Factory(db, clock)
