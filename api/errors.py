"""One place that turns engine errors and request-validation errors into HTTP answers."""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException

from api.ratelimit import RateLimited, StoreUnavailable
from api.schemas import ConflictErrorOut, ConflictOut
from engine.errors import (
    AuthenticationError,
    ConflictError,
    DomainError,
    NotFoundError,
    PermissionDenied,
    SignInThrottled,
    StateConflict,
    ValidationError,
)

STATUS = [  # most specific first
    (SignInThrottled, 429),
    (AuthenticationError, 401),
    (PermissionDenied, 403),
    (NotFoundError, 404),
    (ValidationError, 422),
    (StateConflict, 409),  # a booking or waitlist entry whose state refuses the action now
    (ConflictError, 409),
]

#: An operation's documented answers besides success (FastAPI's `responses`).
Responses = dict[int | str, dict[str, Any]]

#: Documented on every operation that may answer them (OpenAPI `responses`).
ERROR_RESPONSES: Responses = {
    401: {"description": "missing, invalid or expired token"},
    403: {"description": "the caller's role may not do this"},
    404: {"description": "not found, or not visible to the caller"},
    422: {"description": "invalid input; `field` names the field"},
    429: {"description": "rate limit exceeded; see Retry-After"},
}

log = logging.getLogger("range_control.api")

#: Failures of the database itself (unreachable, restarting, pool exhausted, busy), not of the
#: request: the client should come back later (503 + Retry-After), not report a bug (500).
DATABASE_UNAVAILABLE = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)


def status_of(exc: DomainError) -> int:
    return next((code for cls, code in STATUS if isinstance(exc, cls)), 400)


def domain_error_body(exc: DomainError) -> dict:
    if isinstance(exc, ConflictError):
        return ConflictErrorOut(error=exc.summary, conflicts=[
            ConflictOut.model_validate(c, from_attributes=True) for c in exc.conflicts
        ]).model_dump(mode="json")
    body = {"error": exc.message}
    if isinstance(exc, ValidationError):
        body["field"] = exc.field
    return body


async def on_domain_error(request: Request, exc: DomainError) -> JSONResponse:
    code = status_of(exc)
    headers = {"WWW-Authenticate": "Bearer"} if code == 401 else None
    if isinstance(exc, SignInThrottled):
        headers = {"Retry-After": str(exc.retry_after)}
    return JSONResponse(domain_error_body(exc), status_code=code,
                        headers=headers)


def _field(loc: tuple) -> str:
    parts = [str(p) for p in loc[1:] if not isinstance(p, int)] if len(loc) > 1 else []
    return ".".join(parts) or str(loc[0] if loc else "body")


async def on_request_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    first = errors[0] if errors else {"loc": ("body",), "msg": "invalid request"}
    field = _field(tuple(first.get("loc", ("body",))))
    details = [{"field": _field(tuple(e.get("loc", ()))), "message": e.get("msg", "")}
               for e in errors]
    return JSONResponse({"error": f"{field}: {first.get('msg', 'invalid')}", "field": field,
                         "errors": details}, status_code=422)


async def on_http_exception(request: Request, exc: HTTPException) -> JSONResponse:
    return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code,
                        headers=getattr(exc, "headers", None))


async def on_rate_limited(request: Request, exc: RateLimited) -> JSONResponse:
    return JSONResponse({"error": f"{exc.what}: retry after {exc.retry_after} s"},
                        status_code=429, headers={"Retry-After": str(exc.retry_after)})


async def on_unavailable(request: Request, exc: Exception) -> JSONResponse:
    retry = request.app.state.api_settings.unavailable_retry_after
    cause = getattr(exc, "orig", None) or exc
    log.error("database unavailable: %s: %s", cause.__class__.__name__,
              str(cause).splitlines()[0] if str(cause) else "")
    return JSONResponse({"error": f"service unavailable: the database is unreachable or busy; "
                                  f"retry after {retry} s"},
                        status_code=503, headers={"Retry-After": str(retry)})


def _for(handler: Callable[[Request, Any], Awaitable[Response]]
         ) -> Callable[[Request, Exception], Awaitable[Response]]:
    """Starlette calls a handler only with the exception class it is registered for; its
    signature is typed for any Exception."""
    return handler


def install(app: FastAPI) -> None:
    app.add_exception_handler(RateLimited, _for(on_rate_limited))
    app.add_exception_handler(StoreUnavailable, _for(on_unavailable))
    for cls in DATABASE_UNAVAILABLE:
        app.add_exception_handler(cls, _for(on_unavailable))
    app.add_exception_handler(DomainError, _for(on_domain_error))
    app.add_exception_handler(RequestValidationError, _for(on_request_validation))
    app.add_exception_handler(HTTPException, _for(on_http_exception))
