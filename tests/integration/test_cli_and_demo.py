"""`python -m engine` subcommands and the demo data's invariants."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import and_, func, select
from sqlalchemy.orm import aliased

from engine.demo import DEMO_LOGINS, load_demo
from engine.domain.overlap import overlaps_clause
from engine.models import AuditLog, Booking, Resource
from engine.services import authenticate

ROOT = Path(__file__).resolve().parents[2]


def run_engine(*args, env=None, input_text=None):
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "engine", *args], cwd=ROOT, env=full_env,
                          capture_output=True, text=True, input=input_text, timeout=300)


def test_cli_migrate_create_admin_and_demo_on_a_fresh_sqlite_file(tmp_path):
    env = {"RANGE_CONTROL_DATA_DIR": str(tmp_path), "DATABASE_URL": "",
           "RANGE_CONTROL_ADMIN_PASSWORD": "first-admin-pass"}
    assert run_engine("migrate", env=env).returncode == 0
    assert (tmp_path / "range_control.db").exists()
    created = run_engine("create-admin", "--email", "Chief@Range.example", "--name", "Chief",
                         env=env)
    assert created.returncode == 0, created.stderr
    again = run_engine("create-admin", "--email", "chief@range.example", "--name", "Chief",
                       env=env)
    assert again.returncode == 2 and "already registered" in again.stderr
    skipped = run_engine("demo", "--if-empty", env=env)
    assert skipped.returncode == 0 and "skipped" in skipped.stdout


def test_cli_create_admin_asks_twice_and_refuses_a_mismatch(tmp_path):
    env = {"RANGE_CONTROL_DATA_DIR": str(tmp_path), "DATABASE_URL": ""}
    run_engine("migrate", env=env)
    env.pop("RANGE_CONTROL_ADMIN_PASSWORD", None)
    clean_env = {k: v for k, v in os.environ.items() if k != "RANGE_CONTROL_ADMIN_PASSWORD"}
    result = subprocess.run([sys.executable, "-m", "engine", "create-admin", "--email",
                             "a@range.example", "--name", "A"], cwd=ROOT,
                            env={**clean_env, **env}, capture_output=True, text=True,
                            input="first-pass-1\nother-pass-2\n", timeout=120)
    assert result.returncode == 2 and "do not match" in result.stderr


def test_demo_has_every_status_logins_and_no_overlapping_approvals(db):
    summary = load_demo(db, days_back=30, days_ahead=14)
    assert set(summary.by_status) == {"pending", "approved", "denied", "cancelled", "bumped",
                                      "no_show"}
    for email, password in DEMO_LOGINS.values():
        assert authenticate(db.uow(), email, password).email == email
    other = aliased(Booking)
    r1, r2 = aliased(Resource), aliased(Resource)
    with db.uow().read() as uow:
        clashes = uow.session.scalar(
            select(func.count()).select_from(Booking)
            .join(r1, r1.id == Booking.resource_id)
            .join(other, and_(other.id != Booking.id, other.status == "approved",
                              overlaps_clause(other.start_time, other.end_time,
                                              Booking.start_time, Booking.end_time)))
            .join(r2, r2.id == other.resource_id)
            .where(Booking.status == "approved",
                   (r1.id == r2.id) | (r1.safety_zone_id == r2.safety_zone_id)))
        unaudited = uow.session.scalar(
            select(func.count()).select_from(Booking).where(~select(AuditLog.id).where(
                AuditLog.booking_id == Booking.id, AuditLog.action == "created").exists()))
    assert clashes == 0 and unaudited == 0
