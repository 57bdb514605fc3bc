"""JWT access and refresh tokens (PyJWT, HS256). Expiry is checked against the engine's clock,
so tokens and the revocable refresh sessions in the database agree on what 'now' is."""
from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

from engine.errors import AuthenticationError

ALGORITHM = "HS256"
ACCESS, REFRESH = "access", "refresh"


@dataclass(frozen=True)
class Claims:
    user_id: uuid.UUID
    role: str
    kind: str
    expires_at: datetime
    jti: str


@dataclass(frozen=True)
class TokenIssuer:
    secret: str
    clock: Callable[[], datetime]
    access_ttl: timedelta = timedelta(minutes=15)
    refresh_ttl: timedelta = timedelta(days=7)

    def issue(self, user_id: uuid.UUID, role: str, kind: str) -> tuple[str, datetime]:
        now = self.clock()
        expires = now + (self.access_ttl if kind == ACCESS else self.refresh_ttl)
        claims = {"sub": str(user_id), "role": role, "type": kind, "iat": int(now.timestamp()),
                  "exp": int(expires.timestamp()), "jti": uuid.uuid4().hex}
        return jwt.encode(claims, self.secret, algorithm=ALGORITHM), expires

    def decode(self, token: str, kind: str, *, check_expiry: bool = True) -> Claims:
        """The token's claims, or AuthenticationError for a bad signature, kind or expiry."""
        try:
            raw = jwt.decode(token, self.secret, algorithms=[ALGORITHM],
                             options={"verify_exp": False, "verify_iat": False,
                                      "require": ["sub", "type", "exp", "jti"]})
            user_id = uuid.UUID(str(raw["sub"]))
            expires = datetime.fromtimestamp(int(raw["exp"]), self.clock().tzinfo)
        except (jwt.PyJWTError, ValueError, TypeError, OverflowError, OSError):
            raise AuthenticationError(f"invalid {kind} token") from None
        if raw.get("type") != kind:
            raise AuthenticationError(f"invalid {kind} token: this is not a {kind} token")
        if check_expiry and expires <= self.clock():
            raise AuthenticationError(f"{kind} token expired")
        return Claims(user_id, str(raw.get("role", "")), kind, expires, str(raw["jti"]))

    def peek_user(self, token: str) -> str | None:
        """The subject of a correctly signed access token, expired or not (for rate limits)."""
        try:
            raw = jwt.decode(token, self.secret, algorithms=[ALGORITHM],
                             options={"verify_exp": False, "verify_iat": False})
        except jwt.PyJWTError:
            return None
        return str(raw.get("sub")) if raw.get("type") == ACCESS else None
