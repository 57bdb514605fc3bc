"""`python -m reports`: files, determinism, failures and e-mail through a real local SMTP server."""
from __future__ import annotations

import io
import json
import re
import sqlite3
import sys
import time as wall_clock
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from reports import cli
from reports.delivery import DeliveryConfigError, SmtpSettings

ARGS = ["--from", "2030-01-07", "--to", "2030-01-13"]


def run(db_url: str, *args: str) -> int:
    return cli.main([*args, "--database-url", db_url, "--no-progress"])


def test_utilization_csv_and_html(data, db_url, tmp_path, capsys):
    assert run(db_url, "utilization", *ARGS, "--out", str(tmp_path), "--group-by", "type",
               "--period", "week") == 0
    printed = capsys.readouterr().out.split()
    names = sorted(Path(p).name for p in printed)
    assert names == ["utilization_2030-01-07_2030-01-13.html",
                     "utilization_2030-01-07_2030-01-13_by_period.csv",
                     "utilization_2030-01-07_2030-01-13_total.csv"]
    total = pd.read_csv(tmp_path / "utilization_2030-01-07_2030-01-13_total.csv")
    assert total.to_dict("records") == [
        {"group_key": "bay", "label": "Bay", "booked_hours": 6.0, "bookable_hours": 168.0,
         "utilization": round(6 / 168, 6)},
        {"group_key": "range", "label": "Range", "booked_hours": 2.0, "bookable_hours": 70.0,
         "utilization": round(2 / 70, 6)},
    ]
    page = (tmp_path / "utilization_2030-01-07_2030-01-13.html").read_text()
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", page)  # nothing to fetch
    assert page.count("Plotly.newPlot") == 2
    assert page.count("plotly.js (basic - minified) v") == 1  # the library once, not per chart
    assert "2030-01-07 to 2030-01-13 inclusive" in page


def test_same_inputs_give_identical_files(data, db_url, tmp_path):
    for out in ("one", "two"):
        assert run(db_url, "weekly-summary", *ARGS, "--out", str(tmp_path / out)) == 0
    one = {p.name: p.read_bytes() for p in (tmp_path / "one").iterdir()}
    two = {p.name: p.read_bytes() for p in (tmp_path / "two").iterdir()}
    assert len(one) >= 8 and one == two
    conflict = pd.read_csv(
        tmp_path / "one" / "weekly-summary_2030-01-07_2030-01-13_conflict_rate.csv")
    assert conflict[["conflicting_requests", "requests"]].sum().tolist() == [1, 3]


def test_weekly_summary_html_is_small_offline_and_without_toolbars(data, db_url, tmp_path):
    assert run(db_url, "weekly-summary", *ARGS, "--out", str(tmp_path), "--format", "html") == 0
    path = tmp_path / "weekly-summary_2030-01-07_2030-01-13.html"
    assert path.stat().st_size < 1_500_000
    page = path.read_text()
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)\s*=", page, re.I)
    assert not re.search(r"@import|url\(\s*['\"]?https?:", page)  # no CSS from the internet
    assert page.count("plotly.js (basic - minified) v") == 1
    charts = page.count("Plotly.newPlot(")
    assert charts == 9 and page.count('"displayModeBar": false') == charts
    assert page.index('class="headline"') < page.index("Plotly.newPlot(")


@pytest.mark.parametrize("report", sorted(cli.REPORTS))
def test_every_report_runs(data, db_url, tmp_path, report):
    assert run(db_url, report, *ARGS, "--out", str(tmp_path), "--format", "csv") == 0
    csvs = list(tmp_path.glob("*.csv"))
    assert csvs and all(pd.read_csv(p).shape[1] >= 2 for p in csvs)
    assert not list(tmp_path.glob("*.html"))


def test_logs_the_run_as_json(data, db_url, tmp_path, capsys):
    assert run(db_url, "approval-rate", *ARGS, "--out", str(tmp_path)) == 0
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()
             if line.startswith("{")]
    done = [entry for entry in lines if entry["action"] == "report.approval-rate"]
    assert done and done[-1]["status"] == "ok" and done[-1]["service"] == "range-control-reports"
    assert isinstance(done[-1]["duration_ms"], float) and done[-1]["trace_id"]


@pytest.mark.parametrize("args, message", [
    (["utilization", "--from", "2030-13-01", "--to", "2030-01-02"], "must be a date"),
    (["utilization", "--from", "2030-01-08", "--to", "2030-01-01"], "must not be before"),
    (["utilization", "--from", "2030-01-08"], "give both --from and --to"),
    (["utilization", *ARGS, "--format", "pdf"], "must be a comma-separated list"),
    (["sales", *ARGS], "invalid choice"),
])
def test_bad_input_exits_2_with_a_clear_message(data, db_url, tmp_path, capsys, args, message):
    try:
        code = run(db_url, *args, "--out", str(tmp_path / "out"))
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_unmigrated_database_exits_1(tmp_path, capsys):
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    assert run(f"sqlite:///{empty}", "utilization", *ARGS, "--out", str(tmp_path / "out")) == 1
    err = capsys.readouterr().err
    assert "error: the database query failed" in err and "python -m engine migrate" in err


def test_default_period_is_last_week():
    assert cli.last_week(date(2030, 1, 16)) == (date(2030, 1, 7), date(2030, 1, 13))  # Wed
    assert cli.last_week(date(2030, 1, 14)) == (date(2030, 1, 7), date(2030, 1, 13))  # Mon


# ---------------------------------------------------------------- e-mail


def smtp_env(monkeypatch, port: int, **extra: str) -> None:
    values = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port), "SMTP_STARTTLS": "false",
              "SMTP_USER": "reports", "SMTP_PASSWORD": "s3cret",
              "SMTP_FROM": "reports@range.example",
              "REPORT_RECIPIENTS": "manager@range.example, ops@range.example"}
    values.update(extra)
    for key, value in values.items():
        monkeypatch.setenv(key, value)


def test_email_delivery_through_a_local_smtp_server(data, db_url, tmp_path, smtp_server,
                                                    monkeypatch):
    controller, inbox = smtp_server
    smtp_env(monkeypatch, controller.port)
    assert run(db_url, "conflict-rate", *ARGS, "--out", str(tmp_path), "--email") == 0
    assert len(inbox.messages) == 1
    sender, recipients, msg = inbox.messages[0]
    assert sender == "reports@range.example"
    assert recipients == ["manager@range.example", "ops@range.example"]
    assert "Conflict rate" in msg["Subject"] and "2030-01-07" in msg["Subject"]
    # the report is the message itself (static chart, no script); the CSV rides along, the
    # interactive HTML file stays in --out (tests/reports/test_mail_copy.py has the details)
    assert "Requests that met a hard conflict" in msg.get_body(("html",)).get_content()
    attached = {part.get_filename(): part.get_content() for part in msg.iter_attachments()}
    assert set(attached) == {"conflict-rate_2030-01-07_2030-01-13.csv"}
    assert (tmp_path / "conflict-rate_2030-01-07_2030-01-13.html").exists()
    csv_text = attached["conflict-rate_2030-01-07_2030-01-13.csv"]
    csv_text = csv_text.decode() if isinstance(csv_text, bytes) else csv_text
    assert csv_text == (tmp_path / "conflict-rate_2030-01-07_2030-01-13.csv").read_text()


def test_wrong_smtp_password_fails_with_exit_1(data, db_url, tmp_path, smtp_server,
                                                monkeypatch, capsys):
    controller, inbox = smtp_server
    smtp_env(monkeypatch, controller.port, SMTP_PASSWORD="wrong")
    assert run(db_url, "approval-rate", *ARGS, "--out", str(tmp_path), "--email") == 1
    assert "SMTPAuthenticationError" in capsys.readouterr().err
    assert inbox.messages == []


def test_missing_smtp_settings_fail_before_any_work(data, db_url, tmp_path, monkeypatch, capsys):
    for key in ("SMTP_HOST", "SMTP_FROM", "REPORT_RECIPIENTS"):
        monkeypatch.delenv(key, raising=False)
    assert run(db_url, "approval-rate", *ARGS, "--out", str(tmp_path / "out"), "--email") == 2
    assert "SMTP_HOST is not set" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("env, message", [
    ({"SMTP_HOST": "h", "SMTP_FROM": "a@b", "REPORT_RECIPIENTS": "x@y", "SMTP_PORT": "smtp"},
     "SMTP_PORT"),
    ({"SMTP_HOST": "h", "SMTP_FROM": "nobody", "REPORT_RECIPIENTS": "x@y"}, "SMTP_FROM"),
    ({"SMTP_HOST": "h", "SMTP_FROM": "a@b", "REPORT_RECIPIENTS": ""}, "REPORT_RECIPIENTS"),
    ({"SMTP_HOST": "h", "SMTP_FROM": "a@b", "REPORT_RECIPIENTS": "x@y", "SMTP_STARTTLS": "maybe"},
     "SMTP_STARTTLS"),
])
def test_smtp_settings_name_the_bad_variable(env, message):
    with pytest.raises(DeliveryConfigError, match=message):
        SmtpSettings.from_env(env)


def test_smtp_defaults():
    s = SmtpSettings.from_env({"SMTP_HOST": "mail", "SMTP_FROM": "a@b",
                               "REPORT_RECIPIENTS": "x@y"})
    assert (s.port, s.starttls, s.use_ssl, s.user) == (587, True, False, None)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_on_a_terminal_for_slow_runs(data, db_url, tmp_path, monkeypatch):
    real_report, description = cli.REPORTS["approval-rate"]

    def slow_report(session, request):
        wall_clock.sleep(0.8)  # longer than the bar's 0.5 s delay
        return real_report(session, request)

    monkeypatch.setitem(cli.REPORTS, "approval-rate", (slow_report, description))
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert cli.main(["approval-rate", *ARGS, "--out", str(tmp_path), "--format", "csv",
                     "--database-url", db_url]) == 0
    assert "approval-rate" in terminal.getvalue() and "step" in terminal.getvalue()
    quiet = _Terminal()
    monkeypatch.setattr(sys, "stderr", quiet)
    assert cli.main(["approval-rate", *ARGS, "--out", str(tmp_path), "--format", "csv",
                     "--database-url", db_url, "--no-progress"]) == 0
    assert "step" not in quiet.getvalue()


def test_production_without_database_url_refuses(monkeypatch, tmp_path, capsys):
    from engine.config import get_settings

    monkeypatch.setenv("RANGE_CONTROL_ENV", "production")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("RANGE_CONTROL_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    try:
        assert cli.main(["utilization", *ARGS, "--out", str(tmp_path / "out")]) == 1
    finally:
        get_settings.cache_clear()
    assert "without DATABASE_URL" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
