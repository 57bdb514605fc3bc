"""Structured JSON logs with the architecture's fields, one line per event, on stderr.

Every record carries: timestamp, level, service, trace_id, user_id, action, status,
duration_ms, message (absent values are null, so log queries can rely on the keys).
The level comes from LOG_LEVEL. A trace id lives in a contextvar, so everything logged while
one request/command runs shares it.

Entrypoints call `configure_logging(service="range-control-dashboard")` (or -api, -reports,
-engine) once at start, and wrap units of work in `log_action("booking.approve", user_id=...)`.
"""
from __future__ import annotations

import functools
import logging
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Any, TypeVar

from pythonjsonlogger.json import JsonFormatter

from engine.config import LoggingSettings
from engine.errors import DomainError

FIELDS = ("timestamp", "level", "service", "trace_id", "user_id", "action", "status",
          "duration_ms", "message")
DEFAULT_SERVICE = "range-control"

trace_id_var: ContextVar[str | None] = ContextVar("trace_id", default=None)
user_id_var: ContextVar[str | None] = ContextVar("user_id", default=None)
_service = DEFAULT_SERVICE
_HANDLER_MARK = "_range_control_json"

F = TypeVar("F", bound=Callable[..., Any])


class ArchitectureJsonFormatter(JsonFormatter):
    """The architecture's fields first and always present; any other `extra=` keys after them."""

    def add_fields(self, log_record: dict[str, Any], record: logging.LogRecord,
                   message_dict: dict[str, Any]) -> None:
        super().add_fields(log_record, record, message_dict)
        extra = {k: v for k, v in log_record.items() if k not in FIELDS}
        log_record.clear()
        log_record.update({
            "timestamp": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "service": getattr(record, "service", None) or _service,
            "trace_id": getattr(record, "trace_id", None) or trace_id_var.get(),
            "user_id": _str_or_none(getattr(record, "user_id", None) or user_id_var.get()),
            "action": getattr(record, "action", None),
            "status": getattr(record, "status", None),
            "duration_ms": getattr(record, "duration_ms", None),
            "message": record.getMessage(),
        })
        extra.pop("exc_info", None)
        if record.exc_info:
            extra["exc_info"] = self.formatException(record.exc_info)
        log_record.update(extra)


class _CurrentStderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at emit time (test runners swap it between tests)."""

    @property
    def stream(self) -> IO[str]:
        return sys.stderr

    @stream.setter
    def stream(self, _value: IO[str]) -> None:
        pass


def _str_or_none(value: object) -> str | None:
    return None if value is None else str(value)


def configure_logging(service: str, level: str | None = None, stream: IO[str] | None = None
                      ) -> logging.Logger:
    """Send every logger's records to `stream` (stderr) as JSON lines; idempotent.

    `level` defaults to the LOG_LEVEL setting (INFO when unset).
    """
    global _service
    _service = service
    level_name = (level or LoggingSettings().log_level or "INFO").upper()
    if not isinstance(logging.getLevelName(level_name), int):
        raise ValueError(f"LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL "
                         f"(got {level_name!r})")
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(handler)
    handler = logging.StreamHandler(stream) if stream is not None else _CurrentStderrHandler()
    setattr(handler, _HANDLER_MARK, True)
    handler.setFormatter(ArchitectureJsonFormatter())
    root.addHandler(handler)
    root.setLevel(level_name)
    quiet = logging.WARNING if logging.getLevelName(level_name) > logging.DEBUG else logging.DEBUG
    for noisy in ("alembic", "sqlalchemy.engine", "urllib3"):
        logging.getLogger(noisy).setLevel(quiet)  # their INFO lines drown the application's
    return logging.getLogger(service)


def new_trace_id() -> str:
    return uuid.uuid4().hex


@contextmanager
def trace(trace_id: str | None = None, user_id: object | None = None) -> Iterator[str]:
    """Tag everything logged inside the block with one trace id (and the acting user)."""
    tid = trace_id or trace_id_var.get() or new_trace_id()
    t_token = trace_id_var.set(tid)
    u_token = user_id_var.set(_str_or_none(user_id)) if user_id is not None else None
    try:
        yield tid
    finally:
        trace_id_var.reset(t_token)
        if u_token is not None:
            user_id_var.reset(u_token)


@contextmanager
def log_action(action: str, *, user_id: object | None = None,
               logger: logging.Logger | None = None, message: str | None = None,
               **extra: Any) -> Iterator[dict[str, Any]]:
    """Log one operation's outcome: status ok/error and duration_ms.

    The yielded dict can be filled with extra fields (e.g. rows written) before the block ends;
    a "status" key there replaces the default "ok" (e.g. "findings").
    An exception is logged with status "error" and re-raised.
    """
    log = logger or logging.getLogger("range_control")
    fields: dict[str, Any] = dict(extra)
    started = time.perf_counter()
    with trace(user_id=user_id):
        try:
            yield fields
        except DomainError as exc:  # an expected refusal (bad input, conflict, permission)
            log.warning(message or f"{action} refused: {exc.message}", extra={
                **fields, "action": action, "status": "refused", "error": exc.code,
                "user_id": user_id,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1)})
            raise
        except BaseException as exc:
            log.error(message or f"{action} failed: {exc}", exc_info=not isinstance(
                exc, (SystemExit, KeyboardInterrupt)), extra={
                    **fields, "action": action, "status": "error", "user_id": user_id,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1)})
            raise
        status = fields.pop("status", "ok")
        log.info(message or f"{action} done", extra={
            **fields, "action": action, "status": status, "user_id": user_id,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1)})


def logged(action: str, logger: logging.Logger | None = None) -> Callable[[F], F]:
    """Decorator form of log_action; takes user_id from an `actor_id` argument when there is one."""
    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def inner(*args: Any, **kwargs: Any) -> Any:
            user = kwargs.get("actor_id", args[1] if len(args) > 1 else None)
            with log_action(action, user_id=user if isinstance(user, (str, uuid.UUID)) else None,
                            logger=logger):
                return fn(*args, **kwargs)
        return inner  # type: ignore[return-value]
    return wrap
