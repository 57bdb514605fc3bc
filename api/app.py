"""The app factory: tests pass their own database and settings; uvicorn uses api.main:app."""
from __future__ import annotations

import logging
from datetime import timedelta

from fastapi import APIRouter, FastAPI, Request
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import JSONResponse

from api import errors
from api.config import ApiSettings
from api.ratelimit import RateLimitMiddleware
from api.requestlog import RequestLogMiddleware
from api.routes import audit, auth, bookings, resources, series, users
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
    settings.check_production_secrets("jwt_secret")
    api_settings = api_settings or ApiSettings()
    db = db or Database(settings=settings)
    tokens = TokenIssuer(settings.jwt_secret, db.clock,
                         access_ttl=timedelta(minutes=api_settings.access_token_minutes),
                         refresh_ttl=timedelta(days=api_settings.refresh_token_days))

    app = FastAPI(title="Range-Control API", version="1.0.0",
                  description="Bookings of shared, safety-critical resources: the same engine "
                              "as the dashboard. Sign in at /api/v1/auth/login.",
                  openapi_url=f"{PREFIX}/openapi.json", docs_url=f"{PREFIX}/docs",
                  redoc_url=None)
    app.state.db, app.state.tokens, app.state.api_settings = db, tokens, api_settings
    errors.install(app)

    v1 = APIRouter(prefix=PREFIX)
    # series before bookings: /bookings/series must not be read as /bookings/{booking_id}
    for module in (auth, users, resources, series, bookings, audit):
        v1.include_router(module.router)
    app.include_router(v1)

    @app.get("/health", response_model=HealthOut, tags=["health"],
             responses={503: {"model": HealthOut,
                                   "description": "database unreachable or not migrated"}})
    def health(request: Request):
        """Liveness and database reachability (Railway's health check)."""
        try:
            revision = migrate.current_revision(request.app.state.db.url)
        except Exception as exc:  # noqa: BLE001 - any failure to reach the database
            log.warning("health check: database unreachable: %s", exc.__class__.__name__)
            return JSONResponse({"status": "degraded", "database": "unreachable"}, 503)
        if revision is None:
            return JSONResponse({"status": "degraded", "database": "not migrated"}, 503)
        return HealthOut(status="ok", database="ok", revision=revision)

    # Added innermost first: rate limits answer before any work is done, gzip compresses,
    # and the request log (outermost) sees every answer, 429s included.
    app.add_middleware(RateLimitMiddleware, per_ip=api_settings.rate_limit_per_ip,
                       per_user=api_settings.rate_limit_per_user, tokens=tokens)
    app.add_middleware(GZipMiddleware, minimum_size=500)
    app.add_middleware(RequestLogMiddleware, tokens=tokens)
    return app
