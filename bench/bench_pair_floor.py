#!/usr/bin/env python
"""What a request+approve pair's own SQL costs, without the engine's Python (issue 13).

A script, not a test. It records the statements one engine pair sends (request_booking, then
approve_booking: the reads, the locks, the booking, audit and outbox rows, the commits), then
replays them through the bare driver (sqlite3 / psycopg) for fresh windows, with fresh ids,
in alternating blocks with the plain one-row INSERT of bench_engine.py and with the engine's
own pairs. The replay is the floor for any Python on top of these statements: if its rate is
under 0.25 of the INSERT's, no engine code that sends them can reach that ratio.

    PYTHONPATH=. python bench/bench_pair_floor.py --backend both --reuse \
        --pg-url postgresql+psycopg://postgres@127.0.0.1:5432/rc_shared_1m \
        --sqlite-url sqlite:////work/bench_logs/rc_shared_1m.db --pairs 600

Statements are replayed verbatim (their parameters changed only where they name the booking,
its window or a new row's id), so the replay writes the same rows the engine does.
"""
from __future__ import annotations

import argparse
import random
import sqlite3
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

import psycopg
from sqlalchemy import event
from sqlalchemy.engine import make_url

from _seed import _pg_conninfo, load_seed_result, reset_database, seed
from bench_engine import PG_URL, SQLITE_URL, free_windows, plain_inserter
from engine import services
from engine.config import Settings
from engine.db import Database
from engine.services.conflicts import conflict_lower_bound

SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"
Captured = list[tuple[str, Any, bool]]


def capture_pair(db: Database, member: uuid.UUID, staff: uuid.UUID, window: tuple
                 ) -> tuple[Captured, uuid.UUID]:
    """The statements (with parameters) of one engine pair, COMMIT marking each commit."""
    sent: Captured = []

    def grab(conn, cursor, statement, parameters, context, executemany):
        sent.append((statement, parameters, executemany))

    def committed(conn):
        sent.append(("COMMIT", None, False))

    rid, start, end = window
    event.listen(db.engine, "before_cursor_execute", grab)
    event.listen(db.engine, "commit", committed)
    try:
        booking = services.request_booking(db.uow(), member, resource_id=rid, start_time=start,
                                           end_time=end, purpose="Bench practice", priority=1)
        services.approve_booking(db.uow(), staff, booking.id)
    finally:
        event.remove(db.engine, "before_cursor_execute", grab)
        event.remove(db.engine, "commit", committed)
    return sent, booking.id


class Replayer:
    """Sends one captured pair again through the bare driver for a new window."""

    def __init__(self, url: str, sent: Captured, booking_id: uuid.UUID, window: tuple):
        self.sqlite = make_url(url).get_backend_name() == "sqlite"
        self.sent = sent
        _, start, end = window
        old = {booking_id: "booking", start: "start", end: "end",
               conflict_lower_bound(start): "lower"}
        if self.sqlite:  # SQLite's parameters are text: ids as hex, times formatted
            old = {(k.hex if isinstance(k, uuid.UUID) else k.strftime(SQLITE_TIME)): v
                   for k, v in old.items()}
            self.conn = sqlite3.connect(make_url(url).database, isolation_level=None)
            for pragma in ("foreign_keys=ON", "journal_mode=WAL", "synchronous=NORMAL",
                           "busy_timeout=30000"):
                self.conn.execute(f"PRAGMA {pragma}")
        else:
            self.conn = psycopg.connect(_pg_conninfo(url))
        self.old = old

    def _new_values(self, start: datetime, end: datetime) -> dict[str, Any]:
        new: dict[str, Any] = {"booking": uuid.uuid4(), "start": start, "end": end,
                               "lower": conflict_lower_bound(start)}
        if self.sqlite:
            new = {k: (v.hex if isinstance(v, uuid.UUID) else v.strftime(SQLITE_TIME))
                   for k, v in new.items()}
        return new

    def _fresh_id(self) -> Any:
        return uuid.uuid4().hex if self.sqlite else uuid.uuid4()

    def _params(self, statement: str, params: Any, many: bool, new: dict[str, Any]) -> Any:
        inserts_rows = statement.startswith(("INSERT", "WITH"))

        def swap(v: Any) -> Any:
            try:
                kind = self.old.get(v)
            except TypeError:  # unhashable (a JSON value)
                return v
            return new[kind] if kind is not None else v

        if isinstance(params, dict):  # psycopg: named; a new row's id is p<batch>_<row>_id
            out = {k: swap(v) for k, v in params.items()}
            for k, v in params.items():
                if inserts_rows and k.endswith("_id") and k.count("_") == 2 \
                        and self.old.get(v) != "booking":
                    out[k] = self._fresh_id()
            return out
        rows = params if many else [params]  # sqlite3: positional; a new row's id comes first
        out_rows = []
        for row in rows:
            values = [swap(v) for v in row]
            if inserts_rows and row and self.old.get(row[0]) != "booking":
                values[0] = self._fresh_id()
            out_rows.append(tuple(values))
        return out_rows if many else out_rows[0]

    def pair(self, start: datetime, end: datetime) -> None:
        new = self._new_values(start, end)
        conn = self.conn
        in_tx = False
        for statement, params, many in self.sent:
            if statement == "COMMIT":
                conn.commit() if not self.sqlite else conn.execute("COMMIT")
                in_tx = False
                continue
            if statement.startswith("BEGIN"):
                conn.execute(statement)
                in_tx = True
                continue
            p = self._params(statement, params, many, new)
            if self.sqlite:
                if not in_tx:
                    conn.execute("BEGIN")
                    in_tx = True
                cur = conn.executemany(statement, p) if many else conn.execute(statement, p)
            else:
                cur = conn.cursor()
                cur.executemany(statement, p) if many else cur.execute(statement, p)
            if statement.startswith(("SELECT", "WITH")) and cur.description is not None:
                cur.fetchall()

    def close(self) -> None:
        self.conn.close()


def measure(url: str, pairs: int, block: int, reuse: bool, resources: int, bookings: int
            ) -> dict[str, float]:
    if not reuse:
        reset_database(url)
        res = seed(url, resources=resources, bookings=bookings, progress=False)
    else:
        res = load_seed_result(url)
    db = Database(url, settings=Settings(SITE_TIMEZONE="UTC"), clock=lambda: res.now)
    rng = random.Random(int(time.time()))
    member, staff = rng.choice(res.member_ids), rng.choice(res.staff_ids)
    windows = free_windows(db, res, 2 * pairs + 1, rng)
    first = windows.pop()
    sent, booking_id = capture_pair(db, member, staff, first)
    replay = Replayer(url, sent, booking_id, first)
    insert, close = plain_inserter(url, staff, member, res.now)
    plain_w, eng_w = windows[:pairs], windows[pairs:2 * pairs]
    # The replay keeps the captured resource (its id is in every statement), so its windows
    # follow one another on it, three years on, past every seeded booking.
    length = first[2] - first[1]
    raw_w = [(first[0], first[1] + timedelta(days=3 * 365) + i * length,
              first[1] + timedelta(days=3 * 365) + (i + 1) * length) for i in range(pairs)]
    spent = {"plain": 0.0, "raw": 0.0, "engine": 0.0}
    try:
        for lo in range(0, pairs, block):
            t = time.perf_counter()
            for rid, s, e in plain_w[lo:lo + block]:
                insert(rid, s, e)
            spent["plain"] += time.perf_counter() - t
            t = time.perf_counter()
            for _, s, e in raw_w[lo:lo + block]:
                replay.pair(s, e)
            spent["raw"] += time.perf_counter() - t
            t = time.perf_counter()
            for rid, s, e in eng_w[lo:lo + block]:
                b = services.request_booking(db.uow(), member, resource_id=rid, start_time=s,
                                             end_time=e, purpose="Bench practice", priority=1)
                services.approve_booking(db.uow(), staff, b.id)
            spent["engine"] += time.perf_counter() - t
    finally:
        close()
        replay.close()
        db.dispose()
    statements = sum(1 for s, _, _ in sent if s != "COMMIT")
    commits = sum(1 for s, _, _ in sent if s == "COMMIT")
    return {"statements": statements, "commits": commits,
            **{f"{k}_ms": 1000 * v / pairs for k, v in spent.items()}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument("--pg-url", default=PG_URL)
    ap.add_argument("--sqlite-url", default=SQLITE_URL)
    ap.add_argument("--reuse", action="store_true", help="measure databases seeded earlier")
    ap.add_argument("--resources", type=int, default=1000)
    ap.add_argument("--bookings", type=int, default=100_000)
    ap.add_argument("--pairs", type=int, default=600)
    ap.add_argument("--block", type=int, default=50)
    args = ap.parse_args(argv)
    backends = ["postgresql", "sqlite"] if args.backend == "both" else [args.backend]
    print("| backend | statements + commits per pair | plain INSERT ms | replayed pair ms "
          "(floor) | engine pair ms | floor ratio | engine ratio |")
    print("|---|---|---|---|---|---|---|")
    for backend in backends:
        url = args.pg_url if backend == "postgresql" else args.sqlite_url
        r = measure(url, args.pairs, args.block, args.reuse, args.resources, args.bookings)
        print(f"| {backend} | {r['statements']} + {r['commits']} | {r['plain_ms']:.3f} | "
              f"{r['raw_ms']:.3f} | {r['engine_ms']:.3f} | {r['plain_ms'] / r['raw_ms']:.2f} | "
              f"{r['plain_ms'] / r['engine_ms']:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
