#!/usr/bin/env python
"""Recurring bookings benchmark (issue 10): a 52-occurrence weekly series on a resource of a
table holding 1,000,000 bookings, on PostgreSQL and SQLite.

    .venv/bin/python bench/bench_series.py --backend both --resources 1000 --bookings 1000000

Seeds its own databases (rc_bench_series on PostgreSQL, /tmp/rc_bench_series.db) with
bench/_seed.py, then, for --series different resources (each in its own scope, so one run
does not change what the next meets), times the three engine calls a member and a staff
member make:

- preview_series: expand the rule, check every date, one conflict report per date;
- request_series: the same checks plus 52 pending bookings, their audit rows and the message,
  in one transaction;
- approve_series: take the zone locks, lock the occurrences, approve every conflict-free one
  (each with its conflict look-up, audit row and, in the database, the exclusion constraint or
  triggers), in one transaction.

Aim: each under 1 s. Prints median and max per call, and how many dates conflicted.
--reuse measures databases seeded by an earlier run again.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

from _seed import database_size, load_seed_result, reset_database, seed  # noqa: E402
from engine import migrate, services  # noqa: E402
from engine.config import Settings  # noqa: E402
from engine.db import Database  # noqa: E402

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/rc_bench_series"
SQLITE_URL = "sqlite:////tmp/rc_bench_series.db"
TARGET_S = 1.0
WEEKS = 52


def first_window(res, scope, day_offset: int) -> tuple[datetime, datetime]:
    """A 90-minute slot an hour after the scope opens, `day_offset` days after seeding."""
    day = datetime.combine((res.now + timedelta(days=day_offset)).date(),
                           datetime.min.time(), UTC)
    start = day + timedelta(minutes=scope.opens + 60)
    return start, start + timedelta(minutes=90)


def measure(db: Database, res, n_series: int, rng: random.Random) -> dict:
    scopes = rng.sample(res.scopes, n_series)
    member, staff = res.member_ids[0], res.staff_ids[0]
    rule = {"frequency": "weekly", "count": WEEKS}
    times: dict[str, list[float]] = {"preview": [], "request": [], "approve": []}
    dates = {"conflicting": [], "approved": [], "left": []}
    for i, scope in enumerate(scopes):
        resource_id = scope.resource_ids[0]
        start, end = first_window(res, scope, 1 + i % 6)
        t = time.perf_counter()
        preview = services.preview_series(db.uow(), member, resource_id=resource_id,
                                          start_time=start, end_time=end, rule=rule)
        times["preview"].append(time.perf_counter() - t)
        assert len(preview.occurrences) == WEEKS
        t = time.perf_counter()
        series = services.request_series(db.uow(), member, resource_id=resource_id,
                                         start_time=start, end_time=end, rule=rule,
                                         purpose="Weekly club practice night")
        times["request"].append(time.perf_counter() - t)
        t = time.perf_counter()
        decision = services.approve_series(db.uow(), staff, series.id)
        times["approve"].append(time.perf_counter() - t)
        dates["conflicting"].append(preview.conflicting)
        dates["approved"].append(len(decision.changed))
        dates["left"].append(len(decision.left))
        print(f"   series {i + 1}/{n_series}: preview {times['preview'][-1] * 1000:6.0f} ms, "
              f"request {times['request'][-1] * 1000:6.0f} ms, approve "
              f"{times['approve'][-1] * 1000:6.0f} ms; {preview.conflicting} dates conflict, "
              f"{len(decision.changed)} approved", flush=True)
    return {"times_s": times, "dates": dates}


def run_backend(backend: str, args: argparse.Namespace) -> dict:
    url = args.pg_url if backend == "postgresql" else args.sqlite_url
    print(f"\n=== {backend}: {url}", flush=True)
    if args.reuse:  # bring an earlier seed to the current schema first (a no-op when it is)
        migrate.upgrade(url)
        res = load_seed_result(url)
    else:
        reset_database(url)
        res = seed(url, resources=args.resources, bookings=args.bookings, seed=args.seed)
    print(f"{res.bookings:,} bookings in the table, {database_size(url) / 2**20:,.0f} MiB",
          flush=True)
    db = Database(url, settings=Settings(SITE_TIMEZONE="UTC"), clock=lambda: res.now)
    try:
        if backend == "sqlite":
            with db.engine.begin() as conn:  # planner statistics, as a grown database has
                conn.exec_driver_sql("ANALYZE")
        load = os.getloadavg()[0]
        out = measure(db, res, args.series, random.Random(args.seed + 7))
        out["loadavg_1min"] = (load, os.getloadavg()[0])
    finally:
        db.dispose()
    out.update(backend=backend, bookings=res.bookings)
    return out


def print_table(results: list[dict]) -> None:
    print(f"\n52-occurrence weekly series, {results[0]['bookings']:,} bookings in the table "
          f"(median / max of {len(results[0]['times_s']['preview'])} series; aim < {TARGET_S} s)")
    print(f"{'backend':<11} {'call':<9} {'median ms':>10} {'max ms':>8}  ok")
    for r in results:
        for call, values in r["times_s"].items():
            med, worst = statistics.median(values) * 1000, max(values) * 1000
            ok = "yes" if worst < TARGET_S * 1000 else "NO"
            print(f"{r['backend']:<11} {call:<9} {med:>10.0f} {worst:>8.0f}  {ok}")
        d = r["dates"]
        print(f"{'':<11} dates conflicting per series {d['conflicting']}, approved "
              f"{d['approved']}; load {r['loadavg_1min'][0]:.1f} -> {r['loadavg_1min'][1]:.1f}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    p.add_argument("--backend", choices=["postgresql", "sqlite", "both"], default="both")
    p.add_argument("--resources", type=int, default=1000)
    p.add_argument("--bookings", type=int, default=1_000_000)
    p.add_argument("--series", type=int, default=5, help="series measured per backend")
    p.add_argument("--seed", type=int, default=2)
    p.add_argument("--reuse", action="store_true", help="measure an earlier run's databases")
    p.add_argument("--pg-url", default=PG_URL)
    p.add_argument("--sqlite-url", default=SQLITE_URL)
    p.add_argument("--json", help="also write the figures to this file")
    args = p.parse_args(argv)
    backends = ["postgresql", "sqlite"] if args.backend == "both" else [args.backend]
    results = [run_backend(b, args) for b in backends]
    print_table(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
