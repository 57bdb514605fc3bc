"""`python -m reports REPORT --from DATE --to DATE --format csv,html --out DIR [--email]`.

A trusted operator process (it holds the database credentials), so it reads through
engine.analytics directly. Exit codes: 0 done, 2 bad input, 1 anything else failed.
"""
from __future__ import annotations

import argparse
import logging
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError
from tqdm import tqdm

from engine import analytics
from engine.config import Settings, get_settings
from engine.errors import DomainError
from engine.logs import configure_logging, log_action
from reports import delivery, mail_copy, render
from reports.definitions import REPORTS, ReportRequest

SERVICE = "range-control-reports"
log = logging.getLogger("range_control.reports")


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a date like 2030-01-31 (got {value!r})") from None


def _formats(value: str) -> list[str]:
    formats = [f.strip().lower() for f in value.split(",") if f.strip()]
    bad = [f for f in formats if f not in render.FORMATS]
    if not formats or bad:
        raise argparse.ArgumentTypeError(
            f"must be a comma-separated list of {', '.join(render.FORMATS)} (got {value!r})")
    return sorted(set(formats), key=render.FORMATS.index)


def last_week(today: date) -> tuple[date, date]:
    """Monday to Sunday of the previous ISO week, inclusive."""
    monday = today - timedelta(days=today.weekday() + 7)
    return monday, monday + timedelta(days=6)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m reports",
        description="Write a Range-Control report as CSV and/or self-contained HTML. "
                    "Without --from/--to the period is last week (Monday to Sunday, "
                    "site time zone).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="reports:\n" + "\n".join(f"  {n:<21} {d}" for n, (_, d) in REPORTS.items()))
    p.add_argument("report", metavar="REPORT", choices=list(REPORTS),
                   help="one of: " + ", ".join(REPORTS))
    p.add_argument("--from", dest="start", type=_date, help="first day (YYYY-MM-DD)")
    p.add_argument("--to", dest="end", type=_date, help="last day, inclusive (YYYY-MM-DD)")
    p.add_argument("--format", dest="formats", type=_formats, default=["csv", "html"],
                   help="csv, html or csv,html (default csv,html)")
    p.add_argument("--out", type=Path, default=Path("out/reports"),
                   help="directory for the files (created when missing; default out/reports)")
    p.add_argument("--period", choices=analytics.PERIODS, default=None,
                   help="bucket size (default: week; day for ranges of 14 days or less)")
    p.add_argument("--group-by", choices=analytics.GROUP_BYS, default="resource",
                   help="utilization only: per resource, type or zone (default resource)")
    p.add_argument("--email", action="store_true",
                   help="also e-mail the files to REPORT_RECIPIENTS (SMTP_* variables)")
    p.add_argument("--database-url", default=None, help="default: DATABASE_URL")
    p.add_argument("--no-progress", action="store_true", help="never show a progress bar")
    return p


def _period(args: argparse.Namespace, settings: Settings) -> tuple[date, date]:
    if (args.start is None) != (args.end is None):
        raise DomainError("give both --from and --to, or neither (last week)")
    if args.start is None:
        return last_week(datetime.now(settings.tz).date())
    if args.end < args.start:
        raise DomainError(f"--to ({args.end}) must not be before --from ({args.start})")
    return args.start, args.end


def run(args: argparse.Namespace, settings: Settings) -> list[Path]:
    from engine.db import Database

    if not args.database_url:
        settings.check_production_secrets()  # production: refuse to fall back to a local SQLite
    first, last = _period(args, settings)
    period: analytics.Period = args.period or ("day" if (last - first).days < 14 else "week")
    request = ReportRequest(first, last + timedelta(days=1), settings.tz, period, args.group_by)
    smtp = delivery.SmtpSettings.from_env() if args.email else None  # fail before the work
    steps = 1 + len(args.formats) + (1 if smtp else 0)
    db = Database(args.database_url or settings.sqlalchemy_url, settings=settings)
    try:
        with tqdm(total=steps, desc=args.report, unit="step", delay=0.5, file=sys.stderr,
                  disable=True if args.no_progress else None) as bar:
            bar.set_postfix_str("querying")
            with db.uow().read(snapshot=True) as uow:
                report = REPORTS[args.report][0](uow.session, request)
            bar.update()
            paths: list[Path] = []
            for fmt in args.formats:
                bar.set_postfix_str(f"writing {fmt}")
                paths += render.write(report, args.out, [fmt])
                bar.update()
            if smtp:
                # The message is the mail copy (static charts, no script); the interactive
                # HTML file stays in --out (1.3 MB of plotly.js would break the mail budget).
                bar.set_postfix_str("sending e-mail")
                copy = mail_copy.render(report)
                message = delivery.build_message(
                    smtp, copy.subject, copy.text, [p for p in paths if p.suffix == ".csv"],
                    html=copy.html, images=copy.images)
                delivery.send(smtp, message)
                bar.update()
    finally:
        db.dispose()
    return paths


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["day-sheet"]:  # its own options: one day, no period or e-mail
        from reports.day_sheet import main as day_sheet_main
        return day_sheet_main(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        configure_logging(service=SERVICE)
        settings = get_settings()
    except Exception as exc:  # noqa: BLE001 - bad LOG_LEVEL, SITE_TIMEZONE...
        print(f"error: invalid settings: {exc}", file=sys.stderr)
        return 2
    try:
        with log_action(f"report.{args.report}", logger=log) as fields:
            paths = run(args, settings)
            fields.update(files=[p.name for p in paths], out=str(args.out))
    except (DomainError, delivery.DeliveryConfigError) as exc:
        print(f"error: {getattr(exc, 'message', exc)}", file=sys.stderr)
        return 2
    except SQLAlchemyError as exc:
        print("error: the database query failed (is DATABASE_URL right and the database "
              f"migrated with `python -m engine migrate`?): {exc.__class__.__name__}: "
              f"{str(exc).splitlines()[0]}", file=sys.stderr)
        return 1
    except OSError as exc:  # files, SMTP connection
        print(f"error: {exc.__class__.__name__}: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - smtplib errors and the unexpected
        print(f"error: {exc.__class__.__name__}: {exc}", file=sys.stderr)
        return 1
    for path in paths:
        print(path)
    return 0
