"""Booking services: request, view, list, cancel, approve, deny, reschedule, bump."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import func, select

from engine.audit import queue_record, record, snapshot
from engine.db import UnitOfWork, column_values, queue_rows, table_of
from engine.domain.audit_actions import AuditAction
from engine.domain.overlap import overlaps_clause
from engine.domain.permissions import Permission as P
from engine.domain.permissions import has_permission
from engine.domain.rules import (
    validate_priority,
    validate_purpose,
    validate_reason,
    validate_window,
)
from engine.domain.status import BookingAction, BookingStatus, parse_statuses
from engine.errors import ConflictError, NotFoundError, ValidationError
from engine.logs import logged
from engine.models import Booking, Resource, User
from engine.notifications import NotificationEvent, enqueue_booking_event
from engine.services import waitlist
from engine.services.common import (
    active_resource,
    as_uuid,
    get_or_404,
    load_actor,
    lock_row,
    lock_scopes,
    paginate,
    require,
    require_scope_locked,
    resource_filter,
    scope_key,
    system_user,
)
from engine.services.conflicts import hard_conflicts
from engine.services.lifecycle import (
    approve_locked,
    approve_or_sign,
    check_hours,
    lock_booking,
    lock_decision,
    refused_by_database,
    refused_over_blackout,
    set_status,
    transition,
)
from engine.services.policies import (
    ApprovalMode,
    actor_and_resource,
    check_request_policy,
    effective_policy,
    require_decider,
)
from engine.services.results import VIEW_COLUMNS, VIEW_FROM, BookingView, Page
from engine.services.wording import booking_label


def _visible_booking(uow: UnitOfWork, actor: User, booking_id: object) -> Booking:
    """The booking, if the actor may see it; others' bookings look absent to members."""
    booking = get_or_404(uow, Booking, booking_id, "booking", "booking_id")
    if booking.requester_id != actor.id and not has_permission(actor.role, P.BOOKING_VIEW_ALL):
        raise NotFoundError("booking", booking_id)
    return booking


@logged("booking.request")
def request_booking(uow: UnitOfWork, actor_id: object, *, resource_id: object,
                    start_time: object, end_time: object, purpose: object,
                    priority: object = 0, override_note: str | None = None) -> BookingView:
    """A member asks for a resource. The resource's booking policy decides what follows: the
    request waits for staff, or (automatic mode, nothing in the way) is approved at once in
    the same transaction under the system account. Staff exceeding a quota may add a note."""
    with uow:
        try:
            start, end = validate_window(start_time, end_time, uow.now, max_advance=None)
        except ValidationError:  # a bad actor or resource is reported first, as ever
            actor_and_resource(uow, actor_id, P.BOOKING_CREATE, resource_id)
            raise
        actor, resource, blocked = actor_and_resource(uow, actor_id, P.BOOKING_CREATE,
                                                      resource_id, window=(start, end))
        check_hours(uow, resource, start, end)
        purpose, priority = validate_purpose(purpose), validate_priority(priority)
        note = validate_reason(override_note) if override_note else None
        # Scope locks before quota locks (UnitOfWork.lock_scope): an automatic request locks
        # its zone before the policy check's quota lock. The mode comes with the policy rows
        # the first statement brought, so a request that waits pays no round trip for it.
        automatic = effective_policy(uow, resource).approval_mode is ApprovalMode.AUTOMATIC
        if automatic:
            lock_scopes(uow, resource)  # also keeps the conflict look-up below true
        outcome = check_request_policy(uow, actor, resource, start, end)
        if automatic:
            in_the_way = bool(hard_conflicts(uow, resource, start, end))
        else:  # a request that waits only notes it: the first statement's look-up
            in_the_way = bool(blocked)
        booking = Booking(
            id=uuid.uuid4(), resource_id=resource.id, requester_id=actor.id, start_time=start,
            end_time=end, status=BookingStatus.PENDING, purpose=purpose,
            priority=priority, created_at=uow.now, updated_at=uow.now,
            conflict_at_request=bool(in_the_way),
        )
        details = {"resource": resource.name, "start_time": start, "end_time": end,
                   "priority": booking.priority, **outcome.audit_details}
        if outcome.exceeded and note:
            details["override_note"] = note
        approve_now = automatic and not in_the_way
        if approve_now:  # the approval steps work on the session's booking
            uow.session.add(booking)
            uow.session.flush()
        else:  # a request that waits: three rows, written with the commit (see queue_rows)
            booking.resource, booking.requester = resource, actor  # for the view and e-mail
            queue_rows(uow.session, table_of(Booking), [column_values(booking)])
        queue_record(uow.session, actor_id=actor.id, action=AuditAction.CREATED, now=uow.now,
                     booking_id=booking.id, details=details)
        if approve_now:
            with refused_by_database(uow, f"automatic approval of booking {booking.id}"):
                approve_locked(uow, system_user(uow), booking, force_override=False,
                               audit_details={"approval_mode": "automatic"})
        else:  # only a request that waits tells the approvers
            enqueue_booking_event(uow, booking, NotificationEvent.REQUESTED, actor=actor)
        view = BookingView.of(booking)
        uow.commit()
        return view


def get_booking(uow: UnitOfWork, actor_id: object, booking_id: object) -> BookingView:
    with uow.read():
        actor = load_actor(uow, actor_id, P.BOOKING_VIEW_OWN)
        return BookingView.of(_visible_booking(uow, actor, booking_id))


@dataclass(frozen=True)
class BookingFilter:
    resource_id: UUID | None = None
    resource_type: str | None = None
    safety_zone_id: UUID | None = None
    statuses: tuple[str, ...] = ()
    requester_id: UUID | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
    order: str = "start"  # "start" (soonest first) or "-start" or "created"
    series_id: UUID | None = None  # the occurrences of one recurring series


def list_bookings(uow: UnitOfWork, actor_id: object, filters: BookingFilter = BookingFilter(),
                  *, page: int = 1, page_size: int = 50) -> Page[BookingView]:
    """Filtered, paginated in SQL. Members only ever see their own bookings. The page is read
    as plain rows (Core, `VIEW_COLUMNS`), not as Booking objects with their joined resource,
    zone and requester: that loading was half of an API list request's CPU."""
    page, page_size = paginate(page, page_size)
    b = Booking.__table__.c
    with uow.read():
        actor = load_actor(uow, actor_id, P.BOOKING_VIEW_OWN)
        conds = []
        if not has_permission(actor.role, P.BOOKING_VIEW_ALL):
            conds.append(b.requester_id == actor.id)
        if filters.requester_id:
            conds.append(b.requester_id == as_uuid("requester_id", filters.requester_id))
        if filters.resource_id:
            conds.append(b.resource_id == as_uuid("resource_id", filters.resource_id))
        if filters.series_id:
            conds.append(b.series_id == as_uuid("series_id", filters.series_id))
        if filters.statuses:
            conds.append(b.status.in_(parse_statuses(filters.statuses)))
        if of_resources := resource_filter(filters.resource_type, filters.safety_zone_id):
            conds.append(b.resource_id.in_(select(Resource.__table__.c.id).where(*of_resources)))
        if filters.window_start or filters.window_end:
            lo = filters.window_start or datetime.min.replace(tzinfo=uow.now.tzinfo)
            hi = filters.window_end or datetime.max.replace(tzinfo=uow.now.tzinfo)
            if hi <= lo:
                raise ValidationError("window_end", "must be after window_start")
            conds.append(overlaps_clause(b.start_time, b.end_time, lo, hi))
        order = {"start": (b.start_time, b.id),
                 "-start": (b.start_time.desc(), b.id),
                 "created": (b.created_at.desc(), b.id)}.get(filters.order)
        if order is None:
            raise ValidationError("order", "must be one of start, -start, created")
        conn = uow.session.connection()
        total = conn.scalar(select(func.count()).select_from(Booking.__table__).where(*conds))
        rows = conn.execute(select(*VIEW_COLUMNS).select_from(VIEW_FROM).where(*conds)
                            .order_by(*order).limit(page_size).offset((page - 1) * page_size))
        return Page([BookingView.from_row(r) for r in rows], total or 0, page, page_size)


@logged("booking.cancel")
def cancel_booking(uow: UnitOfWork, actor_id: object, booking_id: object,
                   reason: str | None = None) -> BookingView:
    """Members cancel their own bookings; staff cancel anyone's."""
    with uow:
        actor = load_actor(uow, actor_id, P.BOOKING_CANCEL_OWN)
        booking = _visible_booking(uow, actor, booking_id)
        if booking.requester_id != actor.id:
            require(actor, P.BOOKING_CANCEL_ANY)
        booking = lock_booking(uow, booking.id)
        reason = validate_reason(reason) if reason else None
        set_status(uow, actor, booking, BookingAction.CANCEL, AuditAction.CANCELLED, reason=reason)
        view = BookingView.of(booking)
        uow.commit()
        return view


@logged("booking.deny")
def deny_booking(uow: UnitOfWork, actor_id: object, booking_id: object, reason: object
                 ) -> BookingView:
    with uow:
        try:
            reason = validate_reason(reason)
        except ValidationError:
            load_actor(uow, actor_id, P.BOOKING_DENY)  # a bad actor is refused first
            raise
        actor, booking = lock_decision(uow, actor_id, P.BOOKING_DENY, booking_id)
        require_decider(uow, actor, booking.resource)
        set_status(uow, actor, booking, BookingAction.DENY, AuditAction.DENIED, reason=reason)
        view = BookingView.of(booking)
        uow.commit()
        return view


@logged("booking.approve")
def approve_booking(uow: UnitOfWork, actor_id: object, booking_id: object, *,
                    force_override: bool = False) -> BookingView:
    """Approve a pending request. Refused over any hard conflict, listing each one; with
    force_override, lower-priority approved bookings are bumped in the same transaction.
    A two-person booking stays pending after its first approver's sign-off."""
    with uow:
        actor, booking = lock_decision(uow, actor_id, P.BOOKING_APPROVE, booking_id)
        with refused_by_database(uow, f"approval of booking {booking.id}"):
            approve_or_sign(uow, actor, booking, force_override=bool(force_override),
                            last_step=True)
            view = BookingView.of(booking)
            uow.commit()
        return view


@logged("booking.reschedule")
def reschedule_booking(uow: UnitOfWork, actor_id: object, booking_id: object, *,
                       start_time: object, end_time: object, resource_id: object | None = None,
                       reason: str | None = None) -> BookingView:
    """Move a pending or approved booking to a new window (and optionally resource).
    An approved booking keeps its approval only if the new window is free."""
    with uow:
        actor = load_actor(uow, actor_id, P.BOOKING_RESCHEDULE)
        current = get_or_404(uow, Booking, booking_id, "booking", "booking_id")
        resource = active_resource(uow, resource_id or current.resource_id)
        booking = lock_booking(uow, current.id, resource)  # both scopes, then re-read
        current_name = booking.resource.name
        target = transition(booking, BookingAction.RESCHEDULE)
        start, end = validate_window(start_time, end_time, uow.now)
        check_hours(uow, resource, start, end)
        reason = validate_reason(reason) if reason else None
        if target is BookingStatus.APPROVED:
            conflicts = hard_conflicts(uow, resource, start, end, {booking.id})
            if conflicts:
                raise ConflictError(f"{booking_label(booking, uow.tz)} cannot move there",
                                    conflicts)
        previous = snapshot(booking)
        old_resource, old_start, old_end = booking.resource, booking.start_time, booking.end_time
        with refused_by_database(uow, f"reschedule of booking {booking.id}"), \
                refused_over_blackout(uow, booking, resource, start, end):
            booking.resource_id, booking.start_time, booking.end_time = resource.id, start, end
            booking.resource = resource
            booking.updated_at = uow.now
            if reason:  # the note to the requester, shown with the booking
                booking.decision_reason = reason
            record(uow.session, actor_id=actor.id, action=AuditAction.RESCHEDULED, now=uow.now,
                   booking_id=booking.id, previous_state=previous,
                   details={"resource": resource.name, "start_time": start, "end_time": end,
                            "reason": reason})
            enqueue_booking_event(
                uow, booking, NotificationEvent.RESCHEDULED, actor=actor, reason=reason,
                old_start_time=previous["start_time"], old_end_time=previous["end_time"],
                old_resource_id=previous["resource_id"], old_resource_name=current_name)
            uow.session.flush()
            waitlist.offer_freed_window(uow, old_resource, old_start, old_end)
            view = BookingView.of(booking)
            uow.commit()
        return view


@logged("booking.bump")
def bump_booking(uow: UnitOfWork, actor_id: object, booking_id: object, *, reason: object,
                 in_favour_of: object | None = None) -> BookingView:
    """Staff displace an approved booking. With `in_favour_of`, a pending request of higher
    priority is approved in its place in the same transaction."""
    with uow:
        actor = load_actor(uow, actor_id, P.BOOKING_BUMP)
        reason = validate_reason(reason)
        winner = None
        extra_scopes = []
        if in_favour_of is not None:  # lock both zones up front, in one sorted call
            winner = get_or_404(uow, Booking, in_favour_of, "booking", "in_favour_of")
            extra_scopes.append(winner.resource)
        booking = lock_booking(uow, booking_id, *extra_scopes)
        locked = {scope_key(r) for r in (booking.resource, *extra_scopes)}
        transition(booking, BookingAction.BUMP)
        if winner is not None:
            winner = lock_row(uow, Booking, winner.id)
            # lock_booking verified both scopes; the winner may not have moved since.
            require_scope_locked(locked, winner.resource)
            if winner.priority <= booking.priority:
                raise ValidationError("in_favour_of", f"{booking_label(winner, uow.tz)} (priority "
                                      f"{winner.priority}) must outrank "
                                      f"{booking_label(booking, uow.tz)} "
                                      f"(priority {booking.priority})")
        with refused_by_database(uow, f"bump of booking {booking.id}"):
            set_status(uow, actor, booking, BookingAction.BUMP, AuditAction.BUMPED,
                        reason=reason, bumped_by=winner.id if winner else None)
            if winner is not None:
                # The approval rules of approve_booking: named approvers, two sign-offs.
                approve_or_sign(uow, actor, winner, force_override=False,
                                in_favour_field="in_favour_of")
            view = BookingView.of(booking)
            uow.commit()
        return view
