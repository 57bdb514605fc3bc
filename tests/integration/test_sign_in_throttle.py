"""Sign-in throttling (SQLite and PostgreSQL): per (e-mail, source) delays slow one address's
guessing, a per-e-mail cap across sources bounds guessing spread over many addresses, and a
stranger's failures never keep the owner out."""
from __future__ import annotations

import json
from datetime import timedelta

import bcrypt
from sqlalchemy import select

from engine import passwords
from engine import services as s
from engine.errors import AuthenticationError, SignInThrottled
from engine.models import AuditLog
from engine.services.throttle import ACCOUNT_CAP, ALL_SOURCES, FORGET_AFTER, FREE_ATTEMPTS

PASSWORD = "password-123"
EMAIL = "owner@example.org"
#: Just enough addresses for their free attempts to reach the all-sources cap.
SPREAD = [f"203.0.113.{i}" for i in range(ACCOUNT_CAP // FREE_ATTEMPTS)]


def attempt(db, email: str, password: str, source: str) -> str:
    try:
        s.authenticate(db.uow(), email, password, source=source)
        return "signed in"
    except SignInThrottled:
        return "throttled"  # refused before the password was checked
    except AuthenticationError:
        return "wrong"


def guess_from_many_addresses(db, email: str = EMAIL) -> None:
    """Every address spends its free attempts: ACCOUNT_CAP wrong guesses, all checked."""
    answers = [attempt(db, email, "wrong-password", source)
               for source in SPREAD for _ in range(FREE_ATTEMPTS)]
    assert answers == ["wrong"] * ACCOUNT_CAP


def test_a_strangers_failures_from_other_sources_do_not_block_the_owners_correct_sign_in(
        db, make):
    owner = make.user(email=EMAIL)
    guess_from_many_addresses(db)
    for i in range(5):  # and more fresh addresses past the cap
        assert attempt(db, EMAIL, "wrong-password", f"192.0.2.{i}") == "wrong"
    for _ in range(3):  # from an address that has not failed, again and again
        assert s.authenticate(db.uow(), EMAIL, PASSWORD, source="198.51.100.7").id == owner.id


def test_guessing_from_one_source_is_slowed(db, make, clock):
    """Guessing as fast as the throttle allows for a day gets the free attempts and then one
    check per growing wait (1, 2, 4 ... 60 minutes): 33 checks, not thousands."""
    make.user(email=EMAIL)
    checked, day_ends = 0, clock.now + timedelta(days=1)
    while clock.now < day_ends and checked < 1000:
        try:
            s.authenticate(db.uow(), EMAIL, "wrong-password", source="198.51.100.7")
        except SignInThrottled as wait:
            clock.advance(seconds=wait.retry_after)
        except AuthenticationError:
            checked += 1
    assert checked == FREE_ATTEMPTS + 6 + 22 < ACCOUNT_CAP


def test_guessing_spread_over_many_sources_is_still_capped(db, make, clock):
    make.user(email=EMAIL)
    guess_from_many_addresses(db)
    clock.advance(minutes=5)  # every address's own wait is over
    # An address that failed on the capped e-mail gets no more checks, right password or not.
    assert [attempt(db, EMAIL, PASSWORD, source) for source in SPREAD] == (
        ["throttled"] * len(SPREAD))
    # A new address gets one check, then none.
    assert attempt(db, EMAIL, "wrong-password", "192.0.2.1") == "wrong"
    clock.advance(hours=2)
    assert attempt(db, EMAIL, "another-guess", "192.0.2.1") == "throttled"
    with db.uow().read() as uow:
        audited = [json.loads(d) for d in uow.session.scalars(
            select(AuditLog.details).where(AuditLog.action == "user_locked"))]
    assert [d for d in audited if d["source"] == ALL_SOURCES] == [
        {"source": ALL_SOURCES, "failures": ACCOUNT_CAP,
         "wait_seconds": int(FORGET_AFTER.total_seconds())}]
    # A day without guesses forgets the cap.
    clock.advance(seconds=FORGET_AFTER.total_seconds())
    assert attempt(db, EMAIL, PASSWORD, SPREAD[0]) == "signed in"


def test_the_cap_answers_unknown_emails_exactly_like_real_ones(db, make, monkeypatch):
    # The stand-in hash unknown e-mails are checked against, at test cost (timing is not
    # what this test is about).
    monkeypatch.setattr(passwords, "_DUMMY", bcrypt.hashpw(b"x", bcrypt.gensalt(rounds=4)))
    make.user(email=EMAIL)
    answers = {}
    for email in (EMAIL, "nobody@example.org"):
        guess_from_many_addresses(db, email)
        answers[email] = [attempt(db, email, "wrong-password", source)
                          for source in (SPREAD[0], "192.0.2.9", "192.0.2.9")]
    assert answers[EMAIL] == answers["nobody@example.org"] == ["throttled", "wrong",
                                                                "throttled"]
