"""One limit for every replica: the counters live in PostgreSQL or Redis, not in a process."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import create_engine, text

from api.ratelimit import PostgresCounters, RedisCounters, StoreUnavailable
from tests.api.test_uvicorn import ROOT, _free_port
from tests.conftest import REQUIRE_PG, _truncate_pg
from tests.integration.test_runtime_role import runtime_url  # noqa: F401 - a fixture

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
WINDOW = 3600


@pytest.fixture
def redis_url() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        if REQUIRE_PG:  # CI: .ci/run starts Redis, so a missing one is a failure
            pytest.fail(f"Redis is required here but unreachable: {exc}")
        pytest.skip(f"Redis unreachable: {exc}")
    return REDIS_URL


def _settle_in_one_window() -> None:
    """Fixed windows: do not start a counting test in the last minute of a window."""
    left = WINDOW - time.time() % WINDOW
    if left < 60:
        time.sleep(left + 0.5)


def _count_concurrently(store, n: int = 200) -> list[int]:
    key = f"race:{uuid.uuid4().hex}"
    with ThreadPoolExecutor(16) as pool:
        return sorted(pool.map(lambda _: store.hit([key], WINDOW)[0], range(n)))


def test_postgresql_counters_never_lose_a_concurrent_hit(pg_database_url):
    _settle_in_one_window()
    engine = create_engine(pg_database_url, pool_size=16)
    try:
        assert _count_concurrently(PostgresCounters(engine)) == list(range(1, 201))
    finally:
        engine.dispose()


def test_the_least_privilege_runtime_role_can_count_and_purge(runtime_url):  # noqa: F811
    engine = create_engine(runtime_url)
    try:
        store = PostgresCounters(engine, clock=lambda: 7200.0, purge_every=0)
        key = f"role:{uuid.uuid4().hex}"
        assert store.hit([key, "other"], 60) == [1, 1]
        assert store.hit([key], 60) == [2]  # upsert and purge both ran as the runtime role
    finally:
        engine.dispose()


def test_postgresql_store_answers_unavailable_once_its_connection_dies_then_reconnects(
        pg_database_url):
    """The store keeps one connection of its own: a killed one is a 503 (StoreUnavailable) for
    that request, never a pass, and the next request counts on a fresh connection."""
    engine = create_engine(pg_database_url)
    store = PostgresCounters(engine, purge_every=3600)
    try:
        key = f"kill:{uuid.uuid4().hex}"
        assert store.hit([key], WINDOW) == [1]
        pid = store._conn.info.backend_pid
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with pytest.raises(StoreUnavailable):
            store.hit([key], WINDOW)
        assert store.hit([key], WINDOW) == [2]  # the lost request was not counted
        assert store._conn.info.backend_pid != pid
    finally:
        store.close()
        engine.dispose()


def test_redis_counters_never_lose_a_concurrent_hit(redis_url):
    _settle_in_one_window()
    store = RedisCounters(redis_url, prefix=f"rc-test:{uuid.uuid4().hex}:")
    assert _count_concurrently(store) == list(range(1, 201))


def _start_api(env: dict) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "api.main:app", "--host",
                             "127.0.0.1", "--port", str(port), "--no-access-log",
                             "--no-proxy-headers"],
                            cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return proc, f"http://127.0.0.1:{port}"


def _wait_healthy(proc: subprocess.Popen, base: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "uvicorn did not start in 30 s"
        time.sleep(0.2)


@pytest.mark.e2e
@pytest.mark.parametrize("backend", ["postgresql", "redis", "memory"])
def test_two_api_processes_on_one_database_share_one_limit(backend, pg_database_url, request):
    """`memory` is the control: per-process counters let each replica spend the whole limit."""
    _truncate_pg(pg_database_url)
    env = {**os.environ, "DATABASE_URL": pg_database_url, "JWT_SECRET_KEY": "e2e-" + "k" * 40,
           "API_BCRYPT_ROUNDS": "4", "LOG_LEVEL": "WARNING", "API_RATE_LIMIT_PER_IP": "10",
           "API_RATE_LIMIT_PER_USER": "0", "API_RATE_LIMIT_WINDOW_SECONDS": str(WINDOW),
           "API_AUTH_RATE_LIMIT_PER_ACCOUNT": "3", "API_AUTH_RATE_LIMIT_PER_IP": "0",
           "API_AUTH_RATE_LIMIT_WINDOW_SECONDS": str(WINDOW), "API_RATE_LIMIT_BACKEND": backend}
    env.pop("TRUSTED_PROXIES", None)
    env.pop("REDIS_URL", None)
    if backend == "redis":
        env.update(REDIS_URL=request.getfixturevalue("redis_url"),
                   API_RATE_LIMIT_REDIS_PREFIX=f"rc-test:{uuid.uuid4().hex}:")
    _settle_in_one_window()
    procs = [_start_api(env) for _ in range(2)]
    try:
        for proc, base in procs:
            _wait_healthy(proc, base)
        bases = [base for _, base in procs]
        # Sign-in attempts for one account, alternating replicas: 3 in the window in all.
        logins = [httpx.post(f"{bases[i % 2]}/api/v1/auth/login", timeout=10,
                             data={"username": "victim@x.example", "password": f"guess-{i}"}
                             ).status_code for i in range(4)]
        # Then anonymous reads, alternating replicas, each with a new forged X-Forwarded-For.
        answers: dict[str, list[int]] = {base: [] for base in bases}
        for i in range(20):
            base = bases[i % 2]
            r = httpx.get(f"{base}/api/v1/bookings",
                          headers={"X-Forwarded-For": f"198.51.100.{i}"}, timeout=10)
            answers[base].append(r.status_code)
        every = [code for codes in answers.values() for code in codes]
        if backend == "memory":  # each process counts alone: 2 x 3 sign-ins, 2 x 10 requests
            assert logins == [401] * 4
            assert every.count(401) == 16, answers
            return
        assert logins == [401, 401, 401, 429]
        # 10 requests from this address in the window across both replicas: 4 sign-ins + 6.
        assert every.count(401) == 6 and every.count(429) == 14, answers
        assert all(429 in codes for codes in answers.values())  # both replicas refuse
    finally:
        for proc, _ in procs:
            os.killpg(proc.pid, signal.SIGTERM)
        for proc, _ in procs:
            proc.wait(timeout=20)
