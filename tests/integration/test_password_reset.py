"""'Forgot password?': one-time e-mailed reset links (engine, both databases)."""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import func, select

from engine import services as s
from engine.domain.audit_actions import AuditAction
from engine.errors import AuthenticationError, SignInThrottled, ValidationError
from engine.models import AuditLog, OutboxMessage, PasswordResetToken
from engine.notifications.settings import get_notify_settings
from engine.services import sessions
from engine.services.password_reset import (
    RESET_REQUESTED,
    TOKEN_LIFETIME,
    request_password_reset,
    reset_password_with_token,
)
from engine.services.throttle import FREE_ATTEMPTS


def _outbox(db) -> list[OutboxMessage]:
    with db.uow().read() as uow:
        return list(uow.session.scalars(select(OutboxMessage).order_by(OutboxMessage.created_at)))


def _count(db, model) -> int:
    with db.uow().read() as uow:
        return uow.session.scalar(select(func.count()).select_from(model))


def _token_from(message: OutboxMessage) -> str:
    [link] = re.findall(r"https?://\S+", message.body_text)
    base = get_notify_settings().dashboard_url.rstrip("/")
    assert link.startswith(base + "/?token=")
    [token] = parse_qs(urlparse(link).query)["token"]
    return token


def _request(db, email, source="203.0.113.9"):
    return request_password_reset(db.uow(), email, source=source)


def test_an_unknown_email_gets_the_same_answer_and_nothing_is_sent_or_stored(db, make):
    make.user(email="known@example.org")
    before = _outbox(db)
    assert _request(db, "nobody@example.org") == RESET_REQUESTED
    assert _outbox(db) == before
    assert _count(db, PasswordResetToken) == 0


def test_a_known_email_gets_exactly_one_message_with_a_working_link(db, make):
    user = make.user(email="known@example.org")
    before = len(_outbox(db))
    assert _request(db, " Known@Example.org ") == RESET_REQUESTED  # same answer as unknown
    outbox = _outbox(db)
    assert len(outbox) == before + 1
    message = outbox[-1]
    assert message.recipient_email == "known@example.org" and message.recipient_user_id == user.id
    token = _token_from(message)
    with db.uow().read() as uow:
        [row] = uow.session.scalars(select(PasswordResetToken)).all()
        assert token not in row.token_hash and row.token_hash == sessions.token_hash(token)
        assert row.expires_at - row.created_at == TOKEN_LIFETIME
    reset_password_with_token(db.uow(), token, "a-brand-new-secret", hash_rounds=4)
    assert s.authenticate(db.uow(), "known@example.org", "a-brand-new-secret").id == user.id
    with pytest.raises(AuthenticationError):
        s.authenticate(db.uow(), "known@example.org", "password-123")
    with db.uow().read() as uow:
        entry = uow.session.scalars(select(AuditLog).where(
            AuditLog.action == AuditAction.PASSWORD_RESET.value)).one()
        assert entry.actor_id == user.id and "e-mailed link" in entry.details


def test_a_used_token_is_refused_the_second_time(db, make):
    make.user(email="known@example.org")
    _request(db, "known@example.org")
    token = _token_from(_outbox(db)[-1])
    reset_password_with_token(db.uow(), token, "a-brand-new-secret", hash_rounds=4)
    with pytest.raises(ValidationError, match="already used") as err:
        reset_password_with_token(db.uow(), token, "another-new-secret", hash_rounds=4)
    assert err.value.field == "token"
    assert s.authenticate(db.uow(), "known@example.org", "a-brand-new-secret")


def test_an_expired_token_is_refused_and_changes_nothing(db, make, clock):
    make.user(email="known@example.org")
    _request(db, "known@example.org")
    token = _token_from(_outbox(db)[-1])
    audits = _count(db, AuditLog)
    clock.advance(minutes=30)
    with pytest.raises(ValidationError, match="expired"):
        reset_password_with_token(db.uow(), token, "a-brand-new-secret", hash_rounds=4)
    assert _count(db, AuditLog) == audits
    assert s.authenticate(db.uow(), "known@example.org", "password-123")


def test_a_made_up_token_is_refused(db, make):
    with pytest.raises(ValidationError) as err:
        reset_password_with_token(db.uow(), "not-a-token", "a-brand-new-secret", hash_rounds=4)
    assert err.value.field == "token"


def test_the_reset_revokes_every_session_of_the_user(db, make, clock):
    user = make.user(email="known@example.org")
    for token in ("phone", "laptop"):
        sessions.open_session(db.uow(), user.id, kind="dashboard", token=token,
                              expires_at=clock() + TOKEN_LIFETIME * 10)
    _request(db, "known@example.org")
    reset_password_with_token(db.uow(), _token_from(_outbox(db)[-1]), "a-brand-new-secret",
                              hash_rounds=4)
    for token in ("phone", "laptop"):
        assert sessions.session_user(db.uow(), token, kind="dashboard") is None


def test_the_password_policy_is_enforced_naming_the_field_and_the_token_stays_usable(db, make):
    make.user(email="known@example.org")
    _request(db, "known@example.org")
    token = _token_from(_outbox(db)[-1])
    for weak, rule in (("short", "at least 10 characters"), ("password123", "most common")):
        with pytest.raises(ValidationError, match=rule) as err:
            reset_password_with_token(db.uow(), token, weak, hash_rounds=4)
        assert err.value.field == "new_password"
    reset_password_with_token(db.uow(), token, "a-brand-new-secret", hash_rounds=4)


def test_a_malformed_email_names_the_field(db):
    with pytest.raises(ValidationError) as err:
        _request(db, "not an address")
    assert err.value.field == "email"


def test_requests_are_throttled_alike_for_known_and_unknown_emails(db, make):
    make.user(email="known@example.org")
    for email in ("known@example.org", "nobody@example.org"):
        for _ in range(FREE_ATTEMPTS):
            assert _request(db, email) == RESET_REQUESTED
        with pytest.raises(SignInThrottled, match="password reset requests"):
            _request(db, email)
        assert _request(db, email, source="198.51.100.7") == RESET_REQUESTED  # other source
    assert len([m for m in _outbox(db) if m.recipient_email == "known@example.org"]) \
        == FREE_ATTEMPTS + 1


def test_parallel_uses_of_one_token_let_exactly_one_through(db, make):
    """The conditional UPDATE (used_at IS NULL) under the row lock is the one-time guarantee."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    make.user(email="known@example.org")
    _request(db, "known@example.org")
    token = _token_from(_outbox(db)[-1])
    barrier = threading.Barrier(6)

    def use(n: int) -> str:
        barrier.wait()
        try:
            reset_password_with_token(db.uow(), token, f"parallel-secret-{n}", hash_rounds=4)
            return f"parallel-secret-{n}"
        except ValidationError as exc:
            assert exc.field == "token"
            return "refused"

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(use, range(6)))
    winners = [r for r in results if r != "refused"]
    assert len(winners) == 1, results
    assert s.authenticate(db.uow(), "known@example.org", winners[0])
    with db.uow().read() as uow:
        assert uow.session.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.action == AuditAction.PASSWORD_RESET.value)) == 1
