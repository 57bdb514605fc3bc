"""Sign-in throttling per (e-mail as typed, source address), with growing delays, under a
per-e-mail cap across all sources that never keeps the owner out.

Why not a per-account lock: anyone who knows an e-mail could lock its owner out, and a lock
that only real accounts get tells a stranger which e-mails exist. Here a guesser only slows
down their own (e-mail, address) pair; the owner signing in from elsewhere is not affected, and
unknown e-mails are throttled exactly like real ones.

Guessing spread over many addresses is capped per e-mail instead (the way "smart lockout"
systems do it): sign-ins also count on the e-mail's all-sources row (source `*`). Once it holds
ACCOUNT_CAP unanswered attempts, an address that has failed on that e-mail is refused outright
until the e-mail has been quiet for FORGET_AFTER, and a fresh address gets one check: the
owner's correct password from an address that has not failed still signs in, a guesser gets one
guess per new address. A stranger can thus spend the cap but never lock the owner out.

How it stays atomic: `claim` counts the attempt *before* the password is checked, in a short
transaction holding the pair's row lock, then the e-mail's (INSERT ... ON CONFLICT DO UPDATE,
then SELECT ... FOR UPDATE on PostgreSQL; BEGIN IMMEDIATE on SQLite). Forty parallel guesses
therefore take the numbers 1..40 one at a time; only the first FREE_ATTEMPTS get their password
checked, the rest are refused without a check. A correct password (`succeeded`) deletes the
pair's row and takes its attempt back off the e-mail's count.
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import delete, select, update
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
#: The source of an e-mail's all-sources row (no address looks like it).
ALL_SOURCES = "*"
#: Unanswered sign-ins per e-mail from all sources together (forgotten after FORGET_AFTER
#: without one) after which only addresses that have not failed on it get a check: ten
#: addresses' free attempts, far above what an owner's typos reach.
ACCOUNT_CAP = 50
#: Rows forgotten for FORGET_AFTER are deleted by `claim`, at most this often per process.
PRUNE_EVERY = timedelta(minutes=10)
_last_prune: dict[str, datetime] = {}


def delay_after(failures: int) -> timedelta | None:
    """The wait after the n-th counted attempt: none for the free ones, then 1, 2, 4 ... 60 min."""
    if failures < FREE_ATTEMPTS:
        return None
    return min(FIRST_DELAY * 2 ** min(failures - FREE_ATTEMPTS, 16), MAX_DELAY)


def normalize_source(source: object) -> str:
    if not isinstance(source, str) or not source.strip() or source.strip() == ALL_SOURCES:
        return UNKNOWN_SOURCE
    return source.strip()[:64]


def _insert(dialect: str):
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(SignInThrottle)


def _refusal(blocked_until: datetime, now: datetime, *, everywhere: bool = False
             ) -> SignInThrottled:
    seconds = max(1, math.ceil((blocked_until - now).total_seconds()))
    wait = f"{seconds} seconds" if seconds < 120 else f"{math.ceil(seconds / 60)} minutes"
    where = ("from many addresses, yours among them" if everywhere else "from your address")
    return SignInThrottled(
        f"too many failed sign-ins for this e-mail {where}: try again in {wait}",
        retry_after=seconds)


class Claim(NamedTuple):
    #: The attempt's number for the (e-mail, source) pair since its last success.
    number: int
    #: The e-mail's unanswered attempts from all sources, this one included (0 uncapped).
    account_attempts: int = 0


def _locked_row(uow: UnitOfWork, account_key: str, source: str, now: datetime
                ) -> SignInThrottle:
    """The (e-mail, source) row, inserted or, when it exists, locked with a no-op update:
    either way this transaction now holds it (a concurrent success may have just deleted
    it). Attempts older than FORGET_AFTER are forgotten."""
    insert = _insert(uow.dialect).values(account_key=account_key, source=source,
                                         failures=0, last_attempt_at=now)
    uow.session.execute(insert.on_conflict_do_update(
        index_elements=[SignInThrottle.account_key, SignInThrottle.source],
        set_={"source": insert.excluded.source}))
    row = uow.session.scalars(select(SignInThrottle).where(
        SignInThrottle.account_key == account_key, SignInThrottle.source == source)
        .with_for_update()).one()
    if row.last_attempt_at <= now - FORGET_AFTER:
        row.failures = 0
    return row


def claim(uow: UnitOfWork, account_key: str, source: str, *,
          account_cap: int | None = None) -> Claim:
    """Count one attempt for the pair (and, with `account_cap`, for the e-mail from all
    sources), or raise SignInThrottled while it must wait. Locks the pair's row before the
    e-mail's, always in that order."""
    with uow:
        now = uow.now
        row = _locked_row(uow, account_key, source, now)
        if row.blocked_until is not None and row.blocked_until > now:
            raise _refusal(row.blocked_until, now)
        account = 0
        if account_cap is not None:
            everyone = _locked_row(uow, account_key, ALL_SOURCES, now)
            if everyone.failures >= account_cap and row.failures > 0:
                # This address has failed on a capped e-mail: no more checks from it.
                raise _refusal(everyone.last_attempt_at + FORGET_AFTER, now, everywhere=True)
            everyone.failures += 1
            everyone.last_attempt_at = now
            account = everyone.failures
        row.failures += 1
        row.last_attempt_at = now
        wait = delay_after(row.failures)
        row.blocked_until = now + wait if wait else None
        number = row.failures
        _prune(uow, now)
        uow.commit()
        return Claim(number, account)


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
    """The password was right: forget the pair's failures and take this attempt back off the
    e-mail's all-sources count (in the caller's transaction)."""
    uow.session.execute(delete(SignInThrottle).where(
        SignInThrottle.account_key == account_key, SignInThrottle.source == source))
    uow.session.execute(update(SignInThrottle).where(
        SignInThrottle.account_key == account_key, SignInThrottle.source == ALL_SOURCES,
        SignInThrottle.failures > 0).values(failures=SignInThrottle.failures - 1))


def forget_account(uow: UnitOfWork, account_key: str) -> None:
    """An admin reset or reactivation: lift every throttle on the e-mail (caller's transaction).
    The pairs go before the all-sources row, the order `claim` locks them in (no deadlock)."""
    uow.session.execute(delete(SignInThrottle).where(SignInThrottle.account_key == account_key,
                                                     SignInThrottle.source != ALL_SOURCES))
    uow.session.execute(delete(SignInThrottle).where(SignInThrottle.account_key == account_key,
                                                     SignInThrottle.source == ALL_SOURCES))
