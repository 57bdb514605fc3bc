"""JWT access and refresh tokens (PyJWT, HS256). Expiry is checked against the engine's clock,
so tokens and the revocable refresh sessions in the database agree on what 'now' is."""
from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
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
    #: The refresh session an access token was issued from (None in tokens minted before
    #: access tokens carried it, and in refresh tokens, which are looked up by their hash).
    session_id: uuid.UUID | None = None


@dataclass(frozen=True)
class TokenIssuer:
    secret: str
    clock: Callable[[], datetime]
    access_ttl: timedelta = timedelta(minutes=15)
    refresh_ttl: timedelta = timedelta(days=7)
    #: Tokens whose signature was already checked, with their claims: a request's token is
    #: verified once, not by the request log, the rate limit and the route each, and a
    #: client's next requests with the same token skip HMAC and JSON. Only correctly signed
    #: tokens enter; expiry and kind are still checked on every use, and whether the token's
    #: session is still live is asked of the database on every use (api/deps.py), never cached.
    verified_max: int = 4096
    _verified: OrderedDict[str, dict] = field(default_factory=OrderedDict, init=False,
                                              repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False,
                                  compare=False)

    def issue(self, user_id: uuid.UUID, role: str, kind: str, *,
              session_id: uuid.UUID | None = None) -> tuple[str, datetime]:
        """A signed token; an access token carries `sid`, the refresh session it came from, so
        it stops working when that session is revoked."""
        now = self.clock()
        expires = now + (self.access_ttl if kind == ACCESS else self.refresh_ttl)
        claims = {"sub": str(user_id), "role": role, "type": kind, "iat": int(now.timestamp()),
                  "exp": int(expires.timestamp()), "jti": uuid.uuid4().hex}
        if session_id is not None:
            claims["sid"] = str(session_id)
        return jwt.encode(claims, self.secret, algorithm=ALGORITHM), expires

    def _claims(self, token: str) -> dict:
        """The payload of a correctly signed token (expiry not checked here), from the cache
        of verified tokens when it is there; jwt.PyJWTError otherwise."""
        with self._lock:
            raw = self._verified.get(token)
            if raw is not None:
                self._verified.move_to_end(token)
                return raw
        raw = jwt.decode(token, self.secret, algorithms=[ALGORITHM],
                         options={"verify_exp": False, "verify_iat": False,
                                  "require": ["sub", "type", "exp", "jti"]})
        with self._lock:
            self._verified[token] = raw
            if len(self._verified) > self.verified_max:
                self._verified.popitem(last=False)
        return raw

    def decode(self, token: str, kind: str, *, check_expiry: bool = True) -> Claims:
        """The token's claims, or AuthenticationError for a bad signature, kind or expiry."""
        try:
            raw = self._claims(token)
            user_id = uuid.UUID(str(raw["sub"]))
            expires = datetime.fromtimestamp(int(raw["exp"]), self.clock().tzinfo)
            sid = raw.get("sid")
            session_id = uuid.UUID(str(sid)) if sid is not None else None
        except (jwt.PyJWTError, ValueError, TypeError, OverflowError, OSError):
            raise AuthenticationError(f"invalid {kind} token") from None
        if raw.get("type") != kind:
            raise AuthenticationError(f"invalid {kind} token: this is not a {kind} token")
        if check_expiry and expires <= self.clock():
            raise AuthenticationError(f"{kind} token expired")
        return Claims(user_id, str(raw.get("role", "")), kind, expires, str(raw["jti"]),
                      session_id)

    def peek_user(self, token: str) -> str | None:
        """The subject of a correctly signed access token, expired or not (for rate limits)."""
        try:
            raw = self._claims(token)
        except jwt.PyJWTError:
            return None
        return str(raw.get("sub")) if raw.get("type") == ACCESS else None
