"""Day of operations at scale: the Today board's first render and each refresh, and the
no-show release job's time per 1,000 due bookings.

Seeds a database (default PostgreSQL rc_bench_dayops) with 1,000 resources and 1,000,000
bookings (`_seed.seed`), turns check-in on for every resource type, then measures:

- board: `range_board` (the engine call each refresh makes) for all resources, the first call
  and then N refreshes (p50/p95/max), plus full AppTest runs of the Today page signed in as
  staff (script, engine call, rendering of 1,000 rows);
- release: rounds of exactly 1,000 due bookings (check-in turned on just early enough that
  the 1,000 most recent past approved bookings are due), released by one worker, then by two
  workers in parallel; ms per round and bookings released (each exactly once).

    .venv/bin/python bench/bench_dayops.py                      # full size
    .venv/bin/python bench/bench_dayops.py --bookings 50000 --resources 100 --repeat 10
    .venv/bin/python bench/bench_dayops.py --url sqlite:////tmp/rc_bench_dayops.db
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

from sqlalchemy import select, text, update  # noqa: E402

from _apptest import page_runs  # noqa: E402
from _seed import load_seed_result, reset_database, seed  # noqa: E402
from engine.config import Settings  # noqa: E402
from engine.db import Database  # noqa: E402
from engine.domain.status import BookingStatus  # noqa: E402
from engine.models import Booking, CheckInRule, Resource  # noqa: E402
from engine.services.board import range_board  # noqa: E402
from engine.services.dayops import release_no_shows  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/rc_bench_dayops"
GRACE = 15


def stats(samples: list[float]) -> tuple[float, float, float]:
    s = sorted(samples)
    return statistics.median(s), s[int(0.95 * (len(s) - 1))], s[-1]


def require_check_in_everywhere(db: Database) -> None:
    with db.uow() as uow:
        types = uow.session.scalars(select(Resource.resource_type).distinct()).all()
        uow.session.execute(text("DELETE FROM checkin_rules"))
        for t in types:
            uow.session.add(CheckInRule(resource_type=t, opens_before_minutes=30,
                                        grace_minutes=GRACE, offer_minutes=60,
                                        required_since=None, updated_at=uow.now))
        uow.commit()


def make_next_round_due(db: Database, n: int) -> int:
    """Set required_since so that exactly the n most recent due-looking bookings are due."""
    with db.uow() as uow:
        cutoff = uow.now - timedelta(minutes=GRACE)
        starts = uow.session.scalars(
            select(Booking.start_time).where(Booking.status == BookingStatus.APPROVED,
                                             Booking.checked_in_at.is_(None),
                                             Booking.start_time <= cutoff)
            .order_by(Booking.start_time.desc()).limit(n)).all()
        since = starts[-1]
        uow.session.execute(update(CheckInRule).values(required_since=since))
        uow.commit()
        return len(starts)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default=DEFAULT_URL)
    ap.add_argument("--resources", type=int, default=1000)
    ap.add_argument("--bookings", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=30, help="board refreshes to time")
    ap.add_argument("--apptest-repeat", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3, help="release rounds of --due bookings")
    ap.add_argument("--due", type=int, default=1000)
    ap.add_argument("--reuse", action="store_true", help="measure an earlier seed again")
    args = ap.parse_args()

    if args.reuse:
        from engine import migrate
        migrate.upgrade(args.url)  # a seed from an older schema is brought to head first
        result = load_seed_result(args.url)
    else:
        reset_database(args.url)
        print(f"seeding {args.bookings:,} bookings on {args.resources:,} resources ...")
        result = seed(args.url, resources=args.resources, bookings=args.bookings, audit="none")
        print(f"seeded in {result.seconds:.0f} s: {dict(result.bookings_by_status)}")
    settings = Settings(DATABASE_URL=args.url, SITE_TIMEZONE="UTC")
    # Mid-afternoon of the seeding day, so the board has bookings now and next.
    now = result.now.replace(hour=14, minute=5)
    db = Database(args.url, settings=settings, clock=lambda: now)
    staff_id = result.staff_ids[0]
    require_check_in_everywhere(db)

    t0 = time.perf_counter()
    board = range_board(db.uow(), staff_id)
    first = (time.perf_counter() - t0) * 1000
    refresh = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        board = range_board(db.uow(), staff_id)
        refresh.append((time.perf_counter() - t0) * 1000)
    busy = sum(1 for r in board.rows if r.current)
    apptest = page_runs(db, staff_id, "range_board", args.apptest_repeat)

    rounds = []
    for _ in range(args.rounds):
        due = make_next_round_due(db, args.due)
        t0 = time.perf_counter()
        released = len(release_no_shows(db).released)
        rounds.append(("1 worker", due, released, (time.perf_counter() - t0) * 1000))
    for _ in range(args.rounds):
        due = make_next_round_due(db, args.due)
        workers = [Database(args.url, settings=settings, clock=lambda: now) for _ in range(2)]
        counts: list[int] = []
        barrier = threading.Barrier(2)

        def run(w, barrier=barrier, counts=counts):  # this round's barrier and tally
            barrier.wait()
            counts.append(len(release_no_shows(w).released))

        threads = [threading.Thread(target=run, args=(w,)) for w in workers]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        rounds.append(("2 workers", due, sum(counts), (time.perf_counter() - t0) * 1000))
        for w in workers:
            w.dispose()
    db.dispose()

    backend = db.dialect
    print(f"\nload average (1 min) {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{backend}: {result.bookings:,} bookings, {len(board.rows):,} resources on the "
          f"board ({busy} in use now)")
    print(f"{'board':<34} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    print(f"{'first range_board call':<34} {first:>8.1f}")
    for name, samples in (("range_board refresh", refresh),
                          ("Today page AppTest run", apptest)):
        p50, p95, worst = stats(samples)
        print(f"{name:<34} {p50:>8.1f} {p95:>8.1f} {worst:>8.1f}")
    print(f"\n{'release':<12} {'due':>6} {'released':>9} {'ms':>9} {'ms per 1,000':>13}")
    for name, due, released, ms in rounds:
        print(f"{name:<12} {due:>6} {released:>9} {ms:>9.0f} {ms / max(released, 1) * 1000:>13.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
