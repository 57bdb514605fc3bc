"""Per-IP and per-user rate limits: an in-process token bucket as pure ASGI middleware.

Each process keeps its own buckets, so with N replicas the effective limit is N times higher.
"""
from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable

from api.tokens import TokenIssuer


class TokenBucket:
    """`per_minute` requests a minute, with bursts up to the same number."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = 50_000):
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Spend one token for `key`: 0 when allowed, else the seconds until one is free."""
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                if len(self._buckets) > self.max_keys:
                    self._forget_full(now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / self.rate

    def _forget_full(self, now: float) -> None:
        """Drop buckets that have refilled completely: they hold no state worth keeping."""
        full = [k for k, (t, last) in self._buckets.items()
                if t + (now - last) * self.rate >= self.capacity]
        for k in full:
            del self._buckets[k]


class RateLimitMiddleware:
    """429 with Retry-After when the client's IP or the token's user has spent its bucket."""

    EXEMPT = ("/health",)

    def __init__(self, app, *, per_ip: int, per_user: int, tokens: TokenIssuer,
                 clock: Callable[[], float] = time.monotonic):
        self.app = app
        self.by_ip = TokenBucket(per_ip, clock) if per_ip else None
        self.by_user = TokenBucket(per_user, clock) if per_user else None
        self.tokens = tokens

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] in self.EXEMPT:
            return await self.app(scope, receive, send)
        wait = 0.0
        if self.by_ip is not None:
            client = scope.get("client")
            wait = self.by_ip.take(f"ip:{client[0] if client else 'unknown'}")
        if not wait and self.by_user is not None:
            user = self._user(scope)
            if user:
                wait = self.by_user.take(f"user:{user}")
        if wait:
            return await self._too_many(send, wait)
        return await self.app(scope, receive, send)

    def _user(self, scope) -> str | None:
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                scheme, _, token = value.decode("latin-1").partition(" ")
                if scheme.lower() == "bearer" and token:
                    return self.tokens.peek_user(token.strip())
        return None

    @staticmethod
    async def _too_many(send, wait: float) -> None:
        retry = max(1, math.ceil(wait))
        body = json.dumps({"error": f"rate limit exceeded: retry after {retry} s"}).encode()
        await send({"type": "http.response.start", "status": 429, "headers": [
            (b"content-type", b"application/json"), (b"retry-after", str(retry).encode()),
            (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
