"""Request dependencies: the database, the token issuer and the signed-in caller.

The cheap ones are `async def` on purpose: they do not block, and FastAPI runs every plain
`def` dependency in the thread pool, a thread hand-off per dependency per request that cost
more CPU than the work itself. `current_caller` is a plain `def`: it reads the token's session
row, and a database read must not block the event loop."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from api.config import ApiSettings
from api.tokens import ACCESS, REFRESH, TokenIssuer
from engine import services
from engine.db import Database
from engine.errors import AuthenticationError

bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/login", auto_error=False)


async def get_db(request: Request) -> Database:
    return request.app.state.db


async def get_tokens(request: Request) -> TokenIssuer:
    return request.app.state.tokens


async def get_api_settings(request: Request) -> ApiSettings:
    return request.app.state.api_settings


@dataclass(frozen=True)
class Caller:
    """Who the access token says is calling; the engine re-loads the user and checks the rest."""

    id: UUID
    role: str


def current_caller(token: Annotated[str | None, Depends(bearer)],
                   tokens: Annotated[TokenIssuer, Depends(get_tokens)],
                   db: Annotated[Database, Depends(get_db)]) -> Caller:
    """The caller of a correctly signed, unexpired access token whose refresh session is still
    live: a logout, sign-out everywhere, password change or reset ends its tokens at once."""
    if not token:
        raise AuthenticationError("not signed in: send Authorization: Bearer <access token>")
    claims = tokens.decode(token, ACCESS)
    services.require_live_session(db.uow(), claims.session_id, claims.user_id, kind=REFRESH)
    return Caller(claims.user_id, claims.role)


DB = Annotated[Database, Depends(get_db)]
Me = Annotated[Caller, Depends(current_caller)]
Tokens = Annotated[TokenIssuer, Depends(get_tokens)]
Conf = Annotated[ApiSettings, Depends(get_api_settings)]
