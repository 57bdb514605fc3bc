"""Token checks stay whole while each token's signature is verified only once (api/tokens.py)."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from api import tokens as tokens_module
from api.tokens import ACCESS, REFRESH, TokenIssuer
from engine.errors import AuthenticationError

SECRET = "token-test-secret-" + "k" * 32


class Clock:
    def __init__(self):
        self.now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock():
    return Clock()


def count_signature_checks(monkeypatch) -> list[str]:
    calls: list[str] = []
    real = jwt.decode

    def counting(token, *args, **kwargs):
        calls.append(token)
        return real(token, *args, **kwargs)

    monkeypatch.setattr(tokens_module.jwt, "decode", counting)
    return calls


def test_a_token_is_verified_once_for_the_request_log_the_rate_limit_and_the_route(
        monkeypatch, clock):
    issuer = TokenIssuer(SECRET, clock)
    user = uuid.uuid4()
    token, _ = issuer.issue(user, "user", ACCESS)
    calls = count_signature_checks(monkeypatch)
    assert issuer.peek_user(token) == str(user)  # the request log
    assert issuer.peek_user(token) == str(user)  # the rate limit
    assert issuer.decode(token, ACCESS).user_id == user  # the route
    assert calls == [token]


def test_a_verified_token_still_expires(clock):
    issuer = TokenIssuer(SECRET, clock, access_ttl=timedelta(minutes=15))
    token, _ = issuer.issue(uuid.uuid4(), "user", ACCESS)
    issuer.decode(token, ACCESS)
    clock.now += timedelta(minutes=16)
    with pytest.raises(AuthenticationError, match="expired"):
        issuer.decode(token, ACCESS)


def test_a_verified_access_token_is_no_refresh_token(clock):
    issuer = TokenIssuer(SECRET, clock)
    token, _ = issuer.issue(uuid.uuid4(), "user", ACCESS)
    issuer.decode(token, ACCESS)
    with pytest.raises(AuthenticationError, match="not a refresh token"):
        issuer.decode(token, REFRESH)


def test_a_token_signed_with_another_key_is_refused_even_when_its_twin_was_accepted(clock):
    """The cache is per issuer (per key): a token is never trusted because another key's
    issuer verified it."""
    ours, theirs = TokenIssuer(SECRET, clock), TokenIssuer("another-secret-" + "x" * 32, clock)
    token, _ = theirs.issue(uuid.uuid4(), "admin", ACCESS)
    theirs.decode(token, ACCESS)
    with pytest.raises(AuthenticationError, match="invalid access token"):
        ours.decode(token, ACCESS)
    assert ours.peek_user(token) is None


def test_a_tampered_token_is_refused_after_the_genuine_one_was_accepted(clock):
    issuer = TokenIssuer(SECRET, clock)
    token, _ = issuer.issue(uuid.uuid4(), "user", ACCESS)
    issuer.decode(token, ACCESS)
    header, payload, signature = token.split(".")
    forged_payload = jwt.utils.base64url_encode(
        jwt.utils.base64url_decode(payload).replace(b'"user"', b'"admin"')).decode()
    with pytest.raises(AuthenticationError, match="invalid access token"):
        issuer.decode(f"{header}.{forged_payload}.{signature}", ACCESS)


def test_the_cache_of_verified_tokens_keeps_at_most_its_size(monkeypatch, clock):
    issuer = TokenIssuer(SECRET, clock, verified_max=3)
    issued = [issuer.issue(uuid.uuid4(), "user", ACCESS)[0] for _ in range(5)]
    for token in issued:
        issuer.decode(token, ACCESS)
    calls = count_signature_checks(monkeypatch)
    issuer.decode(issued[-1], ACCESS)  # recent: cached
    issuer.decode(issued[0], ACCESS)  # oldest: dropped, verified again
    assert calls == [issued[0]]
    assert len(issuer._verified) == 3
