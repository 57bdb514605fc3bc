""""Forgot password?": a one-time reset link by e-mail, without telling strangers who has an
account.

`request_password_reset` answers the same for every well-formed e-mail, known or not, and is
throttled per (e-mail, source) like sign-in (engine/services/throttle.py, under a "reset:" key);
only a known, active account gets a mail, through the outbox in the same transaction. The link
carries a random token; only its SHA-256 is stored, with an expiry. `reset_password_with_token`
spends the token under a row lock (a second use fails), sets the password, lifts sign-in
throttles and revokes every session of the user, all in one transaction, and audits it.
"""
from __future__ import annotations

import secrets
import uuid
from datetime import timedelta
from urllib.parse import urlencode

from sqlalchemy import update

from engine.audit import record
from engine.db import UnitOfWork
from engine.domain.audit_actions import AuditAction
from engine.errors import SignInThrottled, ValidationError
from engine.logs import logged
from engine.models import PasswordResetToken, User
from engine.notifications import enqueue_message
from engine.notifications.settings import get_notify_settings
from engine.passwords import hash_password, validate_password
from engine.services import throttle
from engine.services.sessions import revoke_user_sessions, token_hash
from engine.services.users import normalize_email, user_by_email

TOKEN_LIFETIME = timedelta(minutes=30)
#: The one answer to every accepted request, whether or not the e-mail has an account.
RESET_REQUESTED = ("If an account uses this e-mail address, we have sent it a link to choose a "
                   "new password. The link works once, for 30 minutes.")
INVALID_LINK = "is invalid, expired or already used: ask for a new one"
RESET_MAIL = ("Hello {name},\n\nsomeone (perhaps you) asked to reset the password of your "
              "Range-Control account. To choose a new password, open this link within 30 "
              "minutes (it works once):\n\n{link}\n\nIf it was not you, ignore this e-mail: "
              "your password is unchanged.\n")


def reset_link(token: str) -> str:
    """The dashboard's sign-in page with the token (NOTIFY_DASHBOARD_URL, as notifications use)."""
    base = get_notify_settings().dashboard_url.rstrip("/")
    return f"{base}/?{urlencode({'token': token})}"


@logged("user.request_password_reset")
def request_password_reset(uow: UnitOfWork, email: object, *, source: object = None) -> str:
    """Queue a reset mail for a known active account; return RESET_REQUESTED either way.
    Raises ValidationError for a malformed e-mail and SignInThrottled (alike for every e-mail)
    after too many requests from one source."""
    email = normalize_email(email)
    source = throttle.normalize_source(source)
    try:
        throttle.claim(uow, f"reset:{email}"[:255], source)
    except SignInThrottled as refused:
        raise SignInThrottled(
            "too many password reset requests for this e-mail from your address: "
            + str(refused).split(": ", 1)[-1], retry_after=refused.retry_after) from None
    token = secrets.token_urlsafe(32)
    with uow:
        user = user_by_email(uow, email)
        if user is not None and user.is_active:
            uow.session.add(PasswordResetToken(
                id=uuid.uuid4(), user_id=user.id, token_hash=token_hash(token),
                created_at=uow.now, expires_at=uow.now + TOKEN_LIFETIME))
            enqueue_message(uow, user, subject="Reset your Range-Control password",
                            body=RESET_MAIL.format(name=user.name, link=reset_link(token)))
            record(uow.session, actor_id=user.id, action=AuditAction.PASSWORD_RESET_REQUESTED,
                   now=uow.now, entity=user, details={"source": source})
        uow.commit()
    return RESET_REQUESTED


@logged("user.reset_password_with_token")
def reset_password_with_token(uow: UnitOfWork, token: object, new_password: object, *,
                              hash_rounds: int = 12) -> None:
    """Spend a reset token: set the password (engine POLICY, field new_password), mark the token
    used, lift sign-in throttles and revoke every session of the user, in one transaction."""
    password = validate_password(new_password, "new_password")
    if not isinstance(token, str) or not token:
        raise ValidationError("token", INVALID_LINK)
    with uow:
        now = uow.now
        # The conditional UPDATE is the one-time guarantee: of two concurrent uses, only one
        # finds used_at still NULL (the row lock serialises them on both databases).
        spent = uow.session.execute(
            update(PasswordResetToken)
            .where(PasswordResetToken.token_hash == token_hash(token),
                   PasswordResetToken.used_at.is_(None), PasswordResetToken.expires_at > now)
            .values(used_at=now).returning(PasswordResetToken.user_id)).first()
        user = uow.session.get(User, spent.user_id) if spent is not None else None
        if user is None or not user.is_active:
            raise ValidationError("token", INVALID_LINK)
        user.password_hash = hash_password(password, hash_rounds)
        user.updated_at = now
        # Other links sent earlier stop working too: the password they were for is gone.
        uow.session.execute(update(PasswordResetToken).where(
            PasswordResetToken.user_id == user.id, PasswordResetToken.used_at.is_(None))
            .values(used_at=now))
        throttle.forget_account(uow, user.email)
        revoked = revoke_user_sessions(uow, user.id)
        record(uow.session, actor_id=user.id, action=AuditAction.PASSWORD_RESET, now=now,
               entity=user, details={"via": "e-mailed link", "sessions_revoked": revoked})
        uow.commit()
