"""The e-mailed weekly summary: readable in a mail client with scripts blocked.

Charts are PNG parts referenced by cid: (no script, no data: URI, no SVG, nothing fetched),
the headline figures are text, the message stays well under 1.5 MB, and the images draw the
report's real data.
"""
from __future__ import annotations

import io
import re
from datetime import date
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from PIL import Image

from reports import mail_copy, static_charts
from reports.definitions import REPORTS, ReportRequest, weekly_summary_report
from reports.render import format_figure
from tests.reports.test_cli import ARGS, run, smtp_env

WEEK = ReportRequest(date(2030, 1, 7), date(2030, 1, 14), ZoneInfo("UTC"), "day")
BLUE = (0x15, 0x65, 0xC0)


def pixels(png: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    return np.asarray(image.convert("RGB")).astype(int)


def near(array: np.ndarray, colour: tuple[int, int, int], tolerance: int = 24) -> np.ndarray:
    return (np.abs(array - np.array(colour)).sum(axis=2) <= tolerance)


def runs(counts: np.ndarray) -> list[int]:
    """Longest count in each run of non-zero rows (or columns): one figure per bar."""
    out, current = [], 0
    for c in [*counts.tolist(), 0]:
        if c:
            current = max(current, c)
        elif current:
            out.append(current)
            current = 0
    return out


def longest_runs(mask: np.ndarray) -> list[int]:
    """Per column, the longest unbroken run of matching pixels (a bar's height; a legend
    patch above the plot is a short run of its own)."""
    out = []
    for column in mask.T:
        best = current = 0
        for hit in column:
            current = current + 1 if hit else 0
            best = max(best, current)
        out.append(best)
    return out


def sent_summary(db_url, tmp_path, smtp_server, monkeypatch) -> EmailMessage:
    controller, inbox = smtp_server
    smtp_env(monkeypatch, controller.port)
    assert run(db_url, "weekly-summary", *ARGS, "--out", str(tmp_path), "--email") == 0
    assert len(inbox.messages) == 1
    return inbox.messages[0][2]


def test_mailed_summary_has_one_inline_png_per_chart_referenced_by_cid(
        data, db_url, tmp_path, smtp_server, monkeypatch):
    msg = sent_summary(db_url, tmp_path, smtp_server, monkeypatch)
    with data.uow().read() as uow:
        report = weekly_summary_report(uow.session, WEEK)
    html_part = msg.get_body(("html",))
    assert html_part is not None
    related = [p for p in msg.walk() if p.get_content_type() == "multipart/related"]
    assert len(related) == 1  # the HTML and its images travel together
    images = [p for p in related[0].iter_parts() if p.get_content_type() == "image/png"]
    assert len(images) == len(report.figures) == 9
    page = html_part.get_content()
    referenced = re.findall(r'<img src="cid:([^"]+)"', page)
    assert len(referenced) == len(set(referenced)) == 9
    assert [p["Content-ID"].strip("<>") for p in images] == referenced
    assert all(p.get_content_disposition() == "inline" for p in images)
    assert msg["Date"] and msg["Message-ID"].endswith("@range.example>")
    for part, fig in zip(images, report.figures, strict=True):
        assert part.get_content()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f'alt="{static_charts.title_of(fig)}"' in page


def test_mailed_html_runs_no_script_and_fetches_nothing(data, db_url, tmp_path, smtp_server,
                                                        monkeypatch):
    msg = sent_summary(db_url, tmp_path, smtp_server, monkeypatch)
    page = msg.get_body(("html",)).get_content()
    assert not re.search(r"<script|javascript:|\bon\w+\s*=", page, re.I)
    assert "Plotly" not in page and "<svg" not in page.lower()
    assert not re.search(r"data:", page)  # Gmail blocks data: URIs
    sources = re.findall(r'\b(?:src|href)\s*=\s*"([^"]*)"', page)
    assert sources and all(s.startswith("cid:") for s in sources)
    assert not re.search(r"<link|@import|url\(", page, re.I)
    assert "<style" not in page  # inline styles only: Gmail and Outlook drop most style blocks


def test_mailed_summary_carries_the_headline_figures_as_text(data, db_url, tmp_path,
                                                             smtp_server, monkeypatch):
    msg = sent_summary(db_url, tmp_path, smtp_server, monkeypatch)
    with data.uow().read() as uow:
        report = weekly_summary_report(uow.session, WEEK)
    text = msg.get_body(("plain",)).get_content()
    page = msg.get_body(("html",)).get_content()
    assert "Bookings: 3 (last week 0, change +3)" in text
    assert "Approval rate: 100% (last week –)" in text  # nothing decided the week before
    for f in report.headline:
        assert f"{f.name}: {format_figure(f.kind, f.current)}" in text
        assert f">{f.name}</td>" in page and f">{format_figure(f.kind, f.current)}</td>" in page
    assert "Last week, change" in page
    # the inbox list's preview line, first in the body
    assert msg["Subject"] == "Range-Control Weekly summary: 2030-01-07 to 2030-01-13"
    assert re.search(r"<body[^>]*><div style=\"display:none[^>]*>Bookings 3 \(last week 0\) · "
                     r"Approval rate 100% \(last week –\)", page)
    assert page.index(">Bookings</td>") < page.index("<img")  # the figures before the charts


def test_mailed_summary_is_well_under_the_size_limit(data, db_url, tmp_path, smtp_server,
                                                     monkeypatch):
    msg = sent_summary(db_url, tmp_path, smtp_server, monkeypatch)
    assert len(msg.as_bytes()) < mail_copy.MESSAGE_BUDGET // 2
    html_bytes = len(msg.get_body(("html",)).get_content().encode())
    assert html_bytes < mail_copy.HTML_BUDGET  # Gmail clips HTML over about 102 KB
    attached = sorted(p.get_filename() for p in msg.iter_attachments())
    assert attached and all(name.endswith(".csv") for name in attached)
    assert "weekly-summary_2030-01-07_2030-01-13_headline.csv" in attached
    # the interactive file (plotly.js inside) stays on disk, not in the message
    assert (tmp_path / "weekly-summary_2030-01-07_2030-01-13.html").stat().st_size > 1_000_000


def test_mailed_tables_name_things_and_hide_ids(data, db_url, tmp_path, smtp_server,
                                                monkeypatch):
    msg = sent_summary(db_url, tmp_path, smtp_server, monkeypatch)
    page = msg.get_body(("html",)).get_content()
    assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-", page)  # no raw UUIDs
    assert ">Range A</td>" in page and ">Booked hours</th>" in page
    assert ">2.9%</td>" in page  # Range A: 2 of 70 bookable hours, as a percentage


def test_chart_image_shows_the_data():
    """Bar lengths in the PNG follow the values: 50 % draws twice as long as 25 %."""
    fig = go.Figure(go.Bar(x=["Range A", "Range B"], y=[0.5, 0.25], marker_color="#1565c0"))
    fig.update_layout(title="Utilization")
    fig.update_yaxes(tickformat=".0%")
    png = static_charts.png(fig)
    image = pixels(png)
    assert image.shape[1] == static_charts.WIDTH_PX * static_charts.SCALE
    blue = near(image, BLUE)
    lengths = runs(blue.sum(axis=1))  # horizontal bars, one run of rows each
    assert len(lengths) == 2 and lengths[0] / lengths[1] == pytest.approx(2, rel=0.03)
    fig.data[0].y = [0.5, 0.1]
    other = static_charts.png(fig)
    assert other != png
    lengths = runs(near(pixels(other), BLUE).sum(axis=1))
    assert lengths[0] / lengths[1] == pytest.approx(5, rel=0.05)


def test_chart_image_of_days_draws_every_series_in_its_colour():
    days = ["2030-01-07", "2030-01-08", "2030-01-09"]
    fig = go.Figure([go.Bar(x=days, y=[4, 2, 1], name="Approved", marker_color="#2e7d32"),
                     go.Bar(x=days, y=[1, 1, 1], name="Denied", marker_color="#c62828")])
    fig.update_layout(barmode="stack", title="Bookings")
    image = pixels(static_charts.png(fig))
    green, red = near(image, (0x2E, 0x7D, 0x32)), near(image, (0xC6, 0x28, 0x28))
    tall = np.array([h if h > 40 else 0 for h in longest_runs(green)])
    heights = runs(tall)  # one run of columns per day's bar
    assert len(heights) == 3
    assert [h / heights[2] for h in heights] == pytest.approx([4, 2, 1], rel=0.05)
    red_heights = runs(np.array([h if h > 40 else 0 for h in longest_runs(red)]))
    assert len(red_heights) == 3  # the second series, stacked on each day


def test_empty_chart_says_nothing_to_show():
    fig = go.Figure(go.Bar(x=[], y=[], marker_color="#1565c0"))
    fig.update_layout(title="Utilization")
    image = pixels(static_charts.png(fig))
    assert not near(image, BLUE).any()
    assert (image.sum(axis=2) < 600).sum() > 100  # the title and the words are drawn


def test_every_report_chart_renders_as_an_image(data):
    with data.uow().read() as uow:
        reports = [make(uow.session, WEEK) for make, _ in REPORTS.values()]
    figures = [fig for report in reports for fig in report.figures]
    assert len(figures) >= 15
    for fig in figures:
        image = pixels(static_charts.png(fig))
        assert image.shape[0] >= 150 and image.shape[1] == 1280
        assert (image.sum(axis=2) < 700).sum() > 2000, static_charts.title_of(fig)


def test_chart_kinds_the_mail_cannot_draw_are_refused():
    with pytest.raises(static_charts.UnsupportedChart, match="pie"):
        static_charts.png(go.Figure(go.Pie(labels=["a"], values=[1])))


def test_long_tables_are_cut_in_the_mail():
    frame = pd.DataFrame({"label": [f"Range {i}" for i in range(40)], "utilization": 0.25})
    table = mail_copy.data_table(frame)
    assert table.count("<tr>") == 1 + mail_copy.MAIL_TABLE_ROWS
    assert f"First {mail_copy.MAIL_TABLE_ROWS} of 40 rows; the attached CSV has all." in table
    assert ">25.0%</td>" in table and ">Name</th>" in table


def test_empty_week_mails_dashes_not_zero_rates(db, make):
    with db.uow().read() as uow:
        report = weekly_summary_report(uow.session, WEEK)
    copy = mail_copy.render(report)
    assert len(copy.images) == 9
    assert "Approval rate: – (last week –)" in copy.text
    assert copy.html.count('src="cid:') == 9
