"""The audit trail is append-only against the application itself (PostgreSQL).

`python -m engine migrate` runs as the owner (MIGRATION_DATABASE_URL) and creates the
applications' role named by DATABASE_URL. Connected as that role, every way of erasing history
is refused, while the services still work.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, func, pool, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from engine import services as s
from engine.__main__ import main as engine_main
from engine.bootstrap import create_first_admin
from engine.config import get_settings
from engine.db import Database
from engine.db_roles import RoleSetupError, RuntimeRole, ensure_runtime_role
from engine.domain.permissions import Role
from engine.models import AuditLog
from tests.conftest import NOW, Clock, _truncate_pg
from tests.conftest import test_settings as settings_for_tests

ROLE = f"rc_runtime_test_{os.getpid()}"
PASSWORD = "runtime-role-password"

ERASERS = [
    "TRUNCATE audit_logs",
    "TRUNCATE bookings CASCADE",
    "UPDATE audit_logs SET action = 'edited'",
    "DELETE FROM audit_logs",
    "SET session_replication_role = replica",
    "ALTER TABLE audit_logs DISABLE TRIGGER trg_audit_logs_append_only",
    "ALTER TABLE audit_logs DISABLE TRIGGER ALL",
    "DROP TRIGGER trg_audit_logs_append_only ON audit_logs",
    "DROP TRIGGER trg_audit_logs_no_truncate ON audit_logs",
    "DROP TABLE audit_logs CASCADE",
    "ALTER TABLE bookings DROP CONSTRAINT ex_bookings_no_overlapping_approved_in_scope",
    "ALTER TABLE bookings DISABLE TRIGGER trg_bookings_set_scope",
    "CREATE OR REPLACE FUNCTION audit_logs_append_only() RETURNS trigger LANGUAGE plpgsql "
    "AS $$ BEGIN RETURN NULL; END $$",
    "CREATE TABLE shadow_audit (id int)",
    f"ALTER ROLE {ROLE} SUPERUSER",
    "INSERT INTO alembic_version VALUES ('fake')",
]


def as_owner(owner_url: str, *statements: str):
    engine = create_engine(owner_url, poolclass=pool.NullPool)
    try:
        with engine.begin() as conn:
            results = [conn.execute(text(sql)) for sql in statements]
            return results[-1].all() if results[-1].returns_rows else None
    finally:
        engine.dispose()


@contextmanager
def settings_env(**env: str) -> Iterator[None]:
    """The engine's settings read from these environment variables for a while, then as before."""
    try:
        with pytest.MonkeyPatch.context() as mp:
            for key, value in env.items():
                mp.setenv(key, value)
            get_settings.cache_clear()
            yield
    finally:
        get_settings.cache_clear()


@pytest.fixture(scope="module")
def runtime_url(pg_database_url):
    """`python -m engine migrate` with the two URLs creates the role; dropped afterwards."""
    app = make_url(pg_database_url).set(username=ROLE, password=PASSWORD)
    app_url = app.render_as_string(hide_password=False)
    with settings_env(MIGRATION_DATABASE_URL=pg_database_url, DATABASE_URL=app_url):
        assert engine_main(["migrate"]) == 0
        assert engine_main(["migrate"]) == 0  # and again: updating the role is idempotent
    yield app_url
    as_owner(pg_database_url, f'DROP OWNED BY "{ROLE}"', f'DROP ROLE "{ROLE}"')


@pytest.fixture
def runtime_db(pg_database_url, runtime_url):
    _truncate_pg(pg_database_url)
    database = Database(runtime_url, settings=settings_for_tests(), clock=Clock(NOW))
    yield database
    database.dispose()


def test_the_role_is_not_a_superuser_and_owns_nothing(pg_database_url, runtime_url):
    row = as_owner(pg_database_url, f"SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls "
                                    f"FROM pg_roles WHERE rolname = '{ROLE}'")
    assert row == [(False, False, False, False)]
    assert as_owner(pg_database_url, "SELECT count(*) FROM pg_class c JOIN pg_roles r ON "
                                     f"r.oid = c.relowner WHERE r.rolname = '{ROLE}'") == [(0,)]
    privileges = as_owner(pg_database_url, "SELECT privilege_type FROM "
                          "information_schema.role_table_grants WHERE table_name = 'audit_logs' "
                          f"AND grantee = '{ROLE}' ORDER BY 1")
    assert [p for (p,) in privileges] == ["INSERT", "SELECT"]


def test_services_work_as_the_runtime_role(runtime_db, runtime_url, capsys):
    admin = create_first_admin(runtime_db, email="admin@rt.example", name="Admin",
                               password="admin-password", hash_rounds=4)
    staff = s.register_user(runtime_db.uow(), email="staff@rt.example", name="Staff",
                            password="staff-password", role=Role.STAFF, actor_id=admin.id,
                            hash_rounds=4)
    member = s.register_user(runtime_db.uow(), email="m@rt.example", name="Member",
                             password="member-password", role=Role.USER, actor_id=admin.id,
                             hash_rounds=4)
    zone = s.create_zone(runtime_db.uow(), admin.id, name="Zone")
    r = s.create_resource(runtime_db.uow(), admin.id, name="Range", resource_type="range")
    start = NOW + timedelta(days=1)
    b = s.request_booking(runtime_db.uow(), member.id, resource_id=r.id, start_time=start,
                          end_time=start + timedelta(hours=2), purpose="Practice")
    assert s.approve_booking(runtime_db.uow(), staff.id, b.id).status == "approved"
    # A zone move runs the scope triggers (resource read FOR SHARE, bookings rewritten).
    s.update_resource(runtime_db.uow(), admin.id, r.id, safety_zone_id=zone.id)
    entries = s.list_audit_logs(runtime_db.uow(), staff.id, booking_id=b.id)
    assert sorted(e.action for e in entries.items) == ["approved", "created"]
    assert engine_main(["check", "--database-url", runtime_url]) == 0
    assert "OK: no findings" in capsys.readouterr().out


@pytest.mark.parametrize("statement", ERASERS)
def test_the_runtime_role_cannot_erase_history(runtime_db, pg_database_url, statement):
    admin = create_first_admin(runtime_db, email="admin@rt.example", name="Admin",
                               password="admin-password", hash_rounds=4)
    s.create_resource(runtime_db.uow(), admin.id, name="Range", resource_type="range")
    with runtime_db.uow().read() as uow:
        before = uow.session.scalar(select(func.count()).select_from(AuditLog))
    assert before >= 1
    with pytest.raises(DBAPIError) as err:
        with runtime_db.engine.begin() as conn:
            conn.execute(text(statement))
    assert err.value.orig.sqlstate == "42501", err.value  # insufficient_privilege
    with runtime_db.uow().read() as uow:
        assert uow.session.scalar(select(func.count()).select_from(AuditLog)) == before
    enabled = as_owner(pg_database_url, "SELECT tgname, tgenabled FROM pg_trigger WHERE "
                       "tgrelid = 'audit_logs'::regclass AND NOT tgisinternal ORDER BY 1")
    assert enabled == [("trg_audit_logs_append_only", "O"), ("trg_audit_logs_no_truncate", "O")]


def test_truncate_is_refused_by_a_trigger_even_for_the_owner(pg_database_url, runtime_url):
    """SQLite has no TRUNCATE (its DELETE is refused row by row); PostgreSQL's row triggers do
    not fire on TRUNCATE, so a statement trigger refuses it, even for the owner."""
    _truncate_pg(pg_database_url)
    owner_db = Database(pg_database_url, settings=settings_for_tests(), clock=Clock(NOW))
    try:
        admin = create_first_admin(owner_db, email="admin@rt.example", name="Admin",
                                   password="admin-password", hash_rounds=4)
        s.create_resource(owner_db.uow(), admin.id, name="Range", resource_type="range")
        for statement in ("TRUNCATE audit_logs", "TRUNCATE bookings CASCADE"):
            with pytest.raises(DBAPIError) as err:
                with owner_db.engine.begin() as conn:
                    conn.execute(text(statement))
            assert "append-only: TRUNCATE refused" in str(err.value)
        with owner_db.uow().read() as uow:
            assert uow.session.scalar(select(func.count()).select_from(AuditLog)) == 2
    finally:
        owner_db.dispose()


def test_the_owner_cannot_be_made_the_runtime_role(pg_database_url):
    owner = make_url(pg_database_url).username
    with pytest.raises(RoleSetupError, match="owner"):
        ensure_runtime_role(pg_database_url, RuntimeRole(owner, None))


def _check_in_production(database_url: str, capsys) -> tuple[int, dict]:
    import json

    with settings_env(RANGE_CONTROL_ENV="production", DATABASE_URL=database_url):
        code = engine_main(["check", "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_check_in_production_flags_an_app_role_that_can_erase_history(
        pg_database_url, runtime_url, capsys):
    _truncate_pg(pg_database_url)
    code, report = _check_in_production(pg_database_url, capsys)  # the superuser owner
    assert code == 1
    (finding,) = report["findings"]
    assert finding["kind"] == "app_role_can_erase_audit"
    assert finding["examples"][0]["superuser"] is True
    code, report = _check_in_production(runtime_url, capsys)
    assert (code, report["findings"]) == (0, [])
