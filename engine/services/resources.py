"""Resources, resource types, operating hours, safety zones and blackout windows (admins)."""
from __future__ import annotations

import re
import uuid
from datetime import datetime, time
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from engine.audit import record, snapshot
from engine.db import UnitOfWork
from engine.domain.audit_actions import AuditAction
from engine.domain.overlap import overlaps_clause
from engine.domain.permissions import Permission as P
from engine.domain.rules import require_aware, validate_reason
from engine.domain.status import BookingAction, BookingStatus
from engine.errors import ConflictError, ValidationError
from engine.logs import logged
from engine.models import Blackout, Booking, Resource, SafetyZone
from engine.notifications import NotificationEvent
from engine.services.common import (
    as_uuid,
    get_or_404,
    load_actor,
    lock_row,
    lock_scopes,
    require,
    resource_filter,
    scope_key,
)
from engine.services.conflicts import booking_conflicts
from engine.services.lifecycle import BLACKOUT_GUARD, refused_by_database, set_status
from engine.services.results import BlackoutView, ResourceView, ZoneView
from engine.services.waitlist import offer_freed_window

_TYPE = re.compile(r"^[a-z][a-z0-9_]{1,49}$")
RESOURCE_FIELDS = ("name", "resource_type", "description", "safety_zone_id", "opens_at",
                   "closes_at")


def _optional_text(field: str, value: object, hi: int) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return _text(field, value, hi)


def _text(field: str, value: object, hi: int = 255) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValidationError(field, "must not be empty")
    if not isinstance(value, str):
        raise ValidationError(field, "must be text")
    if len(value.strip()) > hi:
        raise ValidationError(field, f"must be at most {hi} characters")
    return value.strip()


def _resource_type(value: object) -> str:
    if not isinstance(value, str) or not _TYPE.match(value.strip().lower()):
        raise ValidationError("resource_type", "must be 2-50 lowercase letters, digits or _ "
                                               "starting with a letter (e.g. range, classroom)")
    return value.strip().lower()


def _hours(opens: object, closes: object) -> tuple[time | None, time | None]:
    if opens is None and closes is None:
        return None, None
    if not isinstance(opens, time) or not isinstance(closes, time):
        raise ValidationError("opens_at", "opening and closing times must both be set, or neither")
    if closes <= opens:
        raise ValidationError("closes_at", "must be after opens_at")
    return opens, closes


def _zone_overlaps(uow: UnitOfWork, resource_id: uuid.UUID, zone_id: uuid.UUID) -> list:
    """Approved bookings of this resource that overlap approved bookings in the zone."""
    other = aliased(Booking)
    stmt = (select(Booking.id, other.id).join(Resource, Resource.id == other.resource_id)
            .where(Booking.resource_id == resource_id,
                   Booking.status == BookingStatus.APPROVED,
                   other.status == BookingStatus.APPROVED,
                   Resource.safety_zone_id == zone_id, other.resource_id != resource_id,
                   overlaps_clause(other.start_time, other.end_time,
                                   Booking.start_time, Booking.end_time)).limit(5))
    return list(uow.session.execute(stmt).all())


def _zone_blackout_clashes(uow: UnitOfWork, resource_id: uuid.UUID, zone_id: uuid.UUID
                           ) -> list[str]:
    """What a move into the zone would put under a blackout (the database refuses it too,
    migration 0018): this resource's blackouts over the zone's approved bookings, and the
    zone's blackouts over this resource's."""
    approved_under = and_(Booking.status == BookingStatus.APPROVED,
                          overlaps_clause(Booking.start_time, Booking.end_time,
                                          Blackout.start_time, Blackout.end_time))
    in_zone = and_(Resource.safety_zone_id == zone_id, Resource.id != resource_id)
    mine_closed = (select(Booking.id, Blackout.reason).select_from(Blackout)
                   .join(Booking, approved_under).join(Resource, Resource.id == Booking.resource_id)
                   .where(Blackout.resource_id == resource_id, in_zone).limit(5))
    theirs_closed = (select(Booking.id, Blackout.reason).select_from(Blackout)
                     .join(Resource, Resource.id == Blackout.resource_id)
                     .join(Booking, and_(Booking.resource_id == resource_id, approved_under))
                     .where(in_zone).limit(5))
    return [f"booking {str(b)[:8]} under blackout '{reason}'"
            for stmt in (mine_closed, theirs_closed) for b, reason in uow.session.execute(stmt)]


def _apply_resource_fields(uow: UnitOfWork, resource: Resource, values: dict[str, Any]) -> None:
    unknown = set(values) - set(RESOURCE_FIELDS)
    if unknown:
        raise ValidationError(sorted(unknown)[0], "is not a resource field")
    # The zone first: moving re-reads the resource under its lock, which would drop other edits.
    if "safety_zone_id" in values:
        zone_id = values["safety_zone_id"]
        zone = None
        if zone_id is not None:
            zone = get_or_404(uow, SafetyZone, zone_id, "safety zone", "safety_zone_id")
            zone_id = zone.id
        if zone_id != resource.safety_zone_id and resource.id is not None:
            _lock_move(uow, resource, zone_id)
            if zone is not None:
                clashes = _zone_overlaps(uow, resource.id, zone.id)
                if clashes:
                    raise ValidationError("safety_zone_id", "approved bookings would overlap in "
                                          f"zone '{zone.name}': " + ", ".join(
                                              f"{a} with {b}" for a, b in clashes))
                closed = _zone_blackout_clashes(uow, resource.id, zone.id)
                if closed:
                    raise ValidationError("safety_zone_id", "approved bookings would fall under "
                                          f"blackouts in zone '{zone.name}': "
                                          + ", ".join(closed))
        resource.safety_zone_id = zone_id
    if "name" in values:
        name = _text("name", values["name"])
        taken = uow.session.scalar(select(Resource.id).where(
            func.lower(Resource.name) == name.lower(),
            *([Resource.id != resource.id] if resource.id is not None else [])))
        if taken is not None:  # the unique index on lower(name) backs this up under races
            raise ValidationError("name", f"a resource named '{name}' already exists "
                                          "(names are unique, whatever their capitals)")
        resource.name = name
    if "resource_type" in values:
        resource.resource_type = _resource_type(values["resource_type"])
    if "description" in values:
        resource.description = _optional_text("description", values["description"], 4000)
    if "opens_at" in values or "closes_at" in values:
        resource.opens_at, resource.closes_at = _hours(
            values.get("opens_at", resource.opens_at), values.get("closes_at", resource.closes_at))


def _lock_move(uow: UnitOfWork, resource: Resource, zone_id: uuid.UUID | None) -> None:
    """Lock the old and the new scope (sorted, one call), then re-read the resource under a row
    lock: a concurrent move that got there first is a clean ConflictError. Approvals in either
    scope wait for this transaction; the database rewrites the bookings' scope_id with the
    resource (a trigger) and its exclusion constraint refuses any overlap that would create."""
    old_key = scope_key(resource)
    uow.lock_scope(old_key, zone_id or resource.id)
    lock_row(uow, Resource, resource.id)
    if scope_key(resource) != old_key:
        raise ConflictError(f"resource '{resource.name}' was moved to another safety zone "
                            "meanwhile: reload and try again", [])


@logged("resource.create")
def create_resource(uow: UnitOfWork, actor_id: object, **values: Any) -> ResourceView:
    with uow:
        actor = load_actor(uow, actor_id, P.RESOURCE_MANAGE)
        resource = Resource(id=None, is_active=True, created_at=uow.now, updated_at=uow.now)
        values.setdefault("name", None)
        values.setdefault("resource_type", None)
        _apply_resource_fields(uow, resource, values)
        resource.id = uuid.uuid4()
        uow.session.add(resource)
        with refused_by_database(uow, f"creation of resource '{resource.name}'"):
            uow.session.flush()
        record(uow.session, actor_id=actor.id, action=AuditAction.RESOURCE_CREATED, now=uow.now,
               entity=resource, details=snapshot(resource))
        uow.session.refresh(resource)
        view = ResourceView.of(resource)
        uow.commit()
        return view


@logged("resource.update")
def update_resource(uow: UnitOfWork, actor_id: object, resource_id: object, **values: Any
                    ) -> ResourceView:
    with uow:
        actor = load_actor(uow, actor_id, P.RESOURCE_MANAGE)
        resource = get_or_404(uow, Resource, resource_id, "resource", "resource_id")
        previous = snapshot(resource)
        with refused_by_database(uow, f"update of resource '{resource.name}'"):
            _apply_resource_fields(uow, resource, values)
            resource.updated_at = uow.now
            uow.session.flush()
        record(uow.session, actor_id=actor.id, action=AuditAction.RESOURCE_UPDATED, now=uow.now,
               entity=resource, previous_state=previous,
               details={k: v for k, v in snapshot(resource).items() if previous.get(k) != v})
        uow.session.refresh(resource)
        view = ResourceView.of(resource)
        uow.commit()
        return view


@logged("resource.set_active")
def set_resource_active(uow: UnitOfWork, actor_id: object, resource_id: object, active: bool
                        ) -> ResourceView:
    with uow:
        actor = load_actor(uow, actor_id, P.RESOURCE_MANAGE)
        resource = get_or_404(uow, Resource, resource_id, "resource", "resource_id")
        previous = snapshot(resource)
        resource.is_active = active
        resource.updated_at = uow.now
        record(uow.session, actor_id=actor.id, now=uow.now, entity=resource,
               action=AuditAction.RESOURCE_UPDATED if active else AuditAction.RESOURCE_DEACTIVATED,
               previous_state=previous, details={"is_active": active})
        view = ResourceView.of(resource)
        uow.commit()
        return view


def deactivate_resource(uow: UnitOfWork, actor_id: object, resource_id: object) -> ResourceView:
    """No new requests or approvals; existing bookings stay as they are for staff to handle."""
    return set_resource_active(uow, actor_id, resource_id, False)


def get_resource(uow: UnitOfWork, actor_id: object, resource_id: object) -> ResourceView:
    with uow.read():
        load_actor(uow, actor_id, P.RESOURCE_VIEW)
        return ResourceView.of(get_or_404(uow, Resource, resource_id, "resource", "resource_id"))


def list_resources(uow: UnitOfWork, actor_id: object, *, include_inactive: bool = False,
                   resource_type: str | None = None, safety_zone_id: object | None = None
                   ) -> list[ResourceView]:
    with uow.read():
        load_actor(uow, actor_id, P.RESOURCE_VIEW)
        stmt = select(Resource).order_by(Resource.resource_type, Resource.name)
        if not include_inactive:
            stmt = stmt.where(Resource.is_active.is_(True))
        stmt = stmt.where(*resource_filter(resource_type, safety_zone_id))
        return [ResourceView.of(r) for r in uow.session.scalars(stmt).unique()]


def list_resource_types(uow: UnitOfWork, actor_id: object) -> list[str]:
    with uow.read():
        load_actor(uow, actor_id, P.RESOURCE_VIEW)
        return list(uow.session.scalars(select(Resource.resource_type).distinct()
                                        .order_by(Resource.resource_type)))


@logged("zone.create")
def create_zone(uow: UnitOfWork, actor_id: object, *, name: object,
                description: object = None) -> ZoneView:
    with uow:
        actor = load_actor(uow, actor_id, P.RESOURCE_MANAGE)
        name = _text("name", name)
        same_name = func.lower(SafetyZone.name) == name.lower()
        if uow.session.scalar(select(SafetyZone).where(same_name)):
            raise ValidationError("name", f"a safety zone named '{name}' already exists")
        zone = SafetyZone(id=uuid.uuid4(), name=name,
                          description=_optional_text("description", description, 4000),
                          created_at=uow.now, updated_at=uow.now)
        uow.session.add(zone)
        uow.session.flush()
        record(uow.session, actor_id=actor.id, action=AuditAction.ZONE_CREATED, now=uow.now,
               entity=zone, details={"name": name})
        view = ZoneView.of(zone)
        uow.commit()
        return view


@logged("zone.update")
def update_zone(uow: UnitOfWork, actor_id: object, zone_id: object, *, name: object = None,
                description: object = None) -> ZoneView:
    with uow:
        actor = load_actor(uow, actor_id, P.RESOURCE_MANAGE)
        zone = get_or_404(uow, SafetyZone, zone_id, "safety zone", "zone_id")
        previous = snapshot(zone)
        if name is not None:
            zone.name = _text("name", name)
        if description is not None:
            zone.description = _optional_text("description", description, 4000)
        zone.updated_at = uow.now
        record(uow.session, actor_id=actor.id, action=AuditAction.ZONE_UPDATED, now=uow.now,
               entity=zone, previous_state=previous)
        view = ZoneView.of(zone)
        uow.commit()
        return view


def list_zones(uow: UnitOfWork, actor_id: object) -> list[ZoneView]:
    with uow.read():
        load_actor(uow, actor_id, P.RESOURCE_VIEW)
        return [ZoneView.of(z) for z in uow.session.scalars(select(SafetyZone)
                                                            .order_by(SafetyZone.name))]


@logged("blackout.create")
def create_blackout(uow: UnitOfWork, actor_id: object, *, resource_id: object,
                    start_time: object, end_time: object, reason: object,
                    bump_conflicting: bool = False) -> BlackoutView:
    """Close a resource (and its safety zone) for a window. Approved bookings in the way
    refuse the blackout, listed, unless `bump_conflicting` bumps them with the blackout's
    reason: first, since the database refuses a blackout over approved bookings (0018); their
    windows are offered to the waitlist only once the blackout stands in them."""
    with uow:
        actor = load_actor(uow, actor_id, P.RESOURCE_MANAGE)
        if bump_conflicting:  # displacing bookings is a bump too, whatever the role table says
            require(actor, P.BOOKING_BUMP)
        resource = get_or_404(uow, Resource, resource_id, "resource", "resource_id")
        start = require_aware("start_time", start_time)
        end = require_aware("end_time", end_time)
        if end <= start:
            raise ValidationError("end_time", "must be after start_time")
        reason = validate_reason(reason)
        lock_scopes(uow, resource)  # then re-read: a zone move in between is a clean 409
        in_way = booking_conflicts(uow, resource, start, end, BookingStatus.APPROVED)
        if in_way and not bump_conflicting:
            raise ConflictError(f"blackout on '{resource.name}' meets approved bookings", in_way)
        victims = []
        for c in in_way:
            victim = get_or_404(uow, Booking, c.id, "booking", "booking_id")
            set_status(uow, actor, victim, BookingAction.BUMP, AuditAction.BUMPED,
                       reason=f"blackout: {reason}", notify_event=NotificationEvent.DISPLACED,
                       notify_context={"blackout": {"reason": reason, "start_time": start,
                                                    "end_time": end,
                                                    "resource_name": resource.name}},
                       offer_freed=False)
            victims.append(victim)
        blackout = Blackout(id=uuid.uuid4(), resource_id=resource.id, start_time=start,
                            end_time=end, reason=reason, created_by_id=actor.id,
                            created_at=uow.now)
        uow.session.add(blackout)
        try:
            uow.session.flush()
        except IntegrityError as exc:  # approved bookings the check above did not see
            if BLACKOUT_GUARD not in str(exc.orig):
                raise
            uow.session.rollback()
            raise ConflictError(
                f"blackout on '{resource.name}' meets approved bookings",
                booking_conflicts(uow, resource, start, end, BookingStatus.APPROVED)) from exc
        for victim in victims:
            offer_freed_window(uow, victim.resource, victim.start_time, victim.end_time)
        record(uow.session, actor_id=actor.id, action=AuditAction.BLACKOUT_CREATED, now=uow.now,
               entity=blackout, details={"resource": resource.name, "start_time": start,
                                         "end_time": end, "reason": reason,
                                         "bumped": [str(c.id) for c in in_way]})
        uow.session.refresh(blackout)
        view = BlackoutView.of(blackout)
        uow.commit()
        return view


@logged("blackout.delete")
def delete_blackout(uow: UnitOfWork, actor_id: object, blackout_id: object) -> None:
    with uow:
        actor = load_actor(uow, actor_id, P.RESOURCE_MANAGE)
        blackout = get_or_404(uow, Blackout, blackout_id, "blackout", "blackout_id")
        record(uow.session, actor_id=actor.id, action=AuditAction.BLACKOUT_DELETED, now=uow.now,
               entity=blackout, previous_state=snapshot(blackout))
        uow.session.delete(blackout)
        uow.commit()


def list_blackouts(uow: UnitOfWork, actor_id: object, *, resource_id: object | None = None,
                   window_start: datetime | None = None, window_end: datetime | None = None
                   ) -> list[BlackoutView]:
    with uow.read():
        load_actor(uow, actor_id, P.RESOURCE_VIEW)
        stmt = select(Blackout).order_by(Blackout.start_time)
        if resource_id:
            stmt = stmt.where(Blackout.resource_id == as_uuid("resource_id", resource_id))
        if window_start and window_end:
            stmt = stmt.where(overlaps_clause(Blackout.start_time, Blackout.end_time,
                                              window_start, window_end))
        return [BlackoutView.of(b) for b in uow.session.scalars(stmt).unique()]
