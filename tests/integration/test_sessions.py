"""Revocable sessions: what signing out and deactivation must guarantee."""
from datetime import timedelta

from engine.services import users as user_services
from engine.services.sessions import open_session, revoke_all_sessions, revoke_session, session_user


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


def test_revoke_all_sessions_ends_every_token(db, make, clock):
    u = make.user()
    for t in ("a", "b"):
        open_session(db.uow(), u.id, kind="dashboard", token=t,
                     expires_at=clock.now + timedelta(days=1))
    assert revoke_all_sessions(db.uow(), u.id) == 2
    assert session_user(db.uow(), "a", kind="dashboard") is None


def test_kind_must_match(db, make, clock):
    u = make.user()
    open_session(db.uow(), u.id, kind="refresh", token="tok-4",
                 expires_at=clock.now + timedelta(days=1))
    assert session_user(db.uow(), "tok-4", kind="dashboard") is None
