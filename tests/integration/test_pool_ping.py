"""Pooled PostgreSQL connections: pinged only after sitting idle, and a dead one is replaced.

pool_pre_ping cost a round trip per service call (issue 13); engine/db.py pings only connections
idle for DB_PING_IDLE_SECONDS. These tests kill the server side of a pooled connection (as a
database restart does) and show which calls survive it.
"""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from engine.db import Database
from tests.conftest import PG_ADMIN_URL, _truncate_pg
from tests.conftest import test_settings as settings_with


@pytest.fixture
def pg_url(pg_database_url):
    _truncate_pg(pg_database_url)
    return pg_database_url


def _kill_backends(url: str) -> int:
    """Terminate every other session on the test database, as a restart would."""
    name = url.rsplit("/", 1)[1]
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        killed = conn.execute(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = :d AND pid <> pg_backend_pid()"), {"d": name}).scalar()
    admin.dispose()
    return killed


def _pings(db: Database) -> list[str]:
    """Statements sent straight on the DBAPI cursor by the checkout ping (';')."""
    sent: list[str] = []
    real = db.engine.dialect.do_ping

    def counting(dbapi_conn):
        sent.append("ping")
        return real(dbapi_conn)
    db.engine.dialect.do_ping = counting
    return sent


def test_idle_connection_killed_by_restart_is_replaced(pg_url):
    db = Database(pg_url, settings=settings_with(DB_PING_IDLE_SECONDS=0, DB_POOL_SIZE=1))
    with db.engine.connect() as conn:
        conn.execute(text("SELECT 1"))  # one pooled connection
    assert _kill_backends(pg_url) >= 1
    pings = _pings(db)
    with db.engine.connect() as conn:  # the ping finds it dead; the pool opens a fresh one
        assert conn.execute(text("SELECT 1")).scalar() == 1
    assert pings == ["ping"]
    db.dispose()


def test_busy_connection_is_not_pinged(pg_url):
    db = Database(pg_url, settings=settings_with(DB_PING_IDLE_SECONDS=3600, DB_POOL_SIZE=1))
    pings = _pings(db)
    for _ in range(5):
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
    assert pings == []
    db.dispose()


def test_without_ping_a_restart_costs_one_failed_call_then_the_pool_reconnects(pg_url):
    """The trade-off, measured: a connection used moments before a restart is not pinged, so
    its next statement fails; SQLAlchemy invalidates the pool and the next call works."""
    db = Database(pg_url, settings=settings_with(DB_PING_IDLE_SECONDS=3600, DB_POOL_SIZE=1))
    with db.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    _kill_backends(pg_url)
    with pytest.raises(OperationalError, match="terminating connection") as exc:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    assert exc.value.connection_invalidated  # seen as a disconnect, so the pool is recycled
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1
    db.dispose()
