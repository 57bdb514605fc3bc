"""The booking lifecycle every service shares: lock a booking under its scope, move it
through the status table with its audit entry and e-mails, approve it (with bumps or
sign-offs). One module, so bookings, series, the queue, waitlist, day-ops and resources
use the same steps instead of importing them sideways from each other."""
from __future__ import annotations

from collections.abc import Set as AbstractSet
from contextlib import contextmanager
from datetime import datetime
from functools import cache
from typing import Any
from uuid import UUID

from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from engine.audit import queue_record, snapshot
from engine.db import AnySelect, UnitOfWork, queue_update, scope_lock_sql, table_of
from engine.domain.audit_actions import AuditAction
from engine.domain.permissions import Permission
from engine.domain.rules import within_operating_hours
from engine.domain.status import BookingAction, BookingStatus, next_status
from engine.errors import (
    ConflictError,
    ConflictItem,
    InvalidTransition,
    NotFoundError,
    ValidationError,
)
from engine.models import Booking, Resource, User
from engine.notifications import NotificationEvent, enqueue_booking_event
from engine.services.common import (
    actor_and_ident,
    checked_actor,
    get_or_404,
    load_actor,
    lock_row,
    lock_scopes,
    require_scope_locked,
)
from engine.services.conflicts import hard_conflicts
from engine.services.policies import (
    ApprovalMode,
    add_sign_off,
    clear_of_hard_conflicts,
    decision_rows_with_actor,
    effective_policy,
    require_decider,
    reread_for_decision,
    valid_sign_offs,
)
from engine.services.wording import booking_label


def check_hours(uow: UnitOfWork, resource: Resource, start: datetime, end: datetime) -> None:
    if not within_operating_hours(start, end, resource.opens_at, resource.closes_at, uow.tz):
        raise ValidationError(
            "start_time",
            f"'{resource.name}' is open {resource.opens_at:%H:%M}-{resource.closes_at:%H:%M} "
            f"({uow.db.settings.site_timezone}); the booking must lie within one day's hours")


def transition(booking: Booking, action: BookingAction) -> BookingStatus:
    target = next_status(booking.status, action)
    if target is None:
        raise InvalidTransition(booking.id, booking.status.value, action.value)
    return target


def lock_booking(uow: UnitOfWork, booking_id: object, *extra_scopes: Resource | UUID,
                 decider: User | None = None) -> Booking:
    """Load a booking, take the scope lock(s) of its resource (and of `extra_scopes`), then
    re-read it and its resource under a row lock. If its scope changed in between (a zone move,
    a concurrent reschedule), we hold the wrong lock: a clean ConflictError, nothing written.
    The row-locked re-read refreshes the booking's resource too (joined, populate_existing);
    for a `decider` (approve, deny) it also brings what the decision looks up next."""
    booking = get_or_404(uow, Booking, booking_id, "booking", "booking_id")
    keys = lock_scopes(uow, booking.resource, *extra_scopes, reread_by_caller=booking.resource)
    booking = (lock_row(uow, Booking, booking.id) if decider is None
               else reread_for_decision(uow, booking.id, decider))
    require_scope_locked(keys, booking.resource)
    return booking


def lock_decision(uow: UnitOfWork, actor_id: object, permission: Permission,
                  booking_id: object) -> tuple[User, Booking]:
    """`load_actor_and_get` then `lock_booking(decider=actor)` (approve, deny), with the same
    errors in the same order. On PostgreSQL the statement that first reads the actor and the
    booking also takes the booking's scope lock (one round trip less); the row-locked re-read
    that follows then checks, as lock_booking does, that the scope did not move meanwhile.
    On SQLite, BEGIN IMMEDIATE holds the only writer lock before anything is read, so one
    statement reads the actor, the booking and what the decision needs (no re-read)."""
    actor_uuid, booking_uuid = actor_and_ident(uow, actor_id, permission, "booking_id", booking_id)
    if uow.dialect != "postgresql":  # BEGIN IMMEDIATE: the writer lock is held already
        uow.lock_scope()
        found_actor, found = decision_rows_with_actor(uow, actor_uuid, booking_uuid)
        if found is None:  # say which is missing, actor first
            checked_actor(found_actor or load_actor(uow, actor_uuid, permission), permission)
            raise NotFoundError("booking", booking_id)
        return checked_actor(found_actor, permission), found
    row = uow.session.execute(_actor_booking_and_lock(),
                              {"actor_id": actor_uuid, "booking_id": booking_uuid}).first()
    if row is None:  # no actor: say so
        load_actor(uow, actor_uuid, permission)
        raise NotFoundError("booking", booking_id)
    actor = checked_actor(row.User, permission)
    if row.id is None:
        raise NotFoundError("booking", booking_id)
    booking = reread_for_decision(uow, row.id, actor,
                                  window=(row.resource_id, row.start_time, row.end_time))
    require_scope_locked({row.scope}, booking.resource)  # the scope the statement locked
    return actor, booking


@cache
def _actor_booking_and_lock() -> AnySelect:
    """The actor, the booking's id, window and scope (outer: a missing booking is reported
    after the actor's checks; columns, not a Booking: the row-locked re-read loads that), and
    the advisory lock of the booking's scope, taken while the statement reads it. Built once."""
    scope = func.coalesce(Resource.safety_zone_id, Resource.id)
    return (select(User, Booking.id, Booking.resource_id, Booking.start_time, Booking.end_time,
                   scope.label("scope"), scope_lock_sql(scope))
            .select_from(User)
            .outerjoin(Booking, Booking.id == bindparam("booking_id"))
            .outerjoin(Resource, Resource.id == Booking.resource_id)
            .where(User.id == bindparam("actor_id")))


@contextmanager
def refused_by_database(uow: UnitOfWork, what: str):
    """A constraint firing inside the block (flush or commit) means a race that the locks should
    have stopped: report it as a conflict, with nothing written. An approval over a blackout
    marked by refused_over_blackout is reported as the Python check does, naming the blackout."""
    try:
        yield
    except IntegrityError as exc:
        window = getattr(exc, _APPROVING, None) or uow.session.info.pop(_APPROVING, None)
        uow.session.rollback()
        if window is not None:
            label, resource, start, end = window
            in_way = [c for c in hard_conflicts(uow, resource, start, end) if c.kind == "blackout"]
            raise ConflictError(f"{label} cannot be approved over a blackout", in_way) from exc
        if BLACKOUT_GUARD in str(exc.orig):
            raise ConflictError(f"{what} was refused by the database: an approved booking and "
                                "a blackout would overlap", []) from exc
        raise ConflictError(f"{what} was refused by the database: another change got there "
                            f"first ({exc.orig.__class__.__name__})", []) from exc


#: What the database's blackout triggers (migration 0018) put first in every refusal.
BLACKOUT_GUARD = "bookings_clear_of_blackouts"
_APPROVING = "range_control_approving"


@contextmanager
def refused_over_blackout(uow: UnitOfWork, booking: Booking, resource: Resource,
                          start: datetime, end: datetime):
    """Mark the database's refusal of an approved booking over a blackout (raced or unchecked)
    with what was being approved, for refused_by_database around the caller to name the
    blackout. Re-raised, never turned into a ConflictError here: a batch that skips refused
    items must not go on in a transaction whose statement failed."""
    label = booking_label(booking, uow.tz)
    try:
        yield
    except IntegrityError as exc:
        if BLACKOUT_GUARD in str(exc.orig):
            setattr(exc, _APPROVING, (label, resource, start, end))
        raise


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
                notify_context: dict | None = None, offer_freed: bool = True,
                last_step: bool = False) -> None:
    """Apply one transition with its audit entry and (unless `notify=False`) its e-mails to
    the outbox, all in the caller's transaction. A window the booking leaves is offered to
    the waitlist (`offer_freed=False` only where the caller knows nobody waits there).

    `last_step`: the caller commits next, reading nothing more, so the booking's row is
    written with the audit and outbox rows (`queue_update`: on PostgreSQL one statement for
    all, no flush of its own); the object shows the new values at once."""
    previous = snapshot(booking)
    previous_status = booking.status
    changes: dict[str, Any] = {"status": transition(booking, action), "decided_by_id": actor.id,
                               "decided_at": uow.now, "updated_at": uow.now}
    if reason is not None:
        changes["decision_reason"] = reason
    if bumped_by is not None:
        changes["bumped_by_booking_id"] = bumped_by
    if last_step:
        queue_update(uow.session, table_of(Booking), booking.id, changes)
        for key, value in changes.items():  # as loaded: the session has nothing to flush
            set_committed_value(booking, key, value)
    else:
        for key, value in changes.items():
            setattr(booking, key, value)
    queue_record(uow.session, actor_id=actor.id, action=audit, now=uow.now,
                 booking_id=booking.id, previous_state=previous,
                 details=details or ({"reason": reason} if reason else None))
    event = notify_event or ACTION_EVENTS.get(action)
    if notify and event is not None:
        context = dict(notify_context or {})
        if bumped_by is not None:
            winner = uow.session.get(Booking, bumped_by)
            context.setdefault("bumped_by", {
                "booking_id": str(bumped_by), "purpose": winner.purpose if winner else None,
                "priority": winner.priority if winner else None})
        enqueue_booking_event(uow, booking, event, actor=actor, **context)
    if not last_step:
        uow.session.flush()
    from engine.services import waitlist

    waitlist.after_status_change(uow, actor, booking, previous_status, offer_freed=offer_freed)


def approve_locked(uow: UnitOfWork, actor: User, booking: Booking, *, force_override: bool,
                    ignore: AbstractSet[UUID] = frozenset(), notify: bool = True,
                    audit_details: dict | None = None, last_step: bool = False) -> list[UUID]:
    """Approve a booking whose zone lock is held; with force_override bump lower-priority
    approved bookings in the way. Returns the ids bumped. `notify=False` leaves the approval's
    e-mail to the caller (a series sends one for all its occurrences). `last_step`: see
    set_status (a refusal by the database then comes at the commit, still naming the
    blackout through refused_by_database)."""
    transition(booking, BookingAction.APPROVE)  # fail fast, before looking for conflicts
    if not booking.resource.is_active:
        raise ValidationError("resource_id", f"resource '{booking.resource.name}' is deactivated")
    conflicts = _check_approvable(uow, booking, force_override=force_override, ignore=ignore)
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
    if last_step:  # the row is written at the commit: mark what a refusal there was about
        uow.session.info[_APPROVING] = (booking_label(booking, uow.tz), booking.resource,
                                        booking.start_time, booking.end_time)
    with refused_over_blackout(uow, booking, booking.resource, booking.start_time,
                               booking.end_time):
        set_status(uow, actor, booking, BookingAction.APPROVE, AuditAction.APPROVED,
                   details={"force_override": force_override, "bumped": [str(b) for b in bumped],
                            **(audit_details or {})},
                   notify=notify, last_step=last_step)
    return bumped


def approve_or_sign(uow: UnitOfWork, actor: User, booking: Booking, *, force_override: bool,
                    ignore: AbstractSet[UUID] = frozenset(),
                    in_favour_field: str | None = None, last_step: bool = False) -> bool:
    """An approver's approval of a locked booking, under its resource's policy: only its named
    approvers may decide; a two-person booking's first approval records a sign-off and leaves
    it pending (False), the second, by a different approver, approves it (True).

    `in_favour_field` (the form field naming the booking) marks a bump in its favour: that
    displaces bookings now, so it must approve now. It counts as the second sign-off; with no
    first sign-off yet it is refused, rather than leaving the bumped window to a pending request."""
    require_decider(uow, actor, booking.resource)
    sign_offs = 0
    if effective_policy(uow, booking.resource).approval_mode is ApprovalMode.TWO_PERSON:
        transition(booking, BookingAction.APPROVE)
        signs = valid_sign_offs(uow, booking)
        if any(s.signer_id == actor.id for s in signs):
            raise ValidationError(in_favour_field or "approver", f"you have already signed off "
                                  f"booking {booking.id}: a second, different approver must "
                                  "approve it")
        if not signs and in_favour_field is not None:
            raise ValidationError(in_favour_field, f"{booking_label(booking, uow.tz)} needs two "
                                  "approvers and has no sign-off yet: a first approver signs it "
                                  "off (Approve, or Force override while bookings are in its "
                                  "way), then a second approver can bump in its favour")
        if not signs:
            _check_approvable(uow, booking, force_override=force_override, ignore=ignore)
            add_sign_off(uow, actor, booking, completes=False)
            return False
        sign_offs = 2
    before = snapshot(booking)
    approve_locked(uow, actor, booking, force_override=force_override, ignore=ignore,
                   audit_details={"sign_offs": sign_offs} if sign_offs else None,
                   last_step=last_step)
    if sign_offs:  # after the approval's checks passed, so a refusal leaves no sign-off
        add_sign_off(uow, actor, booking, completes=True, previous=before)
    return True


def _check_approvable(uow: UnitOfWork, booking: Booking, *, force_override: bool,
                      ignore: AbstractSet[UUID]) -> list[ConflictItem]:
    """The checks approval makes (a first sign-off makes the same ones): not in the past,
    nothing in the way unless overriding. Returns what is in the way."""
    if booking.start_time < uow.now:
        raise ValidationError("start_time", f"{booking_label(booking, uow.tz)} starts in the "
                                            "past: reschedule it before approving")
    if clear_of_hard_conflicts(uow, booking):
        return []
    conflicts = [c for c in hard_conflicts(uow, booking.resource, booking.start_time,
                                           booking.end_time, {booking.id}) if c.id not in ignore]
    if conflicts and not force_override:
        raise ConflictError(f"{booking_label(booking, uow.tz)} conflicts with existing bookings",
                            conflicts)
    return conflicts
