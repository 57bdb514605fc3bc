#!/usr/bin/env python
"""Engine benchmark (issue 2): seeding, guarded write throughput and find_conflicts latency.

A script, not a test: it seeds its own database per backend, measures, and prints a table.

    .venv/bin/python bench/bench_engine.py --backend both --resources 1000 --bookings 1000000

SQLite is measured twice: as migrated (no planner statistics, as a database grown by the app
has) and after ANALYZE; PostgreSQL once, after the VACUUM ANALYZE that autovacuum would do.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import sqlite3
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

import psycopg  # noqa: E402
from sqlalchemy import event, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from _seed import (  # noqa: E402
    BOOKING_COLUMNS,
    SeedResult,
    _pg_conninfo,
    database_size,
    load_seed_result,
    reset_database,
    seed,
)
from engine import services  # noqa: E402
from engine.config import Settings  # noqa: E402
from engine.db import Database  # noqa: E402
from engine.domain.overlap import subtract_intervals  # noqa: E402
from engine.errors import ConflictError  # noqa: E402
from engine.models import Resource  # noqa: E402
from engine.services.conflicts import conflict_report, hard_conflicts  # noqa: E402

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/rc_bench_engine"
SQLITE_URL = "sqlite:////tmp/rc_bench_engine.db"
TARGET_P99_MS = {"postgresql": 5.0, "sqlite": 10.0}
SLOT = timedelta(minutes=15)


def pct(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1] if len(values) > 1 \
        else (values[0] if values else float("nan"))


def latency_summary(ms: list[float]) -> dict:
    return {"n": len(ms), "p50": pct(ms, 50), "p95": pct(ms, 95), "p99": pct(ms, 99),
            "max": max(ms), "mean": statistics.fmean(ms)}


# --------------------------------------------------------------------------- windows

def scope_of(res: SeedResult) -> dict[str, object]:
    return {rid: sc for sc in res.scopes for rid in sc.resource_ids}


def free_windows(db: Database, res: SeedResult, n: int, rng: random.Random,
                 minutes: int = 30) -> list[tuple[uuid.UUID, datetime, datetime]]:
    """n windows, each inside a resource's opening hours, free of approved bookings and
    blackouts across its safety zone, and of each other. Busy time comes from the engine's
    own hard_conflicts, so the bench never restates the overlap rule."""
    midnight = res.now.replace(hour=0, minute=0)
    busy: dict[tuple[str, int], tuple[datetime, datetime, list]] = {}
    out: list[tuple[uuid.UUID, datetime, datetime]] = []
    with db.uow().read() as uow:
        resources = {r.id.hex: r for r in uow.session.scalars(select(Resource))}
        attempts = 0
        while len(out) < n:
            attempts += 1
            if attempts > n * 50:
                raise RuntimeError(f"found only {len(out)} free windows of {n}")
            sc = rng.choice(res.scopes)
            day = rng.randrange(2, 330)
            key = (sc.key, day)
            if key not in busy:
                lo = midnight + timedelta(days=day, minutes=sc.opens)
                hi = midnight + timedelta(days=day, minutes=sc.closes)
                taken = [(c.start_time, c.end_time) for c in
                         hard_conflicts(uow, resources[sc.resource_ids[0]], lo, hi)]
                busy[key] = (lo, hi, taken)
            lo, hi, taken = busy[key]
            slots = []
            for s, e in subtract_intervals([(lo, hi)], taken):
                s = lo + SLOT * -(-(s - lo) // SLOT)  # round up to the 15-minute grid
                while s + timedelta(minutes=minutes) <= e:
                    slots.append(s)
                    s += SLOT
            if not slots:
                continue
            start = rng.choice(slots)
            end = start + timedelta(minutes=minutes)
            taken.append((start, end))
            out.append((uuid.UUID(rng.choice(sc.resource_ids)), start, end))
    return out


def probe_windows(res: SeedResult, n: int, rng: random.Random
                  ) -> list[tuple[uuid.UUID, datetime, datetime, str]]:
    """Half near-future windows (next 14 days), half spread over the whole seeded period."""
    midnight = res.now.replace(hour=0, minute=0)
    out = []
    for i in range(n):
        sc = rng.choice(res.scopes)
        kind = "near" if i % 2 == 0 else "spread"
        day = rng.randrange(0, 14) if kind == "near" else rng.randrange(-360, 360)
        minutes = rng.choice([60, 60, 120, 180, 240])
        first = sc.opens // 15
        last = max(first, (sc.closes - minutes) // 15)
        start = midnight + timedelta(days=day, minutes=15 * rng.randint(first, last))
        out.append((uuid.UUID(rng.choice(sc.resource_ids)), start,
                    start + timedelta(minutes=minutes), kind))
    return out


# --------------------------------------------------------------------------- throughput

def plain_inserter(url: str, staff_id: uuid.UUID, member_id: uuid.UUID, now: datetime
                   ) -> tuple[Callable, Callable]:
    """One INSERT of an approved booking per transaction, straight through the driver."""
    cols = ", ".join(BOOKING_COLUMNS)
    if make_url(url).get_backend_name() == "sqlite":
        conn = sqlite3.connect(make_url(url).database, isolation_level=None)
        for pragma in ("foreign_keys=ON", "journal_mode=WAL", "synchronous=NORMAL",
                       "busy_timeout=30000"):
            conn.execute(f"PRAGMA {pragma}")
        sql = f"INSERT INTO bookings ({cols}) VALUES ({', '.join('?' * len(BOOKING_COLUMNS))})"
        fmt = "%Y-%m-%d %H:%M:%S.%f"
        stamp = now.strftime(fmt)

        def insert(resource_id: uuid.UUID, start: datetime, end: datetime) -> None:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(sql, (uuid.uuid4().hex, resource_id.hex, member_id.hex,
                               start.strftime(fmt), end.strftime(fmt), "approved",
                               "Bench practice", 1, None, staff_id.hex, stamp, None, 0, stamp,
                               stamp))
            conn.execute("COMMIT")
        return insert, conn.close

    conn = psycopg.connect(_pg_conninfo(url))
    sql = f"INSERT INTO bookings ({cols}) VALUES ({', '.join(['%s'] * len(BOOKING_COLUMNS))})"

    def insert(resource_id: uuid.UUID, start: datetime, end: datetime) -> None:
        conn.execute(sql, (uuid.uuid4(), resource_id, member_id, start, end, "approved",
                           "Bench practice", 1, None, staff_id, now, None, False, now, now))
        conn.commit()
    return insert, conn.close


def measure_throughput(db: Database, res: SeedResult, ops: int, rng: random.Random,
                       block: int = 100) -> dict:
    """Alternate blocks of plain INSERTs and engine request+approve pairs over fresh windows."""
    windows = free_windows(db, res, 2 * ops, rng)
    plain_w, engine_w = windows[:ops], windows[ops:]
    member, staff = rng.choice(res.member_ids), rng.choice(res.staff_ids)
    insert, close = plain_inserter(db.url, staff, member, res.now)
    plain_s = engine_s = request_s = engine_cpu = 0.0
    refused = 0
    try:
        for lo in range(0, ops, block):
            t = time.perf_counter()
            for rid, s, e in plain_w[lo:lo + block]:
                insert(rid, s, e)
            plain_s += time.perf_counter() - t
            cpu = time.process_time()
            for rid, s, e in engine_w[lo:lo + block]:
                t0 = time.perf_counter()
                b = services.request_booking(db.uow(), member, resource_id=rid, start_time=s,
                                             end_time=e, purpose="Bench practice", priority=1)
                t1 = time.perf_counter()
                try:
                    services.approve_booking(db.uow(), staff, b.id)
                except ConflictError:
                    refused += 1
                t2 = time.perf_counter()
                request_s += t1 - t0
                engine_s += t2 - t0
            engine_cpu += time.process_time() - cpu
    finally:
        close()
    plain_rate, engine_rate = ops / plain_s, ops / engine_s
    return {"ops": ops, "plain_per_s": plain_rate, "engine_pairs_per_s": engine_rate,
            "ratio": engine_rate / plain_rate, "request_ms": 1000 * request_s / ops,
            "approve_ms": 1000 * (engine_s - request_s) / ops,
            "plain_ms": 1000 * plain_s / ops, "refused": refused,
            "engine_cpu_ms": 1000 * engine_cpu / ops}


# --------------------------------------------------------------------------- latency

def measure_conflicts(db: Database, res: SeedResult, calls: int, rng: random.Random) -> dict:
    """find_conflicts through the service (one statement: actor, resource and conflicts), then
    the query part alone (conflict_report in one open read transaction)."""
    windows = probe_windows(res, calls + 50, rng)
    actor = rng.choice(res.member_ids)
    for rid, s, e, _ in windows[:50]:  # warm-up: pool, statement caches, buffers
        services.find_conflicts(db.uow(), actor, rid, s, e)
    service_ms: dict[str, list[float]] = {"near": [], "spread": []}
    cpu = time.process_time()
    hits = {"hard": 0, "soft": 0}
    for rid, s, e, kind in windows[50:]:
        t = time.perf_counter()
        report = services.find_conflicts(db.uow(), actor, rid, s, e)
        service_ms[kind].append(1000 * (time.perf_counter() - t))
        hits["hard"] += len(report.hard)
        hits["soft"] += len(report.soft)
    cpu = time.process_time() - cpu
    query_ms = []
    with db.uow().read() as uow:
        resources = {r.id: r for r in uow.session.scalars(select(Resource))}
        for rid, s, e, _ in windows[50:]:
            t = time.perf_counter()
            conflict_report(uow, resources[rid], s, e)
            query_ms.append(1000 * (time.perf_counter() - t))
    everything = service_ms["near"] + service_ms["spread"]
    return {"service": latency_summary(everything),
            "service_near": latency_summary(service_ms["near"]),
            "service_spread": latency_summary(service_ms["spread"]),
            "query_only": latency_summary(query_ms),
            "mean_hard": hits["hard"] / calls, "mean_soft": hits["soft"] / calls,
            "service_cpu_ms": 1000 * cpu / calls}


def explain_conflict_queries(db: Database, res: SeedResult) -> list[str]:
    """Capture the SQL of real find_conflicts calls and show their plans (ANALYZE on PostgreSQL)."""
    zone = next(sc for sc in res.scopes if sc.zone_id)
    lone = next(sc for sc in res.scopes if not sc.zone_id)
    midnight = res.now.replace(hour=0, minute=0)
    cases = [("zone resource, tomorrow", zone, midnight + timedelta(days=1, minutes=zone.opens)),
             ("lone resource, 200 days ago", lone,
              midnight - timedelta(days=200) + timedelta(minutes=lone.opens))]
    out = []
    pg = db.dialect == "postgresql"
    captured: list[tuple[str, object]] = []

    def grab(conn, cursor, statement, parameters, context, executemany):
        if "JOIN resources" in statement:
            captured.append((statement, parameters))

    for label, sc, start in cases:
        captured.clear()
        event.listen(db.engine, "before_cursor_execute", grab)
        try:
            services.find_conflicts(db.uow(), res.member_ids[0], uuid.UUID(sc.resource_ids[0]),
                                    start, start + timedelta(hours=4))
        finally:
            event.remove(db.engine, "before_cursor_execute", grab)
        with db.engine.connect() as conn:
            for statement, params in captured:
                prefix = "EXPLAIN (ANALYZE, BUFFERS) " if pg else "EXPLAIN QUERY PLAN "
                rows = conn.exec_driver_sql(prefix + statement, params).fetchall()
                plan = "\n".join(str(r[0]) if pg else f"{'  ' * (r[1] > 0)}{r[3]}" for r in rows)
                out.append(f"-- {label}\n{' '.join(statement.split())}\n{plan}")
    if not pg:
        out.append(_sqlite_trigger_plan(db, res))
    return out


def _sqlite_trigger_plan(db: Database, res: SeedResult) -> str:
    """The plan SQLite uses inside the overlap trigger that guards every approved insert."""
    with db.engine.connect() as conn:
        body = conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE name = 'trg_bookings_no_overlap_insert'"
        ).scalar_one()
        query = re.search(r"(SELECT 1 FROM bookings b.*)\)\s*;\s*END", body, re.S).group(1)
        query = re.sub(r"NEW\.(\w+)", r":\1", query)
        start = (res.now + timedelta(days=30)).strftime("%Y-%m-%d %H:%M:%S.%f")
        end = (res.now + timedelta(days=30, hours=2)).strftime("%Y-%m-%d %H:%M:%S.%f")
        params = {"resource_id": res.scopes[0].resource_ids[0], "id": "0" * 32,
                  "start_time": start, "end_time": end}
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + query, params).fetchall()
        t = time.perf_counter()
        conn.exec_driver_sql(query, params).fetchall()
        ms = 1000 * (time.perf_counter() - t)
    plan = "\n".join(r[3] for r in rows)
    return f"-- overlap trigger body (one approved insert 30 days ahead: {ms:.1f} ms)\n" \
           f"{' '.join(query.split())}\n{plan}"


def _has_sqlite_stats(db: Database) -> bool:
    with db.engine.connect() as conn:
        return bool(conn.exec_driver_sql(
            "SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'").scalar_one())


def seed_check(db: Database) -> int:
    """Approved bookings overlapping within one scope (zone or lone resource): must be 0."""
    with db.engine.connect() as conn:
        return conn.execute(text(
            "SELECT count(*) FROM (SELECT b.start_time, lag(b.end_time) OVER (PARTITION BY "
            "coalesce(r.safety_zone_id, r.id) ORDER BY b.start_time) AS prev_end "
            "FROM bookings b JOIN resources r ON r.id = b.resource_id "
            "WHERE b.status = 'approved') t WHERE prev_end > start_time")).scalar_one()


# --------------------------------------------------------------------------- driver

def run_backend(backend: str, args: argparse.Namespace) -> dict:
    url = args.pg_url if backend == "postgresql" else args.sqlite_url
    print(f"\n=== {backend}: {url}", flush=True)
    t = time.perf_counter()
    if args.reuse:
        migrate_s, res = 0.0, load_seed_result(url)
    else:
        reset_database(url)
        migrate_s = time.perf_counter() - t
        res = seed(url, resources=args.resources, bookings=args.bookings, seed=args.seed,
                   audit=args.audit)
    out: dict = {"backend": backend, "url": url, "migrate_s": migrate_s,
                 "seed_s": res.seconds, "seed_phases": res.phases,
                 "bookings": res.bookings, "by_status": dict(res.bookings_by_status),
                 "audit_rows": res.audit_rows, "blackouts": res.blackouts,
                 "resources": sum(len(s.resource_ids) for s in res.scopes),
                 "zones": sum(1 for s in res.scopes if s.zone_id),
                 "users": 1 + len(res.staff_ids) + len(res.member_ids),
                 "db_bytes_after_seed": database_size(url), "phases": {}}
    print(f"seeded {res.bookings:,} bookings in {res.seconds:.1f} s, "
          f"{out['db_bytes_after_seed'] / 2**20:,.0f} MiB", flush=True)
    settings = Settings(SITE_TIMEZONE="UTC")
    db = Database(url, settings=settings, clock=lambda: res.now)
    try:
        t = time.perf_counter()
        out["approved_overlaps_in_scope"] = seed_check(db)
        out["seed_check_s"] = time.perf_counter() - t
        rng = random.Random(args.seed + 1)
        ops = args.sqlite_ops or args.ops if backend == "sqlite" else args.ops
        calls = args.sqlite_calls or args.calls if backend == "sqlite" else args.calls
        phases = [("as migrated", args.ops_no_stats, args.calls_no_stats),
                  ("after ANALYZE", ops, calls)] if backend == "sqlite" else [("", ops, calls)]
        if backend == "sqlite" and _has_sqlite_stats(db):  # a reused, already analysed file
            phases = phases[1:]
        for name, ops, calls in phases:
            if name == "after ANALYZE":
                t = time.perf_counter()
                with db.engine.begin() as conn:  # committed: a rolled-back ANALYZE keeps no stats
                    conn.exec_driver_sql("ANALYZE")
                    stats = conn.exec_driver_sql("SELECT count(*) FROM sqlite_stat1").scalar_one()
                print(f"   ANALYZE wrote {stats} sqlite_stat1 rows", flush=True)
                out["analyze_s"] = time.perf_counter() - t
            print(f"-- phase {name or 'main'}: {ops} request+approve pairs, {calls} "
                  "find_conflicts calls", flush=True)
            load_before = os.getloadavg()[0]
            phase = {"throughput": measure_throughput(db, res, ops, rng),
                     "conflicts": measure_conflicts(db, res, calls, rng),
                     "plans": explain_conflict_queries(db, res) if args.explain else [],
                     "loadavg_1min": (load_before, os.getloadavg()[0])}
            out["phases"][name or "main"] = phase
            _print_phase(backend, name, phase)
    finally:
        db.dispose()
    out["db_bytes_after_run"] = database_size(url)
    return out


def _print_phase(backend: str, name: str, ph: dict) -> None:
    tp, cf = ph["throughput"], ph["conflicts"]
    print(f"   plain INSERT {tp['plain_per_s']:8.1f}/s"
          f" | engine pairs {tp['engine_pairs_per_s']:7.1f}/s"
          f" | ratio {tp['ratio']:.2f} | request {tp['request_ms']:.1f} ms, approve "
          f"{tp['approve_ms']:.1f} ms | refused {tp['refused']} | client CPU "
          f"{tp['engine_cpu_ms']:.2f} ms/pair")
    s, q = cf["service"], cf["query_only"]
    print(f"   find_conflicts p50 {s['p50']:.2f} p95 {s['p95']:.2f} p99 {s['p99']:.2f} ms "
          f"(query only p50 {q['p50']:.2f} p99 {q['p99']:.2f}) | client CPU "
          f"{cf['service_cpu_ms']:.2f} ms/call", flush=True)


def print_table(results: list[dict]) -> None:
    rows: list[tuple[str, list[str]]] = []

    def add(label: str, fn: Callable[[dict, dict], str]) -> None:
        cells = []
        for r in results:
            for ph in r["phases"].values():
                cells.append(fn(r, ph))
        rows.append((label, cells))

    heads = [f"{r['backend']}" + (f" ({n})" if n != "main" else "")
             for r in results for n in r["phases"]]
    add("bookings seeded", lambda r, p: f"{r['bookings']:,}")
    add("  approved/pending/denied/cancelled/bumped", lambda r, p: "/".join(
        _compact(r["by_status"].get(k, 0)) for k in
        ("approved", "pending", "denied", "cancelled", "bumped")))
    add("audit rows seeded", lambda r, p: f"{r['audit_rows']:,}")
    add("resources / zones / users / blackouts",
        lambda r, p: f"{r['resources']} / {r['zones']} / {r['users']} / {r['blackouts']}")
    add("seeding time (s, excl. migrate)", lambda r, p: f"{r['seed_s']:.1f}")
    add("database size after seed (MiB)", lambda r, p: f"{r['db_bytes_after_seed'] / 2**20:,.0f}")
    add("approved overlaps within a scope", lambda r, p: str(r["approved_overlaps_in_scope"]))
    add("plain INSERT, approved row (rows/s)", lambda r, p: f"{p['throughput']['plain_per_s']:.1f}")
    add("engine request+approve (pairs/s)",
        lambda r, p: f"{p['throughput']['engine_pairs_per_s']:.1f}")
    add("ratio engine/plain (aim >= 0.50)", lambda r, p: _mark(p['throughput']['ratio'], 0.5, True))
    add("  request / approve (ms each)",
        lambda r, p: f"{p['throughput']['request_ms']:.1f} / {p['throughput']['approve_ms']:.1f}")
    add("  client CPU per pair (ms, this process)",
        lambda r, p: f"{p['throughput']['engine_cpu_ms']:.2f}")
    add("  pairs measured / refused",
        lambda r, p: f"{p['throughput']['ops']} / {p['throughput']['refused']}")
    for key, label in (("service", "find_conflicts service"), ("service_near", "  near future"),
                       ("service_spread", "  spread over 2 years"), ("query_only", "  query only")):
        add(f"{label} p50/p95/p99 (ms)", lambda r, p, k=key: "/".join(
            f"{p['conflicts'][k][q]:.2f}" for q in ("p50", "p95", "p99")))
    add("  client CPU per call (ms, this process)",
        lambda r, p: f"{p['conflicts']['service_cpu_ms']:.2f}")
    add("find_conflicts p99 vs target", lambda r, p: _mark(
        p["conflicts"]["service"]["p99"], TARGET_P99_MS[r["backend"]], False) + " ms")
    add("machine load (1-min avg, start/end)",
        lambda r, p: "{:.1f} / {:.1f}".format(*p["loadavg_1min"]))
    add("  calls / mean hard, soft hits", lambda r, p: f"{p['conflicts']['service']['n']} / "
        f"{p['conflicts']['mean_hard']:.2f}, {p['conflicts']['mean_soft']:.2f}")
    width = max(len(label) for label, _ in rows)
    colw = [max(len(h), *(len(c[i]) for _, c in rows)) for i, h in enumerate(heads)]
    print("\n" + " " * width + " | "
          + " | ".join(h.rjust(w) for h, w in zip(heads, colw, strict=True)))
    print("-" * (width + sum(colw) + 3 * len(colw)))
    for label, cells in rows:
        print(label.ljust(width) + " | "
              + " | ".join(c.rjust(w) for c, w in zip(cells, colw, strict=True)))


def _compact(n: int) -> str:
    return f"{n // 1000}k" if n >= 10_000 else str(n)


def _mark(value: float, target: float, higher_is_better: bool) -> str:
    ok = value >= target if higher_is_better else value <= target
    return f"{value:.2f} ({'meets' if ok else 'MISSES'} {target:g})"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument("--pg-url", default=PG_URL, help="dropped and recreated unless --reuse")
    ap.add_argument("--sqlite-url", default=SQLITE_URL, help="deleted and recreated unless --reuse")
    ap.add_argument("--resources", type=int, default=1000)
    ap.add_argument("--bookings", type=int, default=1_000_000)
    ap.add_argument("--ops", type=int, default=2000, help="request+approve pairs (and as many "
                    "plain INSERTs)")
    ap.add_argument("--calls", type=int, default=2000, help="find_conflicts calls")
    ap.add_argument("--sqlite-ops", type=int, help="pairs on SQLite after ANALYZE (default --ops)")
    ap.add_argument("--sqlite-calls", type=int,
                    help="calls on SQLite after ANALYZE (default --calls)")
    ap.add_argument("--ops-no-stats", type=int, default=50,
                    help="pairs on SQLite before ANALYZE (each scans far more there)")
    ap.add_argument("--calls-no-stats", type=int, default=100)
    ap.add_argument("--audit", choices=["created", "full", "none"], default="created",
                    help="seeded audit rows: one per booking, one per decision too, or none")
    ap.add_argument("--seed", type=int, default=2)
    ap.add_argument("--reuse", action="store_true", help="measure the databases seeded by an "
                    "earlier run again (no reset, no seeding; seeding figures then read 0)")
    ap.add_argument("--no-explain", dest="explain", action="store_false")
    ap.add_argument("--json", type=Path, help="also write the raw results here")
    args = ap.parse_args(argv)
    backends = ["postgresql", "sqlite"] if args.backend == "both" else [args.backend]
    results = [run_backend(b, args) for b in backends]
    print_table(results)
    if args.explain:
        for r in results:
            for name, ph in r["phases"].items():
                print(f"\n### query plans: {r['backend']} {'' if name == 'main' else name}")
                print("\n\n".join(ph["plans"]))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
