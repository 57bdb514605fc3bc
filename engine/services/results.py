"""Result objects the services return (frozen dataclasses built from rows inside the
transaction), so pages and routes never hold ORM objects. Not pages: those are dashboard/views/."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any, Generic, TypeVar
from uuid import UUID

from engine.models import AuditLog, Blackout, Booking, Resource, SafetyZone, User

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


@dataclass(frozen=True)
class UserView:
    id: UUID
    email: str
    name: str
    role: str
    is_active: bool
    created_at: datetime | None

    @classmethod
    def of(cls, u: User) -> UserView:
        return cls(u.id, u.email, u.name, u.role.value, u.is_active, u.created_at)


@dataclass(frozen=True)
class ZoneView:
    id: UUID
    name: str
    description: str | None

    @classmethod
    def of(cls, z: SafetyZone) -> ZoneView:
        return cls(z.id, z.name, z.description)


@dataclass(frozen=True)
class ResourceView:
    id: UUID
    name: str
    resource_type: str
    description: str | None
    safety_zone_id: UUID | None
    safety_zone_name: str | None
    is_active: bool
    opens_at: time | None
    closes_at: time | None

    @classmethod
    def of(cls, r: Resource) -> ResourceView:
        return cls(r.id, r.name, r.resource_type, r.description, r.safety_zone_id,
                   r.safety_zone.name if r.safety_zone else None, r.is_active,
                   r.opens_at, r.closes_at)


@dataclass(frozen=True)
class BlackoutView:
    id: UUID
    resource_id: UUID
    resource_name: str
    start_time: datetime
    end_time: datetime
    reason: str

    @classmethod
    def of(cls, b: Blackout) -> BlackoutView:
        return cls(b.id, b.resource_id, b.resource.name, b.start_time, b.end_time, b.reason)


@dataclass(frozen=True)
class BookingView:
    id: UUID
    resource_id: UUID
    resource_name: str
    resource_type: str
    safety_zone_id: UUID | None
    requester_id: UUID
    requester_name: str
    start_time: datetime
    end_time: datetime
    status: str
    purpose: str | None
    priority: int
    decision_reason: str | None
    decided_by_id: UUID | None
    decided_at: datetime | None
    bumped_by_booking_id: UUID | None
    conflict_at_request: bool
    created_at: datetime | None
    updated_at: datetime | None
    #: Set when the booking is one occurrence of a recurring series.
    series_id: UUID | None = None

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> BookingView:
        """From a row of `VIEW_COLUMNS` (services.bookings): a list needs no ORM objects."""
        (id_, resource_id, resource_name, resource_type, zone_id, requester_id, requester_name,
         start, end, status, *rest) = row
        return cls(id_, resource_id, resource_name, resource_type, zone_id, requester_id,
                   requester_name, start, end, status.value, *rest)

    @classmethod
    def of(cls, b: Booking) -> BookingView:
        return cls(b.id, b.resource_id, b.resource.name, b.resource.resource_type,
                   b.resource.safety_zone_id, b.requester_id, b.requester.name, b.start_time,
                   b.end_time, b.status.value, b.purpose, b.priority, b.decision_reason,
                   b.decided_by_id, b.decided_at, b.bumped_by_booking_id,
                   b.conflict_at_request, b.created_at, b.updated_at, b.series_id)


_BOOKINGS, _RESOURCES, _USERS = Booking.__table__, Resource.__table__, User.__table__
#: A BookingView's columns in its field order, over `VIEW_FROM`: lists select exactly these
#: (Core rows, no ORM objects, identity map or joined-object loading for three names).
VIEW_COLUMNS = (
    _BOOKINGS.c.id, _BOOKINGS.c.resource_id, _RESOURCES.c.name, _RESOURCES.c.resource_type,
    _RESOURCES.c.safety_zone_id, _BOOKINGS.c.requester_id, _USERS.c.name, _BOOKINGS.c.start_time,
    _BOOKINGS.c.end_time, _BOOKINGS.c.status, _BOOKINGS.c.purpose, _BOOKINGS.c.priority,
    _BOOKINGS.c.decision_reason, _BOOKINGS.c.decided_by_id, _BOOKINGS.c.decided_at,
    _BOOKINGS.c.bumped_by_booking_id, _BOOKINGS.c.conflict_at_request, _BOOKINGS.c.created_at,
    _BOOKINGS.c.updated_at, _BOOKINGS.c.series_id)
VIEW_FROM = _BOOKINGS.join(_RESOURCES, _RESOURCES.c.id == _BOOKINGS.c.resource_id).join(
    _USERS, _USERS.c.id == _BOOKINGS.c.requester_id)


@dataclass(frozen=True)
class AuditView:
    id: UUID
    timestamp: datetime
    actor_id: UUID
    actor_name: str
    action: str
    booking_id: UUID | None
    entity_type: str | None
    entity_id: UUID | None
    details: str | None
    previous_state: dict | None

    @classmethod
    def of(cls, a: AuditLog, actor_name: str) -> AuditView:
        return cls(a.id, a.timestamp, a.actor_id, actor_name, a.action, a.booking_id,
                   a.entity_type, a.entity_id, a.details, a.previous_state)


@dataclass(frozen=True)
class Suggestion:
    resource_id: UUID
    resource_name: str
    start_time: datetime
    end_time: datetime
    same_resource: bool


@dataclass(frozen=True)
class ConflictReport:
    hard: list = field(default_factory=list)
    soft: list = field(default_factory=list)

    @property
    def has_hard(self) -> bool:
        return bool(self.hard)
