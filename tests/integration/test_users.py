"""User rules: unique emails, bcrypt hashes, lockout, deactivation, roles, passwords."""
from __future__ import annotations


import pytest
from sqlalchemy import select

from engine import services as s
from engine.domain.permissions import Role
from engine.errors import AccountLocked, AuthenticationError, PermissionDenied, ValidationError
from engine.models import AuditLog, User
from engine.services.users import LOCKOUT, MAX_FAILED_LOGINS


def test_self_registration_makes_a_member_with_a_bcrypt_hash(db):
    u = s.register_user(db.uow(), email=" Ann@Example.ORG ", name="Ann", password="password-123",
                        hash_rounds=4)
    assert u.email == "ann@example.org" and u.role == "user"
    with db.uow().read() as uow:
        stored = uow.session.get(User, u.id).password_hash
    assert stored.startswith("$2") and "password-123" not in stored


def test_self_registration_cannot_make_staff(db):
    with pytest.raises(PermissionDenied):
        s.register_user(db.uow(), email="a@b.example", name="A", password="password-123",
                        role="staff")


def test_self_registration_can_be_closed(db_url, clock):
    from engine.db import Database
    from tests.conftest import test_settings

    closed = Database(db_url, settings=test_settings(ALLOW_SELF_REGISTRATION=False), clock=clock)
    with pytest.raises(PermissionDenied, match="closed"):
        s.register_user(closed.uow(), email="a@b.example", name="A", password="password-123")
    closed.dispose()


def test_authenticate_is_case_insensitive_on_email(db, make):
    u = make.user(email="Bob@Example.org")
    assert s.authenticate(db.uow(), "BOB@example.ORG", "password-123").id == u.id


def test_wrong_password_and_unknown_email_give_the_same_message(db, make):
    make.user(email="c@example.org")
    with pytest.raises(AuthenticationError) as wrong:
        s.authenticate(db.uow(), "c@example.org", "nope-nope")
    with pytest.raises(AuthenticationError) as unknown:
        s.authenticate(db.uow(), "nobody@example.org", "nope-nope")
    assert wrong.value.message == unknown.value.message


def test_lockout_after_repeated_failures_then_unlock_after_the_period(db, make, clock):
    make.user(email="d@example.org")
    for _ in range(MAX_FAILED_LOGINS):
        with pytest.raises(AuthenticationError):
            s.authenticate(db.uow(), "d@example.org", "wrong-password")
    with pytest.raises(AccountLocked):
        s.authenticate(db.uow(), "d@example.org", "password-123")  # right password, still locked
    with db.uow().read() as uow:
        assert uow.session.scalar(select(AuditLog.action).where(AuditLog.action == "user_locked"))
    clock.advance(seconds=LOCKOUT.total_seconds() + 1)
    assert s.authenticate(db.uow(), "d@example.org", "password-123").email == "d@example.org"


def test_admin_reset_clears_a_lockout(db, make):
    u = make.user(email="e@example.org")
    for _ in range(MAX_FAILED_LOGINS):
        with pytest.raises(AuthenticationError):
            s.authenticate(db.uow(), "e@example.org", "wrong-password")
    s.reset_password(db.uow(), make.admin.id, u.id, "brand-new-pass", hash_rounds=4)
    assert s.authenticate(db.uow(), "e@example.org", "brand-new-pass").id == u.id


def test_deactivated_user_cannot_sign_in(db, make):
    u = make.user(email="f@example.org")
    s.deactivate_user(db.uow(), make.admin.id, u.id)
    with pytest.raises(AuthenticationError, match="deactivated"):
        s.authenticate(db.uow(), "f@example.org", "password-123")


def test_role_change_is_audited_with_previous_state(db, make):
    u = make.user()
    s.change_role(db.uow(), make.admin.id, u.id, Role.STAFF)
    with db.uow().read() as uow:
        entry = uow.session.scalar(select(AuditLog).where(AuditLog.action == "user_role_changed"))
    assert entry.previous_state["role"] == "user" and entry.entity_id == u.id
    assert "password_hash" not in entry.previous_state


def test_the_last_admin_cannot_be_demoted_or_deactivated(db, make):
    with pytest.raises(ValidationError, match="last active admin"):
        s.change_role(db.uow(), make.admin.id, make.admin.id, "staff")
    with pytest.raises(ValidationError, match="last active admin"):
        s.deactivate_user(db.uow(), make.admin.id, make.admin.id)


def test_change_password_requires_the_current_one(db, make):
    u = make.user(email="g@example.org")
    with pytest.raises(ValidationError) as err:
        s.change_password(db.uow(), u.id, current_password="guess-guess",
                          new_password="another-pass", hash_rounds=4)
    assert err.value.field == "current_password"
    s.change_password(db.uow(), u.id, current_password="password-123",
                      new_password="another-pass", hash_rounds=4)
    assert s.authenticate(db.uow(), "g@example.org", "another-pass").id == u.id


def test_list_users_filters_by_role_and_search(db, make):
    make.user(name="Zed Staff", role=Role.STAFF)
    make.user(name="Amy Member")
    page = s.list_users(db.uow(), make.admin.id, role="staff")
    assert [u.name for u in page.items] == ["Zed Staff"]
    assert s.list_users(db.uow(), make.admin.id, search="amy").total == 1


def test_concurrent_registrations_of_one_email_give_one_user_and_a_clear_error(db):
    import threading
    from concurrent.futures import ThreadPoolExecutor

    barrier = threading.Barrier(6)

    def register(i):
        barrier.wait()
        try:
            s.register_user(db.uow(), email="race@example.org", name=f"R{i}",
                            password="password-123", hash_rounds=4)
            return "ok"
        except ValidationError as exc:
            assert exc.field == "email"
            return "taken"

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(register, range(6)))
    assert results.count("ok") == 1 and results.count("taken") == 5
