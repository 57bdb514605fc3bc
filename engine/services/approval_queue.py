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
from engine.errors import (
    ConflictError,
    InvalidTransition,
    NotFoundError,
    PermissionDenied,
    ValidationError,
)
from engine.models import Booking, Resource
from engine.services.common import (
    as_uuid,
    load_actor,
    paginate,
    resource_filter,
    scope_key,
)
from engine.services.conflicts import conflict_reports
from engine.services.lifecycle import approve_or_sign, lock_booking, refused_by_database
from engine.services.policies import (
    SignOffStatus,
    may_decide,
    prefetch_rules,
    sign_off_status,
)
from engine.services.results import BookingView, ConflictReport, Page


@dataclass(frozen=True)
class QueueItem:
    booking: BookingView
    #: hard: approved bookings and blackouts in the way; soft: other pending requests.
    conflicts: ConflictReport
    #: two-person requests only: who has signed and who may still sign
    sign_off: SignOffStatus | None = None
    #: False when the resource has named approvers and the reader is not one of them
    may_decide: bool = True


@dataclass(frozen=True)
class QueuePage(Page[QueueItem]):
    #: True when more requests wait than COUNT_CAP: `total` then stops at COUNT_CAP.
    more: bool = False


#: Counting stops here, so the first screen costs the same with 10,000 or 1,000,000 waiting.
COUNT_CAP = 10_000


@dataclass(frozen=True)
class BatchApproval:
    approved: list[UUID] = field(default_factory=list)
    skipped: list[tuple[UUID, str]] = field(default_factory=list)
    #: two-person requests that got their first sign-off and stay pending
    signed: list[UUID] = field(default_factory=list)


def pending_requests(uow: UnitOfWork, actor_id: object, *, page: int = 1, page_size: int = 20,
                     resource_type: str | None = None, safety_zone_id: object | None = None,
                     include_past: bool = False, include_series: bool = False) -> QueuePage:
    """Pending requests, soonest start first (past ones hidden unless asked for: they must be
    rescheduled before they can be approved). Pages reach the first COUNT_CAP requests;
    narrow the filters to see beyond them. Occurrences of a recurring series are left out
    unless asked for: the queue shows each series as one row (engine/services/series.py)."""
    page, page_size = paginate(page, page_size, max_size=100)
    with uow.read():
        actor = load_actor(uow, actor_id, P.BOOKING_APPROVE)
        conds = [Booking.status == BookingStatus.PENDING]
        if not include_past:
            conds.append(Booking.start_time >= uow.now)
        if not include_series:
            conds.append(Booking.series_id.is_(None))
        if of_resources := resource_filter(resource_type, safety_zone_id):
            conds.append(Booking.resource_id.in_(select(Resource.id).where(*of_resources)))
        total = uow.session.scalar(select(func.count()).select_from(
            select(Booking.id).where(*conds).limit(COUNT_CAP + 1).subquery())) or 0
        rows = uow.session.scalars(select(Booking).where(*conds)
                                   .order_by(Booking.start_time, Booking.id)
                                   .limit(page_size).offset((page - 1) * page_size)).all()
        reports = conflict_reports(uow, rows)
        prefetch_rules(uow, [b.resource for b in rows])
        sign_offs = sign_off_status(uow, rows)
        deciders = {b.resource_id: may_decide(uow, actor, b.resource) for b in rows}
        return QueuePage([QueueItem(BookingView.of(b), reports[b.id], sign_offs.get(b.id),
                                    deciders[b.resource_id]) for b in rows],
                         min(total, COUNT_CAP), page, page_size, more=total > COUNT_CAP)


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
                    booking = lock_booking(uow, booking_id)
                    if not approve_or_sign(uow, actor, booking, force_override=False):
                        result.signed.append(booking.id)
                        continue
                except (ConflictError, ValidationError, InvalidTransition, NotFoundError,
                        PermissionDenied) as exc:
                    result.skipped.append((booking_id, getattr(exc, "summary", exc.message)))
                    continue
                result.approved.append(booking.id)
            uow.commit()
    return result
