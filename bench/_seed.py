"""Fast bulk seeding for the bench scripts: a realistic range complex at benchmark scale.

Bookings and their audit rows bypass the ORM (PostgreSQL COPY, SQLite executemany in large
transactions) because a million bookings through the services would take hours. The schema's
own guarantees still check every row: the exclusion constraint (PostgreSQL) and the overlap
triggers (SQLite) accept the approved bookings only because they never overlap.
"""
from __future__ import annotations

import json
import random
import sqlite3
import time as _time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path

import psycopg
from sqlalchemy import create_engine, func, insert, pool, select, text
from sqlalchemy.engine import make_url
from tqdm import tqdm

from engine import migrate
from engine.demo import PURPOSES
from engine.models import AuditLog, Blackout, Booking, Resource, SafetyZone, User
from engine.passwords import hash_password

#: Every seeded account signs in with this password (hashed once, cheaply).
SEED_PASSWORD = "bench-password"
DAY = 1440  # minutes
DURATIONS = [30, 60, 60, 60, 90, 120, 120, 180, 240]  # minutes, 15-minute aligned
GAPS = [0, 0, 15, 30, 30, 60, 90, 120]
PRIORITIES = [0, 0, 0, 1, 1, 2, 3, 5]
# resource type, opening hours (None = always open; bookings then fall in 06:00-22:00)
ZONE_TYPES = [("range", time(8), time(18)), ("range", time(7), time(19)),
              ("training_area", time(6), time(22))]
LONE_TYPES = [("bay", time(9), time(21)), ("bay", time(9), time(21)),
              ("classroom", time(8), time(20)), ("training_area", time(6), time(22)),
              ("range", time(8), time(18)), ("vehicle", None, None), ("equipment", None, None)]
BLACKOUT_REASONS = ["Butt repairs", "Range clearance", "Target frame replacement",
                    "Baffle inspection", "High winds", "Lead remediation"]
REASONS = {"denied": "Range already committed to another unit", "cancelled": "Plans changed",
           "bumped": "Displaced by a higher-priority police qualification shoot"}
BOOKING_COLUMNS = ("id", "resource_id", "requester_id", "start_time", "end_time", "status",
                   "purpose", "priority", "decision_reason", "decided_by_id", "decided_at",
                   "bumped_by_booking_id", "conflict_at_request", "created_at", "updated_at")
AUDIT_COLUMNS = ("id", "booking_id", "actor_id", "action", "details", "previous_state",
                 "timestamp", "entity_type", "entity_id")


@dataclass
class Scope:
    """What approvals serialise on: a safety zone's resources, or one lone resource."""

    key: str  # zone id or resource id (hex)
    resource_ids: list[str]
    resource_names: list[str]
    zone_id: str | None
    opens: int  # minutes after midnight UTC where bookings may start
    closes: int


@dataclass
class SeedResult:
    now: datetime
    admin_id: uuid.UUID
    staff_ids: list[uuid.UUID]
    member_ids: list[uuid.UUID]
    scopes: list[Scope]
    bookings_by_status: Counter
    audit_rows: int
    blackouts: int
    seconds: float
    phases: dict[str, float] = field(default_factory=dict)

    @property
    def bookings(self) -> int:
        return sum(self.bookings_by_status.values())


def reset_database(url: str) -> None:
    """Drop and recreate the benchmark database (PostgreSQL) or file (SQLite), then migrate."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        path = Path(u.database)
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    else:
        admin = create_engine(u.set(database="postgres"), isolation_level="AUTOCOMMIT",
                              poolclass=pool.NullPool)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{u.database}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{u.database}"'))
        admin.dispose()
    migrate.upgrade(url)


def database_size(url: str) -> int:
    """Bytes on disk: pg_database_size, or the SQLite file plus its WAL and shared memory."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        return sum(Path(str(u.database) + s).stat().st_size for s in ("", "-wal", "-shm")
                   if Path(str(u.database) + s).exists())
    with psycopg.connect(_pg_conninfo(url)) as conn:
        return conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]


def pg_conninfo(url: str) -> str:
    """A psycopg connection string from a SQLAlchemy URL (drops the +psycopg driver name)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


_pg_conninfo = pg_conninfo  # the name bench_dashboard.py imports


def seed(url: str, resources: int = 1000, bookings: int = 1_000_000, pending: float = 0.35,
         seed: int = 2, *, users: int = 200, zones: int = 100, days_back: int = 365,
         days_ahead: int = 365, audit: str = "created", now: datetime | None = None,
         progress: bool = True) -> SeedResult:
    """Fill an empty, migrated database.

    `pending` is the share of future bookings still awaiting a decision; `audit` is "created"
    (one audit row per booking), "full" (plus one per decision, two for bumped) or "none".
    Times are minute-aligned UTC; `now` defaults to the current minute.
    """
    if audit not in ("created", "full", "none"):
        raise ValueError("audit must be created, full or none")
    t0 = _time.perf_counter()
    rng = random.Random(seed)
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(second=0,
                                                                            microsecond=0)
    sqlite = make_url(url).get_backend_name() == "sqlite"
    ts = _sqlite_ts if sqlite else _pg_ts
    base = datetime.combine(now.date(), time(0), UTC) - timedelta(days=days_back)
    now_min = int((now - base).total_seconds() // 60)

    engine = create_engine(url, poolclass=pool.NullPool)
    admin_id, staff_ids, member_ids, scopes, blackout_days = _seed_small_tables(
        engine, rng, now, base, resources, users, zones, days_back + days_ahead + 1)
    engine.dispose()
    phases = {"users, zones, resources, blackouts": _time.perf_counter() - t0}

    # How many bookings each scope gets, and on which days (multinomial over the days).
    days = days_back + days_ahead + 1
    per_resource = [bookings // resources + (1 if i < bookings % resources else 0)
                    for i in range(resources)]
    per_day: list[list[int]] = []
    i = 0
    for sc in scopes:
        counts = [0] * days
        for _ in range(sum(per_resource[i:i + len(sc.resource_ids)])):
            counts[rng.randrange(days)] += 1
        i += len(sc.resource_ids)
        per_day.append(counts)

    staff_hex = [s.hex for s in staff_ids]
    member_hex = [m.hex for m in member_ids]
    by_status: Counter = Counter()
    audit_rows = 0
    writer = _SqliteWriter(url) if sqlite else _PgWriter(url)
    brows: list[tuple] = []
    arows: list[tuple] = []
    t1 = _time.perf_counter()
    # Newest day first, each chunk newest first: the SQLite overlap trigger then finds no earlier
    # approved row to scan, whatever index its planner picks (oldest-first is quadratic there).
    for day in tqdm(reversed(range(days)), total=days, desc="seeding days", unit="day",
                    disable=not progress, mininterval=2):
        future_day = day >= days_back
        for s_idx, sc in enumerate(scopes):
            c = per_day[s_idx][day]
            if not c:
                continue
            closed = day in blackout_days.get(sc.key, ())
            cursor = sc.opens + 15 * rng.randrange(8)
            for _ in range(c):
                r = rng.randrange(len(sc.resource_ids))
                dur = min(rng.choice(DURATIONS), sc.closes - sc.opens)
                status = _draw_status(rng, future_day, pending)
                if status == "approved" and not closed:
                    start = cursor + rng.choice(GAPS)
                    if start + dur <= sc.closes:
                        cursor = start + dur
                    else:
                        status = "denied"
                elif status == "approved":
                    status = "denied"
                if status != "approved":
                    start = sc.opens + 15 * rng.randrange((sc.closes - sc.opens - dur) // 15 + 1)
                s_abs, e_abs = day * DAY + start, day * DAY + start + dur
                if status == "pending" and s_abs < now_min:
                    status = "denied"
                created = min(s_abs - rng.randrange(60, 30 * DAY), now_min - 1)
                requester = rng.choice(member_hex)
                bid = f"{rng.getrandbits(128):032x}"
                decided = decider = reason = None
                if status != "pending":
                    decided = min(created + rng.randrange(30, 72 * 60), now_min)
                    decider = requester if status == "cancelled" else rng.choice(staff_hex)
                    reason = REASONS.get(status)
                priority = rng.choice(PRIORITIES)
                brows.append((bid, sc.resource_ids[r], requester, ts(base, s_abs),
                              ts(base, e_abs), status, rng.choice(PURPOSES), priority, reason,
                              decider, None if decided is None else ts(base, decided), None,
                              False, ts(base, created),
                              ts(base, created if decided is None else decided)))
                by_status[status] += 1
                if audit != "none":
                    details = (f'{{"end_time": "{_iso(base, e_abs)}", "priority": {priority}, '
                               f'"resource": "{sc.resource_names[r]}", '
                               f'"start_time": "{_iso(base, s_abs)}"}}')
                    arows.append((f"{rng.getrandbits(128):032x}", bid, requester, "created",
                                  details, None, ts(base, created), "bookings", bid))
                    if audit == "full" and decided is not None:
                        steps = ["approved", "bumped"] if status == "bumped" else [status]
                        for step in steps:
                            arows.append((f"{rng.getrandbits(128):032x}", bid, decider, step,
                                          json.dumps({"reason": reason}) if reason else None,
                                          None, ts(base, decided), "bookings", bid))
        if len(brows) >= 50_000 or day == 0:
            brows.sort(key=lambda row: row[3], reverse=True)
            writer.write(brows, arows)
            audit_rows += len(arows)
            brows, arows = [], []
    phases["bookings and audit rows"] = _time.perf_counter() - t1
    t2 = _time.perf_counter()
    writer.finish()
    phases["vacuum/analyze" if not sqlite else "checkpoint"] = _time.perf_counter() - t2
    return SeedResult(now, admin_id, staff_ids, member_ids, scopes, by_status, audit_rows,
                      sum(len(v) for v in blackout_days.values()),
                      _time.perf_counter() - t0, phases)


def load_seed_result(url: str) -> SeedResult:
    """Rebuild the SeedResult of a database seeded earlier, so a bench can measure it again
    without reseeding. `now` is the seeding minute (stored as every seeded user's updated_at)."""
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            users = conn.execute(select(User.id, User.role, User.updated_at)).all()
            resources = conn.execute(
                select(Resource.id, Resource.name, Resource.safety_zone_id, Resource.opens_at,
                       Resource.closes_at).order_by(Resource.safety_zone_id, Resource.name)).all()
            by_status = Counter({s.value: n for s, n in conn.execute(
                select(Booking.status, func.count()).group_by(Booking.status))})
            audit_rows = conn.scalar(select(func.count()).select_from(AuditLog))
            blackouts = conn.scalar(select(func.count()).select_from(Blackout))
    finally:
        engine.dispose()
    if not users:
        raise RuntimeError(f"{url} holds no seeded data: run without --reuse first")
    scopes: dict[str, Scope] = {}
    for r in resources:
        key = (r.safety_zone_id or r.id).hex
        opens = r.opens_at.hour * 60 + r.opens_at.minute if r.opens_at else 6 * 60
        closes = r.closes_at.hour * 60 + r.closes_at.minute if r.closes_at else 22 * 60
        sc = scopes.setdefault(key, Scope(key, [], [], r.safety_zone_id.hex if r.safety_zone_id
                                          else None, opens, closes))
        sc.resource_ids.append(r.id.hex)
        sc.resource_names.append(r.name)
    role = {u.id: u.role.value for u in users}
    admin = next(i for i, r in role.items() if r == "admin")
    return SeedResult(max(u.updated_at for u in users), admin,
                      [i for i, r in role.items() if r == "staff"],
                      [i for i, r in role.items() if r == "user"], list(scopes.values()),
                      by_status, audit_rows, blackouts, 0.0)


def _draw_status(rng: random.Random, future: bool, pending: float) -> str:
    roll = rng.random()
    if future:
        if roll < pending:
            return "pending"
        roll = (roll - pending) / (1 - pending) if pending < 1 else 0.0
    if roll < 0.64:
        return "approved"
    if roll < 0.78:
        return "denied"
    if roll < 0.95:
        return "cancelled"
    return "bumped"


@lru_cache(maxsize=4096)
def _day_str(base: datetime, day: int) -> str:
    return (base + timedelta(days=day)).strftime("%Y-%m-%d")


def _hm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _pg_ts(base: datetime, minute: int) -> str:
    return f"{_day_str(base, minute // DAY)} {_hm(minute % DAY)}:00+00"


def _sqlite_ts(base: datetime, minute: int) -> str:
    """SQLAlchemy's SQLite DateTime storage format (naive UTC, microseconds always present)."""
    return f"{_day_str(base, minute // DAY)} {_hm(minute % DAY)}:00.000000"


def _iso(base: datetime, minute: int) -> str:
    return f"{_day_str(base, minute // DAY)}T{_hm(minute % DAY)}:00+00:00"


def _seed_small_tables(engine, rng: random.Random, now: datetime, base: datetime,
                       n_resources: int, n_users: int, n_zones: int, days: int):
    """Users, zones, resources and blackouts through SQLAlchemy Core (typed, a few thousand
    rows)."""
    pw = hash_password(SEED_PASSWORD, 4)
    ids = lambda: uuid.UUID(int=rng.getrandbits(128))  # noqa: E731 - deterministic uuids
    admin_id = ids()
    n_staff = max(1, n_users // 20)
    users = [dict(id=admin_id, email="admin@bench.example", name="Bench Admin", role="admin")]
    users += [dict(id=ids(), email=f"staff{i}@bench.example", name=f"Range Officer {i}",
                   role="staff") for i in range(n_staff)]
    users += [dict(id=ids(), email=f"member{i}@bench.example", name=f"Member {i}", role="user")
              for i in range(max(1, n_users - n_staff - 1))]
    for u in users:
        u.update(password_hash=pw, is_active=True,
                 created_at=now - timedelta(days=800), updated_at=now)
    staff_ids = [u["id"] for u in users if u["role"] == "staff"]
    member_ids = [u["id"] for u in users if u["role"] == "user"]

    # Safety zones of 3-5 resources while they fit in a third of the resources; the rest alone.
    zone_sizes = []
    while len(zone_sizes) < n_zones and sum(zone_sizes) + 5 <= max(3, n_resources * 2 // 5):
        zone_sizes.append(rng.randint(3, 5))
    zone_rows, resource_rows, scopes = [], [], []
    for z, size in enumerate(zone_sizes):
        zid = ids()
        zone_rows.append(dict(id=zid, name=f"Danger Area {z + 1}", created_at=now, updated_at=now,
                              description=f"{size} ranges behind one set of butts"))
        rtype, opens, closes = ZONE_TYPES[z % len(ZONE_TYPES)]
        members = [dict(id=ids(), name=f"DA{z + 1} {rtype.replace('_', ' ').title()} {k + 1}",
                        resource_type=rtype, safety_zone_id=zid, opens_at=opens,
                        closes_at=closes) for k in range(size)]
        resource_rows += members
        scopes.append(Scope(zid.hex, [m["id"].hex for m in members],
                            [m["name"] for m in members], zid.hex,
                            opens.hour * 60, closes.hour * 60))
    for k in range(n_resources - len(resource_rows)):
        rtype, opens, closes = LONE_TYPES[k % len(LONE_TYPES)]
        r = dict(id=ids(), name=f"{rtype.replace('_', ' ').title()} {k + 1}", resource_type=rtype,
                 safety_zone_id=None, opens_at=opens, closes_at=closes)
        resource_rows.append(r)
        scopes.append(Scope(r["id"].hex, [r["id"].hex], [r["name"]], None,
                            opens.hour * 60 if opens else 6 * 60,
                            closes.hour * 60 if closes else 22 * 60))
    for r in resource_rows:
        r.update(description=None, is_active=True, created_at=now, updated_at=now)

    # Blackouts: about three closed days per scope over the period, one resource each.
    blackout_rows, blackout_days = [], {}
    for sc in scopes:
        chosen = {rng.randrange(days) for _ in range(3)}
        blackout_days[sc.key] = chosen
        for day in chosen:
            start = base + timedelta(days=day, minutes=sc.opens)
            blackout_rows.append(dict(
                id=ids(), resource_id=uuid.UUID(rng.choice(sc.resource_ids)), start_time=start,
                end_time=start + timedelta(minutes=sc.closes - sc.opens),
                reason=rng.choice(BLACKOUT_REASONS), created_by_id=admin_id, created_at=now))

    audit = [dict(id=ids(), actor_id=admin_id, action="user_registered", timestamp=now,
                  entity_type="users", entity_id=u["id"],
                  details=json.dumps({"email": u["email"], "role": u["role"]})) for u in users]
    audit += [dict(id=ids(), actor_id=admin_id, action="resource_created", timestamp=now,
                   entity_type="resources", entity_id=r["id"],
                   details=json.dumps({"name": r["name"], "resource_type": r["resource_type"]}))
              for r in resource_rows]
    with engine.begin() as conn:
        conn.execute(insert(User), users)
        if zone_rows:
            conn.execute(insert(SafetyZone), zone_rows)
        conn.execute(insert(Resource), resource_rows)
        conn.execute(insert(Blackout), blackout_rows)
        conn.execute(insert(AuditLog), audit)
    return admin_id, staff_ids, member_ids, scopes, blackout_days


class _PgWriter:
    """COPY in 50k-row transactions, then VACUUM ANALYZE (what autovacuum would reach anyway)."""

    def __init__(self, url: str):
        self.conn = psycopg.connect(_pg_conninfo(url))

    @staticmethod
    def _copy(cur, table: str, columns: tuple, rows: list[tuple]) -> None:
        def cell(v):
            if v is None:
                return "\\N"
            if v is False or v is True:
                return "t" if v else "f"
            return str(v)

        lines = "".join("\t".join(map(cell, row)) + "\n" for row in rows)
        with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as cp:
            cp.write(lines)

    def write(self, bookings: list[tuple], audit: list[tuple]) -> None:
        with self.conn.cursor() as cur:
            self._copy(cur, "bookings", BOOKING_COLUMNS, bookings)
            if audit:
                self._copy(cur, "audit_logs", AUDIT_COLUMNS, audit)
        self.conn.commit()

    def finish(self) -> None:
        self.conn.autocommit = True
        self.conn.execute("VACUUM ANALYZE")
        self.conn.close()


class _SqliteWriter:
    """executemany in 50k-row transactions with the same triggers and foreign keys the app has."""

    def __init__(self, url: str):
        self.conn = sqlite3.connect(make_url(url).database, isolation_level=None)
        for pragma in ("foreign_keys=ON", "journal_mode=WAL", "synchronous=OFF",
                       "cache_size=-262144"):
            self.conn.execute(f"PRAGMA {pragma}")
        self.b_sql = (f"INSERT INTO bookings ({', '.join(BOOKING_COLUMNS)}) "
                      f"VALUES ({', '.join('?' * len(BOOKING_COLUMNS))})")
        self.a_sql = (f"INSERT INTO audit_logs ({', '.join(AUDIT_COLUMNS)}) "
                      f"VALUES ({', '.join('?' * len(AUDIT_COLUMNS))})")

    def write(self, bookings: list[tuple], audit: list[tuple]) -> None:
        self.conn.execute("BEGIN")
        self.conn.executemany(self.b_sql, bookings)
        if audit:
            self.conn.executemany(self.a_sql, audit)
        self.conn.execute("COMMIT")

    def finish(self) -> None:
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.conn.close()
