"""User services: register, authenticate (throttled per e-mail and source), roles, deactivation,
passwords. Every change that should end sign-ins revokes the user's sessions in its own
transaction."""
from __future__ import annotations

import re
import uuid
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from engine.audit import record, snapshot
from engine.db import UnitOfWork
from engine.domain.audit_actions import AuditAction
from engine.domain.permissions import Permission as P
from engine.domain.permissions import Role
from engine.errors import AuthenticationError, PermissionDenied, ValidationError
from engine.logs import logged
from engine.models import User
from engine.notifications import enqueue_message
from engine.passwords import hash_password, validate_password, verify_password
from engine.services import throttle
from engine.services.common import get_or_404, load_actor, paginate, require
from engine.services.results import Page, UserView
from engine.services.sessions import revoke_user_sessions

SIGN_IN_FAILED = "email or password is incorrect"
#: The one answer to every accepted self-registration, whether or not the e-mail was taken.
REGISTRATION_RECEIVED = ("Registration received: check your e-mail. If the address was new, its "
                         "account is ready and you can sign in with the password you chose.")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalize_email(email: object) -> str:
    if not isinstance(email, str) or not _EMAIL.match(email.strip()) or len(email) > 255:
        raise ValidationError("email", "must be a valid email address")
    return email.strip().lower()


def validate_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValidationError("name", "must not be empty")
    if len(name.strip()) > 255:
        raise ValidationError("name", "must be at most 255 characters")
    return name.strip()


def _role(role: object) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise ValidationError("role", "must be one of user, staff, admin") from None


def user_by_email(uow: UnitOfWork, email: str) -> User | None:
    return uow.session.scalar(select(User).where(func.lower(User.email) == email))


@logged("user.register")
def register_user(uow: UnitOfWork, *, email: object, name: object, password: object,
                  actor_id: object, role: object = Role.USER, hash_rounds: int = 12) -> UserView:
    """An admin creates an account of any role; a taken e-mail is a ValidationError (an admin
    may know who has an account). Strangers register through `register_member`."""
    with uow:
        role = _role(role)
        actor = load_actor(uow, actor_id, P.USER_MANAGE)
        email = normalize_email(email)
        name = validate_name(name)
        password = validate_password(password)
        if user_by_email(uow, email) is not None:
            raise ValidationError("email", f"{email} is already registered")
        user = _new_user(uow, email, name, password, role, hash_rounds)
        uow.session.add(user)
        try:
            uow.session.flush()
        except IntegrityError:  # a concurrent registration of the same email won the race
            raise ValidationError("email", f"{email} is already registered") from None
        record(uow.session, actor_id=actor.id, action=AuditAction.USER_REGISTERED, now=uow.now,
               entity=user, details={"email": email, "role": role.value})
        view = UserView.of(user)
        uow.commit()
        return view


@logged("user.register_member")
def register_member(uow: UnitOfWork, *, email: object, name: object, password: object,
                    hash_rounds: int = 12) -> None:
    """Self-registration of a member, where the site allows it. Returns nothing and answers a
    taken e-mail exactly like a new one (same checks, same bcrypt work, no error), so it cannot
    be used to learn who has an account. Either way one e-mail goes to the address, in the same
    transaction: a welcome for a new account, or, for a taken one, a note that someone tried
    (at most one a day) while the account is left untouched."""
    with uow:
        if not uow.db.settings.allow_self_registration:
            raise PermissionDenied("self-registration is closed on this site: ask an admin")
        email = normalize_email(email)
        name = validate_name(name)
        password = validate_password(password)
        user = _new_user(uow, email, name, password, Role.USER, hash_rounds)
        owner = user_by_email(uow, email)
        if owner is None:
            try:
                with uow.session.begin_nested():
                    uow.session.add(user)
                    uow.session.flush()
            except IntegrityError:  # a concurrent registration of the same email won the race
                owner = user_by_email(uow, email)
        if owner is None:
            record(uow.session, actor_id=user.id, action=AuditAction.USER_REGISTERED,
                   now=uow.now, entity=user, details={"email": email, "role": Role.USER.value})
            enqueue_message(uow, user, subject="Your Range-Control account is ready",
                            body=REGISTERED_MAIL.format(name=user.name))
        else:
            _tell_owner_of_a_registration_attempt(uow, owner)
        uow.commit()


REGISTERED_MAIL = ("Hello {name},\n\nyour Range-Control member account is ready: sign in with "
                   "this e-mail address and the password you chose.\n")
TAKEN_MAIL = ("Hello {name},\n\nsomeone (perhaps you) tried to register a new Range-Control "
              "account with this e-mail address. Your existing account is unchanged. If it was "
              "you, sign in with your password, or ask an admin to reset it. If it was not you, "
              "there is nothing to do.\n")


def _tell_owner_of_a_registration_attempt(uow: UnitOfWork, owner: User) -> None:
    """At most one such e-mail per account a day (the outbox's unique dedupe key)."""
    try:
        with uow.session.begin_nested():
            enqueue_message(uow, owner, subject="Someone tried to register your e-mail address",
                            body=TAKEN_MAIL.format(name=owner.name),
                            dedupe_key=f"register-taken:{owner.id}:{uow.now:%Y-%m-%d}")
            uow.session.flush()
    except IntegrityError:
        pass  # already told today


def _new_user(uow: UnitOfWork, email: str, name: str, password: str, role: Role,
              hash_rounds: int) -> User:
    """A new User (hashed password), not yet added: hashing first keeps the work equal for a
    taken e-mail."""
    return new_user(email=email, name=name, role=role,
                    password_hash=hash_password(password, hash_rounds), created_at=uow.now)


def new_user(*, email: str, name: str, role: Role, password_hash: str, created_at: datetime,
             updated_at: datetime | None = None) -> User:
    """A new active account, not yet added: the one place a User row is built (the services,
    the first admin and the demo data), with e-mail and name already checked."""
    return User(id=uuid.uuid4(), email=email, name=name, role=role, is_active=True,
                password_hash=password_hash, created_at=created_at,
                updated_at=updated_at or created_at)


def authenticate(uow: UnitOfWork, email: object, password: object, *,
                 source: object = None) -> UserView:
    """Check a password, throttled per (e-mail as typed, source address) with growing delays
    and capped per e-mail across sources without keeping the owner out
    (engine/services/throttle.py). Unknown e-mails get the same answers, throttling included;
    only someone with the right password learns that an account is deactivated."""
    failure = AuthenticationError(SIGN_IN_FAILED)
    if not isinstance(email, str) or not isinstance(password, str):
        raise failure
    key = email.strip().lower()[:255]
    source = throttle.normalize_source(source)
    # Counts this attempt first, or refuses it.
    attempt = throttle.claim(uow, key, source, account_cap=throttle.ACCOUNT_CAP)
    with uow.read():
        user = user_by_email(uow, key)
        hashed = user.password_hash if user is not None else None
    if not verify_password(password, hashed):  # a dummy hash when there is no user
        if user is not None and attempt.number == throttle.FREE_ATTEMPTS:
            _audit_throttle_start(uow, user.id, source)
        if user is not None and attempt.account_attempts == throttle.ACCOUNT_CAP:
            _audit_throttle_start(uow, user.id, throttle.ALL_SOURCES)
        raise failure
    assert user is not None  # verify_password refuses the dummy hash of a missing user
    with uow:
        throttle.succeeded(uow, key, source)
        user = uow.session.get(User, user.id)
        active = user is not None and user.is_active
        view = UserView.of(user) if user is not None else None
        uow.commit()
    if not active or view is None:
        raise AuthenticationError("this account is deactivated: ask an admin")
    return view


def _audit_throttle_start(uow: UnitOfWork, user_id, source: str) -> None:
    """An audit entry when a real account's (e-mail, source) pair starts having to wait, or
    (source `*`) its all-sources cap is reached: addresses that failed on it are refused."""
    everywhere = source == throttle.ALL_SOURCES
    failures = throttle.ACCOUNT_CAP if everywhere else throttle.FREE_ATTEMPTS
    wait = throttle.FORGET_AFTER if everywhere else throttle.FIRST_DELAY
    with uow:
        user = uow.session.get_one(User, user_id)
        record(uow.session, actor_id=user.id, action=AuditAction.USER_LOCKED, now=uow.now,
               entity=user, details={"source": source, "failures": failures,
                                     "wait_seconds": int(wait.total_seconds())})
        uow.commit()


def get_user(uow: UnitOfWork, actor_id: object, user_id: object) -> UserView:
    with uow.read():
        actor = load_actor(uow, actor_id)
        if str(actor.id) != str(user_id):
            require(actor, P.USER_MANAGE)
        return UserView.of(get_or_404(uow, User, user_id, "user", "user_id"))


def list_users(uow: UnitOfWork, actor_id: object, *, role: object | None = None,
               active: bool | None = None, search: str | None = None, page: int = 1,
               page_size: int = 100) -> Page[UserView]:
    page, page_size = paginate(page, page_size)
    with uow.read():
        load_actor(uow, actor_id, P.USER_MANAGE)
        conds = []
        if role is not None:
            conds.append(User.role == _role(role))
        if active is not None:
            conds.append(User.is_active.is_(active))
        if search:
            like = f"%{search.strip().lower()}%"
            conds.append(func.lower(User.email).like(like) | func.lower(User.name).like(like))
        total = uow.session.scalar(select(func.count()).select_from(User).where(*conds))
        rows = uow.session.scalars(select(User).where(*conds).order_by(User.name, User.id)
                                   .limit(page_size).offset((page - 1) * page_size)).all()
        return Page([UserView.of(u) for u in rows], total or 0, page, page_size)


def _guard_last_admin(uow: UnitOfWork, user: User) -> None:
    if user.role is Role.ADMIN and user.is_active:
        admins = uow.session.scalar(select(func.count()).select_from(User).where(
            User.role == Role.ADMIN, User.is_active.is_(True))) or 0
        if admins <= 1:
            raise ValidationError("user_id",
                                  "the last active admin cannot be demoted or deactivated")


def _admin_change(uow: UnitOfWork, actor_id: object, user_id: object, action: AuditAction,
                  change, details: dict | None = None) -> UserView:
    with uow:
        actor = load_actor(uow, actor_id, P.USER_MANAGE)
        user = get_or_404(uow, User, user_id, "user", "user_id")
        _audited_change(uow, actor, user, action, change, details)
        view = UserView.of(user)
        uow.commit()
        return view


def _audited_change(uow: UnitOfWork, actor: User, user: User, action: AuditAction, change,
                    details: dict | None = None) -> None:
    previous = snapshot(user)
    change(user)
    user.updated_at = uow.now
    record(uow.session, actor_id=actor.id, action=action, now=uow.now, entity=user,
           previous_state=previous, details=details)
    uow.session.flush()


@logged("user.update")
def update_user(uow: UnitOfWork, actor_id: object, user_id: object, *, role: object = None,
                is_active: object = None) -> UserView:
    """Change a user's role and/or active flag in one transaction, one audit entry per change.
    The last active admin can be neither demoted nor deactivated. A role change, deactivation
    or reactivation revokes every session of the user (dashboard and API refresh tokens) in
    the same transaction; reactivation also lifts sign-in throttles on the user's e-mail."""
    if is_active is not None and not isinstance(is_active, bool):
        raise ValidationError("is_active", "must be true or false")
    new_role = _role(role) if role is not None else None

    def set_role(user: User) -> None:
        assert new_role is not None  # only called for a role change
        if new_role is not Role.ADMIN:
            _guard_last_admin(uow, user)
        user.role = new_role
        revoke_user_sessions(uow, user.id)

    def deactivate(user: User) -> None:
        _guard_last_admin(uow, user)
        user.is_active = False
        revoke_user_sessions(uow, user.id)

    def reactivate(user: User) -> None:
        user.is_active = True
        revoke_user_sessions(uow, user.id)
        throttle.forget_account(uow, user.email)

    with uow:
        actor = load_actor(uow, actor_id, P.USER_MANAGE)
        user = get_or_404(uow, User, user_id, "user", "user_id")
        if new_role is not None and user.role is not new_role:
            _audited_change(uow, actor, user, AuditAction.USER_ROLE_CHANGED, set_role,
                            {"role": new_role.value})
        if is_active is False and user.is_active:
            _audited_change(uow, actor, user, AuditAction.USER_DEACTIVATED, deactivate)
        elif is_active is True and not user.is_active:
            _audited_change(uow, actor, user, AuditAction.USER_REACTIVATED, reactivate)
        view = UserView.of(user)
        uow.commit()
        return view


def change_role(uow: UnitOfWork, actor_id: object, user_id: object, role: object) -> UserView:
    return update_user(uow, actor_id, user_id, role=role)


def deactivate_user(uow: UnitOfWork, actor_id: object, user_id: object) -> UserView:
    return update_user(uow, actor_id, user_id, is_active=False)


def reactivate_user(uow: UnitOfWork, actor_id: object, user_id: object) -> UserView:
    return update_user(uow, actor_id, user_id, is_active=True)


@logged("user.reset_password")
def reset_password(uow: UnitOfWork, actor_id: object, user_id: object, new_password: object,
                   hash_rounds: int = 12) -> UserView:
    """Admin reset: sets the password, lifts sign-in throttles on the user's e-mail and revokes
    every session of the user, all in one transaction."""
    password = validate_password(new_password, "new_password")

    def change(user: User) -> None:
        user.password_hash = hash_password(password, hash_rounds)
        throttle.forget_account(uow, user.email)
        revoke_user_sessions(uow, user.id)

    return _admin_change(uow, actor_id, user_id, AuditAction.PASSWORD_RESET, change)


@logged("user.change_password")
def change_password(uow: UnitOfWork, actor_id: object, *, current_password: object,
                    new_password: object, hash_rounds: int = 12,
                    keep_session_token: str | None = None) -> UserView:
    """The user changes their own password; in the same transaction every other session of
    theirs is revoked, keeping only the one that made the change (`keep_session_token`: the
    dashboard's session token or the API's refresh token)."""
    with uow:
        user = load_actor(uow, actor_id)
        if not isinstance(current_password, str) or not verify_password(current_password,
                                                                         user.password_hash):
            raise ValidationError("current_password", "is incorrect")
        password = validate_password(new_password, "new_password")
        user.password_hash = hash_password(password, hash_rounds)
        user.updated_at = uow.now
        revoked = revoke_user_sessions(uow, user.id, keep_token=keep_session_token)
        record(uow.session, actor_id=user.id, action=AuditAction.PASSWORD_CHANGED, now=uow.now,
               entity=user, details={"sessions_revoked": revoked})
        view = UserView.of(user)
        uow.commit()
        return view


@logged("user.sign_out_everywhere")
def sign_out_everywhere(uow: UnitOfWork, actor_id: object) -> int:
    """Revoke every session of the caller, this one included; returns how many were live."""
    with uow:
        user = load_actor(uow, actor_id)
        revoked = revoke_user_sessions(uow, user.id)
        uow.commit()
        return revoked
