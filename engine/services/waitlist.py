"""The waitlist: members wait for a window that conflicted; when it frees, the first waiting
entry (highest priority, then earliest joined) is offered it as a pending request, inside the
transaction that freed it, and the offer expires after the type's offer time.

Every change to a window and to the entries on it holds the window's zone lock (PostgreSQL
advisory lock; SQLite BEGIN IMMEDIATE), so frees are serialised per zone; the offer itself is a
conditional UPDATE (`status = 'waiting'`) and `booking_id` is unique, so one entry is offered
at most once and one window never goes to two entries (an offer is a pending request, and a
window with a pending request on it is not free).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import select, true, update
from sqlalchemy.exc import IntegrityError

from engine.audit import record, snapshot
from engine.db import Database, UnitOfWork, rows_changed
from engine.domain.audit_actions import AuditAction
from engine.domain.overlap import overlaps_clause
from engine.domain.permissions import Permission as P
from engine.domain.permissions import has_permission
from engine.domain.rules import validate_priority, validate_purpose, validate_window
from engine.domain.status import (
    TERMINAL_STATUSES,
    BookingAction,
    BookingStatus,
    WaitlistStatus,
    waitlist_step_allowed,
)
from engine.errors import NotFoundError, ValidationError, WaitlistTransition
from engine.logs import logged
from engine.models import Booking, Resource, User, WaitlistEntry
from engine.notifications import NotificationEvent, enqueue_booking_event
from engine.services.common import (
    active_resource,
    get_or_404,
    load_actor,
    lock_row,
    scope_key,
    system_user,
)
from engine.services.conflicts import conflict_report, scope_resources
from engine.system import ensure_system_user

W = WaitlistStatus


@dataclass(frozen=True)
class WaitlistView:
    id: UUID
    resource_id: UUID
    resource_name: str
    requester_id: UUID
    requester_name: str
    start_time: datetime
    end_time: datetime
    purpose: str
    priority: int
    status: str
    joined_at: datetime
    offered_at: datetime | None
    offer_expires_at: datetime | None
    booking_id: UUID | None

    @classmethod
    def of(cls, e: WaitlistEntry) -> WaitlistView:
        return cls(e.id, e.resource_id, e.resource.name, e.requester_id, e.requester.name,
                   e.start_time, e.end_time, e.purpose, e.priority, e.status.value, e.joined_at,
                   e.offered_at, e.offer_expires_at, e.booking_id)


def _may_step(entry: WaitlistEntry, target: WaitlistStatus) -> None:
    """The waitlist table decides; a step it forbids is a conflict with the entry's status (a
    409), not bad input."""
    if not waitlist_step_allowed(entry.status, target):
        raise WaitlistTransition(entry.id, entry.status.value, target.value)


def _step(uow: UnitOfWork, actor: User, entry: WaitlistEntry, target: WaitlistStatus,
          action: AuditAction, details: dict | None = None) -> None:
    _may_step(entry, target)
    previous = snapshot(entry)
    entry.status, entry.updated_at = target, uow.now
    record(uow.session, actor_id=actor.id, action=action, now=uow.now, entity=entry,
           booking_id=entry.booking_id, previous_state=previous, details=details)
    uow.session.flush()


@logged("waitlist.join")
def join_waitlist(uow: UnitOfWork, actor_id: object, *, resource_id: object, start_time: object,
                  end_time: object, purpose: object, priority: object = 0) -> WaitlistView:
    """Wait for a window that is taken (approved, pending or blacked out) instead of
    requesting it."""
    from engine.domain.policy import check_window
    from engine.services.lifecycle import check_hours
    from engine.services.policies import effective_policy

    with uow:
        actor = load_actor(uow, actor_id, P.WAITLIST_JOIN)
        resource = active_resource(uow, resource_id)
        start, end = validate_window(start_time, end_time, uow.now, max_advance=None)
        check_hours(uow, resource, start, end)
        # The booking policy's window rules (notice, advance, length) as for a request.
        check_window(effective_policy(uow, resource), resource.name, start, end, uow.now)
        purpose, priority = validate_purpose(purpose), validate_priority(priority)
        uow.lock_scope(scope_key(resource))
        report = conflict_report(uow, resource, start, end)
        if not report.hard and not report.soft:
            raise ValidationError("start_time", "the window is free: request it instead of "
                                                "joining the waitlist")
        entry = WaitlistEntry(id=uuid.uuid4(), resource_id=resource.id, requester_id=actor.id,
                              start_time=start, end_time=end, purpose=purpose, priority=priority,
                              status=W.WAITING, joined_at=uow.now, updated_at=uow.now)
        uow.session.add(entry)
        try:
            uow.session.flush()
        except IntegrityError:
            uow.session.rollback()
            raise ValidationError("start_time", "you are already on the waitlist for this "
                                                "resource and window") from None
        record(uow.session, actor_id=actor.id, action=AuditAction.WAITLIST_JOINED, now=uow.now,
               entity=entry, details={"resource": resource.name, "start_time": start,
                                      "end_time": end, "priority": priority})
        view = WaitlistView.of(entry)
        uow.commit()
        return view


def list_waitlist(uow: UnitOfWork, actor_id: object, *, resource_id: object | None = None,
                  statuses: tuple[str, ...] = (), limit: int = 200) -> list[WaitlistView]:
    """Members see their own entries; staff see everyone's. Soonest window first."""
    with uow.read():
        actor = load_actor(uow, actor_id, P.BOOKING_VIEW_OWN)
        stmt = select(WaitlistEntry)
        if not has_permission(actor.role, P.BOOKING_VIEW_ALL):
            stmt = stmt.where(WaitlistEntry.requester_id == actor.id)
        if resource_id is not None:
            stmt = stmt.where(WaitlistEntry.resource_id == get_or_404(
                uow, Resource, resource_id, "resource", "resource_id").id)
        if statuses:
            try:
                stmt = stmt.where(WaitlistEntry.status.in_([W(s) for s in statuses]))
            except ValueError:
                raise ValidationError("status", "must be one of "
                                      + ", ".join(s.value for s in W)) from None
        rows = uow.session.scalars(stmt.order_by(WaitlistEntry.start_time, WaitlistEntry.id)
                                   .limit(limit)).all()
        return [WaitlistView.of(e) for e in rows]


def _own_entry(uow: UnitOfWork, actor: User, entry_id: object) -> WaitlistEntry:
    """The member's own entry, with its zone locked and the row re-read under a row lock."""
    entry = get_or_404(uow, WaitlistEntry, entry_id, "waitlist entry", "entry_id")
    if entry.requester_id != actor.id:
        raise NotFoundError("waitlist entry", entry_id)
    uow.lock_scope(scope_key(entry.resource))
    return lock_row(uow, WaitlistEntry, entry.id)


def _own_step(uow: UnitOfWork, actor_id: object, entry_id: object, target: W,
              action: AuditAction) -> WaitlistView:
    """The member moves their own entry to `target` (the status table decides if it may)."""
    with uow:
        actor = load_actor(uow, actor_id, P.WAITLIST_JOIN)
        entry = _own_entry(uow, actor, entry_id)
        _step(uow, actor, entry, target, action)
        view = WaitlistView.of(entry)
        uow.commit()
        return view


@logged("waitlist.leave")
def leave_waitlist(uow: UnitOfWork, actor_id: object, entry_id: object) -> WaitlistView:
    return _own_step(uow, actor_id, entry_id, W.LEFT, AuditAction.WAITLIST_LEFT)


@logged("waitlist.accept")
def accept_offer(uow: UnitOfWork, actor_id: object, entry_id: object) -> WaitlistView:
    """The member takes the offer: it stops expiring and waits for staff as any request."""
    return _own_step(uow, actor_id, entry_id, W.ACCEPTED, AuditAction.WAITLIST_ACCEPTED)


@logged("waitlist.decline")
def decline_offer(uow: UnitOfWork, actor_id: object, entry_id: object) -> WaitlistView:
    """The member turns the offer down: its request is cancelled and the window passes on."""
    from engine.services.lifecycle import lock_booking, set_status

    with uow:
        actor = load_actor(uow, actor_id, P.WAITLIST_JOIN)
        entry = _own_entry(uow, actor, entry_id)
        _may_step(entry, W.DECLINED)  # checked before the cancel, which declines it itself
        assert entry.booking_id is not None  # an offer always has its request
        booking = lock_booking(uow, entry.booking_id)
        set_status(uow, actor, booking, BookingAction.CANCEL, AuditAction.CANCELLED,
                   reason="waitlist offer declined")  # marks the entry declined, passes it on
        uow.session.refresh(entry)
        view = WaitlistView.of(entry)
        uow.commit()
        return view


# ---------------------------------------------------------------- offers (inside other work)

#: The e-mail kind telling a member a window they waited for is offered to them.
OFFER_EVENT = "waitlist_offer"


def offer_freed_window(uow: UnitOfWork, resource: Resource, start: datetime,
                       end: datetime) -> list[UUID]:
    """Offer [start, end) on `resource` (and its zone) to waiting entries, best first, each if
    its own window is now entirely free and the member's booking quotas allow the request (the
    request-time check; an entry they refuse keeps waiting and the window passes on). The
    caller holds the zone lock and commits. Returns the ids of the bookings offered."""
    from engine.domain.policy import ApprovalMode, PolicyViolation
    from engine.services.dayops import rule_for
    from engine.services.lifecycle import approve_locked
    from engine.services.policies import check_request_policy

    candidates = uow.session.scalars(
        select(WaitlistEntry).join(Resource, Resource.id == WaitlistEntry.resource_id)
        .where(scope_resources(resource), WaitlistEntry.status == W.WAITING,
               overlaps_clause(WaitlistEntry.start_time, WaitlistEntry.end_time, start, end),
               WaitlistEntry.start_time > uow.now)
        .order_by(WaitlistEntry.priority.desc(), WaitlistEntry.joined_at, WaitlistEntry.id)
        .with_for_update(of=WaitlistEntry)).all()
    offered: list[UUID] = []
    system_id = None
    for entry in candidates:
        if not entry.resource.is_active:
            continue
        report = conflict_report(uow, entry.resource, entry.start_time, entry.end_time)
        if report.hard or report.soft:
            continue
        try:  # the offer is the member's request: their quotas, as if they asked now
            outcome = check_request_policy(uow, entry.requester, entry.resource,
                                           entry.start_time, entry.end_time, window_rules=False)
        except PolicyViolation:
            continue
        system_id = system_id or ensure_system_user(uow.session, uow.now)
        booking = Booking(id=uuid.uuid4(), resource_id=entry.resource_id,
                          requester_id=entry.requester_id, start_time=entry.start_time,
                          end_time=entry.end_time, status=BookingStatus.PENDING,
                          purpose=entry.purpose, priority=entry.priority, created_at=uow.now,
                          updated_at=uow.now, conflict_at_request=False)
        uow.session.add(booking)
        uow.session.flush()
        expires = min(uow.now + rule_for(uow, entry.resource.resource_type).offer_time,
                      entry.start_time)
        previous = snapshot(entry)
        done = rows_changed(uow.session.execute(
            update(WaitlistEntry)
            .where(WaitlistEntry.id == entry.id, WaitlistEntry.status == W.WAITING,
                   WaitlistEntry.booking_id.is_(None))
            .values(status=W.OFFERED, booking_id=booking.id, offered_at=uow.now,
                    offer_expires_at=expires, updated_at=uow.now)
            .execution_options(synchronize_session=False)))
        if done != 1:  # another transaction offered it first: never two offers for one entry
            uow.session.delete(booking)
            uow.session.flush()
            continue
        uow.session.refresh(entry)
        record(uow.session, actor_id=system_id, action=AuditAction.CREATED, now=uow.now,
               booking_id=booking.id, details={"via": "waitlist", "waitlist_entry_id": entry.id,
                                               "resource": entry.resource.name,
                                               "start_time": entry.start_time,
                                               "end_time": entry.end_time,
                                               "priority": entry.priority,
                                               **outcome.audit_details})
        record(uow.session, actor_id=system_id, action=AuditAction.WAITLIST_OFFERED,
               now=uow.now, entity=entry, booking_id=booking.id, previous_state=previous,
               details={"offer_expires_at": expires})
        uow.session.flush()
        if outcome.policy.approval_mode is ApprovalMode.AUTOMATIC:
            # The resource approves on its own: the offer is approved at once (the window is
            # free and its zone lock held), which settles the entry as accepted; the member
            # gets the approval e-mail.
            approve_locked(uow, system_user(uow), booking, force_override=False,
                           audit_details={"approval_mode": "automatic", "via": "waitlist"})
        else:
            enqueue_booking_event(uow, booking, OFFER_EVENT, offer_expires_at=expires,
                                  waitlist_entry_id=entry.id)
            enqueue_booking_event(uow, booking, NotificationEvent.REQUESTED)
        offered.append(booking.id)
    return offered


def after_status_change(uow: UnitOfWork, actor: User, booking: Booking,
                        previous: BookingStatus, *, offer_freed: bool = True) -> None:
    """Called by every booking status change: settle an offer that was decided, and offer a
    window that a pending or approved booking has just left."""
    # An offer is a pending request; its approval settles the entry, so an entry can only
    # still be `offered` while its booking is pending.
    # The row-locked re-read of a decision may have said already that no offer rests on it.
    offered = uow.prefetched.pop(("waitlist_offered", booking.id), True)
    entry = None if previous is not BookingStatus.PENDING or not offered else uow.session.scalars(
        select(WaitlistEntry).where(WaitlistEntry.booking_id == booking.id,
                                    WaitlistEntry.status == W.OFFERED)).first()
    if entry is not None:
        if booking.status is BookingStatus.APPROVED:
            _step(uow, actor, entry, W.ACCEPTED, AuditAction.WAITLIST_ACCEPTED,
                  {"via": "approved"})
        elif booking.status in TERMINAL_STATUSES:
            _step(uow, actor, entry, W.DECLINED, AuditAction.WAITLIST_DECLINED,
                  {"via": booking.status.value})
    if offer_freed and previous in (BookingStatus.PENDING, BookingStatus.APPROVED) \
            and booking.status in TERMINAL_STATUSES:
        offer_freed_window(uow, booking.resource, booking.start_time, booking.end_time)


def waiting_scopes(uow: UnitOfWork) -> set[UUID]:
    """Zone (or lone resource) keys that have someone waiting: batch jobs skip the offer
    look-up for windows nobody waits for."""
    rows = uow.session.execute(
        select(Resource.safety_zone_id, Resource.id).join(
            WaitlistEntry, WaitlistEntry.resource_id == Resource.id)
        .where(WaitlistEntry.status == W.WAITING, WaitlistEntry.start_time > uow.now)
        .distinct()).all()
    return {zone or rid for zone, rid in rows}


# ---------------------------------------------------------------- expiry job

@dataclass(frozen=True)
class ExpiryResult:
    expired: list[UUID]

    def __str__(self) -> str:
        return f"expired {len(self.expired)} waitlist offer(s)"


@logged("waitlist.expire_offers")
def expire_offers(db: Database, *, batch_size: int = 500) -> ExpiryResult:
    """Offers past their time: the pending request is cancelled by the system and the window
    passes to the next entry, in one transaction per batch (same locking as the release)."""
    from engine.services.lifecycle import set_status

    expired: list[UUID] = []
    seen: set[UUID] = set()
    while True:
        with db.uow() as uow:
            due = (WaitlistEntry.status == W.OFFERED, WaitlistEntry.offer_expires_at <= uow.now)
            candidates = uow.session.execute(
                select(WaitlistEntry.id, Resource.safety_zone_id, Resource.id.label("rid"))
                .join(Resource, Resource.id == WaitlistEntry.resource_id)
                .where(*due, WaitlistEntry.id.not_in(seen) if seen else true())
                .order_by(WaitlistEntry.offer_expires_at, WaitlistEntry.id)
                .limit(batch_size)).all()
            if not candidates:
                break
            seen.update(c.id for c in candidates)
            uow.lock_scope(*{c.safety_zone_id or c.rid for c in candidates})
            entries = uow.session.scalars(
                select(WaitlistEntry).where(WaitlistEntry.id.in_([c.id for c in candidates]),
                                            *due)
                .order_by(WaitlistEntry.offer_expires_at, WaitlistEntry.id)
                .with_for_update(of=WaitlistEntry, skip_locked=True)
                .execution_options(populate_existing=True)).all()
            if entries:
                system = system_user(uow)
                for entry in entries:
                    assert entry.booking_id is not None  # an offer always has its request
                    booking = lock_row(uow, Booking, entry.booking_id)
                    if booking.status is BookingStatus.APPROVED:
                        _step(uow, system, entry, W.ACCEPTED, AuditAction.WAITLIST_ACCEPTED)
                        continue
                    _step(uow, system, entry, W.EXPIRED, AuditAction.WAITLIST_EXPIRED)
                    if booking.status is BookingStatus.PENDING:
                        set_status(uow, system, booking, BookingAction.CANCEL,
                                   AuditAction.CANCELLED, reason="waitlist offer expired")
                    expired.append(entry.id)
                uow.commit()
            if len(candidates) < batch_size:
                break
    return ExpiryResult(expired)
