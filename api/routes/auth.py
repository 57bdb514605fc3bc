"""/auth: register (no sign-in), OAuth2 password login, refresh, logout (revokes) and
"forgot password" (an e-mailed one-time link, then a new password)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response

from api.deps import DB, Conf, Tokens
from api.errors import ERROR_RESPONSES, Responses
from api.ratelimit import auth_throttle
from api.schemas import (
    AccessToken,
    PasswordResetConfirmIn,
    PasswordResetIn,
    PasswordResetOut,
    RefreshIn,
    RegisterIn,
    RegisterOut,
    ShortText,
    TokenPair,
)
from api.tokens import ACCESS, REFRESH
from engine import services
from engine.errors import AuthenticationError

router = APIRouter(prefix="/auth", tags=["auth"])
ERRS: Responses = {k: ERROR_RESPONSES[k] for k in (401, 422, 429)}


def client_address(request: Request) -> str | None:
    """The caller's address as the server sees it (after TRUSTED_PROXIES, api/edge.py)."""
    return request.client.host if request.client else None


@router.post("/register", status_code=202, response_model=RegisterOut,
             responses={403: ERROR_RESPONSES[403], 422: ERROR_RESPONSES[422],
                        429: ERROR_RESPONSES[429]})
def register(request: Request, body: RegisterIn, db: DB, conf: Conf):
    """Register a member. The answer is the same whether or not the e-mail already has an
    account (so it cannot be used to find out who has one); it does not sign in."""
    auth_throttle(request, body.email)
    services.register_member(db.uow(), email=body.email, name=body.name,
                             password=body.password, hash_rounds=conf.bcrypt_rounds)
    return RegisterOut(message=services.REGISTRATION_RECEIVED)


@router.post("/login", response_model=TokenPair, responses=ERRS)
def login(request: Request,
          username: Annotated[ShortText, Form(description="the account's email")],
          password: Annotated[ShortText, Form()], db: DB, tokens: Tokens,
          grant_type: Annotated[ShortText | None, Form(pattern="^password$")] = None):
    """OAuth2 password flow: form fields `username` (email) and `password`. Failed sign-ins
    are throttled per (e-mail, client address): 429 with Retry-After, alike for every e-mail."""
    auth_throttle(request, username)
    user = services.authenticate(db.uow(), username, password,
                                 source=client_address(request))
    refresh, refresh_exp = tokens.issue(user.id, user.role, REFRESH)
    sid = services.open_session(db.uow(), user.id, kind=REFRESH, token=refresh,
                                expires_at=refresh_exp)
    access, _ = tokens.issue(user.id, user.role, ACCESS, session_id=sid)
    return TokenPair(access_token=access, refresh_token=refresh,
                     expires_in=int(tokens.access_ttl.total_seconds()),
                     refresh_expires_in=int(tokens.refresh_ttl.total_seconds()))


@router.post("/refresh", response_model=AccessToken, responses=ERRS)
def refresh(body: RefreshIn, db: DB, tokens: Tokens):
    """A new access token for a live (unexpired, not revoked) refresh token; it names the
    refresh token's session, so it stops working when that session is revoked."""
    claims = tokens.decode(body.refresh_token, REFRESH)
    found = services.live_session(db.uow(), body.refresh_token, kind=REFRESH)
    if found is None or found[1] != claims.user_id:
        raise AuthenticationError("refresh token revoked, expired or unknown: sign in again")
    sid, user_id = found
    user = services.get_user(db.uow(), user_id, user_id)  # the current role, not the old claim
    access, _ = tokens.issue(user.id, user.role, ACCESS, session_id=sid)
    return AccessToken(access_token=access, expires_in=int(tokens.access_ttl.total_seconds()))


@router.post("/logout", status_code=204, response_class=Response, responses=ERRS)
def logout(body: RefreshIn, db: DB, tokens: Tokens):
    """Revoke the refresh token: it can no longer mint access tokens, and the access tokens
    issued from it stop working at once."""
    tokens.decode(body.refresh_token, REFRESH, check_expiry=False)
    services.revoke_session(db.uow(), body.refresh_token)
    return Response(status_code=204)


@router.post("/password-reset", status_code=202, response_model=PasswordResetOut,
             responses={422: ERROR_RESPONSES[422], 429: ERROR_RESPONSES[429]})
def request_password_reset(request: Request, body: PasswordResetIn, db: DB):
    """E-mail a one-time reset link (the dashboard's, as its "Forgot password?" sends) to the
    account of this e-mail, if there is one. The answer is the same whether or not there is;
    requests are throttled like sign-in, alike for every e-mail (429 with Retry-After)."""
    auth_throttle(request, body.email)
    return PasswordResetOut(message=services.request_password_reset(
        db.uow(), body.email, source=client_address(request)))


@router.post("/password-reset/confirm", status_code=204, response_class=Response,
             responses={422: ERROR_RESPONSES[422], 429: ERROR_RESPONSES[429]})
def confirm_password_reset(body: PasswordResetConfirmIn, db: DB, conf: Conf):
    """Spend the link's token on a new password. The token works once; every session of the
    account ends, so its old access and refresh tokens stop at once. 422 names `new_password`
    (the password rules) or `token` (wrong, expired or used)."""
    services.reset_password_with_token(db.uow(), body.token, body.new_password,
                                       hash_rounds=conf.bcrypt_rounds)
    return Response(status_code=204)
