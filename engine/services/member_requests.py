"""A member's view of a request before and after sending it: the same rules the request service
applies, run ahead so a form never says "free" for a window it will then refuse, and editing of
one's own pending request under those same rules."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from engine.audit import record, snapshot
from engine.db import UnitOfWork
from engine.domain.audit_actions import AuditAction
from engine.domain.overlap import overlaps_clause
from engine.domain.permissions import Permission as P
from engine.domain.rules import validate_purpose, validate_window
from engine.domain.status import BookingStatus
from engine.errors import InvalidTransition, NotFoundError, ValidationError
from engine.logs import logged
from engine.models import Booking, Resource, User
from engine.services.common import (
    active_resource,
    get_or_404,
    ids_to_exclude,
    load_actor,
)
from engine.services.conflicts import conflict_report, hard_conflicts
from engine.services.lifecycle import check_hours, lock_booking
from engine.services.policies import check_request_policy
from engine.services.results import BookingView, ConflictReport


@dataclass(frozen=True)
class RequestCheck:
    """What sending this window would meet: a broken rule, things in the way, and the
    member's own requests already asking for it."""

    problem: ValidationError | None
    conflicts: ConflictReport = field(default_factory=ConflictReport)
    already: list[BookingView] = field(default_factory=list)

    @property
    def free(self) -> bool:
        return self.problem is None and not self.conflicts.has_hard


def _rules(uow: UnitOfWork, actor: User, resource: Resource, start_time: object,
           end_time: object, exclude: frozenset = frozenset()):
    """The request service's own checks, in its order (booking policy included); returns the
    window in UTC."""
    if not resource.is_active:
        raise ValidationError("resource_id", f"resource '{resource.name}' is deactivated")
    start, end = validate_window(start_time, end_time, uow.now, max_advance=None)
    check_hours(uow, resource, start, end)
    check_request_policy(uow, actor, resource, start, end, exclude=frozenset(exclude))
    return start, end


def check_request(uow: UnitOfWork, actor_id: object, resource_id: object, start_time: object,
                  end_time: object, *, exclude_booking_id: object | None = None) -> RequestCheck:
    """Run the rules of request_booking without writing, then look for what is in the way."""
    with uow.read():
        actor = load_actor(uow, actor_id, P.BOOKING_CREATE)
        resource = get_or_404(uow, Resource, resource_id, "resource", "resource_id")
        exclude = ids_to_exclude(exclude_booking_id)
        try:
            start, end = _rules(uow, actor, resource, start_time, end_time, frozenset(exclude))
        except ValidationError as exc:
            return RequestCheck(problem=exc)
        mine = uow.session.scalars(
            select(Booking).where(
                Booking.requester_id == actor.id, Booking.resource_id == resource.id,
                Booking.status.in_([BookingStatus.PENDING, BookingStatus.APPROVED]),
                overlaps_clause(Booking.start_time, Booking.end_time, start, end),
                *([Booking.id.notin_(exclude)] if exclude else []))
            .order_by(Booking.start_time)).all()
        return RequestCheck(problem=None, conflicts=conflict_report(uow, resource, start, end,
                                                                    exclude),
                            already=[BookingView.of(b) for b in mine])


@logged("booking.edit_request")
def edit_request(uow: UnitOfWork, actor_id: object, booking_id: object, *, start_time: object,
                 end_time: object, purpose: object) -> BookingView:
    """The requester changes the window and purpose of their own request while it is pending;
    the same rules as a new request apply, and the audit keeps the previous state."""
    with uow:
        actor = load_actor(uow, actor_id, P.BOOKING_CREATE)
        booking = get_or_404(uow, Booking, booking_id, "booking", "booking_id")
        if booking.requester_id != actor.id:
            raise NotFoundError("booking", booking_id)  # others' requests look absent
        booking = lock_booking(uow, booking.id)
        if booking.status is not BookingStatus.PENDING:
            raise InvalidTransition(booking.id, booking.status.value, "edit")
        resource = active_resource(uow, booking.resource_id)
        start, end = _rules(uow, actor, resource, start_time, end_time, frozenset({booking.id}))
        purpose = validate_purpose(purpose)
        previous = snapshot(booking)
        booking.start_time, booking.end_time, booking.purpose = start, end, purpose
        booking.conflict_at_request = bool(hard_conflicts(uow, resource, start, end, {booking.id}))
        booking.updated_at = uow.now
        record(uow.session, actor_id=actor.id, action=AuditAction.RESCHEDULED, now=uow.now,
               booking_id=booking.id, previous_state=previous,
               details={"resource": resource.name, "start_time": start, "end_time": end,
                        "purpose": purpose, "by_requester": True})
        uow.session.flush()
        view = BookingView.of(booking)
        uow.commit()
        return view
