"""Sign-in throttling per (e-mail as typed, source address), with growing delays.

Why not a per-account lock: anyone who knows an e-mail could lock its owner out, and a lock
that only real accounts get tells a stranger which e-mails exist. Here a guesser only slows
down their own (e-mail, address) pair; the owner signing in from elsewhere is not affected, and
unknown e-mails are throttled exactly like real ones.

How it stays atomic: `claim` counts the attempt *before* the password is checked, in a short
transaction holding the pair's row lock (INSERT ... ON CONFLICT DO UPDATE, then SELECT ... FOR
UPDATE on PostgreSQL; BEGIN IMMEDIATE on SQLite). Forty parallel guesses therefore take the
numbers 1..40 one at a time; only the first FREE_ATTEMPTS get their password checked, the rest
are refused without a check. A correct password (`succeeded`) deletes the pair's row.
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from engine.db import UnitOfWork
from engine.errors import SignInThrottled
from engine.models import SignInThrottle

#: Attempts per (e-mail, source) before each further attempt must wait.
FREE_ATTEMPTS = 5
FIRST_DELAY = timedelta(minutes=1)
MAX_DELAY = timedelta(hours=1)
#: A pair with no attempt for this long starts again from zero.
FORGET_AFTER = timedelta(hours=24)
UNKNOWN_SOURCE = "unknown"
#: Rows forgotten for FORGET_AFTER are deleted by `claim`, at most this often per process.
PRUNE_EVERY = timedelta(minutes=10)
_last_prune: dict[str, datetime] = {}


def delay_after(failures: int) -> timedelta | None:
    """The wait after the n-th counted attempt: none for the free ones, then 1, 2, 4 ... 60 min."""
    if failures < FREE_ATTEMPTS:
        return None
    return min(FIRST_DELAY * 2 ** min(failures - FREE_ATTEMPTS, 16), MAX_DELAY)


def normalize_source(source: object) -> str:
    if not isinstance(source, str) or not source.strip():
        return UNKNOWN_SOURCE
    return source.strip()[:64]


def _insert(dialect: str):
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(SignInThrottle)


def _refusal(blocked_until: datetime, now: datetime) -> SignInThrottled:
    seconds = max(1, math.ceil((blocked_until - now).total_seconds()))
    wait = f"{seconds} seconds" if seconds < 120 else f"{math.ceil(seconds / 60)} minutes"
    return SignInThrottled(
        f"too many failed sign-ins for this e-mail from your address: try again in {wait}",
        retry_after=seconds)


def claim(uow: UnitOfWork, account_key: str, source: str) -> int:
    """Count one attempt for the pair, or raise SignInThrottled while it must wait.
    Returns the attempt's number since the last success."""
    with uow:
        now = uow.now
        # Insert the pair or, when it exists, lock it with a no-op update: either way this
        # transaction now holds the row (a concurrent success may have just deleted it).
        insert = _insert(uow.dialect).values(account_key=account_key, source=source,
                                             failures=0, last_attempt_at=now)
        uow.session.execute(insert.on_conflict_do_update(
            index_elements=[SignInThrottle.account_key, SignInThrottle.source],
            set_={"source": insert.excluded.source}))
        row = uow.session.scalars(select(SignInThrottle).where(
            SignInThrottle.account_key == account_key, SignInThrottle.source == source)
            .with_for_update()).one()
        if row.blocked_until is not None and row.blocked_until > now:
            raise _refusal(row.blocked_until, now)
        if row.last_attempt_at <= now - FORGET_AFTER:
            row.failures = 0
        row.failures += 1
        row.last_attempt_at = now
        wait = delay_after(row.failures)
        row.blocked_until = now + wait if wait else None
        number = row.failures
        _prune(uow, now)
        uow.commit()
        return number


def _prune(uow: UnitOfWork, now: datetime) -> None:
    """Delete pairs nobody tried for FORGET_AFTER (guesses at unknown e-mails leave rows too)."""
    last = _last_prune.get(uow.db.url)
    if last is not None and now - last < PRUNE_EVERY and now >= last:
        return
    _last_prune[uow.db.url] = now
    uow.session.execute(delete(SignInThrottle).where(
        SignInThrottle.last_attempt_at <= now - FORGET_AFTER,
        (SignInThrottle.blocked_until.is_(None)) | (SignInThrottle.blocked_until <= now)))


def succeeded(uow: UnitOfWork, account_key: str, source: str) -> None:
    """The password was right: forget the pair's failures (in the caller's transaction)."""
    uow.session.execute(delete(SignInThrottle).where(
        SignInThrottle.account_key == account_key, SignInThrottle.source == source))


def forget_account(uow: UnitOfWork, account_key: str) -> None:
    """An admin reset or reactivation: lift every throttle on the e-mail (caller's transaction)."""
    uow.session.execute(delete(SignInThrottle).where(SignInThrottle.account_key == account_key))
