"""Start service calls at the same instant and say how each ended, for the race tests."""
from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Executor

from engine.errors import DomainError


def race(pool: Executor, calls: list[Callable[[], object]]) -> list[str]:
    """Run `calls` together on `pool` (each waits at one barrier, then goes): per call "ok", or
    the class name of the DomainError it raised, in the order given."""
    barrier = threading.Barrier(len(calls))

    def attempt(call: Callable[[], object]) -> str:
        barrier.wait()
        try:
            call()
            return "ok"
        except DomainError as exc:
            return type(exc).__name__

    return list(pool.map(attempt, calls))
