"""Real worker processes on PostgreSQL: killed with SIGKILL mid-batch then restarted, nothing
is lost and at most the one message in flight is sent again (same Message-ID); two workers
side by side send nothing twice."""
from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.db import Database
from engine.models import OutboxMessage
from engine.notifications import enqueue_message
from tests import conftest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def pg(pg_database_url):
    conftest._truncate_pg(pg_database_url)
    # the real clock, like the worker
    db = Database(pg_database_url, settings=conftest.test_settings())
    yield db
    db.dispose()


def queue(db: Database, n: int) -> None:
    with db.uow() as uow:
        for i in range(n):
            enqueue_message(uow, f"person{i}@test.example", subject=f"Message {i}",
                            body=f"Body {i}")
        uow.commit()


def worker_env(db: Database, sink, **extra) -> dict:
    env = {**os.environ, "DATABASE_URL": db.url, "SMTP_HOST": "127.0.0.1",
           "SMTP_PORT": str(sink.port), "SMTP_STARTTLS": "false",
           "SMTP_FROM": "range-control@range.example", "NOTIFY_BATCH_SIZE": "20",
           "NOTIFY_LEASE_SECONDS": "5", "NOTIFY_POLL_SECONDS": "0.2", "LOG_LEVEL": "WARNING"}
    env.update(extra)
    return env


def start_worker(env: dict, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "engine", "notify", *args], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL)


def statuses(db: Database) -> dict:
    with db.uow().read() as uow:
        return dict(uow.session.execute(select(OutboxMessage.status, func.count())
                                        .group_by(OutboxMessage.status)).all())


def test_sigkill_mid_batch_loses_nothing_and_resends_at_most_the_one_in_flight(pg, sink):
    queue(pg, 150)
    sink.inbox.delay = 0.02
    env = worker_env(pg, sink)
    proc = start_worker(env)
    try:
        deadline = time.monotonic() + 60
        while len(sink.inbox.messages) < 40:
            assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read()
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)  # in the middle of a batch of 20
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    received_at_kill = len(sink.inbox.messages)
    assert 40 <= received_at_kill < 150
    assert statuses(pg).get("pending", 0) > 0
    time.sleep(5.5)  # the dead worker's lease runs out
    done = subprocess.run([sys.executable, "-m", "engine", "notify", "--once"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    ids = sink.inbox.message_ids()
    counts = collections.Counter(ids)
    assert len(counts) == 150  # nothing lost
    doubled = [mid for mid, n in counts.items() if n > 1]
    assert len(doubled) <= 1 and all(counts[m] == 2 for m in doubled)
    assert statuses(pg) == {"sent": 150}
    with pg.uow().read() as uow:
        expected = {f"<{i}@range.example>" for i in uow.session.scalars(select(OutboxMessage.id))}
    assert set(ids) == expected


def test_two_workers_on_postgresql_send_nothing_twice(pg, sink):
    queue(pg, 300)
    sink.inbox.delay = 0.002
    env = worker_env(pg, sink, NOTIFY_BATCH_SIZE="10")
    procs = [start_worker(env, "--once", "--worker-id", f"w{i}") for i in range(2)]
    outputs = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    ids = sink.inbox.message_ids()
    assert len(ids) == len(set(ids)) == 300
    assert statuses(pg) == {"sent": 300}
    sent_by = [int(out.decode().split("sent ")[1].split(",")[0]) for out, _ in outputs]
    assert sum(sent_by) == 300
