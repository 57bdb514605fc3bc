"""/users: admins manage accounts; anyone signed in may read their own."""
from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from api.deps import DB, Conf, Me
from api.errors import ERROR_RESPONSES
from api.schemas import PageOut, ShortText, UserCreateIn, UserOut, UserUpdateIn
from engine import services
from engine.domain.permissions import Role

router = APIRouter(prefix="/users", tags=["users"], responses=ERROR_RESPONSES)


@router.get("", response_model=PageOut[UserOut])
def list_users(db: DB, me: Me, role: Role | None = None, active: bool | None = None,
               search: Annotated[ShortText | None, Query(max_length=255)] = None,
               page: Annotated[int, Query(ge=1, le=100_000)] = 1,
               page_size: Annotated[int, Query(ge=1, le=500)] = 50):
    result = services.list_users(db.uow(), me.id, role=role, active=active, search=search,
                                 page=page, page_size=page_size)
    return PageOut.of(result, UserOut.model_validate)


@router.get("/me", response_model=UserOut)
def read_me(db: DB, me: Me):
    return services.get_user(db.uow(), me.id, me.id)


@router.get("/{user_id}", response_model=UserOut)
def read_user(user_id: UUID, db: DB, me: Me):
    return services.get_user(db.uow(), me.id, user_id)


@router.post("", status_code=201, response_model=UserOut)
def create_user(body: UserCreateIn, db: DB, me: Me, conf: Conf):
    return services.register_user(db.uow(), email=body.email, name=body.name,
                                  password=body.password, role=body.role, actor_id=me.id,
                                  hash_rounds=conf.bcrypt_rounds)


@router.put("/{user_id}", response_model=UserOut)
def update(user_id: UUID, body: UserUpdateIn, db: DB, me: Me):
    """Change the role and/or the active flag, in one transaction."""
    return services.update_user(db.uow(), me.id, user_id, role=body.role, is_active=body.is_active)


@router.delete("/{user_id}", response_model=UserOut)
def deactivate(user_id: UUID, db: DB, me: Me):
    """Deactivate (users are never deleted: the audit trail names them)."""
    return services.deactivate_user(db.uow(), me.id, user_id)
