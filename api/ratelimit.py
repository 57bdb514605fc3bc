"""Rate limits counted where every API replica sees them: fixed windows in PostgreSQL (one
atomic upsert per request), in Redis when REDIS_URL is set, or in process memory (SQLite
development, one process).

The general limit (per client IP and per signed-in user) is ASGI middleware; the stricter
sign-in/registration limit (per IP, and per account name from one IP) is `auth_throttle`,
called by those routes once the form has been read. A store that cannot be reached answers
503, not a pass: a limit that silently disappears while PostgreSQL or Redis hiccups is no
limit.
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import anyio
from sqlalchemy.engine import Engine
from starlette.requests import Request

from api.config import ApiSettings
from api.tokens import TokenIssuer

log = logging.getLogger("range_control.api.ratelimit")
Clock = Callable[[], float]


class RateLimited(Exception):
    """The caller spent a limit; `retry_after` seconds until its window ends."""

    def __init__(self, retry_after: float, what: str = "rate limit exceeded"):
        super().__init__(what)
        self.retry_after = max(1, math.ceil(retry_after))
        self.what = what


class StoreUnavailable(Exception):
    """The shared counter store (PostgreSQL or Redis) did not answer."""


class CounterStore(Protocol):
    name: str

    def hit(self, keys: Sequence[str], window: int) -> list[int]:
        """Count one request against each key in the current `window`-second window and
        return each key's count so far (this request included), atomically per key."""


def window_start(now: float, window: int) -> int:
    return int(now // window) * window


class MemoryCounters:
    """One process's counters: correct only while a single process serves the API."""

    name = "memory"

    def __init__(self, clock: Clock = time.time, max_keys: int = 100_000):
        self.clock = clock
        self.max_keys = max_keys
        self._counts: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()

    def hit(self, keys: Sequence[str], window: int) -> list[int]:
        start = window_start(self.clock(), window)
        with self._lock:
            if len(self._counts) > self.max_keys:
                self._counts = {k: n for k, n in self._counts.items() if k[1] >= start}
            out = []
            for key in keys:
                n = self._counts.get((key, start), 0) + 1
                self._counts[(key, start)] = n
                out.append(n)
            return out


class PostgresCounters:
    """`rate_limit_counters` (an UNLOGGED table): INSERT ... ON CONFLICT DO UPDATE ... RETURNING
    bumps every key of a request in one statement, so concurrent replicas never lose a count.

    The store keeps one autocommit connection of its own (opened from the engine's URL and
    connect arguments, reopened after a failure) and sends the upsert through the driver: the
    pool checkout, reset and SQL expression layer cost four times the upsert's own CPU on every
    request. One connection per API process beyond its pool; a hit holds it for one round trip.
    """

    name = "postgresql"
    UPSERT = """
        INSERT INTO rate_limit_counters (key, window_start, hits, expires_at)
        SELECT k, %(start)s, 1, %(expires)s FROM unnest(CAST(%(keys)s AS text[])) AS k
        ON CONFLICT (key, window_start)
        DO UPDATE SET hits = rate_limit_counters.hits + 1
        RETURNING key, hits"""
    PURGE = "DELETE FROM rate_limit_counters WHERE expires_at < %(now)s"

    def __init__(self, engine: Engine, clock: Clock = time.time, purge_every: float = 60.0):
        self.engine = engine
        self.clock = clock
        self.purge_every = purge_every
        self._next_purge = 0.0
        self._conn: Any = None
        self._lock = threading.Lock()

    def _connection(self) -> Any:
        if self._conn is None or self._conn.closed:
            dialect = self.engine.dialect
            cargs, cparams = dialect.create_connect_args(self.engine.url)
            conn = dialect.connect(*cargs, **cparams)
            conn.autocommit = True
            self._conn = conn
        return self._conn

    def hit(self, keys: Sequence[str], window: int) -> list[int]:
        now = self.clock()
        start = window_start(now, window)
        ordered = sorted(set(keys))  # one lock order for every replica: no deadlocks
        with self._lock:
            try:
                conn = self._connection()
                rows: dict[str, int] = dict(conn.execute(self.UPSERT, {
                    "keys": ordered, "start": start, "expires": start + window}).fetchall())
                if now >= self._next_purge:
                    self._next_purge = now + self.purge_every
                    conn.execute(self.PURGE, {"now": int(now)})
            except Exception as exc:  # noqa: BLE001 - any failure to reach the store
                self.close()  # the next request opens a fresh connection
                raise StoreUnavailable(
                    f"PostgreSQL rate-limit store: {exc.__class__.__name__}") from exc
        return [rows[k] for k in keys]

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - closing a broken connection
                pass


class RedisCounters:
    """One Lua script per request: INCR each key (named after its window) and let it expire
    with its window; Redis runs a script atomically, so every replica shares one count."""

    name = "redis"
    SCRIPT = """
    local out = {}
    for i, key in ipairs(KEYS) do
      local n = redis.call('INCR', key)
      if n == 1 then redis.call('EXPIRE', key, ARGV[1]) end
      out[i] = n
    end
    return out"""

    def __init__(self, url: str, clock: Clock = time.time, prefix: str = "rc:ratelimit:"):
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.script = self.client.register_script(self.SCRIPT)
        self.clock = clock
        self.prefix = prefix

    def hit(self, keys: Sequence[str], window: int) -> list[int]:
        start = window_start(self.clock(), window)
        names = [f"{self.prefix}{k}:{start}" for k in keys]
        try:
            return [int(n) for n in self.script(keys=names, args=[window + 1])]
        except Exception as exc:  # noqa: BLE001 - any failure to reach the store
            raise StoreUnavailable(f"Redis rate-limit store: {exc.__class__.__name__}") from exc


def backend_choice(api_settings: ApiSettings, *, dialect: str, redis_url: str | None) -> str:
    """Where the counters live: `redis`, `postgresql` or `memory` (see make_store)."""
    choice = api_settings.rate_limit_backend
    if choice == "auto":
        choice = "redis" if redis_url else ("postgresql" if dialect == "postgresql" else "memory")
    return choice


def make_store(api_settings: ApiSettings, *, dialect: str, engine: Engine | None,
               redis_url: str | None, clock: Clock = time.time) -> CounterStore:
    """`auto`: Redis when REDIS_URL is set, else PostgreSQL when that is the database,
    else memory."""
    choice = backend_choice(api_settings, dialect=dialect, redis_url=redis_url)
    if choice == "redis":
        if not redis_url:
            raise RuntimeError("API_RATE_LIMIT_BACKEND=redis needs REDIS_URL")
        return RedisCounters(redis_url, clock, prefix=api_settings.rate_limit_redis_prefix)
    if choice == "postgresql":
        if dialect != "postgresql" or engine is None:
            raise RuntimeError("API_RATE_LIMIT_BACKEND=postgresql needs a PostgreSQL DATABASE_URL")
        return PostgresCounters(engine, clock)
    return MemoryCounters(clock)


class RateLimiter:
    """Limits checked against a store: `check` gives 0 when allowed, else seconds to wait."""

    def __init__(self, store: CounterStore, clock: Clock = time.time):
        self.store = store
        self.clock = clock

    def check(self, limits: Sequence[tuple[str, int]], window: int) -> float:
        """Count this request against each (key, limit); limit 0 means no limit."""
        active = [(k, n) for k, n in limits if n]
        if not active:
            return 0.0
        counts = self.store.hit([k for k, _ in active], window)
        if all(c <= n for c, (_, n) in zip(counts, active, strict=True)):
            return 0.0
        return window_start(self.clock(), window) + window - self.clock()

    def close(self) -> None:
        """Let go of the store's own connection, if it keeps one (at shutdown)."""
        close = getattr(self.store, "close", None)
        if close is not None:
            close()

    async def check_async(self, limits: Sequence[tuple[str, int]], window: int) -> float:
        if isinstance(self.store, MemoryCounters):
            return self.check(limits, window)
        return await anyio.to_thread.run_sync(self.check, limits, window)


def account_key(name: str) -> str:
    """Counters name accounts by a hash: the table and Redis never hold e-mail addresses."""
    return hashlib.sha256(name.strip().lower().encode()).hexdigest()[:32]


def client_ip(scope_or_request) -> str:
    client = (scope_or_request.client if isinstance(scope_or_request, Request)
              else scope_or_request.get("client"))
    return (client[0] if client else None) or "unknown"


def auth_throttle(request: Request, account: str) -> None:
    """The stricter limit on sign-in, registration and password-reset requests; raises
    RateLimited (429) when spent. No count per account name across addresses here: attempts
    of any outcome would let a stranger spend the owner's; the engine caps guessing spread
    over addresses by failures instead (engine/services/throttle.py), without keeping the
    owner out."""
    limiter: RateLimiter = request.app.state.limiter
    conf: ApiSettings = request.app.state.api_settings
    ip, name = client_ip(request), account_key(account)
    wait = limiter.check([(f"auth-ip:{ip}", conf.auth_rate_limit_per_ip),
                          (f"auth-account:{name}:{ip}", conf.auth_rate_limit_per_account)],
                         conf.auth_rate_limit_window_seconds)
    if wait:
        raise RateLimited(wait, "too many sign-in, registration or password reset attempts")


class RateLimitMiddleware:
    """429 with Retry-After when the client's IP or the token's user has spent its window;
    503 with Retry-After when the counter store is unreachable."""

    EXEMPT = ("/health",)

    def __init__(self, app, *, limiter: RateLimiter, per_ip: int, per_user: int, window: int,
                 tokens: TokenIssuer, unavailable_retry_after: int = 5):
        self.app = app
        self.limiter = limiter
        self.per_ip, self.per_user, self.window = per_ip, per_user, window
        self.tokens = tokens
        self.unavailable_retry_after = unavailable_retry_after

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] in self.EXEMPT:
            return await self.app(scope, receive, send)
        limits = [(f"ip:{client_ip(scope)}", self.per_ip)]
        user = self._user(scope) if self.per_user else None
        if user:
            limits.append((f"user:{user}", self.per_user))
        try:
            wait = await self.limiter.check_async(limits, self.window)
        except StoreUnavailable as exc:
            log.warning("rate limit store unavailable: %s", exc)
            return await answer(send, 503, "service unavailable: the rate-limit store is "
                                f"unreachable; retry after {self.unavailable_retry_after} s",
                                self.unavailable_retry_after)
        if wait:
            retry = max(1, math.ceil(wait))
            return await answer(send, 429, f"rate limit exceeded: retry after {retry} s", retry)
        return await self.app(scope, receive, send)

    def _user(self, scope) -> str | None:
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                scheme, _, token = value.decode("latin-1").partition(" ")
                if scheme.lower() == "bearer" and token:
                    return self.tokens.peek_user(token.strip())
        return None


async def answer(send, status: int, error: str, retry_after: int | None = None) -> None:
    """A complete JSON error response from ASGI middleware (outside FastAPI's handlers)."""
    body = json.dumps({"error": error}).encode()
    headers = [(b"content-type", b"application/json"),
               (b"content-length", str(len(body)).encode())]
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
