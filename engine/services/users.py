"""User services: register, authenticate (with lockout), roles, deactivation, passwords."""
from __future__ import annotations

import re
import uuid
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from engine.audit import AuditAction, record, snapshot
from engine.db import UnitOfWork
from engine.logs import logged
from engine.domain.permissions import Permission as P
from engine.domain.permissions import Role
from engine.errors import (
    AccountLocked, AuthenticationError, PermissionDenied, ValidationError,
)
from engine.models import User
from engine.passwords import hash_password, validate_password, verify_password
from engine.services.common import get_or_404, load_actor, paginate, require
from engine.services.views import Page, UserView

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalize_email(email: object) -> str:
    if not isinstance(email, str) or not _EMAIL.match(email.strip()) or len(email) > 255:
        raise ValidationError("email", "must be a valid email address")
    return email.strip().lower()


def _name(name: object) -> str:
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


def _by_email(uow: UnitOfWork, email: str) -> User | None:
    return uow.session.scalar(select(User).where(func.lower(User.email) == email))


@logged("user.register")
def register_user(uow: UnitOfWork, *, email: object, name: object, password: object,
                  role: object = Role.USER, actor_id: object | None = None,
                  hash_rounds: int = 12) -> UserView:
    """Self-registration (no actor: role user only, where the site allows it) or by an admin."""
    with uow:
        role = _role(role)
        actor = load_actor(uow, actor_id, P.USER_MANAGE) if actor_id is not None else None
        if actor is None:
            if not uow.db.settings.allow_self_registration:
                raise PermissionDenied("self-registration is closed on this site: ask an admin")
            if role is not Role.USER:
                raise PermissionDenied("permission denied: only an admin can create staff or admins")
        email = normalize_email(email)
        name = _name(name)
        password = validate_password(password)
        if _by_email(uow, email) is not None:
            raise ValidationError("email", f"{email} is already registered")
        user = User(id=uuid.uuid4(), email=email, name=name, role=role, is_active=True,
                    password_hash=hash_password(password, hash_rounds), failed_logins=0,
                    session_version=0, created_at=uow.now, updated_at=uow.now)
        uow.session.add(user)
        try:
            uow.session.flush()
        except IntegrityError:  # a concurrent registration of the same email won the race
            raise ValidationError("email", f"{email} is already registered") from None
        record(uow.session, actor_id=actor.id if actor else user.id,
               action=AuditAction.USER_REGISTERED, now=uow.now, entity=user,
               details={"email": email, "role": role.value})
        view = UserView.of(user)
        uow.commit()
        return view


def authenticate(uow: UnitOfWork, email: object, password: object) -> UserView:
    """Check a password. After MAX_FAILED_LOGINS failures the account locks for LOCKOUT."""
    failure = AuthenticationError("email or password is incorrect")
    if not isinstance(email, str) or not isinstance(password, str):
        raise failure
    with uow:
        user = _by_email(uow, email.strip().lower())
        if user is None:
            verify_password(password, None)
            raise failure
        if user.locked_until is not None and user.locked_until > uow.now:
            raise AccountLocked(f"account locked after {MAX_FAILED_LOGINS} failed sign-ins; "
                                f"try again after {user.locked_until:%H:%M} UTC or ask an admin")
        if not verify_password(password, user.password_hash):
            user.failed_logins += 1
            if user.failed_logins >= MAX_FAILED_LOGINS:
                user.locked_until = uow.now + LOCKOUT
                user.failed_logins = 0
                record(uow.session, actor_id=user.id, action=AuditAction.USER_LOCKED,
                       now=uow.now, entity=user,
                       details={"locked_until": user.locked_until})
            uow.commit()
            raise failure
        if not user.is_active:
            raise AuthenticationError("this account is deactivated: ask an admin")
        if user.failed_logins or user.locked_until:
            user.failed_logins, user.locked_until = 0, None
        view = UserView.of(user)
        uow.commit()
        return view


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
            User.role == Role.ADMIN, User.is_active.is_(True)))
        if admins <= 1:
            raise ValidationError("user_id", "the last active admin cannot be demoted or deactivated")


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
    The last active admin can be neither demoted nor deactivated; either change ends the
    user's sessions."""
    if is_active is not None and not isinstance(is_active, bool):
        raise ValidationError("is_active", "must be true or false")
    new_role = _role(role) if role is not None else None

    def set_role(user: User) -> None:
        if new_role is not Role.ADMIN:
            _guard_last_admin(uow, user)
        user.role = new_role
        user.session_version += 1

    def deactivate(user: User) -> None:
        _guard_last_admin(uow, user)
        user.is_active = False
        user.session_version += 1

    def reactivate(user: User) -> None:
        user.is_active = True
        user.failed_logins, user.locked_until = 0, None

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
    """Admin reset: sets the password, clears any lockout, and ends the user's sessions."""
    password = validate_password(new_password, "new_password")

    def change(user: User) -> None:
        user.password_hash = hash_password(password, hash_rounds)
        user.failed_logins, user.locked_until = 0, None
        user.session_version += 1

    return _admin_change(uow, actor_id, user_id, AuditAction.PASSWORD_RESET, change)


@logged("user.change_password")
def change_password(uow: UnitOfWork, actor_id: object, *, current_password: object,
                    new_password: object, hash_rounds: int = 12) -> UserView:
    with uow:
        user = load_actor(uow, actor_id)
        if not isinstance(current_password, str) or not verify_password(current_password,
                                                                         user.password_hash):
            raise ValidationError("current_password", "is incorrect")
        password = validate_password(new_password, "new_password")
        user.password_hash = hash_password(password, hash_rounds)
        user.updated_at = uow.now
        record(uow.session, actor_id=user.id, action=AuditAction.PASSWORD_CHANGED, now=uow.now,
               entity=user)
        view = UserView.of(user)
        uow.commit()
        return view


def sign_out_everywhere(uow: UnitOfWork, actor_id: object) -> int:
    """Invalidate every session and cookie of the user: entrypoints compare session_version."""
    with uow:
        user = load_actor(uow, actor_id)
        user.session_version += 1
        version = user.session_version
        uow.commit()
        return version
