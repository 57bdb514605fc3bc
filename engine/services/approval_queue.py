"""The staff approval queue: pending requests soonest first, each with what stands in its way.

One page is read in one transaction (paginated in SQL); conflicts come from the one conflict
home (engine/services/conflicts.py) and approvals from the booking services' own helpers.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from sqlalchemy import func, select

from engine.db import UnitOfWork
from engine.domain.permissions import Permission as P
from engine.domain.status import BookingStatus
from engine.errors import ConflictError, InvalidTransition, NotFoundError, ValidationError
from engine.models import Booking, Resource
from engine.services.bookings import _approve_locked, _locked_booking, refused_by_database
from engine.services.common import as_uuid, load_actor, paginate, scope_key
from engine.services.conflicts import conflict_report
from engine.services.views import BookingView, ConflictReport, Page


@dataclass(frozen=True)
class QueueItem:
    booking: BookingView
    #: hard: approved bookings and blackouts in the way; soft: other pending requests.
    conflicts: ConflictReport


@dataclass(frozen=True)
class BatchApproval:
    approved: list[UUID] = field(default_factory=list)
    skipped: list[tuple[UUID, str]] = field(default_factory=list)


def approval_queue(uow: UnitOfWork, actor_id: object, *, page: int = 1, page_size: int = 20,
                   resource_type: str | None = None, safety_zone_id: object | None = None,
                   include_past: bool = False) -> Page[QueueItem]:
    """Pending requests, soonest start first (past ones hidden unless asked for: they must be
    rescheduled before they can be approved)."""
    page, page_size = paginate(page, page_size, max_size=100)
    with uow.read():
        load_actor(uow, actor_id, P.BOOKING_APPROVE)
        conds = [Booking.status == BookingStatus.PENDING]
        if not include_past:
            conds.append(Booking.start_time >= uow.now)
        if resource_type or safety_zone_id:
            sub = select(Resource.id)
            if resource_type:
                sub = sub.where(Resource.resource_type == resource_type)
            if safety_zone_id:
                sub = sub.where(Resource.safety_zone_id == as_uuid("safety_zone_id",
                                                                    safety_zone_id))
            conds.append(Booking.resource_id.in_(sub))
        total = uow.session.scalar(select(func.count()).select_from(Booking).where(*conds))
        rows = uow.session.scalars(select(Booking).where(*conds)
                                   .order_by(Booking.start_time, Booking.id)
                                   .limit(page_size).offset((page - 1) * page_size)).all()
        items = [QueueItem(BookingView.of(b), conflict_report(uow, b.resource, b.start_time,
                                                               b.end_time, {b.id}))
                 for b in rows]
        return Page(items, total or 0, page, page_size)


def approve_clear(uow: UnitOfWork, actor_id: object, booking_ids: list[object]) -> BatchApproval:
    """Approve, in one transaction, each of these requests that nothing stands in the way of;
    the rest are left pending with the reason. Requests approved earlier in the batch count
    as conflicts for later ones, so two overlapping requests are never both approved."""
    if len(booking_ids) > 200:
        raise ValidationError("booking_ids", "at most 200 requests per batch")
    ids = [as_uuid("booking_ids", b) for b in booking_ids]
    result = BatchApproval()
    with uow:
        actor = load_actor(uow, actor_id, P.BOOKING_APPROVE)
        found = uow.session.scalars(select(Booking).where(Booking.id.in_(ids))).unique().all()
        uow.lock_scope(*(scope_key(b.resource) for b in found))  # all locks first, sorted
        with refused_by_database(uow, "batch approval"):
            for booking_id in ids:
                try:
                    booking = _locked_booking(uow, booking_id)
                    _approve_locked(uow, actor, booking, force_override=False)
                except (ConflictError, ValidationError, InvalidTransition, NotFoundError) as exc:
                    result.skipped.append((booking_id, getattr(exc, "summary", exc.message)))
                    continue
                result.approved.append(booking.id)
            uow.commit()
    return result
