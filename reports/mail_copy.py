"""The e-mailed copy of a report: what a mail client shows with scripts blocked (all do).

Mail clients run no JavaScript, so the interactive file's plotly charts would be blank there.
This copy is the same report made of what every client renders: the headline figures and the
tables as plain HTML with inline styles (Gmail and Outlook drop most <style> rules and all
flex layout), laid out in nested tables 680 px wide; each chart a PNG (reports.static_charts)
carried in the message as an inline part and referenced by `cid:` (Gmail blocks `data:` URIs
and drops SVG; nothing is fetched from the internet). The HTML stays under Gmail's 102 KB clip
limit by cutting long tables (the attached CSVs hold every row); a plain-text part carries the
headline for clients that show text only.
"""
from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass, field
from datetime import timedelta

import pandas as pd

from reports import static_charts
from reports.definitions import HeadlineFigure, Report, readable
from reports.render import HIDDEN_COLUMNS, display_frame, format_figure, period_text

#: Rows per table in the message (the CSV attachments have all of them).
MAIL_TABLE_ROWS = 25
#: Gmail clips a message whose HTML is larger than about 102 KB ("[Message clipped]").
HTML_BUDGET = 100_000
#: The whole message, attachments and images included, stays well under this.
MESSAGE_BUDGET = 1_500_000

_FONT = "font-family:Segoe UI,Roboto,Helvetica,Arial,sans-serif;"
_TEXT, _MUTED, _LINE, _HEAD = "#1d2733", "#5b6b7b", "#d5dde5", "#eef2f6"
_WIDTH = 680  # the message's column; charts fill it less the padding


@dataclass(frozen=True)
class InlineImage:
    """A chart as a PNG part of the message; the HTML shows it as <img src="cid:{cid}">."""
    cid: str
    data: bytes
    alt: str
    filename: str


@dataclass
class MailCopy:
    subject: str
    text: str
    html: str
    images: list[InlineImage] = field(default_factory=list)


def _changes_word(report: Report) -> tuple[str, str]:
    days = (report.request.end - report.request.start).days
    return ("This week", "Last week") if days == 7 else ("This period", "Previous period")


def _arrow(f: HeadlineFigure) -> str:
    if f.change is None or format_figure(f.kind, f.change, True).lstrip("+−") in ("0", "0.0 h",
                                                                                  "0.0 pt"):
        return ""
    return "▲ " if f.change > 0 else "▼ "


def headline_table(report: Report) -> str:
    """The headline figures as a table: figure, this week (large), last week and the change.

    Three columns, not four, so it fits a phone's width without scrolling.
    """
    now, before = _changes_word(report)
    cell = f"padding:8px;border-bottom:1px solid {_LINE};{_FONT}"
    head = (f'<tr style="background:{_HEAD}">'
            + "".join(f'<th align="{a}" style="{cell}font-size:12px;color:{_MUTED};'
                      f'font-weight:600">{t}</th>'
                      for a, t in (("left", "Figure"), ("right", now),
                                   ("right", f"{before}, change")))
            + "</tr>")
    rows = []
    for f in report.headline:
        change = "–" if f.change is None else _arrow(f) + format_figure(f.kind, f.change, True)
        rows.append(
            f'<tr><td style="{cell}font-size:14px;color:{_TEXT}">{html.escape(f.name)}</td>'
            f'<td align="right" style="{cell}font-size:20px;font-weight:700;color:{_TEXT};'
            f'white-space:nowrap">{html.escape(format_figure(f.kind, f.current))}</td>'
            f'<td align="right" style="{cell}font-size:13px;color:{_MUTED}">'
            f"{html.escape(format_figure(f.kind, f.previous))}<br>"
            f'<span style="color:{_TEXT}">{html.escape(change)}</span></td></tr>')
    return (f'<table role="presentation" width="100%" cellpadding="0" cellspacing="0" '
            f'style="border-collapse:collapse;border:1px solid {_LINE};margin:8px 0 4px">'
            + head + "".join(rows) + "</table>")


#: Columns holding a 0..1 share, shown as a percentage.
SHARE_COLUMNS = frozenset({"utilization", "rate", "no_show_rate"})


def _cell_text(value: object, share: bool) -> str:
    if isinstance(value, float):
        if pd.isna(value):
            return ""
        return f"{value * 100:.1f}%" if share else f"{value:,.4g}"
    return str(value)


def data_table(frame: pd.DataFrame, rows: int = MAIL_TABLE_ROWS) -> str:
    """A table with inline styles; the first column (the name) left, the numbers right."""
    cell = f"padding:4px 6px;border:1px solid {_LINE};font-size:12px;{_FONT}"
    shares = [c in SHARE_COLUMNS for c in frame.columns if c not in HIDDEN_COLUMNS]
    shown = display_frame(frame.head(rows))
    align = ["left"] + ["right"] * (len(shown.columns) - 1)
    head = "".join(f'<th align="{a}" style="{cell}padding:4px;font-size:11px;'
                   f'background:{_HEAD};color:{_TEXT}">'
                   f"{html.escape(str(c))}</th>" for a, c in zip(align, shown.columns, strict=True))
    body = "".join(
        "<tr>" + "".join(f'<td align="{a}" style="{cell}color:{_TEXT}">'
                         f"{html.escape(_cell_text(v, share))}</td>"
                         for a, v, share in zip(align, record, shares, strict=True)) + "</tr>"
        for record in shown.itertuples(index=False, name=None))
    note = ""
    if len(frame) > rows:
        note = (f'<p style="margin:0 0 4px;font-size:12px;color:{_MUTED};{_FONT}">'
                f"First {rows} of {len(frame)} rows; the attached CSV has all.</p>")
    # full width: on a phone the cells wrap instead of pushing the message sideways
    return (note + '<table width="100%" cellpadding="0" cellspacing="0" '
            'style="width:100%;border-collapse:collapse;margin:0 0 16px">'
            f"<tr>{head}</tr>{body}</table>")


def chart_images(report: Report) -> list[InlineImage]:
    """Every chart of the report as a PNG; the cid is derived from the image, so it is unique
    within the message and the same data gives the same HTML."""
    images = []
    for i, fig in enumerate(report.figures, start=1):
        data = static_charts.png(fig)
        digest = hashlib.sha256(data).hexdigest()[:16]
        images.append(InlineImage(f"chart{i}.{digest}@range-control", data,
                                  static_charts.title_of(fig), f"{report.name}-chart-{i}.png"))
    return images


def preheader(report: Report) -> str:
    """The line an inbox list shows beside the subject ("Bookings 102 (last week 122) · …"):
    the headline in words, hidden in the message itself, where the table shows the same."""
    if not report.headline:
        return ""
    _, before = _changes_word(report)
    words = " · ".join(f"{f.name} {format_figure(f.kind, f.current)} ({before.lower()} "
                       f"{format_figure(f.kind, f.previous)})" for f in report.headline)
    return ('<div style="display:none;max-height:0;overflow:hidden;mso-hide:all;font-size:1px;'
            f'line-height:1px;color:#f4f6f8">{html.escape(words)}</div>')


def subject(report: Report) -> str:
    req = report.request
    return (f"Range-Control {report.title}: {req.start.isoformat()} to "
            f"{(req.end - timedelta(days=1)).isoformat()}")


def _section(inner: str, top: int = 8) -> str:
    return f'<tr><td style="padding:{top}px 16px 8px;{_FONT}color:{_TEXT}">{inner}</td></tr>'


def render_html(report: Report, images: list[InlineImage]) -> str:
    width = _WIDTH - 32
    parts = [
        f'<h1 style="margin:0 0 2px;font-size:22px;{_FONT}color:{_TEXT}">'
        f"{html.escape(report.title)}</h1>"
        f'<p style="margin:0 0 8px;font-size:13px;color:{_MUTED};{_FONT}">'
        f"{html.escape(period_text(report))}</p>"
        + (headline_table(report) if report.headline else "")]
    rows = [_section(parts[0], 20)]
    for image in images:
        rows.append(_section(
            f'<img src="cid:{html.escape(image.cid)}" alt="{html.escape(image.alt)}" '
            f'width="{width}" style="display:block;width:100%;max-width:{width}px;height:auto;'
            f'border:0">'))
    for name, frame in report.tables.items():
        if name == "headline" and report.headline:
            continue  # the table at the top
        rows.append(_section(f'<h2 style="margin:8px 0 6px;font-size:15px;{_FONT}">'
                             f"{html.escape(readable(name))}</h2>" + data_table(frame)))
    if report.notes:
        notes = "".join(f'<li style="margin:0 0 4px">{html.escape(n)}</li>' for n in report.notes)
        rows.append(_section(f'<h2 style="margin:8px 0 6px;font-size:15px;{_FONT}">How these are '
                             f'counted</h2><ul style="margin:0;padding-left:18px;font-size:12px;'
                             f'color:{_MUTED}">{notes}</ul>'))
    rows.append(_section(
        f'<p style="margin:8px 0 12px;font-size:11px;color:{_MUTED};border-top:1px solid '
        f'{_LINE};padding-top:8px">Range-Control report “{html.escape(report.name)}” for '
        f"{html.escape(period_text(report))}. The CSV files attached hold every row.</p>"))
    return ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(report.title)}</title></head>"
            f'<body style="margin:0;padding:0;background:#f4f6f8">{preheader(report)}'
            '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" '
            'style="background:#f4f6f8"><tr><td align="center" style="padding:12px 0">'
            # Outlook on Windows (Word's engine) ignores max-width: a fixed-width table only
            # it reads keeps the column at 680 px there
            f'<!--[if mso]><table role="presentation" width="{_WIDTH}" cellpadding="0" '
            'cellspacing="0"><tr><td><![endif]-->'
            f'<table role="presentation" width="{_WIDTH}" cellpadding="0" cellspacing="0" '
            f'style="width:100%;max-width:{_WIDTH}px;background:#ffffff;border:1px solid {_LINE}">'
            + "\n".join(rows) + "</table>"
            "<!--[if mso]></td></tr></table><![endif]-->"
            "</td></tr></table></body></html>\n")


def render_text(report: Report) -> str:
    """The plain-text part: the headline figures, for clients that show text only."""
    _, before = _changes_word(report)
    lines = [f"{report.title}: {period_text(report)}", ""]
    for f in report.headline:
        change = "" if f.change is None else f", change {format_figure(f.kind, f.change, True)}"
        lines.append(f"{f.name}: {format_figure(f.kind, f.current)} "
                     f"({before.lower()} {format_figure(f.kind, f.previous)}{change})")
    if report.headline:
        lines.append("")
    lines.append("The charts and tables are in the HTML part of this message; the CSV files "
                 "attached hold every row and open in a spreadsheet.")
    return "\n".join(lines) + "\n"


def render(report: Report) -> MailCopy:
    images = chart_images(report)
    return MailCopy(subject(report), render_text(report), render_html(report, images), images)
