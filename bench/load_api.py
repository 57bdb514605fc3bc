"""Load test of the REST API: N concurrent clients each creating a booking and approving it,
against one API process and against two (replicas) on the same PostgreSQL database.

For each process count in --processes, recreates a PostgreSQL database of its own, seeds one
member and one resource per client plus a staff user, starts that many uvicorn processes
(api.main:app, each on a free 127.0.0.1 port, each with --workers workers), deals the clients
round-robin over them (what a load balancer does), and runs the clients for a bounded number
of iterations and seconds. Prints create+approve pairs per second, p50/p95/p99 latency per
operation, the error rate and the servers' CPU time per request, and writes them as JSON
under bench/results/.

    .venv/bin/python bench/load_api.py --clients 32 --iterations 40 --duration 120
    .venv/bin/python bench/load_api.py --processes 1,2 --workers 1 --clients 32 --duration 60
    .venv/bin/python bench/load_api.py --zones 2     # approvals queue on two zone locks
    .venv/bin/python bench/load_api.py --processes 1,2 --notify-workers 2   # plus e-mail workers

With --notify-workers N, N `python -m engine notify` processes send the outbox the load fills
(request and approval e-mails) to an SMTP sink in this process (aiosmtpd on 127.0.0.1); the
report adds messages enqueued and delivered, Message-IDs delivered twice, and how long the
workers took to drain the outbox after the clients stopped.

With --phases (e.g. `create,approve,list`), each client count in --clients (e.g. `1,32`) gets
a fresh database and one API process, and the operations are measured one phase at a time:
every client creates --iterations bookings, then approves them (as staff), then reads its
bookings list page (GET /bookings, --page-size rows, the member's own bookings) --iterations
times; `pairs` is the create+approve loop above. Each phase reports its requests per second,
p50/p95/p99, errors, and the server's user+system CPU per request over that phase alone (the
uvicorn processes' /proc counters read before and after it). A short unmeasured warm-up
(create, approve, list) runs first. --app-root A,B runs the same phases against other
checkouts of the project (e.g. an older commit unpacked in /tmp), each phase against every
checkout in turn, back to back, for a before/after in one run:

    PYTHONPATH=. .venv/bin/python bench/load_api.py --phases create,approve,list,pairs \
        --clients 1,32 --iterations 60 --workers 1 --limiter postgresql --app-root /tmp/base,.

Rate limits: with --limiter postgresql (default) or redis the servers count every request in
the shared store, as replicas in production do, with limits too high to trip; `off` measures
the API alone. bcrypt uses 4 rounds so sign-in does not dominate the setup.
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
from datetime import UTC, datetime, timedelta
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


def start_server(url: str, port: int, workers: int, limiter: str = "off",
                 redis_url: str | None = None, root: Path = ROOT) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(root), "DATABASE_URL": url,
           "JWT_SECRET_KEY": "bench-secret-" + "x" * 32, "API_BCRYPT_ROUNDS": "4",
           "LOG_LEVEL": "WARNING"}
    env.pop("REDIS_URL", None)
    if limiter == "off":
        env.update(API_RATE_LIMIT_PER_IP="0", API_RATE_LIMIT_PER_USER="0",
                   API_AUTH_RATE_LIMIT_PER_IP="0", API_AUTH_RATE_LIMIT_PER_ACCOUNT="0")
    else:  # counted in the shared store on every request, never tripped
        env.update(API_RATE_LIMIT_PER_IP="10000000", API_RATE_LIMIT_PER_USER="10000000",
                   API_AUTH_RATE_LIMIT_PER_IP="100000", API_AUTH_RATE_LIMIT_PER_ACCOUNT="100000",
                   API_RATE_LIMIT_BACKEND=limiter,
                   API_RATE_LIMIT_REDIS_PREFIX=f"rc-bench:{os.getpid()}:{port}:")
        if limiter == "redis":
            env["REDIS_URL"] = redis_url or "redis://127.0.0.1:6379/0"
    # A checkout whose requirements do not install uvicorn's C parser and loop is served the
    # way it would be deployed: with h11 and asyncio, even though this venv has both.
    standard = "httptools" in (root / "requirements.txt").read_text()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1", "--port",
         str(port), "--workers", str(workers), "--log-level", "warning", "--no-access-log",
         "--no-proxy-headers", *(() if standard else ("--http", "h11", "--loop", "asyncio"))],
        cwd=root, env=env, start_new_session=True)
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


def cpu_seconds(proc: subprocess.Popen) -> float:
    """User+system CPU of every process in the server's process group (uvicorn and its
    workers), from /proc; 0 where /proc is missing."""
    return sum(cpu_split(proc))


def cpu_split(proc: subprocess.Popen) -> tuple[float, float]:
    """(user, system) CPU seconds of the server's process group, as `cpu_seconds`."""
    tick = os.sysconf("SC_CLK_TCK")
    user = system = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == proc.pid:  # field 5 (pgrp): the session leader's group
            user += int(fields[11])
            system += int(fields[12])
    return user / tick, system / tick


class SmtpSink:
    """Accepts every message on a free 127.0.0.1 port and counts Message-IDs."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.port = free_port()
        self.lock = threading.Lock()
        self.message_ids: list[str] = []
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):
        content = envelope.content.decode("utf-8", "replace")
        mid = next((line.split(":", 1)[1].strip() for line in content.splitlines()
                    if line.lower().startswith("message-id:")), "")
        with self.lock:
            self.message_ids.append(mid)
        return "250 OK"


def start_notify_worker(url: str, smtp_port: int, index: int) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": url, "SMTP_HOST": "127.0.0.1",
           "SMTP_PORT": str(smtp_port), "SMTP_STARTTLS": "false",
           "SMTP_FROM": "bench@range.example", "LOG_LEVEL": "WARNING"}
    return subprocess.Popen([sys.executable, "-m", "engine", "notify", "--worker-id",
                             f"bench-{index}"], cwd=ROOT, env=env, start_new_session=True)


def outbox_counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return dict(conn.execute(text(
                "SELECT status, count(*) FROM notification_outbox GROUP BY status")).all())
    finally:
        engine.dispose()


def drain(url: str, timeout: float) -> float | None:
    """Seconds until no outbox row is pending (None if `timeout` passed first)."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if not outbox_counts(url).get("pending"):
            return time.perf_counter() - t0
        time.sleep(0.5)
    return None


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
    base_start = (datetime.now(UTC) + timedelta(days=2)).replace(second=0, microsecond=0)
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
            "count": len(values), "errors": bad,
            "status_codes": {str(k): v for k, v in codes.items()},
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


def run_once(args, processes: int) -> dict:
    """One configuration: a fresh database, `processes` API servers, the clients dealt over them."""
    url = fresh_database(args.admin_url, args.database)
    members, resources, staff_email = seed(url, args.clients, args.zones)
    servers, bases, workers, sink, drained = [], [], [], None, None
    try:
        if args.notify_workers:
            sink = SmtpSink()
            sink.controller.start()
            workers = [start_notify_worker(url, sink.port, i) for i in range(args.notify_workers)]
        for _ in range(processes):
            port = free_port()
            servers.append(start_server(url, port, args.workers, args.limiter, args.redis_url))
            bases.append(f"http://127.0.0.1:{port}")
        staff_tokens = [token(base, staff_email) for base in bases]
        member_tokens = [token(bases[i % processes], m) for i, m in enumerate(members)]
        results = Results()
        gate = threading.Barrier(args.clients + 1)
        stop_at = time.monotonic() + args.duration
        threads = [threading.Thread(target=client_loop, args=(
            bases[i % processes], member_tokens[i], staff_tokens[i % processes], resources[i],
            i, args.clients, args.iterations, stop_at, gate, results), daemon=True)
            for i in range(args.clients)]
        for t in threads:
            t.start()
        cpu_before = sum(cpu_seconds(p) for p in servers)
        gate.wait()
        t0 = time.perf_counter()
        for t in threads:
            t.join(timeout=args.duration + 120)
        wall = time.perf_counter() - t0
        cpu = sum(cpu_seconds(p) for p in servers) - cpu_before
        if workers:
            drained = drain(url, args.drain_timeout)
            outbox = outbox_counts(url)
    finally:
        for server in [*servers, *workers]:
            stop_server(server)
        if sink is not None:
            sink.controller.stop()
        if not args.keep_database:
            engine = create_engine(args.admin_url, isolation_level="AUTOCOMMIT")
            with engine.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)'))
            engine.dispose()

    summary = summarize(results, wall, {"create": 201, "approve": 200})
    approved = results.status["approve"].get(200, 0)
    summary.update({"processes": processes, "pairs": approved,
                    "pairs_per_second": round(approved / wall, 1) if wall else None,
                    "server_cpu_seconds": round(cpu, 2),
                    "server_cpu_ms_per_request": (round(cpu * 1000 / summary["requests"], 2)
                                                  if summary["requests"] else None)})
    if workers:
        ids = sink.message_ids
        summary["notify"] = {
            "workers": len(workers), "outbox": outbox, "delivered": len(ids),
            "delivered_twice": len(ids) - len(set(ids)),
            "drain_seconds_after_load": round(drained, 1) if drained is not None else None}
    return summary


def print_summary(args, s: dict) -> None:
    print(f"\n{s['processes']} API process(es) x {args.workers} worker(s), {args.clients} clients, "
          f"limiter {args.limiter}, {args.zones} safety zones, PostgreSQL: "
          f"{s['requests']} requests in {s['wall_seconds']} s, "
          f"{s['pairs_per_second']} create+approve pairs/s, "
          f"server CPU {s['server_cpu_ms_per_request']} ms/request")
    print(f"{'op':<8} {'count':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8} "
          f"{'req/s':>7} {'errors':>6}")
    for op, o in s["operations"].items():
        print(f"{op:<8} {o['count']:>6} {o['p50_ms']:>8} {o['p95_ms']:>8} {o['p99_ms']:>8} "
              f"{o['max_ms']:>8} {o['per_second']:>7} {o['errors']:>6}")
    print(f"error rate: {s['error_rate']:.2%}")
    if "notify" in s:
        n = s["notify"]
        print(f"notify: {n['workers']} workers, outbox {n['outbox']}, {n['delivered']} delivered "
              f"({n['delivered_twice']} twice), drained {n['drain_seconds_after_load']} s "
              "after the clients stopped")


PHASE_OK = {"create": 201, "approve": 200, "list": 200}


class Client:
    """One simulated client of the phase mode: its member token, its resource and the bookings
    it created (approved in the approve phase). Windows stay unique across phases and clients:
    the k-th booking of client `index` starts 30 * (k * clients + index) minutes after
    `base_start`."""

    def __init__(self, index: int, clients: int, member_token: str, staff_token: str,
                 resource_id: str, base_start: datetime):
        self.index, self.clients, self.resource_id = index, clients, resource_id
        self.member = {"Authorization": f"Bearer {member_token}"}
        self.staff = {"Authorization": f"Bearer {staff_token}"}
        self.base_start = base_start
        self.made = 0
        self.created: list[str] = []

    def create(self, http: httpx.Client, results: Results, op: str = "create") -> str | None:
        start = self.base_start + timedelta(minutes=30 * (self.made * self.clients + self.index))
        self.made += 1
        body = {"resource_id": self.resource_id, "start_time": start.isoformat(),
                "end_time": (start + timedelta(minutes=30)).isoformat(),
                "purpose": f"Bench session {self.index}-{self.made}", "priority": 1}
        t0 = time.perf_counter()
        try:
            r = http.post("/api/v1/bookings", json=body, headers=self.member)
            code = r.status_code
        except httpx.HTTPError:
            code = 0
        results.add(op, time.perf_counter() - t0, code)
        return r.json()["id"] if code == 201 else None

    def approve(self, http: httpx.Client, results: Results, booking_id: str,
                op: str = "approve") -> None:
        t0 = time.perf_counter()
        try:
            code = http.post(f"/api/v1/bookings/{booking_id}/approve",
                             json={"force_override": False}, headers=self.staff).status_code
        except httpx.HTTPError:
            code = 0
        results.add(op, time.perf_counter() - t0, code)

    def list_page(self, http: httpx.Client, results: Results, page_size: int) -> None:
        t0 = time.perf_counter()
        try:
            r = http.get("/api/v1/bookings", params={"page_size": page_size},
                         headers=self.member)
            code = r.status_code if r.status_code != 200 or r.json()["items"] else -1
        except httpx.HTTPError:
            code = 0
        results.add("list", time.perf_counter() - t0, code)


def client_phase(client: Client, base: str, phase: str, args, gate: threading.Barrier,
                 results: Results) -> None:
    with httpx.Client(base_url=base, timeout=60) as http:
        http.get("/health")  # the connection is open before the clock starts
        gate.wait()
        if phase == "create":
            for _ in range(args.iterations):
                if (booking_id := client.create(http, results)) is not None:
                    client.created.append(booking_id)
        elif phase == "approve":
            for booking_id in client.created:
                client.approve(http, results, booking_id)
            client.created.clear()
        elif phase == "list":
            for _ in range(args.iterations):
                client.list_page(http, results, args.page_size)
        elif phase == "pairs":
            for _ in range(args.iterations):
                if (booking_id := client.create(http, results)) is not None:
                    client.approve(http, results, booking_id)
        elif phase == "warmup":
            for _ in range(3):
                if (booking_id := client.create(http, results)) is not None:
                    client.approve(http, results, booking_id)
                client.list_page(http, results, args.page_size)


def start_profiler(server: subprocess.Popen, out: Path, rate: int = 250) -> subprocess.Popen:
    """py-spy sampling the server's Python threads that hold the GIL (its CPU, not its waits),
    as collapsed stacks; stopped with SIGINT, when it writes `out`."""
    py_spy = Path(sys.executable).with_name("py-spy")
    return subprocess.Popen([str(py_spy) if py_spy.exists() else "py-spy", "record", "--pid",
                             str(server.pid), "--gil", "--nonblocking", "--rate", str(rate),
                             "--format", "raw", "-o", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run_phase(clients: list[Client], base: str, server: subprocess.Popen, phase: str,
              args, profile: Path | None = None) -> dict:
    results = Results()
    gate = threading.Barrier(len(clients) + 1)
    threads = [threading.Thread(target=client_phase, args=(c, base, phase, args, gate, results),
                                daemon=True) for c in clients]
    for t in threads:
        t.start()
    profiler = start_profiler(server, profile, args.profile_rate) if profile else None
    time.sleep(1.0 if profile else 0.5)  # every client's connection open, outside the figures
    load_before = os.getloadavg()[0]
    gate.wait()  # every client has had its /health answer: that work is outside the figures
    user_before, system_before = cpu_split(server)
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    user_after, system_after = cpu_split(server)
    user, system = user_after - user_before, system_after - system_before
    cpu = user + system
    if profiler is not None:
        profiler.send_signal(signal.SIGINT)
        profiler.wait(timeout=60)
    summary = summarize(results, wall, PHASE_OK)
    summary.update({"phase": phase, "server_cpu_seconds": round(cpu, 2),
                    "server_cpu_ms_per_request": (round(cpu * 1000 / summary["requests"], 2)
                                                  if summary["requests"] else None),
                    "server_system_cpu_share": round(system / cpu, 2) if cpu else None,
                    "load_average": [load_before, os.getloadavg()[0]]})
    if phase == "pairs":
        approved = results.status["approve"].get(200, 0)
        summary["pairs_per_second"] = round(approved / wall, 1) if wall else None
    return summary


def run_phases(args, roots: list[Path], clients: int) -> list[dict]:
    """A fresh database and one API process per checkout in `roots`, all started first; then
    each phase runs against every checkout in turn, back to back, so a shared machine's load
    drifts over the pair of measurements, not between them."""
    runs, servers, databases = [], [], []
    try:
        for i, root in enumerate(roots):
            name = f"{args.database}_{i}" if len(roots) > 1 else args.database
            databases.append(name)
            url = fresh_database(args.admin_url, name)
            members, resources, staff_email = seed(url, clients, args.zones)
            port = free_port()
            servers.append(start_server(url, port, args.workers, args.limiter, args.redis_url,
                                        root))
            base = f"http://127.0.0.1:{port}"
            staff_token = token(base, staff_email)
            base_start = (datetime.now(UTC) + timedelta(days=2)).replace(
                second=0, microsecond=0)
            cs = [Client(j, clients, token(base, m), staff_token, resources[j], base_start)
                  for j, m in enumerate(members)]
            runs.append({"app_root": str(root), "clients": clients, "phases": {},
                         "_base": base, "_clients": cs})
            run_phase(cs[:1], base, servers[-1], "warmup", args)
        for phase in args.phases:
            for run, server in zip(runs, servers, strict=True):
                profile = (Path(args.profile_dir) / f"{Path(run['app_root']).name}-{clients}-"
                           f"{phase}.txt" if args.profile_dir else None)
                run["phases"][phase] = run_phase(run["_clients"], run["_base"], server, phase,
                                                 args, profile)
    finally:
        for server in servers:
            stop_server(server)
        if not args.keep_database:
            engine = create_engine(args.admin_url, isolation_level="AUTOCOMMIT")
            with engine.connect() as conn:
                for name in databases:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            engine.dispose()
    for run in runs:
        del run["_base"], run["_clients"]
    return runs


def print_phases(args, run: dict) -> None:
    print(f"\n{run['app_root']}: {run['clients']} client(s), 1 API process x {args.workers} "
          f"worker(s), limiter {args.limiter}, list page_size {args.page_size}")
    print(f"{'phase':<8} {'op':<8} {'count':>6} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} "
          f"{'p99 ms':>8} {'errors':>6} {'CPU ms/req':>10} {'sys':>4} {'load':>10}")
    for phase, s in run["phases"].items():
        for op, o in s["operations"].items():
            print(f"{phase:<8} {op:<8} {o['count']:>6} {o['per_second']:>7} {o['p50_ms']:>8} "
                  f"{o['p95_ms']:>8} {o['p99_ms']:>8} {o['errors']:>6} "
                  f"{s['server_cpu_ms_per_request']:>10} {s['server_system_cpu_share']:>4} "
                  f"{s['load_average'][0]:>4.1f}-{s['load_average'][1]:<4.1f}")
        if phase == "pairs":
            print(f"{'':<8} pairs/s {s['pairs_per_second']}")


def main_phases(args) -> int:
    roots = [Path(r).resolve() for r in args.app_root.split(",") if r.strip()]
    counts = [int(n) for n in args.clients.split(",") if n.strip()]
    runs = []
    for clients in counts:
        for run in run_phases(args, roots, clients):
            run.update({"workers": args.workers, "limiter": args.limiter, "zones": args.zones,
                        "iterations": args.iterations, "page_size": args.page_size,
                        "cpus": os.cpu_count(), "when": datetime.now(UTC).isoformat()})
            print_phases(args, run)
            runs.append(run)
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "load_api_phases.json").write_text(json.dumps(runs, indent=2))
    return 0 if all(s["error_rate"] == 0 for r in runs for s in r["phases"].values()) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", default="32",
                        help="concurrent clients; with --phases a comma-separated list, e.g. 1,32")
    parser.add_argument("--iterations", type=int, default=40, help="create+approve per client")
    parser.add_argument("--duration", type=float, default=120, help="stop after this many seconds")
    parser.add_argument("--processes", default="1",
                        help="comma-separated API process counts to measure, e.g. 1,2")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers per process")
    parser.add_argument("--limiter", choices=["off", "postgresql", "redis"], default="postgresql",
                        help="where the servers count rate limits (never tripped)")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL"))
    parser.add_argument("--notify-workers", type=int, default=0,
                        help="e-mail workers (python -m engine notify) running during the load")
    parser.add_argument("--drain-timeout", type=float, default=120,
                        help="seconds to wait for the workers to empty the outbox")
    parser.add_argument("--zones", type=int, default=0,
                        help="share the resources among this many safety zones (lock contention)")
    parser.add_argument("--database", default="rc_bench_api")
    parser.add_argument("--admin-url", default=os.environ.get(
        "TEST_POSTGRES_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--keep-database", action="store_true")
    parser.add_argument("--phases", type=lambda v: [p for p in v.split(",") if p],
                        help="measure these phases one at a time: create, approve, list, pairs")
    parser.add_argument("--page-size", type=int, default=50, help="rows per list page (--phases)")
    parser.add_argument("--app-root", default=str(ROOT),
                        help="comma-separated project checkouts to serve the API from (--phases)")
    parser.add_argument("--profile-rate", type=int, default=250,
                        help="py-spy samples per second (--profile-dir)")
    parser.add_argument("--profile-dir", help="py-spy each phase's server into this directory "
                        "(collapsed stacks; its sampling slows the server: not for figures)")
    args = parser.parse_args(argv)
    if args.profile_dir:
        Path(args.profile_dir).mkdir(parents=True, exist_ok=True)
    if args.phases:
        unknown = set(args.phases) - {"create", "approve", "list", "pairs"}
        if unknown:
            parser.error(f"unknown phases: {', '.join(sorted(unknown))}")
        most = max(int(n) for n in args.clients.split(","))
        if most * (args.iterations * 2 + 3) * 30 > 360 * 24 * 60:
            parser.error("clients x bookings half-hour windows must fit in the booking horizon")
        return main_phases(args)
    args.clients = int(args.clients)
    if args.clients * args.iterations * 30 > 360 * 24 * 60:
        parser.error("clients x iterations half-hour windows must fit in the 366-day "
                     "booking horizon")
    counts = [int(n) for n in args.processes.split(",") if n.strip()]

    runs = []
    for processes in counts:
        summary = run_once(args, processes)
        summary.update({"clients": args.clients, "iterations": args.iterations,
                        "notify_workers": args.notify_workers,
                        "workers": args.workers, "limiter": args.limiter, "zones": args.zones,
                        "database": "postgresql", "cpus": os.cpu_count(),
                        "load_average": os.getloadavg()[0],
                        "when": datetime.now(UTC).isoformat()})
        print_summary(args, summary)
        runs.append(summary)
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "load_api.json").write_text(json.dumps(runs if len(runs) > 1 else runs[0], indent=2))
    return 0 if all(r["error_rate"] == 0 and r.get("notify", {}).get("outbox", {}).get("pending", 0)
                    == 0 for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
