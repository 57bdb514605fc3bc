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
from functools import lru_cache
from typing import Any, TypeAlias, cast
from uuid import UUID

from sqlalchemy import (
    Select,
    Table,
    bindparam,
    create_engine,
    event,
    exc,
    func,
    insert,
    text,
    update,
)
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
        event.listen(self.sessionmaker, "before_commit", write_queued_rows)
        event.listen(self.sessionmaker, "after_soft_rollback", _drop_queued_rows)
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

        Lock order: scope locks before quota locks (policies.lock_quota). A transaction that
        needs both takes its scope locks first, so two cannot each hold one and wait.
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


# --- rows written without the ORM's unit of work --------------------------------------------

_QUEUED = "range_control_queued_rows"
#: session.info key: booking id -> its audit rows in the database when a statement read them
#: (notifications.outbox.keep_recipient_facts); dropped whenever that count may have moved.
AUDIT_COUNTS = "range_control_audit_counts"


def queue_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Write these rows of `table` (dicts of column values, the same keys in each) with this
    transaction, before it commits: the hot paths' audit, outbox and new booking rows skip the
    ORM's unit of work (its bookkeeping cost more than the write itself in profiles). They are
    written after the session's own flush, so they may refer to rows the ORM adds; nothing
    reads them back inside the transaction (`queued_rows` tells what is still waiting).
    A rollback drops them, as it drops the session's pending objects."""
    if rows:
        if not session.in_transaction():  # so that a rollback, even this early, drops them
            session.begin()
        session.info.setdefault(_QUEUED, []).append((table, rows))


def table_of(model: Any) -> Table:
    """A mapped class's table (declarative types `__table__` as a plain FromClause)."""
    return cast(Table, model.__table__)


def column_values(obj: Any) -> dict[str, Any]:
    """A new ORM object's row as column values for `queue_rows`: unset columns that the
    database fills (server defaults, trigger-kept columns) are left to it."""
    table = table_of(type(obj))
    state = obj.__dict__
    return {c.key: state.get(c.key) for c in table.columns
            if state.get(c.key) is not None or c.server_default is None}


def queue_update(session: Session, table: Table, row_id: Any, values: dict[str, Any]) -> None:
    """Write this change of one row of `table` (by primary key `id`) with the transaction's
    queued rows, before it commits: on PostgreSQL in their one statement. For a change that is
    its transaction's last (approve_booking's approval): nothing may read the row in the
    database meanwhile, since the session does not see it as changed (see set_status)."""
    if not session.in_transaction():
        session.begin()
    session.info.setdefault(_QUEUED_UPDATES, []).append((table, {**values, "id": row_id}))


def queued_rows(session: Session, table: Table) -> list[dict[str, Any]]:
    """The rows of `table` queued in this transaction and not written yet."""
    return [r for t, rows in session.info.get(_QUEUED, ()) if t is table for r in rows]


def write_queued_rows(session: Session) -> None:
    """Write the queued rows (before every commit; callers may write them sooner). PostgreSQL:
    one statement for all of them (data-modifying CTEs: one round trip; the foreign keys are
    checked at its end), SQLite: one executemany per table, in queue order."""
    queued = session.info.pop(_QUEUED, None) or []
    updates = session.info.pop(_QUEUED_UPDATES, None) or []
    if not queued and not updates:
        return
    session.info.pop(AUDIT_COUNTS, None)  # counts read before these rows no longer hold
    session.flush()  # what the queued rows may refer to
    bound = session.get_bind()
    if bound.dialect.name != "postgresql" or len(updates) > 1 or not queued:
        _write_updates(session, updates)
        updates = []
    batches: list[tuple[Table, tuple[str, ...], list[dict[str, Any]]]] = []
    for table, rows in queued:  # consecutive batches of one table and shape merge
        cols = tuple(rows[0])
        if batches and batches[-1][0] is table and batches[-1][1] == cols:
            batches[-1][2].extend(rows)
        else:
            batches.append((table, cols, list(rows)))
    params = sum(len(cols) * len(rows) for _, cols, rows in batches)
    if bound.dialect.name != "postgresql" or params > 20_000:
        _write_updates(session, updates)  # (only when the rows are too many for one statement)
        for table, _, rows in batches:
            session.execute(insert(table), rows)
        return
    changed = updates[0] if updates else None
    shape = tuple((t.name, cols, len(rows)) for t, cols, rows in batches)
    update_shape = (changed[0].name, tuple(changed[1])) if changed else None
    sql, processors = _combined_insert(shape, bound.dialect, update_shape)
    values = {}
    for b, (_, cols, rows) in enumerate(batches):
        for i, row in enumerate(rows):
            for c in cols:
                value, process = row[c], processors[b][c]
                values[f"p{b}_{i}_{c}"] = process(value) if process is not None else value
    if changed is not None:
        for c, value in changed[1].items():
            process = processors[-1][c]
            values[f"u_{c}"] = process(value) if process is not None else value
    session.connection().exec_driver_sql(sql, values)


def _write_updates(session: Session, updates: list[tuple[Table, dict[str, Any]]]) -> None:
    for table, values in updates:
        session.execute(_update_statement(table, tuple(values)),
                        {f"u_{c}": v for c, v in values.items()})


@lru_cache(maxsize=64)
def _update_statement(table: Table, cols: tuple[str, ...]) -> Any:
    """UPDATE of one row by `id` (bound as :u_id), setting `cols` (as :u_<column>); built
    once per shape."""
    return update(table).where(table.c.id == bindparam("u_id")).values(
        {c: bindparam(f"u_{c}") for c in cols if c != "id"})


def _drop_queued_rows(session: Session, previous_transaction: Any) -> None:
    if not previous_transaction.nested:
        session.info.pop(_QUEUED, None)
        session.info.pop(_QUEUED_UPDATES, None)
    session.info.pop(AUDIT_COUNTS, None)


_QUEUED_UPDATES = "range_control_queued_updates"


@lru_cache(maxsize=256)
def _combined_insert(shape: tuple[tuple[str, tuple[str, ...], int], ...], dialect: Any,
                     update_shape: tuple[str, tuple[str, ...]] | None = None
                     ) -> tuple[str, list[dict[str, Any]]]:
    """One INSERT per batch, all but the last as CTEs of the last, compiled once per shape
    (a multi-row VALUES statement misses SQLAlchemy's compiled cache: a profile showed its
    compilation as the largest CPU cost of a pair), with each batch's column bind processors
    (JSON, enums) to apply to the values. `update_shape` (table, columns, `id` among them)
    adds one row's UPDATE as a CTE too (its processors come last)."""
    from engine.models import Base

    statements = []
    processors = []
    for b, (name, cols, count) in enumerate(shape):
        table = Base.metadata.tables[name]
        statements.append(insert(table).values([
            {c: bindparam(f"p{b}_{i}_{c}", type_=table.c[c].type) for c in cols}
            for i in range(count)]))
        processors.append({c: table.c[c].type.dialect_impl(dialect).bind_processor(dialect)
                           for c in cols})
    last = statements[-1]
    for b, statement in enumerate(statements[:-1]):
        last = last.add_cte(statement.cte(f"w{b}"))
    expected = {f"p{b}_{i}_{c}" for b, (_, cols, count) in enumerate(shape)
                for i in range(count) for c in cols}
    if update_shape is not None:
        name, cols = update_shape
        table = Base.metadata.tables[name]
        changed = (update(table).where(table.c.id == bindparam("u_id", type_=table.c.id.type))
                   .values({c: bindparam(f"u_{c}", type_=table.c[c].type)
                            for c in cols if c != "id"}))
        last = last.add_cte(changed.cte("u0"))
        processors.append({c: table.c[c].type.dialect_impl(dialect).bind_processor(dialect)
                           for c in cols})
        expected |= {f"u_{c}" for c in cols}
    compiled = last.compile(dialect=dialect)
    if set(compiled.params) != expected:  # a column default would need a value of its own
        raise ValueError(f"queued rows must give every column with a default: {shape}")
    return compiled.string, processors


def rows_changed(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE changed (its result is a cursor result)."""
    return cast(CursorResult[Any], result).rowcount


#: A SELECT of any columns (SQLAlchemy types a SELECT by the tuple of its column types).
AnySelect: TypeAlias = "Select[*tuple[Any, ...]]"
