"""`python -m reports day-sheet --date YYYY-MM-DD`: the printable sheet per range for one day
(who, when, purpose, contact, and columns to sign in and out), as HTML and CSV.

Exit codes as the other reports: 0 done, 2 bad input, 1 the database or the disk failed.
"""
from __future__ import annotations

import argparse
import sys
from datetime import date, datetime
from itertools import groupby
from pathlib import Path

import pandas as pd
from jinja2 import Environment, select_autoescape
from sqlalchemy.exc import SQLAlchemyError

from engine.config import get_settings
from engine.dayops_reports import DaySheetRow, day_sheet_rows
from engine.logs import configure_logging

COLUMNS = ["range", "zone", "start", "end", "who", "contact", "purpose", "status",
           "checked_in", "signature_in", "signature_out"]

TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Day sheet {{ day }} — Range-Control</title>
<style>
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:1.5rem;color:#111}
h1{font-size:1.3rem;margin:0 0 .2rem}p.meta{color:#444;margin:0 0 1rem;font-size:.85rem}
section{page-break-after:always;break-after:page}section:last-of-type{page-break-after:auto}
table{border-collapse:collapse;width:100%;font-size:.85rem}
th,td{border:1px solid #555;padding:.35rem .4rem;text-align:left;vertical-align:top}
th{background:#eee}td.sign{width:9rem;height:1.6rem}
@media print{body{margin:0}}
</style></head><body>
{% for r in ranges %}<section>
<h1>{{ r.name }}{% if r.zone %} · zone {{ r.zone }}{% endif %}</h1>
<p class="meta">{{ day }} · times in {{ tz }} · {{ r.rows|length }} booking(s)</p>
<table><thead><tr><th>When</th><th>Who</th><th>Contact</th><th>Purpose</th><th>Status</th>
<th>Signature in</th><th>Signature out</th></tr></thead><tbody>
{% for b in r.rows %}<tr><td>{{ b.start }}–{{ b.end }}</td><td>{{ b.who }}</td>
<td>{{ b.contact }}</td><td>{{ b.purpose }}</td><td>{{ b.status }}</td>
<td class="sign"></td><td class="sign"></td></tr>
{% endfor %}</tbody></table></section>
{% else %}<p>No bookings on {{ day }}.</p>
{% endfor %}</body></html>
"""


def _local(dt: datetime | None, tz) -> str:
    return dt.astimezone(tz).strftime("%H:%M") if dt else ""


def sheet_frame(rows: list[DaySheetRow], tz) -> pd.DataFrame:
    return pd.DataFrame([{
        "range": r.resource_name, "zone": r.zone_name or "", "start": _local(r.start_time, tz),
        "end": _local(r.end_time, tz), "who": r.requester_name, "contact": r.requester_email,
        "purpose": r.purpose or "",
        "status": "no-show" if r.status == "no_show" else ("checked in" if r.checked_in_at
                                                           else "booked"),
        "checked_in": _local(r.checked_in_at, tz), "signature_in": "", "signature_out": "",
    } for r in rows], columns=COLUMNS)


def render_html(rows: list[DaySheetRow], day: date, tz) -> str:
    frame = sheet_frame(rows, tz)
    ranges = [{"name": name, "zone": group[0]["zone"], "rows": group}
              for name, group in ((n, list(g)) for n, g in
                                  groupby(frame.to_dict("records"), key=lambda x: x["range"]))]
    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    return env.from_string(TEMPLATE).render(ranges=ranges, day=day.isoformat(), tz=tz.key)


def write(rows: list[DaySheetRow], day: date, tz, out: Path, formats: list[str]) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    if "csv" in formats:
        path = out / f"day-sheet_{day.isoformat()}.csv"
        sheet_frame(rows, tz).to_csv(path, index=False, lineterminator="\n")
        paths.append(path)
    if "html" in formats:
        path = out / f"day-sheet_{day.isoformat()}.html"
        path.write_text(render_html(rows, day, tz), encoding="utf-8")
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    from reports.cli import _date, _formats

    p = argparse.ArgumentParser(prog="python -m reports day-sheet",
                                description="The printable day sheet per range: HTML and CSV.")
    p.add_argument("--date", dest="day", type=_date, default=None,
                   help="the day (YYYY-MM-DD, site time zone; default today)")
    p.add_argument("--format", dest="formats", type=_formats, default=["csv", "html"])
    p.add_argument("--out", type=Path, default=Path("out/reports"))
    p.add_argument("--database-url", default=None, help="default: DATABASE_URL")
    args = p.parse_args(argv)
    configure_logging(service="range-control-reports")
    settings = get_settings()
    from engine.db import Database

    db = Database(args.database_url or settings.sqlalchemy_url, settings=settings)
    day = args.day or datetime.now(settings.tz).date()
    try:
        with db.uow().read(snapshot=True) as uow:
            rows = day_sheet_rows(uow.session, day, settings.tz)
        paths = write(rows, day, settings.tz, args.out, args.formats)
    except SQLAlchemyError as exc:
        print(f"error: the database query failed: {exc.__class__.__name__}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: {exc.__class__.__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        db.dispose()
    for path in paths:
        print(path)
    return 0
