"""The app factory: tests pass their own database and settings; uvicorn uses api.main:app."""
from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import anyio.to_thread
from fastapi import APIRouter, FastAPI, Request
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import JSONResponse
from sqlalchemy.engine import make_url

from api import errors
from api.config import ApiSettings
from api.edge import BodyLimitMiddleware, TrustedProxyMiddleware
from api.ratelimit import RateLimiter, RateLimitMiddleware, backend_choice, make_store
from api.requestlog import RequestLogMiddleware
from api.routes import (
    audit,
    auth,
    bookings,
    dayops,
    notifications,
    policies,
    resources,
    series,
    users,
    waitlist,
)
from api.schemas import HealthOut
from api.tokens import TokenIssuer
from engine import migrate
from engine.config import Settings, get_settings
from engine.db import Database

PREFIX = "/api/v1"
log = logging.getLogger("range_control.api")


def create_app(db: Database | None = None, settings: Settings | None = None,
               api_settings: ApiSettings | None = None) -> FastAPI:
    settings = settings or (db.settings if db is not None else get_settings())
    jwt_key = settings.signing_key("jwt_secret")  # refuses weak keys; generates one in dev
    api_settings = api_settings or ApiSettings()
    dialect = db.dialect if db is not None else make_url(settings.sqlalchemy_url).get_backend_name()
    # PostgreSQL rate limits keep one connection of their own (api.ratelimit.PostgresCounters).
    own = int(backend_choice(api_settings, dialect=dialect, redis_url=settings.redis_url)
              == "postgresql")
    threads = api_settings.threads or max(1, settings.db_pool_size + settings.db_max_overflow - own)
    if db is None:
        # The API keeps as many connections as it has threads, all open: SQLAlchemy closes an
        # overflow connection when it is returned, so under load the pool's default of 5 (+10)
        # opened and closed a connection per request. By default no more are open than before:
        # DB_POOL_SIZE + DB_MAX_OVERFLOW in all, the rate-limit connection included.
        db = Database(settings=settings.model_copy(
            update={"db_pool_size": threads, "db_max_overflow": 0}))
    tokens = TokenIssuer(jwt_key, db.clock,
                         access_ttl=timedelta(minutes=api_settings.access_token_minutes),
                         refresh_ttl=timedelta(days=api_settings.refresh_token_days))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # anyio's default is 40 threads: 40 routes would then wait in turn for 14 connections.
        anyio.to_thread.current_default_thread_limiter().total_tokens = threads
        yield
        app.state.limiter.close()

    app = FastAPI(title="Range-Control API", version="1.0.0",
                  description="Bookings of shared, safety-critical resources: the same engine "
                              "as the dashboard. Sign in at /api/v1/auth/login.",
                  openapi_url=f"{PREFIX}/openapi.json", docs_url=f"{PREFIX}/docs",
                  redoc_url=None, lifespan=lifespan)
    app.state.db, app.state.tokens, app.state.api_settings = db, tokens, api_settings
    app.state.limiter = RateLimiter(make_store(api_settings, dialect=db.dialect, engine=db.engine,
                                               redis_url=settings.redis_url))
    errors.install(app)

    v1 = APIRouter(prefix=PREFIX)
    # series before bookings: /bookings/series must not be read as /bookings/{booking_id}
    for module in (auth, notifications, users, resources, policies, series, bookings, dayops,
                   waitlist, audit):
        v1.include_router(module.router)
    app.include_router(v1)

    @app.get("/health", response_model=HealthOut, tags=["health"],
             responses={503: {"model": HealthOut,
                                   "description": "database unreachable or not migrated"}})
    def health(request: Request):
        """Liveness and database reachability (Railway's health check); a 503 says why."""
        retry = {"Retry-After": str(api_settings.unavailable_retry_after)}
        try:
            revision = migrate.current_revision(request.app.state.db.url)
        except Exception as exc:  # noqa: BLE001 - any failure to reach the database
            reason = unreachable_reason(exc)
            log.warning("health check: database unreachable: %s (%s)", reason,
                        exc.__class__.__name__)
            return JSONResponse({"status": "degraded", "database": "unreachable",
                                 "reason": reason}, 503, headers=retry)
        if revision is None:
            return JSONResponse({"status": "degraded", "database": "not migrated",
                                 "reason": "the database has no schema: run the migrations"},
                                503, headers=retry)
        return HealthOut(status="ok", database="ok", revision=revision)

    # Added innermost first. From the outside in: the client's address is settled (trusted
    # proxies only), the request log sees every answer (413s, 429s and 503s included), rate
    # limits answer before a body is read, the body cap holds, then gzip.
    app.add_middleware(GZipMiddleware, minimum_size=500)
    app.add_middleware(BodyLimitMiddleware, max_bytes=api_settings.max_body_bytes)
    app.add_middleware(RateLimitMiddleware, limiter=app.state.limiter,
                       per_ip=api_settings.rate_limit_per_ip,
                       per_user=api_settings.rate_limit_per_user,
                       window=api_settings.rate_limit_window_seconds, tokens=tokens,
                       unavailable_retry_after=api_settings.unavailable_retry_after)
    app.add_middleware(RequestLogMiddleware, tokens=tokens)
    app.add_middleware(TrustedProxyMiddleware, trusted=api_settings.trusted_networks)
    return app


#: What a failed connection says, reduced to a reason safe to show on a public /health
#: (no host names, ports or user names).
_REASONS = (
    ("connection refused", "connection refused: is the database server running?"),
    ("timeout", "connection timed out"),
    ("timed out", "connection timed out"),
    ("password authentication failed", "authentication failed"),
    ("no password supplied", "authentication failed"),
    ("does not exist", "the database does not exist"),
    ("could not translate host name", "the database host name does not resolve"),
    ("name or service not known", "the database host name does not resolve"),
    ("too many clients", "the database refuses more connections (max_connections reached)"),
    ("remaining connection slots", "the database refuses more connections "
                                   "(max_connections reached)"),
    ("shutting down", "the database is shutting down"),
    ("starting up", "the database is starting up"),
    ("recovery", "the database is in recovery"),
    ("unable to open database file", "the database file cannot be opened"),
)


def unreachable_reason(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).lower()
    return next((reason for needle, reason in _REASONS if needle in text),
                f"cannot connect ({exc.__class__.__name__})")
