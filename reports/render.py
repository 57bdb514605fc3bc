"""Writing a Report to disk: CSV for spreadsheets, one self-contained HTML file for reading.

Determinism: CSV rows and columns come in a fixed order and carry no generation time; chart
div ids are derived from the report name, so the same inputs give byte-identical files. The
HTML inlines plotly.js once, so it opens offline.
"""
from __future__ import annotations

import html
from datetime import timedelta
from pathlib import Path

import plotly.io as pio

from reports.definitions import Report

FORMATS = ("csv", "html")
#: HTML tables longer than this are cut (the CSV holds every row).
HTML_TABLE_ROWS = 400

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;
max-width:1100px;color:#1d2733;padding:0 1rem}
h1{margin-bottom:.2rem}.period{color:#5b6b7b;margin-top:0}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0 1.5rem}
th,td{border:1px solid #d5dde5;padding:.25rem .5rem;text-align:right}
th{background:#eef2f6}td:first-child,th:first-child{text-align:left}
footer{color:#5b6b7b;font-size:.8rem;margin-top:2rem;border-top:1px solid #d5dde5;padding-top:.5rem}
"""


def file_stem(report: Report) -> str:
    req = report.request
    return f"{report.name}_{req.start.isoformat()}_{(req.end - timedelta(days=1)).isoformat()}"


def period_text(report: Report) -> str:
    req = report.request
    return (f"{req.start.isoformat()} to {(req.end - timedelta(days=1)).isoformat()} inclusive, "
            f"site time zone {req.tz.key}, per {req.period}")


def write_csv(report: Report, out_dir: Path) -> list[Path]:
    """One CSV per table: <report>_<from>_<to>[_<table>].csv."""
    paths = []
    single = len(report.tables) == 1
    for name, frame in report.tables.items():
        path = out_dir / (f"{file_stem(report)}.csv" if single else
                          f"{file_stem(report)}_{name}.csv")
        frame.to_csv(path, index=False, lineterminator="\n")
        paths.append(path)
    return paths


def render_html(report: Report) -> str:
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(report.title)} — Range-Control</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(report.title)}</h1>",
        f'<p class="period">{html.escape(period_text(report))}</p>',
    ]
    for i, fig in enumerate(report.figures):
        parts.append(pio.to_html(fig, full_html=False, include_plotlyjs=(i == 0),
                                 div_id=f"{report.name}-chart-{i}", default_height="420px",
                                 config={"displaylogo": False, "responsive": True}))
    for name, frame in report.tables.items():
        parts.append(f"<h2>{html.escape(name.replace('_', ' '))}</h2>")
        if len(frame) > HTML_TABLE_ROWS:
            parts.append(f"<p>First {HTML_TABLE_ROWS} of {len(frame)} rows; the CSV has all.</p>")
        parts.append(frame.head(HTML_TABLE_ROWS).to_html(index=False, border=0,
                                                         float_format=lambda v: f"{v:,.4g}"))
    if report.notes:
        parts.append("<h2>How these are counted</h2><ul>")
        parts.extend(f"<li>{html.escape(n)}</li>" for n in report.notes)
        parts.append("</ul>")
    parts.append(f"<footer>Range-Control report “{html.escape(report.name)}” for "
                 f"{html.escape(period_text(report))}.</footer></body></html>")
    return "\n".join(parts) + "\n"


def write_html(report: Report, out_dir: Path) -> list[Path]:
    path = out_dir / f"{file_stem(report)}.html"
    path.write_text(render_html(report), encoding="utf-8")
    return [path]


def write(report: Report, out_dir: Path, formats: list[str]) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    if "csv" in formats:
        paths += write_csv(report, out_dir)
    if "html" in formats:
        paths += write_html(report, out_dir)
    return paths
