"""Small additive services the REST API needs and the dashboard does not.

Each runs one transaction, so a PUT that changes two things either changes both or nothing.
"""
from __future__ import annotations

from engine.audit import AuditAction, record, snapshot
from engine.db import UnitOfWork
from engine.domain.permissions import Permission as P
from engine.domain.permissions import Role
from engine.errors import ValidationError
from engine.models import User
from engine.services.common import get_or_404, load_actor
from engine.services.users import _guard_last_admin, _role
from engine.services.views import UserView


def update_user(uow: UnitOfWork, actor_id: object, user_id: object, *, role: object = None,
                is_active: object = None) -> UserView:
    """Change a user's role and/or active flag together (PUT /users/{id}); same rules and
    audit entries as change_role, deactivate_user and reactivate_user."""
    if is_active is not None and not isinstance(is_active, bool):
        raise ValidationError("is_active", "must be true or false")
    new_role = _role(role) if role is not None else None
    with uow:
        actor = load_actor(uow, actor_id, P.USER_MANAGE)
        user = get_or_404(uow, User, user_id, "user", "user_id")
        if new_role is not None and user.role is not new_role:
            previous = snapshot(user)
            if new_role is not Role.ADMIN:
                _guard_last_admin(uow, user)
            user.role = new_role
            user.session_version += 1
            user.updated_at = uow.now
            record(uow.session, actor_id=actor.id, action=AuditAction.USER_ROLE_CHANGED,
                   now=uow.now, entity=user, previous_state=previous,
                   details={"role": new_role.value})
        if is_active is False and user.is_active:
            previous = snapshot(user)
            _guard_last_admin(uow, user)
            user.is_active = False
            user.session_version += 1
            user.updated_at = uow.now
            record(uow.session, actor_id=actor.id, action=AuditAction.USER_DEACTIVATED,
                   now=uow.now, entity=user, previous_state=previous)
        elif is_active is True and not user.is_active:
            previous = snapshot(user)
            user.is_active = True
            user.failed_logins, user.locked_until = 0, None
            user.updated_at = uow.now
            record(uow.session, actor_id=actor.id, action=AuditAction.USER_REACTIVATED,
                   now=uow.now, entity=user, previous_state=previous)
        uow.session.flush()
        view = UserView.of(user)
        uow.commit()
        return view
