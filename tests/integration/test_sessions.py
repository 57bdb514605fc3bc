"""Revocable sessions: what signing out, password changes, deactivation and role changes must
guarantee. Revocation happens in the engine, in the same transaction as the change."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.errors import ValidationError
from engine.models import AuthSession
from engine.services import users as user_services
from engine.services.sessions import open_session, revoke_session, session_user


def test_revoked_token_no_longer_signs_in(db, make, clock):
    u = make.user()
    open_session(db.uow(), u.id, kind="dashboard", token="tok-1",
                 expires_at=clock.now + timedelta(days=1))
    assert session_user(db.uow(), "tok-1", kind="dashboard") == u.id
    assert revoke_session(db.uow(), "tok-1") is True
    assert session_user(db.uow(), "tok-1", kind="dashboard") is None


def test_expired_token_is_refused(db, make, clock):
    u = make.user()
    open_session(db.uow(), u.id, kind="refresh", token="tok-2",
                 expires_at=clock.now + timedelta(minutes=5))
    clock.advance(minutes=6)
    assert session_user(db.uow(), "tok-2", kind="refresh") is None


def test_token_of_a_deactivated_user_is_refused(db, make, clock):
    u = make.user()
    open_session(db.uow(), u.id, kind="dashboard", token="tok-3",
                 expires_at=clock.now + timedelta(days=1))
    user_services.deactivate_user(db.uow(), make.admin.id, u.id)
    assert session_user(db.uow(), "tok-3", kind="dashboard") is None


def _sessions(db, clock, user, *tokens):
    for kind, token in tokens:
        open_session(db.uow(), user.id, kind=kind, token=token,
                     expires_at=clock.now + timedelta(days=1))


def _live(db, *tokens):
    return {t for kind, t in tokens if session_user(db.uow(), t, kind=kind) is not None}


TOKENS = (("dashboard", "dash-1"), ("dashboard", "dash-2"), ("refresh", "api-1"))


def test_sign_out_everywhere_ends_every_session_of_the_user_only(db, make, clock):
    u, other = make.user(), make.user()
    _sessions(db, clock, u, *TOKENS)
    _sessions(db, clock, other, ("refresh", "other-1"))
    assert user_services.sign_out_everywhere(db.uow(), u.id) == 3
    assert _live(db, *TOKENS) == set()
    assert _live(db, ("refresh", "other-1")) == {"other-1"}


def test_change_password_keeps_only_the_session_that_made_it(db, make, clock):
    u = make.user()
    _sessions(db, clock, u, *TOKENS)
    user_services.change_password(db.uow(), u.id, current_password="password-123",
                                  new_password="a-brand-new-one", hash_rounds=4,
                                  keep_session_token="dash-1")
    assert _live(db, *TOKENS) == {"dash-1"}


def test_change_password_without_a_session_to_keep_ends_them_all(db, make, clock):
    u = make.user()
    _sessions(db, clock, u, *TOKENS)
    user_services.change_password(db.uow(), u.id, current_password="password-123",
                                  new_password="a-brand-new-one", hash_rounds=4)
    assert _live(db, *TOKENS) == set()


def test_a_refused_password_change_revokes_nothing(db, make, clock):
    u = make.user()
    _sessions(db, clock, u, *TOKENS)
    with pytest.raises(ValidationError):
        user_services.change_password(db.uow(), u.id, current_password="password-123",
                                      new_password="short", hash_rounds=4)
    assert _live(db, *TOKENS) == {"dash-1", "dash-2", "api-1"}


@pytest.mark.parametrize("change", ["reset_password", "role", "deactivate_reactivate"])
def test_admin_changes_revoke_every_session_in_the_same_transaction(db, make, clock, change):
    u = make.user()
    _sessions(db, clock, u, *TOKENS)
    admin = make.admin
    if change == "reset_password":
        user_services.reset_password(db.uow(), admin.id, u.id, "reset-by-admin", hash_rounds=4)
    elif change == "role":
        user_services.change_role(db.uow(), admin.id, u.id, "staff")
    else:
        user_services.deactivate_user(db.uow(), admin.id, u.id)
        user_services.reactivate_user(db.uow(), admin.id, u.id)
    assert _live(db, *TOKENS) == set()  # reactivation does not bring old sessions back
    with db.uow().read() as uow:
        revoked = uow.session.scalars(select(AuthSession.revoked_at).where(
            AuthSession.user_id == u.id)).all()
    assert revoked and all(r == clock.now for r in revoked)


def test_reactivation_revokes_sessions_opened_while_deactivated_by_a_bypass(db, make, clock):
    """Reactivation is itself a revoking change: a row written for a deactivated user by any
    path does not come alive with the account."""
    u = make.user()
    user_services.deactivate_user(db.uow(), make.admin.id, u.id)
    with db.uow() as uow:  # raw insert: open_session itself refuses inactive users
        uow.session.add(AuthSession(user_id=u.id, kind="refresh", token_hash="0" * 64,
                                    created_at=clock.now,
                                    expires_at=clock.now + timedelta(days=1)))
        uow.commit()
    user_services.reactivate_user(db.uow(), make.admin.id, u.id)
    with db.uow().read() as uow:
        row = uow.session.scalar(select(AuthSession).where(AuthSession.user_id == u.id))
    assert row.revoked_at is not None


def test_kind_must_match(db, make, clock):
    u = make.user()
    open_session(db.uow(), u.id, kind="refresh", token="tok-4",
                 expires_at=clock.now + timedelta(days=1))
    assert session_user(db.uow(), "tok-4", kind="dashboard") is None
