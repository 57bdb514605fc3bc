"""Revocable sign-in sessions shared by the dashboard (cookies) and the API (refresh tokens).

Signing out revokes the token's row, so a copied cookie or refresh token stops working at once.
The user services revoke all of a user's rows in the same transaction as a password change or
reset, a deactivation, a reactivation, a role change or "sign out everywhere". An API access
token names the refresh session it was issued from, and `require_live_session` refuses it as
soon as that session is revoked or expires.
"""
from __future__ import annotations

import hashlib
import uuid
from datetime import datetime

from sqlalchemy import select, update

from engine.db import UnitOfWork, rows_changed
from engine.errors import AuthenticationError
from engine.models import AuthSession, User
from engine.services.common import as_uuid

KINDS = ("dashboard", "refresh")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(uow: UnitOfWork, user_id: object, *, kind: str, token: str,
                 expires_at: datetime) -> uuid.UUID:
    """Record a freshly issued token for an active user; returns the session id."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    with uow:
        user = uow.session.get(User, as_uuid("user_id", user_id))
        if user is None or not user.is_active:
            raise AuthenticationError("this account is not active")
        row = AuthSession(id=uuid.uuid4(), user_id=user.id, kind=kind,
                          token_hash=token_hash(token), created_at=uow.now,
                          expires_at=expires_at)
        uow.session.add(row)
        uow.commit()
        return row.id


def live_session(uow: UnitOfWork, token: str, *, kind: str
                 ) -> tuple[uuid.UUID, uuid.UUID] | None:
    """(session id, user id) of a live token: not revoked, not expired, user still active."""
    with uow.read():
        row = uow.session.execute(
            select(AuthSession.id, AuthSession.user_id)
            .join(User, User.id == AuthSession.user_id).where(
                AuthSession.token_hash == token_hash(token), AuthSession.kind == kind,
                AuthSession.revoked_at.is_(None), AuthSession.expires_at > uow.now,
                User.is_active.is_(True))).first()
        return (row.id, row.user_id) if row else None


def session_user(uow: UnitOfWork, token: str, *, kind: str) -> uuid.UUID | None:
    """The user id behind a live token: not revoked, not expired, user still active."""
    found = live_session(uow, token, kind=kind)
    return found[1] if found else None


SIGN_IN_AGAIN = "refresh it or sign in again"


def require_live_session(uow: UnitOfWork, session_id: uuid.UUID | None,
                         user_id: uuid.UUID, *, kind: str) -> None:
    """Refuse an API access token whose session was revoked (logout, sign-out everywhere, a
    password change or reset, deactivation, a role change) or expired, or is another user's or
    of another kind (a dashboard session's id is no API session): AuthenticationError naming
    why. One primary-key read, on every request: never cached, so a revocation takes effect at
    once."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    if session_id is None:
        raise AuthenticationError("access token names no session (issued before access tokens "
                                  f"carried one): {SIGN_IN_AGAIN}")
    with uow.read():
        row = uow.session.execute(
            select(AuthSession.user_id, AuthSession.revoked_at, AuthSession.expires_at)
            .where(AuthSession.id == session_id, AuthSession.kind == kind)).first()
        now = uow.now
    if row is None or row.user_id != user_id:
        raise AuthenticationError("access token's session is unknown: sign in again")
    if row.revoked_at is not None:
        raise AuthenticationError(
            "access token revoked: its session was signed out (logout, sign out everywhere, "
            "a password change or reset, or an account change); sign in again")
    if row.expires_at <= now:
        raise AuthenticationError("access token's session expired: sign in again")


def revoke_session(uow: UnitOfWork, token: str) -> bool:
    """Revoke one token; True when a live session was revoked."""
    with uow:
        result = uow.session.execute(
            update(AuthSession).where(AuthSession.token_hash == token_hash(token),
                                      AuthSession.revoked_at.is_(None))
            .values(revoked_at=uow.now))
        uow.commit()
        return rows_changed(result) > 0


def revoke_user_sessions(uow: UnitOfWork, user_id: uuid.UUID, *,
                         keep_token: str | None = None) -> int:
    """Revoke every live session of a user inside the caller's transaction (password change or
    reset, deactivation, reactivation, role change, sign-out everywhere); `keep_token` spares
    the session that made a password change. Returns how many were revoked."""
    condition = [AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None)]
    if keep_token:
        condition.append(AuthSession.token_hash != token_hash(keep_token))
    result = uow.session.execute(update(AuthSession).where(*condition)
                                 .values(revoked_at=uow.now))
    return rows_changed(result)
