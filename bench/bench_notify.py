#!/usr/bin/env python
"""Notification benchmark (issue 9): worker throughput to a local SMTP sink, and what the
outbox write adds to a booking approval.

    .venv/bin/python bench/bench_notify.py --messages 10000 --approvals 600

1. Drops and recreates `rc_bench_notify` on PostgreSQL (127.0.0.1:5432), migrates it.
2. Queues `--messages` booking-approved e-mails (rendered at send time from the templates,
   each with its iCalendar attachment) and starts an aiosmtpd sink on 127.0.0.1 that accepts
   everything. Runs `python -m engine notify --once` as one process, then (after putting the
   same rows back to pending) as two processes side by side, and reports messages per second:
   wall time of the processes (Python start-up included) and from the first to the last
   message the sink accepted. Checks that every message arrived exactly once.
3. Approvals: `approve_booking` through the engine service with the outbox write as shipped,
   and with `enqueue_booking_event` replaced by a no-op, in alternating blocks over pending
   requests on distinct resources; reports the median and mean time per approval and the
   difference (aim: under 10 %).
"""
from __future__ import annotations

import argparse
import logging
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiosmtpd.controller import Controller  # noqa: E402
from sqlalchemy import func, insert, select, update  # noqa: E402

from _seed import reset_database  # noqa: E402
from engine.bootstrap import create_first_admin  # noqa: E402
from engine.config import Settings  # noqa: E402
from engine.db import Database  # noqa: E402
from engine.domain.permissions import Role  # noqa: E402
from engine.models import Booking, OutboxMessage  # noqa: E402
from engine.notifications.outbox import booking_context  # noqa: E402
from engine.services import bookings as booking_services  # noqa: E402
from engine.services import resources as resource_services  # noqa: E402
from engine.services import users as user_services  # noqa: E402

URL = "postgresql+psycopg://postgres@127.0.0.1:5432/rc_bench_notify"


class Sink:
    def __init__(self):
        self.lock = threading.Lock()
        self.times: list[float] = []
        self.ids: list[str] = []

    async def handle_DATA(self, server, session, envelope):
        content = envelope.content
        start = content.find(b"Message-ID: ")
        mid = content[start:content.find(b"\r\n", start)] if start >= 0 else b""
        with self.lock:
            self.times.append(time.perf_counter())
            self.ids.append(mid.decode())
        return "250 OK"

    def reset(self):
        with self.lock:
            self.times.clear()
            self.ids.clear()


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def setup(db: Database):
    admin = create_first_admin(db, email="admin@bench.example", name="Bench Admin",
                               password="bench-password-1", hash_rounds=4)
    staff = [user_services.register_user(db.uow(), email=f"staff{i}@bench.example",
                                         name=f"Staff {i}", password="bench-password-1",
                                         role=Role.STAFF, actor_id=admin.id, hash_rounds=4)
             for i in range(5)]
    member = user_services.register_user(db.uow(), email="member@bench.example",
                                         name="Member", password="bench-password-1",
                                         role=Role.USER, actor_id=admin.id, hash_rounds=4)
    return admin, staff, member


def queue_messages(db: Database, n: int, booking_id) -> None:
    with db.uow() as uow:
        context = booking_context(uow.session.get(Booking, booking_id))
        context |= {"actor_name": "Staff 0", "ical_sequence": 2, "recipient_name": "Person"}
        now = uow.now
        rows = [{"id": uuid.uuid4(), "kind": "booking_approved",
                 "recipient_email": f"person{i}@bench.example", "context": context,
                 "status": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now}
                for i in range(n)]
        for i in range(0, n, 2000):
            uow.session.execute(insert(OutboxMessage), rows[i:i + 2000])
        uow.commit()


def requeue(db: Database) -> None:
    with db.uow() as uow:
        uow.session.execute(update(OutboxMessage).values(
            status="pending", attempts=0, sent_at=None, claimed_by=None, claimed_until=None,
            next_attempt_at=uow.now))
        uow.commit()


def run_workers(count: int, env: dict, sink: Sink, n: int) -> dict:
    sink.reset()
    t0 = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-m", "engine", "notify", "--once",
                               "--worker-id", f"bench-{count}-{i}"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for i in range(count)]
    outs = [p.communicate(timeout=1800) for p in procs]
    wall = time.perf_counter() - t0
    for p, (_out, err) in zip(procs, outs, strict=True):
        if p.returncode != 0:
            raise SystemExit(f"worker failed: {err.decode()[-2000:]}")
    received = len(sink.ids)
    unique = len(set(sink.ids))
    span = sink.times[-1] - sink.times[0] if len(sink.times) > 1 else float("nan")
    return {"workers": count, "received": received, "unique": unique, "wall_s": wall,
            "rate_wall": n / wall, "rate_sink": (received - 1) / span,
            "per_worker": [o.decode().strip() for o, _ in outs]}


def approvals(db: Database, staff, member, total: int, block: int) -> dict:
    resources = [resource_services.create_resource(db.uow(), ADMIN_ID, name=f"Bay {i}",
                                                   resource_type="bay")
                 for i in range(total)]
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + \
        timedelta(days=2)
    pending = [booking_services.request_booking(
        db.uow(), member.id, resource_id=r.id, start_time=start, end_time=start +
        timedelta(hours=2), purpose="Benchmark approval").id for r in resources]
    real = booking_services.enqueue_booking_event

    def silent(*args, **kwargs):
        return []

    timings = {"with outbox": [], "without outbox": []}
    i = 0
    variant = 0
    while i < total:
        name = ("with outbox", "without outbox")[variant % 2]
        booking_services.enqueue_booking_event = real if name == "with outbox" else silent
        for booking_id in pending[i:i + block]:
            t = time.perf_counter()
            booking_services.approve_booking(db.uow(), staff[0].id, booking_id)
            timings[name].append((time.perf_counter() - t) * 1000)
        i += block
        variant += 1
    booking_services.enqueue_booking_event = real
    with db.uow().read() as uow:
        written = uow.session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.kind == "booking_approved"))
    return {"timings": timings, "outbox_rows": written}


ADMIN_ID = None


def main() -> int:
    global ADMIN_ID
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--approvals", type=int, default=600)
    parser.add_argument("--block", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=100)
    args = parser.parse_args()
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    logging.disable(logging.INFO)

    reset_database(URL)
    settings = Settings(SITE_TIMEZONE="Europe/London")
    db = Database(URL, settings=settings)
    admin, staff, member = setup(db)
    ADMIN_ID = admin.id
    print(f"load average at start: {os.getloadavg()[0]:.2f} (2-core machine, shared)")

    # --- approvals first, on a small database ---------------------------------------------
    result = approvals(db, staff, member, args.approvals, args.block)
    print(f"\nApproval through engine.services.approve_booking on PostgreSQL "
          f"({args.approvals} approvals, alternating blocks of {args.block}; "
          f"{result['outbox_rows']} outbox rows written by the 'with' blocks):")
    med = {}
    for name, values in result["timings"].items():
        med[name] = statistics.median(values)
        print(f"  {name:15s} median {med[name]:6.2f} ms   mean {statistics.mean(values):6.2f} ms"
              f"   p90 {statistics.quantiles(values, n=10)[-1]:6.2f} ms   (n={len(values)})")
    extra = med["with outbox"] - med["without outbox"]
    print(f"  outbox write adds {extra:+.2f} ms per approval "
          f"({100 * extra / med['without outbox']:+.1f} % of the median)")

    # --- worker throughput --------------------------------------------------------------------
    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    with db.uow() as uow:  # a real approved booking for the template context
        booking_id = uow.session.scalar(select(Booking.id).where(Booking.status == "approved")
                                        .limit(1))
        uow.session.execute(OutboxMessage.__table__.delete())
        uow.commit()
    queue_messages(db, args.messages, booking_id)
    env = {**os.environ, "DATABASE_URL": URL, "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port),
           "SMTP_STARTTLS": "false", "SMTP_FROM": "range-control@bench.example",
           "NOTIFY_BATCH_SIZE": str(args.batch_size), "LOG_LEVEL": "WARNING",
           "SITE_TIMEZONE": "Europe/London", "NOTIFY_REMINDER_HOURS": "0.01",
           "NOTIFY_DIGEST_HOUR": "23"}
    print(f"\nWorker throughput: {args.messages} queued booking-approved e-mails (text + HTML "
          f"+ iCalendar, rendered at send time), batch size {args.batch_size}, "
          "aiosmtpd sink on 127.0.0.1:")
    for count in (1, 2):
        if count == 2:
            requeue(db)
        r = run_workers(count, env, sink, args.messages)
        ok = r["received"] == r["unique"] == args.messages
        print(f"  {count} worker(s): {r['rate_sink']:7.0f} msg/s at the sink, "
              f"{r['rate_wall']:7.0f} msg/s wall ({r['wall_s']:.1f} s incl. start-up); "
              f"received {r['received']}, unique {r['unique']} -> "
              f"{'each exactly once' if ok else 'MISMATCH'}; {r['per_worker']}")
    controller.stop()
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
