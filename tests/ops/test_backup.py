"""Backup and restore round-trip the real PostgreSQL: every row, byte for byte."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from engine import migrate
from engine.backup import BackupError, backup, libpq_target
from engine.config import Settings
from engine.db import Database
from engine.demo import load_demo
from engine.models import Base
from tests.conftest import PG_ADMIN_URL, REQUIRE_PG, _pg_url

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def scratch_databases():
    """Two empty PostgreSQL databases of this test's own, dropped afterwards."""
    tag = f"{os.getpid()}_{uuid.uuid4().hex[:6]}"
    names = [f"rc_ops_backup_src_{tag}", f"rc_ops_backup_dst_{tag}"]
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - server unreachable
        admin.dispose()
        if REQUIRE_PG:
            pytest.fail(f"PostgreSQL is required here but unreachable: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    yield [_pg_url(n) for n in names]
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def fingerprint(url: str) -> dict[str, object]:
    """Row counts of every table, and md5 of bookings and audit_logs rows ordered by id."""
    engine = create_engine(url)
    with engine.connect() as conn:
        counts = {t.name: conn.execute(text(f"SELECT count(*) FROM {t.name}")).scalar()
                  for t in Base.metadata.sorted_tables}
        sums = {t: conn.execute(text(f"SELECT md5(string_agg(x::text, '|' ORDER BY x.id)) "
                                     f"FROM {t} x")).scalar()
                for t in ("bookings", "audit_logs")}
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    engine.dispose()
    return {"counts": counts, "md5": sums, "revision": revision}


def engine_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "engine", *args], cwd=ROOT, text=True,
                          capture_output=True, stdin=subprocess.DEVNULL, timeout=300)


def test_backup_and_restore_round_trip(scratch_databases, tmp_path):
    source, target = scratch_databases
    migrate.upgrade(source)
    db = Database(source, settings=Settings(SITE_TIMEZONE="UTC"))
    load_demo(db, hash_rounds=4, days_back=30, days_ahead=10)
    db.dispose()
    before = fingerprint(source)
    assert before["counts"]["bookings"] > 100 and before["counts"]["audit_logs"] > 100

    dump = tmp_path / "rc.dump"
    done = engine_cli("backup", "--out", str(dump), "--database-url", source)
    assert done.returncode == 0, done.stderr
    assert dump.stat().st_size > 0 and not list(tmp_path.glob("*.partial"))

    refused = engine_cli("restore", "--from", str(dump), "--database-url", target)
    assert refused.returncode == 2 and "pass --yes" in refused.stderr
    done = engine_cli("restore", "--from", str(dump), "--database-url", target, "--yes")
    assert done.returncode == 0, done.stderr
    assert fingerprint(target) == before

    # Restoring over a database that already has the data replaces it cleanly.
    done = engine_cli("restore", "--from", str(dump), "--database-url", target, "--yes")
    assert done.returncode == 0, done.stderr
    assert fingerprint(target) == before
    # The database's own guarantees came back with the data.
    checked = engine_cli("check", "--database-url", target)
    assert checked.returncode == 0 and "OK: no findings" in checked.stdout
    engine = create_engine(target)
    with pytest.raises(Exception, match="append-only"):
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_logs"))
    engine.dispose()


def test_restore_of_a_missing_file_fails_clearly(scratch_databases, tmp_path):
    done = engine_cli("restore", "--from", str(tmp_path / "none.dump"), "--yes",
                      "--database-url", scratch_databases[1])
    assert done.returncode == 1 and "does not exist" in done.stderr


def test_backup_needs_postgresql(tmp_path):
    with pytest.raises(BackupError, match="PostgreSQL"):
        backup(f"sqlite:///{tmp_path / 'x.db'}", tmp_path / "x.dump")


def test_password_travels_in_the_environment_not_the_command_line():
    uri, env = libpq_target("postgresql+psycopg://rc:s3cret@db.internal:5432/railway")
    assert uri == "postgresql://rc@db.internal:5432/railway"
    assert env["PGPASSWORD"] == "s3cret"


def test_backup_and_restore_as_the_owner_keep_the_runtime_role_working(scratch_databases,
                                                                      tmp_path):
    """With the two URLs set, migrate/backup/restore act as the owner; the restore (dumps
    carry no grants) hands the applications' role its least privilege again."""
    from sqlalchemy.engine import make_url

    owner = scratch_databases[0]
    role = f"rc_app_backup_{os.getpid()}"
    app = make_url(owner).set(username=role, password="app-pass").render_as_string(
        hide_password=False)
    env = {**os.environ, "MIGRATION_DATABASE_URL": owner, "DATABASE_URL": app}

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "engine", *args], cwd=ROOT, text=True,
                              capture_output=True, stdin=subprocess.DEVNULL, timeout=300,
                              env=env)

    try:
        done = cli("migrate")
        assert done.returncode == 0 and f"runtime role {role}" in done.stdout, done.stderr
        assert cli("demo").returncode == 0  # loads through the services, as the runtime role
        before = fingerprint(owner)
        dump = tmp_path / "rc.dump"
        assert cli("backup", "--out", str(dump)).returncode == 0
        done = cli("restore", "--from", str(dump), "--yes")
        assert done.returncode == 0 and f"runtime role {role}" in done.stdout, done.stderr
        assert fingerprint(owner) == before
        checked = cli("check")
        assert checked.returncode == 0 and "OK: no findings" in checked.stdout
        engine = create_engine(app)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM bookings")).scalar() > 0
        with pytest.raises(Exception, match="permission denied"):
            with engine.begin() as conn:
                conn.execute(text("TRUNCATE audit_logs"))
        engine.dispose()
    finally:
        admin = create_engine(owner)
        with admin.begin() as conn:
            if conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first():
                conn.execute(text(f'DROP OWNED BY "{role}"'))
                conn.execute(text(f'DROP ROLE "{role}"'))
        admin.dispose()
