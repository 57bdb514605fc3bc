"""Creating the first admin: the one write that has no acting user yet."""
from __future__ import annotations

from engine.audit import record
from engine.db import Database
from engine.domain.audit_actions import AuditAction
from engine.domain.permissions import Role
from engine.errors import ValidationError
from engine.passwords import hash_password, validate_password
from engine.services.results import UserView
from engine.services.users import new_user, normalize_email, user_by_email, validate_name


def create_first_admin(db: Database, *, email: str, name: str, password: str,
                       hash_rounds: int = 12) -> UserView:
    """An admin whose audit entry names itself as actor (there is no one else yet)."""
    with db.uow() as uow:
        email, name = normalize_email(email), validate_name(name)
        validate_password(password)
        if user_by_email(uow, email) is not None:
            raise ValidationError("email", f"{email} is already registered")
        user = new_user(email=email, name=name, role=Role.ADMIN,
                        password_hash=hash_password(password, hash_rounds), created_at=uow.now)
        uow.session.add(user)
        uow.session.flush()
        record(uow.session, actor_id=user.id, action=AuditAction.USER_REGISTERED, now=uow.now,
               entity=user, details={"email": email, "role": "admin", "via": "create-admin"})
        view = UserView.of(user)
        uow.commit()
        return view
