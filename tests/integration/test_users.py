"""User rules: unique emails, bcrypt hashes, throttled sign-in, deactivation, roles, passwords."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine import services as s
from engine.domain.permissions import Role
from engine.errors import AuthenticationError, PermissionDenied, SignInThrottled, ValidationError
from engine.models import AuditLog, User
from engine.services.throttle import FREE_ATTEMPTS, delay_after


def _users(db, email):
    with db.uow().read() as uow:
        return uow.session.scalars(select(User).where(User.email == email)).all()


def test_self_registration_makes_a_member_with_a_bcrypt_hash(db):
    assert s.register_member(db.uow(), email=" Ann@Example.ORG ", name="Ann",
                             password="password-123", hash_rounds=4) is None
    [u] = _users(db, "ann@example.org")
    assert u.role is Role.USER and u.is_active
    assert u.password_hash.startswith("$2") and "password-123" not in u.password_hash
    assert s.authenticate(db.uow(), "ann@example.org", "password-123").id == u.id


def test_self_registration_of_a_taken_email_answers_the_same_and_changes_nothing(db, make):
    owner = make.user(email="taken@example.org")
    with db.uow().read() as uow:
        audits = uow.session.scalar(select(func.count()).select_from(AuditLog))
    answer = s.register_member(db.uow(), email="TAKEN@example.org", name="Mallory",
                               password="mallorys-password", hash_rounds=4)
    assert answer is None  # exactly what a new e-mail gets
    [u] = _users(db, "taken@example.org")
    assert u.id == owner.id and u.name == owner.name
    assert s.authenticate(db.uow(), "taken@example.org", "password-123").id == owner.id
    with pytest.raises(AuthenticationError):
        s.authenticate(db.uow(), "taken@example.org", "mallorys-password")
    with db.uow().read() as uow:
        assert uow.session.scalar(select(func.count()).select_from(AuditLog)) == audits


def _mail_to(db, email):
    from engine.models import OutboxMessage
    with db.uow().read() as uow:
        return [m.subject for m in uow.session.scalars(select(OutboxMessage).where(
            OutboxMessage.recipient_email == email).order_by(OutboxMessage.created_at))]


def test_either_way_the_address_gets_one_email_and_the_owner_at_most_one_a_day(db, make, clock):
    s.register_member(db.uow(), email="new@example.org", name="New", password="password-123",
                      hash_rounds=4)
    assert _mail_to(db, "new@example.org") == ["Your Range-Control account is ready"]
    make.user(email="owner@example.org")
    for _ in range(3):
        s.register_member(db.uow(), email="owner@example.org", name="Mallory",
                          password="mallorys-password", hash_rounds=4)
    assert _mail_to(db, "owner@example.org") == ["Someone tried to register your e-mail address"]
    clock.advance(days=1)
    s.register_member(db.uow(), email="owner@example.org", name="Mallory",
                      password="mallorys-password", hash_rounds=4)
    assert len(_mail_to(db, "owner@example.org")) == 2


def test_an_admin_creating_a_taken_email_is_told(db, make):
    make.user(email="dup@example.org")
    with pytest.raises(ValidationError, match="already registered") as err:
        s.register_user(db.uow(), email="Dup@example.org", name="X", password="password-123",
                        actor_id=make.admin.id, hash_rounds=4)
    assert err.value.field == "email"


def test_only_an_admin_creates_staff(db, make):
    with pytest.raises(PermissionDenied):
        s.register_user(db.uow(), email="a@b.example", name="A", password="password-123",
                        role="staff", actor_id=make.user().id)


def test_self_registration_can_be_closed(db_url, clock):
    from engine.db import Database
    from tests.conftest import test_settings

    closed = Database(db_url, settings=test_settings(ALLOW_SELF_REGISTRATION=False), clock=clock)
    with pytest.raises(PermissionDenied, match="closed"):
        s.register_member(closed.uow(), email="a@b.example", name="A", password="password-123")
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


def _fail(db, email, times, source="10.0.0.1"):
    for _ in range(times):
        with pytest.raises(AuthenticationError) as err:
            s.authenticate(db.uow(), email, "wrong-password", source=source)
        assert not isinstance(err.value, SignInThrottled)


def test_failures_throttle_the_email_and_source_with_growing_delays(db, make, clock):
    make.user(email="d@example.org")
    _fail(db, "d@example.org", FREE_ATTEMPTS)
    with pytest.raises(SignInThrottled) as err:  # right password, but it must wait
        s.authenticate(db.uow(), "d@example.org", "password-123", source="10.0.0.1")
    assert err.value.retry_after == delay_after(FREE_ATTEMPTS).total_seconds() == 60
    with db.uow().read() as uow:
        assert uow.session.scalar(select(AuditLog.action).where(AuditLog.action == "user_locked"))
    clock.advance(seconds=61)
    _fail(db, "d@example.org", 1)  # one more guess allowed, then a longer wait
    with pytest.raises(SignInThrottled) as err:
        s.authenticate(db.uow(), "d@example.org", "password-123", source="10.0.0.1")
    assert err.value.retry_after == 120
    clock.advance(seconds=121)
    assert s.authenticate(db.uow(), "d@example.org", "password-123",
                          source="10.0.0.1").email == "d@example.org"
    _fail(db, "d@example.org", FREE_ATTEMPTS - 1)  # a success starts the count again


def test_a_guesser_elsewhere_does_not_keep_the_owner_out(db, make):
    u = make.user(email="owner@example.org")
    _fail(db, "owner@example.org", FREE_ATTEMPTS, source="203.0.113.9")
    with pytest.raises(SignInThrottled):
        s.authenticate(db.uow(), "owner@example.org", "password-123", source="203.0.113.9")
    assert s.authenticate(db.uow(), "owner@example.org", "password-123",
                          source="198.51.100.7").id == u.id


def test_unknown_and_real_emails_get_the_same_answers_throttling_included(db, make):
    make.user(email="real@example.org")
    answers = {}
    for email in ("real@example.org", "nobody@example.org"):
        seen = []
        for _ in range(FREE_ATTEMPTS + 1):
            try:
                s.authenticate(db.uow(), email, "wrong-password", source="10.9.9.9")
            except AuthenticationError as exc:
                seen.append((type(exc).__name__, exc.message,
                             getattr(exc, "retry_after", None)))
        answers[email] = seen
    assert answers["real@example.org"] == answers["nobody@example.org"]
    assert answers["real@example.org"][-1][0] == "SignInThrottled"


def test_admin_reset_lifts_the_throttle(db, make):
    u = make.user(email="e@example.org")
    _fail(db, "e@example.org", FREE_ATTEMPTS)
    s.reset_password(db.uow(), make.admin.id, u.id, "brand-new-pass", hash_rounds=4)
    assert s.authenticate(db.uow(), "e@example.org", "brand-new-pass",
                          source="10.0.0.1").id == u.id


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


def test_concurrent_registrations_of_one_email_give_one_user_and_the_same_answer(db):
    import threading
    from concurrent.futures import ThreadPoolExecutor

    barrier = threading.Barrier(6)

    def register(i):
        barrier.wait()
        return s.register_member(db.uow(), email="race@example.org", name=f"R{i}",
                                 password="password-123", hash_rounds=4)

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(register, range(6)))
    assert results == [None] * 6
    assert len(_users(db, "race@example.org")) == 1


def test_concurrent_admin_creations_of_one_email_give_one_user_and_a_clear_error(db, make):
    import threading
    from concurrent.futures import ThreadPoolExecutor

    admin = make.admin
    barrier = threading.Barrier(6)

    def create(i):
        barrier.wait()
        try:
            s.register_user(db.uow(), email="race2@example.org", name=f"R{i}",
                            password="password-123", actor_id=admin.id, hash_rounds=4)
            return "ok"
        except ValidationError as exc:
            assert exc.field == "email"
            return "taken"

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(create, range(6)))
    assert results.count("ok") == 1 and results.count("taken") == 5


def test_pairs_nobody_tried_for_a_day_are_deleted(db, make, clock):
    from engine.models import SignInThrottle
    from engine.services.throttle import FORGET_AFTER, PRUNE_EVERY

    for n in range(3):
        with pytest.raises(AuthenticationError):
            s.authenticate(db.uow(), f"gone{n}@example.org", "wrong-password", source="10.1.1.1")
    clock.advance(seconds=(FORGET_AFTER + PRUNE_EVERY).total_seconds())
    with pytest.raises(AuthenticationError):
        s.authenticate(db.uow(), "fresh@example.org", "wrong-password", source="10.1.1.1")
    with db.uow().read() as uow:
        keys = set(uow.session.scalars(select(SignInThrottle.account_key)))
    assert keys == {"fresh@example.org"}
