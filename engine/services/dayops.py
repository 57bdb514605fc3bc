"""Day of operations: check-in rules per resource type, check-in, early check-out, and the
automatic release of no-shows (run by `python -m engine release-no-shows`)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import and_, false, or_, select, true

from engine.audit import record, snapshot
from engine.db import Database, UnitOfWork
from engine.domain.audit_actions import AuditAction
from engine.domain.permissions import Permission as P
from engine.domain.permissions import has_permission
from engine.domain.status import BookingAction, BookingStatus, next_status
from engine.errors import InvalidTransition, NotFoundError, StateConflict, ValidationError
from engine.logs import logged
from engine.models import Booking, CheckInRule, Resource, User
from engine.services.common import get_or_404, load_actor, require, scope_key, system_user
from engine.services.resources import _resource_type as valid_resource_type
from engine.services.results import BookingView


@dataclass(frozen=True)
class CheckInRuleView:
    """When check-in opens and closes for a resource type, and how long a waitlist offer stands."""

    resource_type: str
    opens_before_minutes: int
    grace_minutes: int
    offer_minutes: int
    required_since: datetime | None  # None: check-in optional, nothing is released
    is_default: bool = False

    @property
    def opens_before(self) -> timedelta:
        return timedelta(minutes=self.opens_before_minutes)

    @property
    def grace(self) -> timedelta:
        return timedelta(minutes=self.grace_minutes)

    @property
    def offer_time(self) -> timedelta:
        return timedelta(minutes=self.offer_minutes)

    def window(self, start: datetime) -> tuple[datetime, datetime]:
        """Check-in is possible in [start - opens_before, start + grace)."""
        return start - self.opens_before, start + self.grace

    @classmethod
    def of(cls, r: CheckInRule) -> CheckInRuleView:
        return cls(r.resource_type, r.opens_before_minutes, r.grace_minutes, r.offer_minutes,
                   r.required_since)


DEFAULT_OPENS_BEFORE_MINUTES = 30
DEFAULT_GRACE_MINUTES = 15
DEFAULT_OFFER_MINUTES = 60


def default_rule(resource_type: str) -> CheckInRuleView:
    return CheckInRuleView(resource_type, DEFAULT_OPENS_BEFORE_MINUTES, DEFAULT_GRACE_MINUTES,
                           DEFAULT_OFFER_MINUTES, None, is_default=True)


def rule_for(uow: UnitOfWork, resource_type: str) -> CheckInRuleView:
    row = uow.session.get(CheckInRule, resource_type)
    return CheckInRuleView.of(row) if row else default_rule(resource_type)


def list_checkin_rules(uow: UnitOfWork, actor_id: object) -> list[CheckInRuleView]:
    """Every resource type in use (or with a rule), with its rule or the defaults."""
    with uow.read():
        load_actor(uow, actor_id, P.RESOURCE_VIEW)
        rules = {r.resource_type: CheckInRuleView.of(r)
                 for r in uow.session.scalars(select(CheckInRule))}
        types = set(uow.session.scalars(select(Resource.resource_type).distinct())) | set(rules)
        return [rules.get(t) or default_rule(t) for t in sorted(types)]


def _minutes(field: str, value: object, lo: int, hi: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise ValidationError(field, f"must be a whole number of minutes from {lo} to {hi}")
    return value


@logged("checkin_rule.set")
def set_checkin_rule(uow: UnitOfWork, actor_id: object, resource_type: object, *,
                     opens_before_minutes: object = DEFAULT_OPENS_BEFORE_MINUTES,
                     grace_minutes: object = DEFAULT_GRACE_MINUTES,
                     offer_minutes: object = DEFAULT_OFFER_MINUTES,
                     required: bool = True) -> CheckInRuleView:
    """Admins set a type's rule. Turning `required` on releases only bookings that start from
    now on: bookings from before check-in existed are never marked no-show."""
    with uow:
        actor = load_actor(uow, actor_id, P.CONFIG_MANAGE)
        resource_type = valid_resource_type(resource_type)
        values = dict(
            opens_before_minutes=_minutes("opens_before_minutes", opens_before_minutes, 0, 1440),
            grace_minutes=_minutes("grace_minutes", grace_minutes, 1, 720),
            offer_minutes=_minutes("offer_minutes", offer_minutes, 5, 10080))
        row = uow.session.get(CheckInRule, resource_type, with_for_update=True)
        previous = snapshot(row) if row else None
        if row is None:
            row = CheckInRule(resource_type=resource_type, required_since=None)
            uow.session.add(row)
        for key, value in values.items():
            setattr(row, key, value)
        if not required:
            row.required_since = None
        elif row.required_since is None:
            row.required_since = uow.now
        row.updated_by_id, row.updated_at = actor.id, uow.now
        uow.session.flush()
        record(uow.session, actor_id=actor.id, action=AuditAction.CHECKIN_RULE_SET, now=uow.now,
               entity=row, previous_state=previous, details={**values, "required": required,
                                                             "resource_type": resource_type})
        view = CheckInRuleView.of(row)
        uow.commit()
        return view


def _own_or_any(uow: UnitOfWork, actor_id: object, booking_id: object) -> tuple[User, Booking]:
    """The actor and the booking, locked: members check in their own, staff anyone's."""
    from engine.services.lifecycle import lock_booking

    actor = load_actor(uow, actor_id, P.BOOKING_CHECK_IN_OWN)
    booking = get_or_404(uow, Booking, booking_id, "booking", "booking_id")
    if booking.requester_id != actor.id:
        if not has_permission(actor.role, P.BOOKING_VIEW_ALL):
            raise NotFoundError("booking", booking_id)
        require(actor, P.BOOKING_CHECK_IN_ANY)
    return actor, lock_booking(uow, booking.id)


def _local(uow: UnitOfWork, when: datetime) -> str:
    return f"{when.astimezone(uow.tz):%Y-%m-%d %H:%M} ({uow.db.settings.site_timezone})"


def _allowed(booking: Booking, action: BookingAction) -> None:
    if next_status(booking.status, action) is None:
        raise InvalidTransition(booking.id, booking.status.value, action.value)


def _refuse(booking: Booking, action: BookingAction, state: str, why: str) -> StateConflict:
    """The booking's check-in state or its time does not allow the action now: nothing the
    caller sent is wrong (a 409, not a 422)."""
    return StateConflict("booking", booking.id, state, action.value, why)


@logged("booking.check_in")
def check_in(uow: UnitOfWork, actor_id: object, booking_id: object) -> BookingView:
    """The member (or staff for them) reports at the range, from the rule's opening time
    before the start until the end of the grace period after it."""
    with uow:
        actor, booking = _own_or_any(uow, actor_id, booking_id)
        action = BookingAction.CHECK_IN
        _allowed(booking, action)
        if booking.checked_in_at is not None:
            raise _refuse(booking, action, "already checked in",
                          f"it was checked in at {_local(uow, booking.checked_in_at)}")
        rule = rule_for(uow, booking.resource.resource_type)
        opens, closes = rule.window(booking.start_time)
        if uow.now < opens:
            raise _refuse(booking, action, "not open for check-in yet",
                          f"check-in opens at {_local(uow, opens)}, "
                          f"{rule.opens_before_minutes} minutes before the start")
        if uow.now >= closes:
            raise _refuse(booking, action, "past its check-in time",
                          f"check-in closed at {_local(uow, closes)}, "
                          f"{rule.grace_minutes} minutes after the start")
        previous = snapshot(booking)
        booking.checked_in_at, booking.checked_in_by_id = uow.now, actor.id
        booking.updated_at = uow.now
        record(uow.session, actor_id=actor.id, action=AuditAction.CHECKED_IN, now=uow.now,
               booking_id=booking.id, previous_state=previous,
               details={"on_behalf": actor.id != booking.requester_id})
        uow.session.flush()
        view = BookingView.of(booking)
        uow.commit()
        return view


@logged("booking.check_out")
def check_out(uow: UnitOfWork, actor_id: object, booking_id: object) -> BookingView:
    """Leaving early: the booking ends now (rounded up to the minute), the rest of the window
    is free again and offered to the waitlist in the same transaction."""
    from engine.services import waitlist

    with uow:
        actor, booking = _own_or_any(uow, actor_id, booking_id)
        action = BookingAction.CHECK_OUT
        _allowed(booking, action)
        if booking.checked_in_at is None:
            raise _refuse(booking, action, "not checked in",
                          "only a checked-in booking is checked out")
        if booking.checked_out_at is not None:
            raise _refuse(booking, action, "already checked out",
                          f"it was checked out at {_local(uow, booking.checked_out_at)}")
        if uow.now <= booking.start_time:
            raise _refuse(booking, action, "not started yet",
                          "cancel it instead of checking out")
        if uow.now >= booking.end_time:
            raise _refuse(booking, action, "already over",
                          f"it ended at {_local(uow, booking.end_time)}")
        seconds = (uow.now - booking.start_time).total_seconds()
        new_end = min(booking.end_time,
                      booking.start_time + timedelta(minutes=math.ceil(seconds / 60)))
        previous, old_end = snapshot(booking), booking.end_time
        booking.checked_out_at, booking.end_time, booking.updated_at = uow.now, new_end, uow.now
        record(uow.session, actor_id=actor.id, action=AuditAction.CHECKED_OUT, now=uow.now,
               booking_id=booking.id, previous_state=previous,
               details={"freed_from": new_end, "freed_until": old_end})
        uow.session.flush()
        if new_end < old_end:
            waitlist.offer_freed_window(uow, booking.resource, new_end, old_end)
        view = BookingView.of(booking)
        uow.commit()
        return view


# ---------------------------------------------------------------- automatic release

def _due_clause(uow: UnitOfWork, now: datetime):
    """Approved, not checked in, on a type that requires check-in since before the booking
    started, and past the end of that type's grace period."""
    rules = [CheckInRuleView.of(r) for r in uow.session.scalars(
        select(CheckInRule).where(CheckInRule.required_since.is_not(None)))]
    per_type = [and_(Resource.resource_type == r.resource_type,
                     Booking.start_time >= r.required_since,
                     Booking.start_time <= now - r.grace) for r in rules]
    return and_(Booking.status == BookingStatus.APPROVED, Booking.checked_in_at.is_(None),
                or_(*per_type) if per_type else false())


#: The e-mail kind telling a member their booking was released as a no-show.
NO_SHOW_EVENT = "booking_no_show"


@dataclass(frozen=True)
class ReleaseResult:
    released: list[UUID]

    def __str__(self) -> str:
        return f"released {len(self.released)} no-show booking(s)"


@logged("booking.release_no_shows")
def release_no_shows(db: Database, *, batch_size: int = 500) -> ReleaseResult:
    """Mark every due booking `no_show` as the system user and offer its window to the
    waitlist. Idempotent and safe to run in several workers at once: each batch takes the
    zone locks of its bookings (sorted), then re-reads them under row locks (PostgreSQL:
    FOR UPDATE SKIP LOCKED; SQLite: BEGIN IMMEDIATE) with the due condition checked again,
    so a booking is released exactly once and never after a late check-in."""
    from engine.services.lifecycle import set_status
    from engine.services.waitlist import waiting_scopes

    released: list[UUID] = []
    seen: set[UUID] = set()
    while True:
        with db.uow() as uow:
            due = _due_clause(uow, uow.now)
            candidates = uow.session.execute(
                select(Booking.id, Resource.safety_zone_id, Resource.id.label("resource_id"))
                .join(Resource, Resource.id == Booking.resource_id)
                .where(due, Booking.id.not_in(seen) if seen else true())
                .order_by(Booking.start_time, Booking.id).limit(batch_size)).all()
            if not candidates:
                break
            seen.update(c.id for c in candidates)
            uow.lock_scope(*{c.safety_zone_id or c.resource_id for c in candidates})
            rows = uow.session.scalars(
                select(Booking).join(Resource, Resource.id == Booking.resource_id)
                .where(Booking.id.in_([c.id for c in candidates]), due)
                .order_by(Booking.start_time, Booking.id)
                .with_for_update(of=Booking, skip_locked=True)
                .execution_options(populate_existing=True)).all()
            if rows:
                system = system_user(uow)
                waiting = waiting_scopes(uow)  # read under the zone locks: stays true
                for booking in rows:
                    set_status(uow, system, booking, BookingAction.RELEASE_NO_SHOW,
                               AuditAction.NO_SHOW,
                               reason="not checked in by the end of the grace period",
                               details={"reason": "not checked in by the end of the grace "
                                        "period", "by": "system"},
                               notify_event=NO_SHOW_EVENT,
                               offer_freed=scope_key(booking.resource) in waiting)
                uow.commit()
                released.extend(b.id for b in rows)
            if len(candidates) < batch_size:
                break
    return ReleaseResult(released)


def run_day_jobs(db: Database) -> tuple[int, int]:
    """The scheduled part of the day of operations, as the notify worker runs it each pass
    (and `python -m engine release-no-shows` from cron): release no-shows, expire offers.
    Returns (released, expired); a failure is logged and left for the next pass."""
    import logging

    from engine.services.waitlist import expire_offers

    try:
        return len(release_no_shows(db).released), len(expire_offers(db).expired)
    except Exception:  # noqa: BLE001 - the worker keeps sending mail; the next pass retries
        logging.getLogger("range_control").exception(
            "day-of-operations jobs failed", extra={"action": "dayops.jobs", "status": "error"})
        return 0, 0
