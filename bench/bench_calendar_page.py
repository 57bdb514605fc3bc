"""What the calendar page itself costs per run: the engine read, the rows, the chart spec and
the JSON Streamlit sends, for the Day, Week and Month views of one page of 20 resources.

Seeds a SQLite database once (/tmp/rc_bench_calendar.db; --reuse measures it again), signs in
as staff, and times each phase. --before REV also times the plotly chart code of
dashboard/calendar_chart.py at git revision REV (loaded from `git show`; its figure went
through plotly's to_dict + to_json as st.plotly_chart does), with the month read as it was then
(every booking of the month, not counts), in the same process and on the same data.

    .venv/bin/python bench/bench_calendar_page.py --before f6c8c9e
    .venv/bin/python bench/bench_calendar_page.py --resources 100 --bookings 100000 --reuse
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import plotly.io  # noqa: E402

from _seed import load_seed_result, reset_database, seed  # noqa: E402
from dashboard import calendar_chart as chart  # noqa: E402
from dashboard import ui  # noqa: E402
from engine import services  # noqa: E402
from engine.config import Settings  # noqa: E402
from engine.db import Database  # noqa: E402

DEFAULT_URL = "sqlite:////tmp/rc_bench_calendar.db"
SPANS = {"Day": 1, "Week": 7, "Month": 31}


def ms(fn, repeat: int) -> float:
    """Median milliseconds of fn() over `repeat` runs, after one warm-up run."""
    fn()
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return statistics.median(out)


def sent(fig) -> str:
    """What st.plotly_chart does with a figure before it leaves the server."""
    return plotly.io.to_json(fig.to_dict(), validate=False)


def old_chart(rev: str) -> dict:
    """The functions of dashboard/calendar_chart.py at `rev` (the plotly version)."""
    source = subprocess.run(["git", "show", f"{rev}:dashboard/calendar_chart.py"], cwd=ROOT,
                            check=True, capture_output=True, text=True).stdout
    namespace: dict = {"__name__": "calendar_chart_before"}
    exec(compile(source, f"{rev}:dashboard/calendar_chart.py", "exec"), namespace)  # noqa: S102
    return namespace


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default=DEFAULT_URL)
    ap.add_argument("--resources", type=int, default=100)
    ap.add_argument("--bookings", type=int, default=100_000)
    ap.add_argument("--reuse", action="store_true", help="measure an earlier seed again")
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--before", metavar="REV", help="also time the page's chart code at REV")
    args = ap.parse_args()

    if args.reuse:
        result = load_seed_result(args.url)
    else:
        reset_database(args.url)
        print(f"seeding {args.bookings:,} bookings on {args.resources:,} resources ...")
        result = seed(args.url, resources=args.resources, bookings=args.bookings, audit="none")
    settings = Settings(DATABASE_URL=args.url, SITE_TIMEZONE="UTC")
    db = Database(args.url, settings=settings, clock=lambda: result.now)
    ui.database_override = db
    staff = result.staff_ids[0]
    before = old_chart(args.before) if args.before else None
    now = chart.naive(result.now)
    monday = result.now.date() - timedelta(days=result.now.weekday())

    print(f"{'view':6} {'bars':>5} {'read':>7} {'chart':>7} {'JSON kB':>8}"
          + (f" {'read ' + args.before:>13} {'chart ' + args.before:>14} {'kB':>6}"
             if before else "") + "  (median ms)")
    for view, days in SPANS.items():
        first = monday if view == "Week" else result.now.date()
        start, end = ui.day_start(first), ui.day_start(first + timedelta(days=days))
        bounds = ([ui.day_start(first + timedelta(days=i)) for i in range(days + 1)]
                  if view == "Month" else None)

        def read(start=start, end=end, bounds=bounds):
            return services.calendar_view(db.uow(), staff, window_start=start, window_end=end,
                                          resources_per_page=20, day_bounds=bounds)

        def read_all(start=start, end=end):
            return services.calendar_view(db.uow(), staff, window_start=start, window_end=end,
                                          resources_per_page=20)

        cal, cal_all = read(), read_all()
        lo, hi = chart.naive(start), chart.naive(end)

        def new(cal=cal, lo=lo, hi=hi, view=view):
            if view == "Month":
                return json.dumps(chart.month_grid(cal, lo, hi))
            return json.dumps(chart.timeline(cal, chart.entries(cal), view, lo, hi, now))

        line = (f"{view:6} {len(cal_all.bars):5} {ms(read, args.repeat):7.1f} "
                f"{ms(new, args.repeat):7.1f} {len(new()) / 1000:8.0f}")
        if before:
            def old(cal=cal_all, lo=lo, hi=hi, view=view):
                rows = before["entries"](cal)
                spec = (before["month_grid"](cal, rows, lo, hi) if view == "Month"
                        else before["timeline"](cal, rows, view, lo, hi, now))
                return sent(before["figure"](spec))
            line += (f" {ms(read_all, args.repeat) if view == 'Month' else float('nan'):13.1f}"
                     f" {ms(old, args.repeat):14.1f} {len(old()) / 1000:6.0f}")
        print(line)
    ui.database_override = None
    return 0


if __name__ == "__main__":
    sys.exit(main())
