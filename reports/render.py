"""Writing a Report to disk: CSV for spreadsheets, one self-contained HTML file for reading.

Determinism: CSV rows and columns come in a fixed order and carry no generation time; chart
div ids are derived from the report name, so the same inputs give byte-identical files. The
HTML inlines plotly.js once, in <head>, so it opens offline: the vendored *basic* bundle
(bar, scatter, pie; MIT, reports/vendor/plotly-basic.LICENSE), 1.2 MB instead of the full
4.8 MB one. The headline figures are plain HTML so a mail client's preview shows them.
"""
from __future__ import annotations

import html
from datetime import timedelta
from pathlib import Path

import pandas as pd
import plotly.io as pio

from reports.definitions import HeadlineFigure, Report, readable

FORMATS = ("csv", "html")
#: plotly.js basic bundle, version matching the plotly package (npm plotly.js-basic-dist-min).
PLOTLY_BUNDLE = Path(__file__).with_name("vendor") / "plotly-basic.min.js"
#: Charts are read, not edited: no toolbar, no logo.
PLOTLY_CONFIG = {"displayModeBar": False, "displaylogo": False, "responsive": True}
#: HTML tables longer than this are cut (the CSV holds every row).
HTML_TABLE_ROWS = 400

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;
max-width:1100px;color:#1d2733;padding:0 1rem}
h1{margin-bottom:.2rem}.period{color:#5b6b7b;margin-top:0}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0 1.5rem}
th,td{border:1px solid #d5dde5;padding:.25rem .5rem;text-align:right}
th{background:#eef2f6}td:first-child,th:first-child{text-align:left}
.headline{display:flex;flex-wrap:wrap;gap:.75rem;margin:1rem 0 2rem}
.figure{border:1px solid #d5dde5;border-radius:6px;padding:.6rem .9rem;min-width:9.5rem}
.figure .name{color:#5b6b7b;font-size:.85rem}.figure .value{font-size:1.6rem;font-weight:600}
.figure .before{color:#5b6b7b;font-size:.8rem}
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


def format_figure(kind: str, value: float | None, change: bool = False) -> str:
    """A headline value as people read it: 1,234 / 87% / 3.5 h; a change carries its sign."""
    if value is None:
        return "–"
    digits = {"percent": 100 * 10, "hours": 10}.get(kind, 1)  # sign only when it shows
    shown = round(value * digits)
    sign = "+" if change and shown > 0 else ("−" if change and shown < 0 else "")
    magnitude = abs(value) if change else value
    if kind == "percent":
        return f"{sign}{magnitude * 100:.1f} pt" if change else f"{magnitude * 100:.0f}%"
    if kind == "hours":
        return f"{sign}{magnitude:,.1f} h"
    return f"{sign}{magnitude:,.0f}"


#: Machine keys (ids) the CSV keeps for joins; people read the name column beside them.
HIDDEN_COLUMNS = ("group_key",)


def display_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A table as people read it: no id columns, readable column names."""
    return frame.drop(columns=[c for c in HIDDEN_COLUMNS if c in frame.columns]
                      ).rename(columns=readable)


def headline_html(figures: list[HeadlineFigure]) -> str:
    cards = []
    for f in figures:
        change = "" if f.change is None else f", change {format_figure(f.kind, f.change, True)}"
        cards.append(
            f'<div class="figure"><div class="name">{html.escape(f.name)}</div>'
            f'<div class="value">{html.escape(format_figure(f.kind, f.current))}</div>'
            f'<div class="before">previous {html.escape(format_figure(f.kind, f.previous))}'
            f"{html.escape(change)}</div></div>")
    return '<section class="headline">' + "".join(cards) + "</section>"


def render_html(report: Report) -> str:
    head = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{html.escape(report.title)} — Range-Control</title>",
            f"<style>{_CSS}</style>"]
    if report.figures:  # plotly.js once per file, not per chart
        head.append('<script charset="utf-8">'
                    + PLOTLY_BUNDLE.read_text(encoding="utf-8") + "</script>")
    parts = [*head, "</head><body>",
             f"<h1>{html.escape(report.title)}</h1>",
             f'<p class="period">{html.escape(period_text(report))}</p>']
    if report.headline:
        parts.append(headline_html(report.headline))
    for i, fig in enumerate(report.figures):
        parts.append(pio.to_html(fig, full_html=False, include_plotlyjs=False,
                                 div_id=f"{report.name}-chart-{i}", default_height="420px",
                                 config=PLOTLY_CONFIG))
    for name, frame in report.tables.items():
        if name == "headline" and report.headline:
            continue  # drawn as the cards at the top; the CSV keeps the numbers
        parts.append(f"<h2>{html.escape(readable(name))}</h2>")
        if len(frame) > HTML_TABLE_ROWS:
            parts.append(f"<p>First {HTML_TABLE_ROWS} of {len(frame)} rows; the CSV has all.</p>")
        shown = display_frame(frame.head(HTML_TABLE_ROWS))
        parts.append(shown.to_html(index=False, border=0,
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
