#!/usr/bin/env python
"""Where a booking's time goes: SQL round trips per operation and a cProfile of request+approve.

A script, not a test (issue 13: profile first, let the profile choose the changes).

    .venv/bin/python bench/profile_booking.py --backend postgresql --pairs 300
    .venv/bin/python bench/profile_booking.py --backend sqlite --pairs 300 --top 30

Seeds a small database of its own (`--resources`, `--bookings`), counts the statements each
service call sends (`request_booking`, `approve_booking`, `find_conflicts`), then profiles
`--pairs` request+approve pairs and prints the functions with the most own and cumulative time.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import random
from collections import Counter

from sqlalchemy import event

from _seed import reset_database, seed
from bench_engine import PG_URL, free_windows
from engine import services
from engine.config import Settings
from engine.db import Database

URLS = {"postgresql": PG_URL.replace("rc_bench_engine", "rc_profile_booking"),
        "sqlite": "sqlite:////tmp/rc_profile_booking.db"}


def count_statements(db: Database):
    """A counter of statements sent, by their first keyword, while the context is open."""
    seen: Counter = Counter()

    def grab(conn, cursor, statement, parameters, context, executemany):
        seen[statement.split(None, 1)[0].upper()] += 1
    event.listen(db.engine, "before_cursor_execute", grab)
    return seen, lambda: event.remove(db.engine, "before_cursor_execute", grab)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", choices=sorted(URLS), default="postgresql")
    ap.add_argument("--resources", type=int, default=200)
    ap.add_argument("--bookings", type=int, default=50_000)
    ap.add_argument("--pairs", type=int, default=300)
    ap.add_argument("--top", type=int, default=25)
    args = ap.parse_args(argv)
    url = URLS[args.backend]
    reset_database(url)
    res = seed(url, resources=args.resources, bookings=args.bookings, users=50, zones=20,
               progress=False)
    db = Database(url, settings=Settings(SITE_TIMEZONE="UTC"))
    rng = random.Random(7)
    windows = free_windows(db, res, args.pairs + 1, rng)
    member, staff = res.member_ids[0], res.staff_ids[0]

    def pair(rid, s, e):
        b = services.request_booking(db.uow(), member, resource_id=rid, start_time=s, end_time=e,
                                     purpose="Profile practice", priority=1)
        services.approve_booking(db.uow(), staff, b.id)
        return b

    rid, s, e = windows.pop()
    for name, call in (
        ("request_booking", lambda: services.request_booking(
            db.uow(), member, resource_id=rid, start_time=s, end_time=e,
            purpose="Profile practice", priority=1)),
    ):
        seen, stop = count_statements(db)
        booking = call()
        stop()
        print(f"{name}: {sum(seen.values())} statements {dict(seen)}")
    seen, stop = count_statements(db)
    services.approve_booking(db.uow(), staff, booking.id)
    stop()
    print(f"approve_booking: {sum(seen.values())} statements {dict(seen)}")
    seen, stop = count_statements(db)
    services.find_conflicts(db.uow(), staff, resource_id=rid, start_time=s, end_time=e)
    stop()
    print(f"find_conflicts: {sum(seen.values())} statements {dict(seen)}")

    prof = cProfile.Profile()
    prof.enable()
    for rid, s, e in windows:
        pair(rid, s, e)
    prof.disable()
    for key in ("tottime", "cumulative"):
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats(key).print_stats(args.top)
        print(f"\n--- {len(windows)} request+approve pairs on {args.backend}, by {key}")
        print(out.getvalue().split("\n", 6)[-1])
    db.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
