"""Request latency with every booking policy switched on, beside today's request (issue 11).

    .venv/bin/python bench/bench_policies.py --backend postgresql --bookings 1000000

Seeds (or with --reuse, re-measures) a database of `--bookings` bookings with `_seed.seed`,
then times `services.request_booking` through the engine in interleaved blocks of three
variants, on conflict-free windows, by seeded members who already hold thousands of bookings:

- **today**: no policy rows (staff approval, the global 366 days, no quota);
- **all rules**: a policy on every resource type with minimum notice, maximum advance, minimum
  and maximum length, hours per week and per month, a cap on open bookings (limits high enough
  that no request is refused, so every check runs to the end, including the quota count under
  its advisory lock), and named approvers;
- **all rules + automatic**: the same with approval mode `automatic`, so each request is also
  approved in its transaction (scope lock, conflict check, approval, second audit row).

Prints p50/p95/p99/mean per variant and the ratio to today (aim: all rules < 1.20x).
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select  # noqa: E402

from _seed import load_seed_result, reset_database, seed  # noqa: E402
from bench_engine import free_windows, latency_summary  # noqa: E402
from engine import migrate, services  # noqa: E402
from engine.config import Settings  # noqa: E402
from engine.db import Database  # noqa: E402
from engine.models import BookingPolicy, Resource, ResourceApprover  # noqa: E402
from engine.services import policies  # noqa: E402

VARIANTS = ("today", "all rules", "all rules + automatic")
RULES = dict(min_notice_minutes=60, max_advance_days=400, min_length_minutes=15,
             max_length_minutes=480, quota_hours_per_week=168, quota_hours_per_month=744,
             max_open_bookings=10_000)


def set_variant(db: Database, admin_id, staff_ids, types: list[str], variant: str) -> None:
    """Switch the policy rows (and named approvers) for every resource type."""
    with db.uow() as uow:  # clear: fastest way back to "today" between blocks
        uow.session.query(BookingPolicy).delete()
        uow.session.query(ResourceApprover).delete()
        uow.commit()
    if variant == "today":
        return
    mode = "automatic" if variant.endswith("automatic") else "staff"
    for t in types:
        policies.set_policy(db.uow(), admin_id, resource_type=t, approval_mode=mode, **RULES)
        policies.set_approvers(db.uow(), admin_id, staff_ids[:2], resource_type=t)


def run(backend: str, args: argparse.Namespace) -> None:
    url = (f"sqlite:///{args.sqlite_path}" if backend == "sqlite" else
           os.environ.get("BENCH_POSTGRES_URL",
                          "postgresql+psycopg://postgres@127.0.0.1:5432/rc_bench_policies"))
    if args.reuse:
        migrate.upgrade(url)
        res = load_seed_result(url)
    else:
        reset_database(url)
        res = seed(url, resources=args.resources, bookings=args.bookings)
    db = Database(url, settings=Settings(SITE_TIMEZONE="UTC"), clock=lambda: res.now)
    rng = random.Random(11)
    with db.uow().read() as uow:
        types = sorted(set(uow.session.scalars(select(Resource.resource_type))))
    per_variant = args.requests
    windows = free_windows(db, res, per_variant * len(VARIANTS), rng, minutes=60)
    rng.shuffle(windows)
    times: dict[str, list[float]] = {v: [] for v in VARIANTS}
    outcomes: dict[str, dict[str, int]] = {v: {} for v in VARIANTS}
    block = args.block
    load_before = os.getloadavg()[0]
    i = 0
    while min(len(t) for t in times.values()) < per_variant:
        for variant in VARIANTS:
            set_variant(db, res.admin_id, res.staff_ids, types, variant)
            for _ in range(block):
                if len(times[variant]) >= per_variant:
                    break
                resource_id, start, end = windows[i]
                i += 1
                member = rng.choice(res.member_ids)
                t0 = time.perf_counter()
                view = services.request_booking(db.uow(), member, resource_id=resource_id,
                                                start_time=start, end_time=end,
                                                purpose="Bench practice")
                times[variant].append((time.perf_counter() - t0) * 1000)
                outcomes[variant][view.status] = outcomes[variant].get(view.status, 0) + 1
    set_variant(db, res.admin_id, res.staff_ids, types, "today")
    load_after = os.getloadavg()[0]
    base = statistics.mean(times["today"])
    print(f"\n{backend}: {res.bookings:,} bookings, {len(res.member_ids)} members, "
          f"{len(types)} resource types; {per_variant} requests per variant in blocks of "
          f"{block}; load {load_before:.1f} -> {load_after:.1f}")
    print(f"{'variant':<24}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'mean ms':>9}"
          f"{'x today':>9}  outcomes")
    for v in VARIANTS:
        s = latency_summary(times[v])
        print(f"{v:<24}{s['p50']:>9.2f}{s['p95']:>9.2f}{s['p99']:>9.2f}"
              f"{statistics.mean(times[v]):>9.2f}{statistics.mean(times[v]) / base:>9.2f}  "
              f"{outcomes[v]}")
    db.dispose()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", choices=["postgresql", "sqlite", "both"], default="postgresql")
    p.add_argument("--bookings", type=int, default=1_000_000)
    p.add_argument("--resources", type=int, default=1000)
    p.add_argument("--requests", type=int, default=300, help="requests per variant")
    p.add_argument("--block", type=int, default=25, help="requests per variant per block")
    p.add_argument("--sqlite-path", default="/tmp/rc_bench_policies.db")
    p.add_argument("--reuse", action="store_true", help="measure an earlier seed again")
    args = p.parse_args()
    for backend in (["postgresql", "sqlite"] if args.backend == "both" else [args.backend]):
        run(backend, args)


if __name__ == "__main__":
    main()
