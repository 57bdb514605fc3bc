"""What SQL a call sends: the round-trip and statement-count tests read it."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import event

T = TypeVar("T")


def statements_sent(db: Any, call: Callable[[], T]) -> tuple[T, list[str]]:
    """`call()`'s result and the SQL statements it sent through `db`, whitespace-collapsed."""
    sent: list[str] = []

    def listener(*args: Any) -> None:
        sent.append(" ".join(args[2].split()))

    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        result = call()
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    return result, sent
