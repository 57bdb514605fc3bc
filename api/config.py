"""API-only settings (rate limits, proxies, body cap, hashing cost); secrets, the database and
REDIS_URL come from engine.config."""
from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class ApiSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    #: Requests per window (API_RATE_LIMIT_WINDOW_SECONDS, a minute by default) per client IP
    #: and per signed-in user, counted across every replica; 0 turns that limit off.
    rate_limit_per_ip: int = Field(default=1200, ge=0, alias="API_RATE_LIMIT_PER_IP")
    rate_limit_per_user: int = Field(default=600, ge=0, alias="API_RATE_LIMIT_PER_USER")
    rate_limit_window_seconds: int = Field(default=60, ge=1, le=86400,
                                           alias="API_RATE_LIMIT_WINDOW_SECONDS")
    #: The stricter limit on /auth/login, /auth/register and /auth/password-reset, attempts
    #: per auth window: per client IP (any accounts) and per account name (the e-mail sent)
    #: from one IP, whichever runs out first. The per-account limit is counted per address so
    #: a stranger spending it cannot keep the owner out from elsewhere; guessing spread over
    #: many addresses is capped by the engine's sign-in throttle, which counts failures, not
    #: the owner's successes.
    auth_rate_limit_per_ip: int = Field(default=30, ge=0, alias="API_AUTH_RATE_LIMIT_PER_IP")
    auth_rate_limit_per_account: int = Field(default=10, ge=0,
                                             alias="API_AUTH_RATE_LIMIT_PER_ACCOUNT")
    auth_rate_limit_window_seconds: int = Field(default=300, ge=1, le=86400,
                                                alias="API_AUTH_RATE_LIMIT_WINDOW_SECONDS")
    #: Where the counters live: `auto` is Redis when REDIS_URL is set, else the PostgreSQL
    #: database, else (SQLite, one process) memory.
    rate_limit_backend: Literal["auto", "memory", "postgresql", "redis"] = Field(
        default="auto", alias="API_RATE_LIMIT_BACKEND")
    #: Prefix of the Redis keys, so deployments (or tests) sharing one Redis count apart.
    rate_limit_redis_prefix: str = Field(default="rc:ratelimit:", min_length=1, max_length=100,
                                         alias="API_RATE_LIMIT_REDIS_PREFIX")
    #: Peers whose X-Forwarded-For / X-Forwarded-Proto are believed (comma-separated addresses
    #: or CIDRs). Empty: the TCP peer is the client, forwarded headers are ignored.
    trusted_proxies: str = Field(default="", alias="TRUSTED_PROXIES")
    #: Largest request body accepted (bytes), with or without Content-Length; larger is a 413.
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, alias="API_MAX_BODY_BYTES")
    #: Seconds a client is told to wait (Retry-After) while the database is unreachable.
    unavailable_retry_after: int = Field(default=5, ge=1, le=3600,
                                         alias="API_UNAVAILABLE_RETRY_AFTER")
    #: bcrypt cost for passwords set through the API (tests lower it for speed).
    bcrypt_rounds: int = Field(default=12, ge=4, le=16, alias="API_BCRYPT_ROUNDS")
    #: Threads that run routes and rate-limit checks, and as many pooled database connections,
    #: all kept open. 0: DB_POOL_SIZE + DB_MAX_OVERFLOW, less the one connection PostgreSQL
    #: rate limits keep (see api.app.create_app); requests beyond it wait in the event loop.
    threads: int = Field(default=0, ge=0, le=200, alias="API_THREADS")
    access_token_minutes: int = Field(default=15, ge=1, le=1440, alias="API_ACCESS_TOKEN_MINUTES")
    refresh_token_days: int = Field(default=7, ge=1, le=90, alias="API_REFRESH_TOKEN_DAYS")

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_networks(cls, v: str) -> str:
        parse_networks(v)  # raises ValueError naming the bad entry
        return v

    @property
    def trusted_networks(self) -> tuple[Network, ...]:
        return parse_networks(self.trusted_proxies)


def parse_networks(spec: str) -> tuple[Network, ...]:
    """`"10.0.0.0/8, 127.0.0.1, fd00::/8"` -> networks; a bare address is a /32 (or /128)."""
    out = []
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        try:
            out.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(f"TRUSTED_PROXIES: {part!r} is not an IP address or CIDR") from None
    return tuple(out)
