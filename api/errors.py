"""One place that turns engine errors and request-validation errors into HTTP answers."""
from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from api.schemas import ConflictErrorOut, ConflictOut
from engine.errors import (
    AccountLocked, AuthenticationError, ConflictError, DomainError, InvalidTransition,
    NotFoundError, PermissionDenied, ValidationError,
)

STATUS = [  # most specific first
    (AccountLocked, 423),
    (AuthenticationError, 401),
    (PermissionDenied, 403),
    (NotFoundError, 404),
    (ValidationError, 422),
    (InvalidTransition, 409),
    (ConflictError, 409),
]

#: Documented on every operation that may answer them (OpenAPI `responses`).
ERROR_RESPONSES = {
    401: {"description": "missing, invalid or expired token"},
    403: {"description": "the caller's role may not do this"},
    404: {"description": "not found, or not visible to the caller"},
    422: {"description": "invalid input; `field` names the field"},
    429: {"description": "rate limit exceeded; see Retry-After"},
}


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


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, on_domain_error)
    app.add_exception_handler(RequestValidationError, on_request_validation)
    app.add_exception_handler(HTTPException, on_http_exception)
