"""Creating the first admin: the one write that has no acting user yet."""
from __future__ import annotations

import uuid

from sqlalchemy import func, select

from engine.audit import AuditAction, record
from engine.db import Database
from engine.domain.permissions import Role
from engine.errors import ValidationError
from engine.models import User
from engine.passwords import hash_password, validate_password
from engine.services.users import _name, normalize_email
from engine.services.views import UserView


def create_first_admin(db: Database, *, email: str, name: str, password: str,
                       hash_rounds: int = 12) -> UserView:
    """An admin whose audit entry names itself as actor (there is no one else yet)."""
    with db.uow() as uow:
        email, name = normalize_email(email), _name(name)
        validate_password(password)
        if uow.session.scalar(select(User).where(func.lower(User.email) == email)):
            raise ValidationError("email", f"{email} is already registered")
        user = User(id=uuid.uuid4(), email=email, name=name, role=Role.ADMIN, is_active=True,
                    password_hash=hash_password(password, hash_rounds),
                    created_at=uow.now, updated_at=uow.now)
        uow.session.add(user)
        uow.session.flush()
        record(uow.session, actor_id=user.id, action=AuditAction.USER_REGISTERED, now=uow.now,
               entity=user, details={"email": email, "role": "admin", "via": "create-admin"})
        view = UserView.of(user)
        uow.commit()
        return view
