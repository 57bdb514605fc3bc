"""Benchmark: a one-year utilization report over 1,000,000 bookings, SQL aggregation vs pandas.

    .venv/bin/python bench/bench_reports.py                 # PostgreSQL and SQLite
    .venv/bin/python bench/bench_reports.py --backend postgresql --bookings 1000000

Seeds its own databases once (PostgreSQL `rc_bench_reports`, SQLite `data/rc_bench_reports.db`;
re-seeded when the size or the schema revision differs): 1,000 resources in 10 zones and 6
types, half with opening hours 08:00-18:00, 1,000 bookings each over 2029 (70 % approved), plus
a few blackouts.

Each measurement runs in a fresh child process, so peak memory (ru_maxrss, which includes the
interpreter and its imports) belongs to that one computation:
  sql    - engine.analytics.utilization(group_by="resource", period="week") for 2029
  pandas - read every booking row into a DataFrame, clip and sum per (week, resource) there
  cli    - the whole `python -m reports utilization` run for 2029, files written
sql and pandas produce booked hours per (week, resource); the script checks they are equal.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent

PG_ADMIN = os.environ.get("BENCH_POSTGRES_ADMIN_URL",
                          "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
PG_NAME = "rc_bench_reports"
SQLITE_PATH = ROOT / "data" / "rc_bench_reports.db"
START, END = date(2029, 1, 1), date(2030, 1, 1)
TZ = ZoneInfo("UTC")
RESOURCES = 1000
TYPES = ["range", "bay", "classroom", "vehicle", "equipment", "training_area"]
STATUSES = ["approved"] * 7 + ["pending", "denied", "cancelled"]  # bumped counts as not approved


def pg_url(name: str = PG_NAME) -> str:
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + name


def url_for(backend: str) -> str:
    return pg_url() if backend == "postgresql" else f"sqlite:///{SQLITE_PATH}"


# ---------------------------------------------------------------- seeding

def _rows(n_bookings: int):
    """Deterministic users, zones, resources, bookings (no approved overlap on a resource)."""
    ns = uuid.UUID("5f1c0000-0000-4000-8000-000000000000")
    now = datetime(2028, 12, 1, tzinfo=UTC)
    user = (uuid.uuid5(ns, "user"), "bench@range.example", "x", "Bench", "admin")
    zones = [(uuid.uuid5(ns, f"zone{z}"), f"Zone {z}") for z in range(10)]
    resources = []
    for r in range(RESOURCES):
        hours = (dtime(8), dtime(18)) if r % 2 == 0 else (None, None)
        zone = zones[r % 10][0] if r % 4 else None
        resources.append((uuid.uuid5(ns, f"res{r}"), f"Resource {r:04d}", TYPES[r % len(TYPES)],
                          zone, *hours))
    per_resource = n_bookings // RESOURCES
    slots_per_day = 3
    groups = -(-per_resource // slots_per_day)  # distinct days needed, spread over 2029

    def bookings():
        year_start = datetime(2029, 1, 1, tzinfo=UTC)
        for r, res in enumerate(resources):
            for i in range(per_resource):
                day = (i // slots_per_day) * 365 // groups
                start = year_start + timedelta(days=day, hours=8 + (i % slots_per_day) * 3)
                end = start + timedelta(minutes=60 + 30 * ((r + i) % 4))
                status = STATUSES[(r * 7 + i) % len(STATUSES)]
                yield (uuid.uuid5(ns, f"b{r}-{i}"), res[0], user[0], start, end, status,
                       "bench", (r + i) % 11, start - timedelta(days=3), start - timedelta(days=3))
    blackouts = [(uuid.uuid5(ns, f"bo{r}"), resources[r][0],
                  datetime(2029, 3, 1 + r % 28, 8, tzinfo=UTC),
                  datetime(2029, 3, 1 + r % 28, 14, tzinfo=UTC), "bench maintenance")
                 for r in range(0, RESOURCES, 10)]
    return user, zones, resources, bookings, blackouts, now


def _ready(url: str, n_bookings: int) -> bool:
    """Already seeded with this many bookings, on the current schema?"""
    from engine import migrate

    if _count(url) != n_bookings:
        return False
    try:
        return migrate.current_revision(url) == migrate.head_revision(url)
    except Exception:  # noqa: BLE001
        return False


def _count(url: str) -> int | None:
    from sqlalchemy import create_engine, text
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM bookings")).scalar()
    except Exception:  # noqa: BLE001 - missing database or table
        return None
    finally:
        engine.dispose()


def seed_postgresql(n_bookings: int) -> None:
    import psycopg
    from sqlalchemy import create_engine, text

    from engine import migrate

    if _ready(pg_url(), n_bookings):
        return
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_NAME}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{PG_NAME}"'))
    admin.dispose()
    migrate.upgrade(pg_url())
    user, zones, resources, bookings, blackouts, now = _rows(n_bookings)
    t0 = time.perf_counter()
    with psycopg.connect(pg_url().replace("postgresql+psycopg", "postgresql")) as conn:
        with conn.cursor() as cur:
            cur.execute("INSERT INTO users (id, email, password_hash, name, role) "
                        "VALUES (%s, %s, %s, %s, %s)", user)
            cur.executemany("INSERT INTO safety_zones (id, name) VALUES (%s, %s)", zones)
            cur.executemany("INSERT INTO resources (id, name, resource_type, safety_zone_id, "
                            "opens_at, closes_at) VALUES (%s, %s, %s, %s, %s, %s)", resources)
            cur.executemany("INSERT INTO blackouts (id, resource_id, start_time, end_time, reason)"
                            " VALUES (%s, %s, %s, %s, %s)", blackouts)
            with cur.copy("COPY bookings (id, resource_id, requester_id, start_time, end_time, "
                          "status, purpose, priority, created_at, updated_at) FROM STDIN") as copy:
                for row in bookings():
                    copy.write_row(row)
        conn.execute("ANALYZE")
    print(f"seeded PostgreSQL {PG_NAME}: {n_bookings:,} bookings in "
          f"{time.perf_counter() - t0:.0f} s", file=sys.stderr)


def seed_sqlite(n_bookings: int) -> None:
    import sqlite3

    from engine import migrate

    if SQLITE_PATH.exists() and _ready(url_for("sqlite"), n_bookings):
        return
    SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(str(SQLITE_PATH) + suffix).unlink(missing_ok=True)
    migrate.upgrade(url_for("sqlite"))
    user, zones, resources, bookings, blackouts, now = _rows(n_bookings)

    def ts(value: datetime | None) -> str | None:  # SQLAlchemy's SQLite DATETIME text format
        return None if value is None else value.strftime("%Y-%m-%d %H:%M:%S.%f")

    def hexid(value: uuid.UUID | None) -> str | None:
        return None if value is None else value.hex

    def tm(value: dtime | None) -> str | None:
        return None if value is None else value.strftime("%H:%M:%S.%f")

    # Without planner statistics SQLite runs the overlap trigger's lookup through the status
    # index (a scan per insert). The data is overlap-free by construction, so the trigger is
    # dropped for the bulk load and recreated, exactly as the migration wrote it, afterwards.
    trigger_sql = next(sql for (sql,) in sqlite3.connect(SQLITE_PATH).execute(
        "SELECT sql FROM sqlite_master WHERE name = 'trg_bookings_no_overlap_insert'"))
    t0 = time.perf_counter()
    conn = sqlite3.connect(SQLITE_PATH)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("DROP TRIGGER trg_bookings_no_overlap_insert")
    with conn:
        conn.execute("INSERT INTO users (id, email, password_hash, name, role) VALUES (?,?,?,?,?)",
                     (hexid(user[0]), *user[1:]))
        conn.executemany("INSERT INTO safety_zones (id, name) VALUES (?, ?)",
                         [(hexid(z), n) for z, n in zones])
        conn.executemany("INSERT INTO resources (id, name, resource_type, safety_zone_id, "
                         "opens_at, closes_at) VALUES (?,?,?,?,?,?)",
                         [(hexid(i), n, t, hexid(z), tm(o), tm(c))
                          for i, n, t, z, o, c in resources])
        conn.executemany("INSERT INTO blackouts (id, resource_id, start_time, end_time, reason) "
                         "VALUES (?,?,?,?,?)",
                         [(hexid(i), hexid(r), ts(s), ts(e), why) for i, r, s, e, why in blackouts])
        conn.executemany(
            "INSERT INTO bookings (id, resource_id, requester_id, start_time, end_time, status, "
            "purpose, priority, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
            ((hexid(i), hexid(r), hexid(u), ts(s), ts(e), st, p, pr, ts(c), ts(up))
             for i, r, u, s, e, st, p, pr, c, up in bookings()))
    conn.execute(trigger_sql)
    conn.execute("ANALYZE")
    conn.close()
    print(f"seeded SQLite {SQLITE_PATH}: {n_bookings:,} bookings in "
          f"{time.perf_counter() - t0:.0f} s", file=sys.stderr)


# ---------------------------------------------------------------- the two computations (children)

def child_sql(url: str) -> dict:
    from engine import analytics
    from engine.config import Settings
    from engine.db import Database

    db = Database(url, settings=Settings(SITE_TIMEZONE="UTC"))
    with db.uow().read() as uow:
        uow.session.execute(__import__("sqlalchemy").text("SELECT 1"))  # connect outside timing
        t0 = time.perf_counter()
        rows = analytics.utilization(uow.session, start=START, end=END, tz=TZ,
                                     group_by="resource", period="week")
        seconds = time.perf_counter() - t0
    booked = {f"{r.period_start}|{r.group_key}": r.booked_hours for r in rows if r.booked_hours}
    return {"seconds": seconds, "rows": len(rows), "booked": booked}


def child_pandas(url: str) -> dict:
    import numpy as np
    import pandas as pd
    from sqlalchemy import text

    from engine import analytics
    from engine.config import Settings
    from engine.db import Database

    db = Database(url, settings=Settings(SITE_TIMEZONE="UTC"))
    with db.uow().read() as uow:
        uow.session.execute(text("SELECT 1"))
        t0 = time.perf_counter()
        frame = loaded = pd.read_sql(text("SELECT * FROM bookings"), uow.session.connection())
        resources = pd.read_sql(text("SELECT id, is_active FROM resources"),
                                uow.session.connection())
        items = analytics.buckets(START, END, TZ, "week")
        bookable, _ = analytics.bookable_seconds(uow.session, items, TZ)  # same bookable side
        frame = frame[frame["status"] == "approved"]
        frame = frame[frame["resource_id"].isin(resources.loc[resources["is_active"].astype(bool),
                                                              "id"])]

        def naive_utc(values) -> np.ndarray:
            stamps = pd.to_datetime(values, utc=True, format="mixed")
            stamps = stamps.dt.tz_localize(None) if hasattr(stamps, "dt") else \
                stamps.tz_localize(None)
            return np.asarray(stamps, dtype="datetime64[ns]")

        start, end = naive_utc(frame["start_time"]), naive_utc(frame["end_time"])
        edges = naive_utc([b.utc_from for b in items] + [items[-1].utc_to])
        parts = []
        k = np.searchsorted(edges, start, side="right") - 1  # bucket of each start
        for shift in (0, 1):  # bookings last <= 24 h: at most two buckets each
            kk = k + shift
            ok = (kk >= 0) & (kk < len(items))
            lo = np.maximum(start[ok], edges[kk[ok]])
            hi = np.minimum(end[ok], edges[kk[ok] + 1])
            secs = np.round((hi - lo) / np.timedelta64(1, "s"))
            keep = secs > 0
            parts.append(pd.DataFrame({"k": kk[ok][keep], "resource_id":
                                       frame["resource_id"].to_numpy()[ok][keep],
                                       "seconds": secs[keep]}))
        booked = pd.concat(parts).groupby(["k", "resource_id"])["seconds"].sum()
        seconds = time.perf_counter() - t0
    labels = {b.index: b.period_start for b in items}
    out = {f"{labels[k]}|{uuid.UUID(str(rid))}": round(s / 3600, 4)
           for (k, rid), s in booked.items() if s}
    return {"seconds": seconds, "rows": len(out), "rows_loaded": len(loaded), "booked": out,
            "bookable_cells": len(bookable)}


def child_cli(url: str) -> dict:
    """The whole report command: query, tables, CSV and self-contained HTML written to disk."""
    import contextlib
    import tempfile

    from reports import cli

    with tempfile.TemporaryDirectory() as out, contextlib.redirect_stdout(io.StringIO()):
        t0 = time.perf_counter()
        code = cli.main(["utilization", "--from", START.isoformat(),
                         "--to", (END - timedelta(days=1)).isoformat(), "--database-url", url,
                         "--out", out, "--no-progress"])
        seconds = time.perf_counter() - t0
        files = sum(p.stat().st_size for p in Path(out).iterdir())
    if code != 0:
        raise SystemExit(f"report command failed with exit {code}")
    return {"seconds": seconds, "rows": 0, "booked": {}, "bytes_written": files}


def run_child(kind: str, url: str) -> dict:
    """Run one computation in a fresh interpreter; add its wall time and peak RSS."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, "--child", kind, "--url", url],
                          capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{kind} child failed:\n{proc.stderr}")
    result = json.loads(proc.stdout)
    result["process_seconds"] = wall
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["postgresql", "sqlite", "both"], default="both")
    parser.add_argument("--bookings", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs per method; the table shows the fastest and the median")
    parser.add_argument("--child", choices=["sql", "pandas", "cli"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = {"sql": child_sql, "pandas": child_pandas, "cli": child_cli}[args.child](args.url)
        result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        json.dump(result, sys.stdout)
        return 0
    backends = ["postgresql", "sqlite"] if args.backend == "both" else [args.backend]
    out = io.StringIO()
    print(f"One-year weekly utilization per resource ({START} to {END}), "
          f"{args.bookings:,} bookings, {RESOURCES:,} resources", file=out)
    print(f"{'backend':<11} {'method':<7} {'best s':>10} {'median s':>10} {'process s':>10} "
          f"{'peak RSS MB':>12} {'rows out':>10}", file=out)
    for backend in backends:
        (seed_postgresql if backend == "postgresql" else seed_sqlite)(args.bookings)
        url = url_for(backend)
        runs = {"sql": [], "pandas": []}
        for _ in range(max(1, args.repeat)):  # interleaved, so load changes hit both alike
            runs["sql"].append(run_child("sql", url))
            runs["pandas"].append(run_child("pandas", url))
        sql, pdx = (min(runs[m], key=lambda r: r["seconds"]) for m in ("sql", "pandas"))
        same = all(r["booked"] == runs["sql"][0]["booked"] for r in runs["sql"] + runs["pandas"])
        for name, r in (("sql", sql), ("pandas", pdx)):
            median = statistics.median(x["seconds"] for x in runs[name])
            peak = max(x["peak_rss_mb"] for x in runs[name])
            print(f"{backend:<11} {name:<7} {r['seconds']:>10.2f} {median:>10.2f} "
                  f"{r['process_seconds']:>10.2f} {peak:>12.0f} {r['rows']:>10,}", file=out)
        print(f"{backend:<11} ratio pandas/sql (best runs): time "
              f"{pdx['seconds'] / sql['seconds']:.1f}x, peak memory "
              f"{pdx['peak_rss_mb'] / sql['peak_rss_mb']:.1f}x; "
              f"booked hours identical: {same} ({len(sql['booked']):,} non-zero cells); pandas "
              f"loaded {pdx['rows_loaded']:,} booking rows", file=out)
        cli_runs = [run_child("cli", url) for _ in range(max(1, args.repeat))]
        best = min(cli_runs, key=lambda r: r["seconds"])
        print(f"{backend:<11} whole `python -m reports utilization` (query, CSV, HTML): best "
              f"{best['seconds']:.2f} s, median "
              f"{statistics.median(r['seconds'] for r in cli_runs):.2f} s in the command, "
              f"{best['process_seconds']:.2f} s with interpreter start and imports; peak RSS "
              f"{max(r['peak_rss_mb'] for r in cli_runs):.0f} MB; "
              f"{best['bytes_written'] / 1e6:.1f} MB written", file=out)
        if not same:
            diff = {k for k in set(sql["booked"]) | set(pdx["booked"])
                    if sql["booked"].get(k) != pdx["booked"].get(k)}
            print(f"  {len(diff)} cells differ, e.g. {sorted(diff)[:3]}", file=out)
    print(f"load average (1, 5, 15 min) at the end: {os.getloadavg()}, cores: {os.cpu_count()}",
          file=out)
    print(out.getvalue(), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
