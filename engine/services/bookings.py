"""Booking services: request, view, list, cancel, approve, deny, reschedule, bump."""
from __future__ import annotations

import uuid
from collections.abc import Set as AbstractSet
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from engine.audit import AuditAction, record, snapshot
from engine.db import UnitOfWork
from engine.domain.overlap import overlaps_clause
from engine.domain.permissions import Permission as P
from engine.domain.permissions import has_permission
from engine.domain.rules import (
    validate_priority,
    validate_purpose,
    validate_reason,
    validate_window,
    within_operating_hours,
)
from engine.domain.status import BookingAction, BookingStatus, next_status, parse_statuses
from engine.errors import ConflictError, InvalidTransition, NotFoundError, ValidationError
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
from engine.services.policies import (
    ApprovalMode,
    add_sign_off,
    check_request_policy,
    effective_policy,
    require_decider,
    valid_sign_offs,
)
from engine.services.views import BookingView, Page
from engine.services.wording import booking_label


def _check_hours(uow: UnitOfWork, resource: Resource, start: datetime, end: datetime) -> None:
    if not within_operating_hours(start, end, resource.opens_at, resource.closes_at, uow.tz):
        raise ValidationError(
            "start_time",
            f"'{resource.name}' is open {resource.opens_at:%H:%M}-{resource.closes_at:%H:%M} "
            f"({uow.db.settings.site_timezone}); the booking must lie within one day's hours")


def _transition(booking: Booking, action: BookingAction) -> BookingStatus:
    target = next_status(booking.status, action)
    if target is None:
        raise InvalidTransition(booking.id, booking.status.value, action.value)
    return target


def _visible_booking(uow: UnitOfWork, actor: User, booking_id: object) -> Booking:
    """The booking, if the actor may see it; others' bookings look absent to members."""
    booking = get_or_404(uow, Booking, booking_id, "booking", "booking_id")
    if booking.requester_id != actor.id and not has_permission(actor.role, P.BOOKING_VIEW_ALL):
        raise NotFoundError("booking", booking_id)
    return booking


def lock_booking(uow: UnitOfWork, booking_id: object, *extra_scopes: Resource | UUID) -> Booking:
    """Load a booking, take the scope lock(s) of its resource (and of `extra_scopes`), then
    re-read it and its resource under a row lock. If its scope changed in between (a zone move,
    a concurrent reschedule), we hold the wrong lock: a clean ConflictError, nothing written.
    The row-locked re-read refreshes the booking's resource too (joined, populate_existing)."""
    booking = get_or_404(uow, Booking, booking_id, "booking", "booking_id")
    keys = lock_scopes(uow, booking.resource, *extra_scopes, reread_by_caller=booking.resource)
    booking = lock_row(uow, Booking, booking.id)
    require_scope_locked(keys, booking.resource)
    return booking


@contextmanager
def refused_by_database(uow: UnitOfWork, what: str):
    """A constraint firing inside the block (flush or commit) means a race that the locks should
    have stopped: report it as a conflict, with nothing written."""
    try:
        yield
    except IntegrityError as exc:
        uow.session.rollback()
        raise ConflictError(f"{what} was refused by the database: another change got there "
                            f"first ({exc.orig.__class__.__name__})", []) from exc


#: The e-mail each status change sends (engine/notifications); actions not listed send none.
ACTION_EVENTS = {
    BookingAction.APPROVE: NotificationEvent.APPROVED,
    BookingAction.DENY: NotificationEvent.DENIED,
    BookingAction.CANCEL: NotificationEvent.CANCELLED,
    BookingAction.BUMP: NotificationEvent.BUMPED,
}


def set_status(uow: UnitOfWork, actor: User, booking: Booking, action: BookingAction,
                audit: AuditAction, *, reason: str | None = None, details: dict | None = None,
                bumped_by: UUID | None = None, notify: bool = True,
                notify_event: NotificationEvent | str | None = None,
                notify_context: dict | None = None, offer_freed: bool = True) -> None:
    """Apply one transition with its audit entry and (unless `notify=False`) its e-mails to
    the outbox, all in the caller's transaction. A window the booking leaves is offered to
    the waitlist (`offer_freed=False` only where the caller knows nobody waits there)."""
    previous = snapshot(booking)
    previous_status = booking.status
    booking.status = _transition(booking, action)
    booking.decided_by_id = actor.id
    booking.decided_at = uow.now
    booking.updated_at = uow.now
    if reason is not None:
        booking.decision_reason = reason
    if bumped_by is not None:
        booking.bumped_by_booking_id = bumped_by
    record(uow.session, actor_id=actor.id, action=audit, now=uow.now, booking_id=booking.id,
           previous_state=previous, details=details or ({"reason": reason} if reason else None))
    event = notify_event or ACTION_EVENTS.get(action)
    if notify and event is not None:
        context = dict(notify_context or {})
        if bumped_by is not None:
            winner = uow.session.get(Booking, bumped_by)
            context.setdefault("bumped_by", {
                "booking_id": str(bumped_by), "purpose": winner.purpose if winner else None,
                "priority": winner.priority if winner else None})
        enqueue_booking_event(uow, booking, event, actor=actor, **context)
    uow.session.flush()
    waitlist.after_status_change(uow, actor, booking, previous_status, offer_freed=offer_freed)


@logged("booking.request")
def request_booking(uow: UnitOfWork, actor_id: object, *, resource_id: object,
                    start_time: object, end_time: object, purpose: object,
                    priority: object = 0, override_note: str | None = None) -> BookingView:
    """A member asks for a resource. The resource's booking policy decides what follows: the
    request waits for staff, or (automatic mode, nothing in the way) is approved at once in
    the same transaction under the system account. Staff exceeding a quota may add a note."""
    with uow:
        actor = load_actor(uow, actor_id, P.BOOKING_CREATE)
        resource = active_resource(uow, resource_id)
        start, end = validate_window(start_time, end_time, uow.now, max_advance=None)
        _check_hours(uow, resource, start, end)
        purpose, priority = validate_purpose(purpose), validate_priority(priority)
        note = validate_reason(override_note) if override_note else None
        outcome = check_request_policy(uow, actor, resource, start, end)
        automatic = outcome.policy.approval_mode is ApprovalMode.AUTOMATIC
        if automatic:  # the scope lock first, so the conflict look-up below stays true
            lock_scopes(uow, resource)
        in_the_way = hard_conflicts(uow, resource, start, end)
        booking = Booking(
            id=uuid.uuid4(), resource_id=resource.id, requester_id=actor.id, start_time=start,
            end_time=end, status=BookingStatus.PENDING, purpose=purpose,
            priority=priority, created_at=uow.now, updated_at=uow.now,
            conflict_at_request=bool(in_the_way),
        )
        uow.session.add(booking)
        uow.session.flush()
        details = {"resource": resource.name, "start_time": start, "end_time": end,
                   "priority": booking.priority, **outcome.audit_details}
        if outcome.exceeded and note:
            details["override_note"] = note
        record(uow.session, actor_id=actor.id, action=AuditAction.CREATED, now=uow.now,
               booking_id=booking.id, details=details)
        if automatic and not in_the_way:
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
    """Filtered, paginated in SQL. Members only ever see their own bookings."""
    page, page_size = paginate(page, page_size)
    with uow.read():
        actor = load_actor(uow, actor_id, P.BOOKING_VIEW_OWN)
        conds = []
        if not has_permission(actor.role, P.BOOKING_VIEW_ALL):
            conds.append(Booking.requester_id == actor.id)
        if filters.requester_id:
            conds.append(Booking.requester_id == as_uuid("requester_id", filters.requester_id))
        if filters.resource_id:
            conds.append(Booking.resource_id == as_uuid("resource_id", filters.resource_id))
        if filters.series_id:
            conds.append(Booking.series_id == as_uuid("series_id", filters.series_id))
        if filters.statuses:
            conds.append(Booking.status.in_(parse_statuses(filters.statuses)))
        if of_resources := resource_filter(filters.resource_type, filters.safety_zone_id):
            conds.append(Booking.resource_id.in_(select(Resource.id).where(*of_resources)))
        if filters.window_start or filters.window_end:
            lo = filters.window_start or datetime.min.replace(tzinfo=uow.now.tzinfo)
            hi = filters.window_end or datetime.max.replace(tzinfo=uow.now.tzinfo)
            if hi <= lo:
                raise ValidationError("window_end", "must be after window_start")
            conds.append(overlaps_clause(Booking.start_time, Booking.end_time, lo, hi))
        total = uow.session.scalar(select(func.count()).select_from(Booking).where(*conds))
        order = {"start": (Booking.start_time, Booking.id),
                 "-start": (Booking.start_time.desc(), Booking.id),
                 "created": (Booking.created_at.desc(), Booking.id)}.get(filters.order)
        if order is None:
            raise ValidationError("order", "must be one of start, -start, created")
        rows = uow.session.scalars(select(Booking).where(*conds).order_by(*order)
                                   .limit(page_size).offset((page - 1) * page_size)).all()
        return Page([BookingView.of(b) for b in rows], total or 0, page, page_size)


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
        actor = load_actor(uow, actor_id, P.BOOKING_DENY)
        reason = validate_reason(reason)
        booking = lock_booking(uow, booking_id)
        require_decider(uow, actor, booking.resource)
        set_status(uow, actor, booking, BookingAction.DENY, AuditAction.DENIED, reason=reason)
        view = BookingView.of(booking)
        uow.commit()
        return view


def approve_locked(uow: UnitOfWork, actor: User, booking: Booking, *, force_override: bool,
                    ignore: AbstractSet[UUID] = frozenset(), notify: bool = True,
                    audit_details: dict | None = None) -> list[UUID]:
    """Approve a booking whose zone lock is held; with force_override bump lower-priority
    approved bookings in the way. Returns the ids bumped. `notify=False` leaves the approval's
    e-mail to the caller (a series sends one for all its occurrences)."""
    _transition(booking, BookingAction.APPROVE)  # fail fast, before looking for conflicts
    if not booking.resource.is_active:
        raise ValidationError("resource_id", f"resource '{booking.resource.name}' is deactivated")
    if booking.start_time < uow.now:
        raise ValidationError("start_time", f"{booking_label(booking, uow.tz)} starts in the "
                                            "past: reschedule it before approving")
    conflicts = [c for c in hard_conflicts(uow, booking.resource, booking.start_time,
                                           booking.end_time, {booking.id}) if c.id not in ignore]
    if conflicts and not force_override:
        raise ConflictError(f"{booking_label(booking, uow.tz)} conflicts with existing bookings",
                            conflicts)
    blockers = [c for c in conflicts
                if c.priority is None or c.priority >= booking.priority]  # None: a blackout
    if blockers:
        raise ConflictError(
            f"{booking_label(booking, uow.tz)} (priority {booking.priority}) cannot override "
            "blackouts or bookings of equal or higher priority", blockers)
    bumped = []
    for c in conflicts:
        victim = lock_row(uow, Booking, c.id)
        set_status(uow, actor, victim, BookingAction.BUMP, AuditAction.BUMPED,
                    reason="displaced by higher-priority booking (force override): "
                           + booking_label(booking, uow.tz),
                    bumped_by=booking.id)
        bumped.append(victim.id)
    set_status(uow, actor, booking, BookingAction.APPROVE, AuditAction.APPROVED,
                details={"force_override": force_override, "bumped": [str(b) for b in bumped],
                         **(audit_details or {})},
                notify=notify)
    return bumped


def approve_or_sign(uow: UnitOfWork, actor: User, booking: Booking, *, force_override: bool,
                    ignore: AbstractSet[UUID] = frozenset()) -> bool:
    """An approver's approval of a locked booking, under its resource's policy: only its named
    approvers may decide; a two-person booking's first approval records a sign-off and leaves
    it pending (False), the second, by a different approver, approves it (True)."""
    require_decider(uow, actor, booking.resource)
    sign_offs = 0
    if effective_policy(uow, booking.resource).approval_mode is ApprovalMode.TWO_PERSON:
        _transition(booking, BookingAction.APPROVE)
        signs = valid_sign_offs(uow, booking)
        if any(s.signer_id == actor.id for s in signs):
            raise ValidationError("approver", f"you have already signed off booking "
                                  f"{booking.id}: a second, different approver must approve it")
        if not signs:
            _check_approvable(uow, booking, force_override=force_override, ignore=ignore)
            add_sign_off(uow, actor, booking, completes=False)
            return False
        sign_offs = 2
    before = snapshot(booking)
    approve_locked(uow, actor, booking, force_override=force_override, ignore=ignore,
                   audit_details={"sign_offs": sign_offs} if sign_offs else None)
    if sign_offs:  # after the approval's checks passed, so a refusal leaves no sign-off
        add_sign_off(uow, actor, booking, completes=True, previous=before)
    return True


def _check_approvable(uow: UnitOfWork, booking: Booking, *, force_override: bool,
                      ignore: AbstractSet[UUID]) -> None:
    """What a first sign-off must pass: the checks approval would make, without approving."""
    if booking.start_time < uow.now:
        raise ValidationError("start_time", f"booking {booking.id} starts in the past: "
                                            "reschedule it before approving")
    conflicts = [c for c in hard_conflicts(uow, booking.resource, booking.start_time,
                                           booking.end_time, {booking.id}) if c.id not in ignore]
    if conflicts and not force_override:
        raise ConflictError(f"booking {booking.id} conflicts with existing bookings", conflicts)


@logged("booking.approve")
def approve_booking(uow: UnitOfWork, actor_id: object, booking_id: object, *,
                    force_override: bool = False) -> BookingView:
    """Approve a pending request. Refused over any hard conflict, listing each one; with
    force_override, lower-priority approved bookings are bumped in the same transaction.
    A two-person booking stays pending after its first approver's sign-off."""
    with uow:
        actor = load_actor(uow, actor_id, P.BOOKING_APPROVE)
        booking = lock_booking(uow, booking_id)
        with refused_by_database(uow, f"approval of booking {booking.id}"):
            approve_or_sign(uow, actor, booking, force_override=bool(force_override))
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
        target = _transition(booking, BookingAction.RESCHEDULE)
        start, end = validate_window(start_time, end_time, uow.now)
        _check_hours(uow, resource, start, end)
        reason = validate_reason(reason) if reason else None
        if target is BookingStatus.APPROVED:
            conflicts = hard_conflicts(uow, resource, start, end, {booking.id})
            if conflicts:
                raise ConflictError(f"{booking_label(booking, uow.tz)} cannot move there",
                                    conflicts)
        previous = snapshot(booking)
        old_resource, old_start, old_end = booking.resource, booking.start_time, booking.end_time
        with refused_by_database(uow, f"reschedule of booking {booking.id}"):
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
        _transition(booking, BookingAction.BUMP)
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
                approve_locked(uow, actor, winner, force_override=False)
            view = BookingView.of(booking)
            uow.commit()
        return view
