"""Load test of the REST API: N concurrent clients each creating a booking and approving it.

Starts uvicorn (api.main:app) on a free 127.0.0.1 port against a PostgreSQL database of its
own (recreated each run), seeds one member and one resource per client plus a staff user,
then runs the clients for a bounded number of iterations and seconds. Prints p50/p95/p99
latency per operation and the error rate, and writes them as JSON under bench/results/.

    .venv/bin/python bench/load_api.py --clients 32 --iterations 40 --duration 120
    .venv/bin/python bench/load_api.py --zones 2     # approvals queue on two zone locks

Rate limits are turned off for the server under test (they would measure the limiter, not
the API); bcrypt uses 4 rounds so sign-in does not dominate the setup.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent

from engine import migrate  # noqa: E402
from engine.bootstrap import create_first_admin  # noqa: E402
from engine.config import Settings  # noqa: E402
from engine.db import Database  # noqa: E402
from engine.domain.permissions import Role  # noqa: E402
from engine.services import resources as resource_services  # noqa: E402
from engine.services import users as user_services  # noqa: E402

PASSWORD = "bench-password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fresh_database(admin_url: str, name: str) -> str:
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    migrate.upgrade(url)
    return url


def seed(url: str, clients: int, zones: int) -> tuple[list[str], list[str], str]:
    """Members and resources, one each per client, and a staff user. With `zones`, the
    resources are dealt round-robin into that many safety zones, so approvals queue on the
    zone locks (windows stay unique, so they still never conflict)."""
    db = Database(url, settings=Settings(DATABASE_URL=url))
    admin = create_first_admin(db, email="bench-admin@bench.example", name="Bench Admin",
                               password=PASSWORD, hash_rounds=4)
    staff = user_services.register_user(db.uow(), email="bench-staff@bench.example",
                                        name="Bench Staff", password=PASSWORD,
                                        role=Role.STAFF, actor_id=admin.id, hash_rounds=4)
    zone_ids = [resource_services.create_zone(db.uow(), admin.id, name=f"Bench Zone {z}").id
                for z in range(zones)]
    members, resources = [], []
    for i in range(clients):
        m = user_services.register_user(db.uow(), email=f"member{i}@bench.example",
                                        name=f"Member {i}", password=PASSWORD,
                                        actor_id=admin.id, hash_rounds=4)
        r = resource_services.create_resource(
            db.uow(), admin.id, name=f"Bench Bay {i}", resource_type="bay",
            safety_zone_id=zone_ids[i % zones] if zones else None)
        members.append(m.email)
        resources.append(str(r.id))
    db.dispose()
    return members, resources, staff.email


def start_server(url: str, port: int, workers: int) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": url, "JWT_SECRET_KEY": "bench-secret-" + "x" * 32,
           "API_RATE_LIMIT_PER_IP": "0", "API_RATE_LIMIT_PER_USER": "0",
           "API_BCRYPT_ROUNDS": "4", "LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1", "--port",
         str(port), "--workers", str(workers), "--log-level", "warning", "--no-access-log"],
        cwd=ROOT, env=env, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"uvicorn exited with {proc.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    stop_server(proc)
    raise SystemExit("uvicorn did not become healthy within 60 s")


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def token(base: str, email: str) -> str:
    r = httpx.post(f"{base}/api/v1/auth/login", data={"username": email, "password": PASSWORD},
                   timeout=30)
    r.raise_for_status()
    return r.json()["access_token"]


class Results:
    def __init__(self):
        self.lock = threading.Lock()
        self.latency = defaultdict(list)   # op -> [seconds]
        self.status = defaultdict(lambda: defaultdict(int))  # op -> code -> count

    def add(self, op: str, seconds: float, code: int) -> None:
        with self.lock:
            self.latency[op].append(seconds)
            self.status[op][code] += 1


def client_loop(base: str, member_token: str, staff_token: str, resource_id: str, index: int,
                clients: int, iterations: int, stop_at: float, start_gate: threading.Barrier,
                results: Results) -> None:
    """create + approve, `iterations` times or until `stop_at`; each window is unique."""
    base_start = (datetime.now(timezone.utc) + timedelta(days=2)).replace(second=0, microsecond=0)
    member = {"Authorization": f"Bearer {member_token}"}
    staff = {"Authorization": f"Bearer {staff_token}"}
    with httpx.Client(base_url=base, timeout=60) as http:
        start_gate.wait()
        for i in range(iterations):
            if time.monotonic() >= stop_at:
                break
            start = base_start + timedelta(minutes=30 * (i * clients + index))  # unique
            body = {"resource_id": resource_id, "start_time": start.isoformat(),
                    "end_time": (start + timedelta(minutes=30)).isoformat(),
                    "purpose": f"Bench session {index}-{i}", "priority": 1}
            t0 = time.perf_counter()
            try:
                r = http.post("/api/v1/bookings", json=body, headers=member)
                code = r.status_code
            except httpx.HTTPError:
                code = 0
            results.add("create", time.perf_counter() - t0, code)
            if code != 201:
                continue
            t0 = time.perf_counter()
            try:
                a = http.post(f"/api/v1/bookings/{r.json()['id']}/approve",
                              json={"force_override": False}, headers=staff)
                code = a.status_code
            except httpx.HTTPError:
                code = 0
            results.add("approve", time.perf_counter() - t0, code)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def summarize(results: Results, wall: float, ok_codes: dict[str, int]) -> dict:
    out = {"wall_seconds": round(wall, 2), "operations": {}}
    total = errors = 0
    for op, values in results.latency.items():
        codes = dict(results.status[op])
        bad = sum(n for c, n in codes.items() if c != ok_codes[op])
        total += len(values)
        errors += bad
        out["operations"][op] = {
            "count": len(values), "errors": bad, "status_codes": {str(k): v for k, v in codes.items()},
            "p50_ms": round(percentile(values, 50) * 1000, 1),
            "p95_ms": round(percentile(values, 95) * 1000, 1),
            "p99_ms": round(percentile(values, 99) * 1000, 1),
            "mean_ms": round(statistics.fmean(values) * 1000, 1),
            "max_ms": round(max(values) * 1000, 1),
            "per_second": round(len(values) / wall, 1),
        }
    out["requests"] = total
    out["error_rate"] = round(errors / total, 4) if total else None
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--iterations", type=int, default=40, help="create+approve per client")
    parser.add_argument("--duration", type=float, default=120, help="stop after this many seconds")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--zones", type=int, default=0,
                        help="share the resources among this many safety zones (lock contention)")
    parser.add_argument("--database", default="rc_bench_api")
    parser.add_argument("--admin-url", default=os.environ.get(
        "TEST_POSTGRES_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--keep-database", action="store_true")
    args = parser.parse_args(argv)
    if args.clients * args.iterations * 30 > 360 * 24 * 60:
        parser.error("clients x iterations half-hour windows must fit in the 366-day booking horizon")

    url = fresh_database(args.admin_url, args.database)
    members, resources, staff_email = seed(url, args.clients, args.zones)
    port = free_port()
    server = start_server(url, port, args.workers)
    base = f"http://127.0.0.1:{port}"
    try:
        staff_token = token(base, staff_email)
        member_tokens = [token(base, m) for m in members]
        results = Results()
        gate = threading.Barrier(args.clients + 1)
        stop_at = time.monotonic() + args.duration
        threads = [threading.Thread(target=client_loop, args=(
            base, member_tokens[i], staff_token, resources[i], i, args.clients, args.iterations,
            stop_at, gate, results), daemon=True) for i in range(args.clients)]
        for t in threads:
            t.start()
        gate.wait()
        t0 = time.perf_counter()
        for t in threads:
            t.join(timeout=args.duration + 120)
        wall = time.perf_counter() - t0
    finally:
        stop_server(server)
        if not args.keep_database:
            engine = create_engine(args.admin_url, isolation_level="AUTOCOMMIT")
            with engine.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)'))
            engine.dispose()

    summary = summarize(results, wall, {"create": 201, "approve": 200})
    summary.update({"clients": args.clients, "iterations": args.iterations,
                    "workers": args.workers, "zones": args.zones, "database": "postgresql",
                    "cpus": os.cpu_count(), "when": datetime.now(timezone.utc).isoformat()})
    print(f"{args.clients} clients, {args.workers} uvicorn workers, {args.zones} safety zones, "
          "PostgreSQL, "
          f"{summary['requests']} requests in {summary['wall_seconds']} s")
    print(f"{'op':<8} {'count':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8} "
          f"{'req/s':>7} {'errors':>6}")
    for op, s in summary["operations"].items():
        print(f"{op:<8} {s['count']:>6} {s['p50_ms']:>8} {s['p95_ms']:>8} {s['p99_ms']:>8} "
              f"{s['max_ms']:>8} {s['per_second']:>7} {s['errors']:>6}")
    print(f"error rate: {summary['error_rate']:.2%}")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "load_api.json").write_text(json.dumps(summary, indent=2))
    return 0 if summary["error_rate"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
