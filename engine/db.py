"""Storage adapter: the SQLAlchemy engine, the unit of work, and per-dialect locking.

SQLite serialises writers with BEGIN IMMEDIATE (plus WAL so readers never wait);
PostgreSQL serialises approvals per safety zone with transaction-scoped advisory locks, so a
race ends in a clean conflict; the exclusion constraint on bookings.scope_id is the guarantee.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TypeAlias, cast
from uuid import UUID

from sqlalchemy import Select, create_engine, event, exc, func, text
from sqlalchemy.engine import CursorResult, Engine, Result
from sqlalchemy.orm import Session, sessionmaker

from engine.config import Settings, get_settings

_sqlite_begin: ContextVar[str] = ContextVar("_sqlite_begin", default="BEGIN")


def utcnow() -> datetime:
    return datetime.now(UTC)


def make_engine(url: str, settings: Settings | None = None) -> Engine:
    settings = settings or get_settings()
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record):  # pragma: no cover - trivial
            dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn):  # pragma: no cover - trivial
            conn.exec_driver_sql(_sqlite_begin.get())

        return engine
    engine = create_engine(url, pool_size=settings.db_pool_size,
                           max_overflow=settings.db_max_overflow)
    ping_idle_connections(engine, settings.db_ping_idle_seconds)
    return engine


def ping_idle_connections(engine: Engine, idle_seconds: float) -> None:
    """Ping a pooled connection before use only when it sat idle for `idle_seconds`.

    `pool_pre_ping` costs a round trip on every checkout (a tenth of a booking's). A database
    restart is still caught where it matters: an idle connection is pinged, and a dead one is
    replaced (DisconnectionError makes the pool open a fresh one). A busy connection that meets
    a restart fails its one statement; SQLAlchemy then invalidates the whole pool, so the
    next checkouts all reconnect."""
    @event.listens_for(engine, "checkin")
    def _stamp(_dbapi_conn, record):
        record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_conn, record, _proxy):
        last = record.info.get("checked_in_at")
        if last is None or time.monotonic() - last < idle_seconds:
            return  # freshly opened, or used moments ago
        try:
            engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as err:
            if engine.dialect.is_disconnect(err, dbapi_conn, None):
                raise exc.DisconnectionError(f"stale pooled connection: {err}") from err
            raise


class Database:
    """One per process: the engine, the session factory, the clock and the site settings."""

    def __init__(self, url: str | None = None, settings: Settings | None = None,
                 clock: Callable[[], datetime] = utcnow):
        self.settings = settings or get_settings()
        self.url = url or self.settings.sqlalchemy_url
        self.engine = make_engine(self.url, self.settings)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        # Reads on PostgreSQL run in autocommit: no BEGIN/ROLLBACK round trips for a look-up.
        # Each statement still sees a consistent snapshot; writes always use `sessionmaker`.
        self.read_sessionmaker = (
            sessionmaker(self.engine.execution_options(isolation_level="AUTOCOMMIT"),
                         expire_on_commit=False)
            if self.engine.dialect.name == "postgresql" else self.sessionmaker)
        self.clock = clock

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self)

    def dispose(self) -> None:
        self.engine.dispose()


_ADVISORY_LOCK = text("SELECT pg_advisory_xact_lock(:k)")


class UnitOfWork:
    """One transaction. Commit explicitly; leaving the block without commit rolls everything
    back."""

    session: Session

    def __init__(self, db: Database):
        self.db = db
        self._begin = "BEGIN IMMEDIATE"
        self._snapshot = False

    def read(self, *, snapshot: bool = False) -> UnitOfWork:
        """Use as `with uow.read():` for read-only work (no writer lock on SQLite).

        On PostgreSQL a plain read runs in autocommit; `snapshot=True` keeps one transaction,
        so several queries see the same data and SET LOCAL applies (reports use it).
        """
        self._begin = "BEGIN"
        self._snapshot = snapshot
        return self

    def __enter__(self) -> UnitOfWork:
        self._token = _sqlite_begin.set(self._begin)
        autocommit = self._begin == "BEGIN" and not self._snapshot
        self.session = (self.db.read_sessionmaker if autocommit else self.db.sessionmaker)()
        self.now = self.db.clock()
        #: Rows one statement brought for a later step of this transaction (policy rows,
        #: named approvers), so that step needs no round trip of its own. Dropped at the end.
        self.prefetched: dict[tuple[Any, ...], Any] = {}
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.session.close()  # rolls back what was not committed, keeps loaded state
        finally:
            _sqlite_begin.reset(self._token)
            self._begin, self._snapshot = "BEGIN IMMEDIATE", False

    def commit(self) -> None:
        self.session.commit()

    @property
    def dialect(self) -> str:
        return self.db.dialect

    @property
    def tz(self):
        return self.db.settings.tz

    def lock_scope(self, *keys: UUID) -> None:
        """Serialise writers that touch the same safety zone (or lone resource). Callers read
        the scope before locking, so they re-read it afterwards (services.common.lock_scopes).

        PostgreSQL: pg_advisory_xact_lock per key, in sorted order to avoid deadlocks.
        SQLite: the BEGIN IMMEDIATE of this transaction already serialises all writers.
        """
        if self.dialect != "postgresql":
            self.session.connection()  # make sure BEGIN IMMEDIATE has run
            return
        for key in sorted({k for k in keys if k is not None}, key=str):
            self.session.execute(_ADVISORY_LOCK, {"k": scope_lock_id(key)})


def scope_lock_id(key: UUID) -> int:
    """The advisory-lock number of a scope key: its first 8 bytes as a signed 64-bit integer,
    as the database's scope_lock_key() (migration 0018) numbers it for its triggers."""
    return int.from_bytes(key.bytes[:8], "big", signed=True)


def scope_lock_sql(key: Any) -> Any:
    """SQL (PostgreSQL): take the transaction's advisory lock on the scope key `key` (a uuid
    column or expression) through the database's scope_lock_key() (migration 0018, the number
    `scope_lock_id` computes): a statement that reads a booking can lock its scope in the same
    round trip. NULL (no row) takes no lock."""
    return func.pg_advisory_xact_lock(func.scope_lock_key(key))


def rows_changed(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE changed (its result is a cursor result)."""
    return cast(CursorResult[Any], result).rowcount


#: A SELECT of any columns (SQLAlchemy types a SELECT by the tuple of its column types).
AnySelect: TypeAlias = "Select[*tuple[Any, ...]]"
