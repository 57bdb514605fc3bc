"""How fast the dashboard's approval queue and calendar show their first screen, at scale.

Seeds PostgreSQL (database rc_bench_dash) with 1,000 resources and 1,000,000 bookings of which
about 100,000 are pending, measures, then turns all but about 10,000 of the pending requests
into denials (the table keeps its million rows) and measures again. For each size it times:

- the engine calls each page makes for its first screen (approval queue: resource types, zones,
  approval_queue page 1; calendar: resource types, zones, calendar week view page 1);
- a full AppTest run of each page (script, engine calls and rendering), signed in as staff.

    .venv/bin/python bench/bench_dashboard.py                 # full size (about 5-10 minutes)
    .venv/bin/python bench/bench_dashboard.py --bookings 100000 --pending 10000 5000
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

import psycopg  # noqa: E402

from _apptest import page_runs  # noqa: E402
from _seed import pg_conninfo, reset_database, seed  # noqa: E402
from engine import services  # noqa: E402
from engine.config import Settings  # noqa: E402
from engine.db import Database  # noqa: E402
from engine.services.approval_queue import pending_requests  # noqa: E402
from engine.services.calendar import calendar_view  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/rc_bench_dash"


def timed(fn, repeat: int) -> list[float]:
    fn()  # warm the pool and the plan cache
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def queue_first_screen(db: Database, staff_id) -> None:
    services.list_resource_types(db.uow(), staff_id)
    services.list_zones(db.uow(), staff_id)
    page = pending_requests(db.uow(), staff_id, page=1, page_size=20)
    assert page.items, "the queue should not be empty"


def calendar_first_screen(db: Database, staff_id) -> None:
    services.list_resource_types(db.uow(), staff_id)
    services.list_zones(db.uow(), staff_id)
    now = db.clock()
    monday = (now - timedelta(days=now.weekday())).replace(hour=0, minute=0)
    view = calendar_view(db.uow(), staff_id, window_start=monday,
                    window_end=monday + timedelta(days=7), resources_per_page=20)
    assert view.bars, "the calendar should show bookings"


def pending_count(url: str) -> tuple[int, int]:
    with psycopg.connect(pg_conninfo(url)) as conn:
        return conn.execute("SELECT count(*) FILTER (WHERE status = 'pending'), count(*) "
                            "FROM bookings").fetchone()


def keep_pending(url: str, keep: int) -> None:
    """Deny all but `keep` pending requests (chosen at random), then refresh statistics."""
    with psycopg.connect(pg_conninfo(url), autocommit=True) as conn:
        conn.execute("""UPDATE bookings SET status = 'denied',
                               decision_reason = 'bench: thinned the queue'
                        WHERE status = 'pending' AND id NOT IN (
                            SELECT id FROM bookings WHERE status = 'pending'
                            ORDER BY md5(id::text) LIMIT %s)""", (keep,))
        conn.execute("VACUUM ANALYZE bookings")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default=DEFAULT_URL)
    ap.add_argument("--resources", type=int, default=1000)
    ap.add_argument("--bookings", type=int, default=1_000_000)
    ap.add_argument("--pending", type=int, nargs="+", default=[100_000, 10_000],
                    help="pending sizes to measure, largest first")
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--apptest-repeat", type=int, default=10)
    args = ap.parse_args()
    sizes = sorted(args.pending, reverse=True)

    reset_database(args.url)
    future = args.bookings / 2  # the seed spreads bookings over a year back and a year ahead
    share = min(0.95, sizes[0] * 1.08 / future)  # a little over, then thinned to the size
    print(f"seeding {args.bookings:,} bookings on {args.resources:,} resources ...")
    result = seed(args.url, resources=args.resources, bookings=args.bookings, pending=share,
                  audit="none")
    print(f"seeded in {result.seconds:.0f} s: {dict(result.bookings_by_status)}")
    settings = Settings(DATABASE_URL=args.url, SITE_TIMEZONE="UTC")
    db = Database(args.url, settings=settings, clock=lambda: result.now)
    staff_id = result.staff_ids[0]

    rows = []
    for size in sizes:
        keep_pending(args.url, size)
        pending, total = pending_count(args.url)
        queue = timed(lambda: queue_first_screen(db, staff_id), args.repeat)
        cal = timed(lambda: calendar_first_screen(db, staff_id), args.repeat)
        at_queue = page_runs(db, staff_id, "approval_queue", args.apptest_repeat)
        at_cal = page_runs(db, staff_id, "calendar", args.apptest_repeat)
        for name, samples in (("approval queue: engine calls", queue),
                              ("calendar: engine calls", cal),
                              ("approval queue: AppTest run", at_queue),
                              ("calendar: AppTest run", at_cal)):
            rows.append((pending, total, name, statistics.median(samples),
                         sorted(samples)[int(0.95 * (len(samples) - 1))], max(samples)))
    db.dispose()

    print(f"\n{'pending':>9} {'bookings':>10}  {'first screen':<30} {'p50 ms':>8} "
          f"{'p95 ms':>8} {'max ms':>8}")
    for pending, total, name, p50, p95, worst in rows:
        print(f"{pending:>9,} {total:>10,}  {name:<30} {p50:>8.1f} {p95:>8.1f} {worst:>8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
