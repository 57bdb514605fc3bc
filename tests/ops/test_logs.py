"""Structured JSON logs: the architecture's fields on every line, the level from LOG_LEVEL."""
from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine import logs

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def stream():
    buf = io.StringIO()
    yield buf
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, logs._HANDLER_MARK, False):
            root.removeHandler(handler)


def lines(buf: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buf.getvalue().splitlines()]


def test_every_line_has_the_architecture_fields(stream):
    log = logs.configure_logging("range-control-test", "INFO", stream=stream)
    log.info("plain message")
    (entry,) = lines(stream)
    assert list(entry)[:9] == list(logs.FIELDS)
    assert entry["service"] == "range-control-test" and entry["level"] == "INFO"
    assert entry["message"] == "plain message" and entry["timestamp"].endswith("Z")
    assert entry["trace_id"] is None and entry["duration_ms"] is None


def test_log_action_records_status_duration_user_and_trace(stream):
    log = logs.configure_logging("range-control-test", "INFO", stream=stream)
    with logs.trace("trace-123"):
        with logs.log_action("booking.approve", user_id="user-9", logger=log) as extra:
            extra["booking_id"] = "b-1"
        with pytest.raises(ValueError):
            with logs.log_action("booking.deny", logger=log):
                raise ValueError("reason too short")
    ok, failed = lines(stream)
    assert (ok["action"], ok["status"], ok["user_id"], ok["trace_id"], ok["booking_id"]) == (
        "booking.approve", "ok", "user-9", "trace-123", "b-1")
    assert isinstance(ok["duration_ms"], float) and ok["duration_ms"] >= 0
    assert (failed["action"], failed["status"], failed["level"]) == ("booking.deny", "error",
                                                                     "ERROR")
    assert "reason too short" in failed["message"] and "ValueError" in failed["exc_info"]
    assert failed["trace_id"] == "trace-123"


def test_separate_operations_get_separate_trace_ids(stream):
    log = logs.configure_logging("range-control-test", "INFO", stream=stream)
    with logs.log_action("one", logger=log):
        log.info("inside one")
    with logs.log_action("two", logger=log):
        pass
    inside, one, two = lines(stream)
    assert inside["trace_id"] == one["trace_id"] != two["trace_id"]


def test_level_comes_from_the_environment(stream, monkeypatch):
    monkeypatch.setenv("LOG_LEVEL", "warning")
    log = logs.configure_logging("range-control-test", stream=stream)
    log.info("hidden")
    log.warning("shown")
    assert [e["message"] for e in lines(stream)] == ["shown"]
    monkeypatch.setenv("LOG_LEVEL", "loud")
    with pytest.raises(ValueError, match="LOG_LEVEL"):
        logs.configure_logging("range-control-test", stream=stream)


def test_configuring_twice_keeps_one_handler(stream):
    logs.configure_logging("a", "INFO", stream=stream)
    log = logs.configure_logging("b", "INFO", stream=stream)
    log.info("once")
    assert [(e["service"], e["message"]) for e in lines(stream)] == [("b", "once")]


def test_logged_decorator_takes_the_actor(stream):
    log = logs.configure_logging("range-control-test", "INFO", stream=stream)

    @logs.logged("service.call", logger=log)
    def service(uow, actor_id, value):
        return value * 2

    assert service(None, "actor-7", 21) == 42
    (entry,) = lines(stream)
    assert (entry["action"], entry["user_id"], entry["status"]) == ("service.call", "actor-7", "ok")


def test_engine_cli_logs_json_to_stderr(tmp_path):
    url = f"sqlite:///{tmp_path / 'rc.db'}"
    done = subprocess.run([sys.executable, "-m", "engine", "migrate"], cwd=ROOT, text=True,
                          capture_output=True, env={**os.environ, "DATABASE_URL": url,
                                                    "LOG_LEVEL": "INFO"}, timeout=120)
    assert done.returncode == 0, done.stderr
    entries = [json.loads(line) for line in done.stderr.splitlines()]
    final = entries[-1]
    assert (final["service"], final["action"], final["status"]) == (
        "range-control-engine", "engine.migrate", "ok")
    assert all(set(logs.FIELDS) <= set(e) for e in entries)


def test_engine_services_log_each_change_and_each_refusal(stream, db, make):
    from engine.errors import PermissionDenied
    from engine.services import approve_booking

    logs.configure_logging("range-control-engine", "INFO", stream=stream)
    member = make.user()
    booking = make.booking(make.resource(), member)
    with pytest.raises(PermissionDenied):
        approve_booking(db.uow(), member.id, booking.id)
    entries = [e for e in lines(stream) if (e["action"] or "").startswith("booking.")]
    request, refused = entries[-2], entries[-1]
    assert request["action"] == "booking.request" and request["status"] == "ok"
    assert request["user_id"] == str(member.id) and request["duration_ms"] >= 0
    assert refused["action"] == "booking.approve" and refused["status"] == "refused"
    assert refused["level"] == "WARNING" and refused["error"] == "permission_denied"
