"""Parallel guesses cannot outrun the sign-in throttle (SQLite and PostgreSQL).

Each attempt is counted under a row lock before its password is checked, so of N parallel
guesses for one (e-mail, source) only FREE_ATTEMPTS ever reach the password check. The check
is slowed down here so that the attempts really overlap (as bcrypt at cost 12 does in production).
"""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from engine import services as s
from engine.errors import AuthenticationError, SignInThrottled
from engine.services import users as user_services
from engine.services.throttle import FREE_ATTEMPTS

SOURCE = "198.51.100.23"


class CountingCheck:
    """Wraps verify_password: counts the checks, slows each down, flags the FREE_ATTEMPTS-th."""

    def __init__(self, real):
        self.real, self.calls, self.lock = real, 0, threading.Lock()
        self.enough_started = threading.Event()
        self.checked_passwords: list[str] = []

    def __call__(self, password, hashed):
        with self.lock:
            self.calls += 1
            self.checked_passwords.append(password)
            if self.calls >= FREE_ATTEMPTS:
                self.enough_started.set()
        time.sleep(0.05)
        return self.real(password, hashed)


@pytest.fixture
def check(monkeypatch):
    counting = CountingCheck(user_services.verify_password)
    monkeypatch.setattr(user_services, "verify_password", counting)
    return counting


def attempt(db, email, password, barrier=None):
    if barrier is not None:
        barrier.wait()
    try:
        s.authenticate(db.uow(), email, password, source=SOURCE)
        return "signed in"
    except SignInThrottled:
        return "throttled"
    except AuthenticationError:
        return "wrong"


def test_forty_parallel_wrong_passwords_check_only_the_free_attempts(db, make, check):
    make.user(email="target@example.org")
    barrier = threading.Barrier(40)
    with ThreadPoolExecutor(40) as pool:
        results = list(pool.map(lambda _: attempt(db, "target@example.org", "guess-guess",
                                                  barrier), range(40)))
    assert results.count("wrong") == FREE_ATTEMPTS
    assert results.count("throttled") == 40 - FREE_ATTEMPTS
    assert check.calls == FREE_ATTEMPTS
    assert attempt(db, "target@example.org", "password-123") == "throttled"


def test_thirty_parallel_attempts_with_the_last_one_right_do_not_sign_in(db, make, check):
    """29 wrong guesses start together; once the threshold is reached (the FREE_ATTEMPTS-th
    check has begun) the right password arrives while the rest are still in flight."""
    make.user(email="target@example.org")
    barrier = threading.Barrier(29)

    def right_one():
        assert check.enough_started.wait(30)
        return attempt(db, "target@example.org", "password-123")

    with ThreadPoolExecutor(30) as pool:
        last = pool.submit(right_one)
        wrong = [pool.submit(attempt, db, "target@example.org", "guess-guess", barrier)
                 for _ in range(29)]
        results = [f.result() for f in wrong]
    assert last.result() == "throttled"
    assert "password-123" not in check.checked_passwords
    assert results.count("wrong") == FREE_ATTEMPTS and check.calls == FREE_ATTEMPTS


def test_thirty_released_at_once_never_check_more_than_the_free_attempts(db, make, check):
    """All 30 released by one barrier, the right password among them: whatever the order,
    only FREE_ATTEMPTS passwords are checked, and the right one signs in only if it was one."""
    make.user(email="target@example.org")
    barrier = threading.Barrier(30)
    passwords = ["guess-guess"] * 29 + ["password-123"]
    with ThreadPoolExecutor(30) as pool:
        results = list(pool.map(lambda p: attempt(db, "target@example.org", p, barrier),
                                passwords))
    signed_in = results[-1] == "signed in"
    assert signed_in == ("password-123" in check.checked_passwords)
    if not signed_in:  # (a success resets the count, so later claims may be checked again)
        assert check.calls == FREE_ATTEMPTS
        assert results.count("throttled") == 30 - FREE_ATTEMPTS


def test_parallel_guesses_from_many_addresses_are_all_counted_on_the_email(db, make, check):
    """Forty addresses guessing at once each lock their own pair, then the e-mail's row: no
    count is lost (and no deadlock). Past the cap, twenty parallel guesses from one new
    address get one check between them."""
    from engine.models import SignInThrottle
    from engine.services.throttle import ACCOUNT_CAP, ALL_SOURCES

    make.user(email="target@example.org")

    def guess(source, barrier=None):
        if barrier is not None:
            barrier.wait()
        try:
            s.authenticate(db.uow(), "target@example.org", "guess-guess", source=source)
        except SignInThrottled:
            return "throttled"
        except AuthenticationError:
            return "wrong"
        return "signed in"

    barrier = threading.Barrier(40)
    with ThreadPoolExecutor(40) as pool:
        results = list(pool.map(lambda i: guess(f"203.0.113.{i}", barrier), range(40)))
    assert results == ["wrong"] * 40
    with db.uow().read() as uow:
        assert uow.session.scalar(select(SignInThrottle.failures).where(
            SignInThrottle.source == ALL_SOURCES)) == 40
    for n in range(ACCOUNT_CAP - 40):  # up to the cap, one address after another
        assert guess(f"198.51.100.{n}") == "wrong"
    checked = check.calls
    barrier = threading.Barrier(20)
    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(lambda _: guess("192.0.2.77", barrier), range(20)))
    assert results.count("wrong") == 1 and results.count("throttled") == 19
    assert check.calls == checked + 1
