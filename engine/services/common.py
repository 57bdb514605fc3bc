"""Helpers every service shares: loading the acting user and checking the role table."""
from __future__ import annotations

from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy import ColumnElement, bindparam, select

from engine.db import AnySelect, UnitOfWork
from engine.domain.permissions import Permission, Role, has_permission
from engine.errors import ConflictError, NotFoundError, PermissionDenied, ValidationError
from engine.models import Resource, User

T = TypeVar("T")


def for_update(stmt: AnySelect, of: Any) -> AnySelect:
    """`stmt` under a row lock on `of`'s rows (FOR UPDATE on PostgreSQL; SQLite's BEGIN
    IMMEDIATE already serializes writers), read fresh from the database rather than taken
    from the session's copies, which may predate the lock."""
    return stmt.with_for_update(of=of).execution_options(populate_existing=True)


def lock_row(uow: UnitOfWork, model: type[T], row_id: UUID) -> T:
    """The row `row_id` of `model`, re-read under a row lock (see `for_update`)."""
    statement = _LOCK_ROW.get(model)
    if statement is None:  # built once per model: used again, it skips building + cache key
        row_key = model.id  # type: ignore[attr-defined]  # every model's primary key is `id`
        statement = _LOCK_ROW[model] = for_update(
            select(model).where(row_key == bindparam("row_id")), model)
    return uow.session.scalars(statement, {"row_id": row_id}).one()


_LOCK_ROW: dict[type, AnySelect] = {}


def resource_filter(resource_type: str | None,
                    safety_zone_id: object | None) -> list[ColumnElement[bool]]:
    """Conditions on Resource for the type and safety-zone filters that lists and pages offer
    (none when neither is set)."""
    conds: list[ColumnElement[bool]] = []
    if resource_type:
        conds.append(Resource.resource_type == resource_type)
    if safety_zone_id:
        conds.append(Resource.safety_zone_id == as_uuid("safety_zone_id", safety_zone_id))
    return conds


def system_user(uow: UnitOfWork) -> User:
    """The reserved system account that automatic steps are recorded under (engine/system.py)."""
    from engine.system import ensure_system_user

    return uow.session.get_one(User, ensure_system_user(uow.session, uow.now))


def ids_to_exclude(exclude_booking_id: object | None) -> set[UUID]:
    """The booking a look-up leaves out (its own request, when editing it), as a set."""
    return {as_uuid("exclude_booking_id", exclude_booking_id)} if exclude_booking_id else set()


def as_uuid(field: str, value: object) -> UUID:
    if isinstance(value, UUID):
        return value
    try:
        return UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        raise ValidationError(field, "must be a valid id (UUID)") from None


def load_actor(uow: UnitOfWork, actor_id: object, permission: Permission | None = None) -> User:
    """The signed-in user, active, holding `permission` (the role table decides)."""
    return checked_actor(uow.session.get(User, as_uuid("actor_id", actor_id)), permission)


def checked_actor(actor: User | None, permission: Permission | None) -> User:
    """The actor as loaded (by any statement), refused if missing, inactive or not permitted."""
    if actor is None or not actor.is_active:
        raise PermissionDenied("your account is not active: sign in again")
    if permission is not None:
        require(actor, permission)
    return actor


def actor_and_ident(uow: UnitOfWork, actor_id: object, permission: Permission | None,
                    field: str, ident: object) -> tuple[UUID, UUID]:
    """Both ids parsed, for a statement that reads the actor and a row together: a malformed
    `ident` is reported only after the actor's own checks, the order `load_actor` then
    `get_or_404` would give."""
    actor_uuid = as_uuid("actor_id", actor_id)
    try:
        return actor_uuid, as_uuid(field, ident)
    except ValidationError:
        load_actor(uow, actor_uuid, permission)
        raise


def load_actor_and_get(uow: UnitOfWork, actor_id: object, permission: Permission | None,
                       model: type[T], ident: object, kind: str, field: str) -> tuple[User, T]:
    """`load_actor` then `get_or_404`, in one round trip (the row outer-joined to the actor),
    with the same errors in the same order: a bad actor before a missing row."""
    actor_uuid, ident_uuid = actor_and_ident(uow, actor_id, permission, field, ident)
    statement = _ACTOR_AND_ROW.get(model)
    if statement is None:  # built once per model (see lock_row)
        row_key = model.id  # type: ignore[attr-defined]  # every model's primary key is `id`
        statement = _ACTOR_AND_ROW[model] = (
            select(User, model).outerjoin(model, row_key == bindparam("row_id"))
            .where(User.id == bindparam("actor_id")))
    row = uow.session.execute(statement,
                              {"actor_id": actor_uuid, "row_id": ident_uuid}).first()
    if row is None:  # no actor, or (the row's eager inner joins) no row: say which
        load_actor(uow, actor_uuid, permission)
        raise NotFoundError(kind, ident)
    actor = checked_actor(row[0], permission)
    if row[1] is None:
        raise NotFoundError(kind, ident)
    return actor, row[1]


_ACTOR_AND_ROW: dict[type, AnySelect] = {}


def require(actor: User, permission: Permission) -> None:
    require_role(actor.role, permission)


def require_role(role: Role, permission: Permission) -> None:
    """`require` for a role read without its user object (a column of a wider statement)."""
    if not has_permission(role, permission):
        raise PermissionDenied(
            f"permission denied: role '{role.value}' may not "
            f"{permission.value.replace(':', ' ')}"
        )


def get_or_404(uow: UnitOfWork, model: type[T], ident: object, kind: str, field: str) -> T:
    obj = uow.session.get(model, as_uuid(field, ident))
    if obj is None:
        raise NotFoundError(kind, ident)
    return obj


def active_resource(uow: UnitOfWork, resource_id: object) -> Resource:
    resource = get_or_404(uow, Resource, resource_id, "resource", "resource_id")
    if not resource.is_active:
        raise ValidationError("resource_id", f"resource '{resource.name}' is deactivated")
    return resource


def scope_key(resource: Resource) -> UUID:
    """The scope that must stay exclusive for this resource's approved bookings: its safety
    zone, or itself when it has none (the database keeps the same key in bookings.scope_id)."""
    return resource.safety_zone_id or resource.id


def lock_scopes(uow: UnitOfWork, *scopes: Resource | UUID,
                reread_by_caller: Resource | None = None) -> set[UUID]:
    """Take the advisory locks of these resources' scopes (plus any bare keys), then re-read the
    resources under them: a resource an admin moved to another zone between our read and our
    lock means we hold the wrong lock, so refuse with a clean ConflictError (try again).

    The locks only turn races into 409s; the exclusion constraint (SQLite: triggers) on
    bookings.scope_id is what makes a zone-wide overlap impossible. `reread_by_caller` is a
    resource the caller re-reads itself under the lock (lock_booking: with the booking's row,
    one round trip) and must then pass to require_scope_locked.
    """
    resources = [r for r in scopes if isinstance(r, Resource)]
    keys = {scope_key(r) for r in resources} | {k for k in scopes if isinstance(k, UUID)}
    uow.lock_scope(*keys)
    for resource in resources:
        if resource is reread_by_caller:
            continue
        uow.session.scalars(select(Resource).where(Resource.id == resource.id)
                            .execution_options(populate_existing=True)).one()
        require_scope_locked(keys, resource)
    return keys


def require_scope_locked(keys: set[UUID], resource: Resource) -> None:
    if scope_key(resource) not in keys:
        raise ConflictError(f"resource '{resource.name}' changed safety zone while this change "
                            "was being made: try again", [])


def paginate(page: object, page_size: object, max_size: int = 500) -> tuple[int, int]:
    if not isinstance(page, int) or isinstance(page, bool) or page < 1:
        raise ValidationError("page", "must be a whole number from 1")
    if (not isinstance(page_size, int) or isinstance(page_size, bool)
            or not 1 <= page_size <= max_size):
        raise ValidationError("page_size", f"must be a whole number from 1 to {max_size}")
    return page, page_size
