"""Recurring bookings: preview, request, approve, deny and cancel a series in one call each.

A series is a rule (engine/domain/recurrence.py) plus ordinary `bookings` rows carrying its
`series_id`: every occurrence goes through the same request checks, conflict look-ups,
approval helper, locks, database constraints and audit trail as a single booking. Per-occurrence
actions (approve or deny one, reschedule one, cancel one, force override, bump) are the
booking services themselves, called with the occurrence's id.
"""
from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from sqlalchemy import func, select

from engine.audit import record
from engine.db import UnitOfWork
from engine.domain.audit_actions import AuditAction
from engine.domain.permissions import Permission as P
from engine.domain.permissions import has_permission
from engine.domain.policy import PolicyViolation, check_window
from engine.domain.recurrence import describe, expand, parse_rule, rrule_text
from engine.domain.rules import (
    validate_priority,
    validate_purpose,
    validate_reason,
    validate_window,
)
from engine.domain.status import BookingAction, BookingStatus, next_status
from engine.errors import (
    ConflictError,
    InvalidTransition,
    NotFoundError,
    ValidationError,
)
from engine.logs import logged
from engine.models import Booking, BookingSeries, Resource, User
from engine.notifications import SeriesEvent, approvers_for, enqueue_booking_event
from engine.services.common import (
    active_resource,
    as_uuid,
    for_update,
    get_or_404,
    load_actor,
    lock_scopes,
    paginate,
    require,
)
from engine.services.conflicts import conflict_report, conflict_reports, hard_conflicts
from engine.services.lifecycle import approve_locked, check_hours, refused_by_database, set_status
from engine.services.policies import (
    ApprovalMode,
    check_request_policy,
    effective_policy,
    require_decider,
)
from engine.services.results import BookingView, ConflictReport, Page


@dataclass(frozen=True)
class PlannedOccurrence:
    start_time: datetime
    end_time: datetime
    #: The same report a single request shows: hard (approved, blackouts) and soft (pending).
    conflicts: ConflictReport


@dataclass(frozen=True)
class SeriesPreview:
    rule: str
    description: str
    occurrences: list[PlannedOccurrence]

    @property
    def conflicting(self) -> int:
        return sum(1 for o in self.occurrences if o.conflicts.has_hard)


@dataclass(frozen=True)
class SeriesView:
    id: UUID
    resource_id: UUID
    resource_name: str
    requester_id: UUID
    requester_name: str
    rule: str
    description: str
    timezone: str
    first_start: datetime
    first_end: datetime
    purpose: str
    priority: int
    skipped_starts: list[datetime]
    created_at: datetime | None
    occurrences: list[BookingView]
    #: Hard and soft conflicts of each pending occurrence (filled for staff views only).
    conflicts: dict[UUID, ConflictReport] = field(default_factory=dict)

    @classmethod
    def of(cls, s: BookingSeries, occurrences: list[Booking],
           conflicts: dict[UUID, ConflictReport] | None = None) -> SeriesView:
        return cls(s.id, s.resource_id, s.resource.name, s.requester_id, s.requester.name,
                   s.rule, describe(s.rule), s.timezone, s.first_start, s.first_end, s.purpose,
                   s.priority, [datetime.fromisoformat(x) for x in s.skipped_starts],
                   s.created_at, [BookingView.of(b) for b in occurrences], conflicts or {})

    def count(self, status: str) -> int:
        return sum(1 for o in self.occurrences if o.status == status)

    @property
    def conflicting(self) -> int:
        """Pending occurrences that something approved (or a blackout) stands in the way of."""
        return sum(1 for r in self.conflicts.values() if r.has_hard)


@dataclass(frozen=True)
class SeriesDecision:
    """What a series-wide action did: the occurrences changed, and the ones left as they were
    with the reason."""

    series_id: UUID
    changed: list[UUID] = field(default_factory=list)
    left: list[tuple[UUID, str]] = field(default_factory=list)


@dataclass(frozen=True)
class SeriesQueueRow:
    series: SeriesView
    pending: int
    conflicting: int
    next_start: datetime


def _notify(uow: UnitOfWork, actor: User, series: BookingSeries, event: SeriesEvent,
            occurrences: list[Booking], *, left: Sequence[tuple[UUID, str]] = (),
            reason: str | None = None, to_approvers: bool = False) -> None:
    """One message for a series action, listing the occurrences it touched (anchored on the
    first of them for the resource and purpose), in the caller's transaction."""
    if not occurrences:
        return
    recipients = None
    if to_approvers:
        recipients = [u for u in approvers_for(uow, occurrences[0]) if u.id != actor.id]
    enqueue_booking_event(
        uow, occurrences[0], event, actor=actor, recipients=recipients, reason=reason,
        series={"id": series.id, "rule": series.rule, "description": describe(series.rule),
                "timezone": series.timezone,
                "occurrences": [{"booking_id": b.id, "start_time": b.start_time,
                                 "end_time": b.end_time, "status": b.status,
                                 "conflict": b.conflict_at_request} for b in occurrences],
                "left": [{"booking_id": b, "reason": r} for b, r in left],
                "skipped_starts": list(series.skipped_starts)})


# --- planning -------------------------------------------------------------------------------

def _plan(uow: UnitOfWork, resource: Resource, start_time: object, end_time: object,
          rule: object) -> tuple[str, list[tuple[datetime, datetime]]]:
    """The RRULE and the UTC windows of a requested series, each window checked with the
    same rules as a single request; an error names the field and the occurrence's date."""
    start, end = validate_window(start_time, end_time, uow.now, max_advance=None)
    tz = uow.tz
    parsed = parse_rule(rule)
    text = rrule_text(parsed, start.astimezone(tz).replace(tzinfo=None))
    windows = expand(text, start, end, tz,
                     max_occurrences=uow.db.settings.series_max_occurrences)
    policy = effective_policy(uow, resource)
    for s, e in windows:
        try:
            validate_window(s, e, uow.now, max_advance=None)
            check_hours(uow, resource, s, e)
            check_window(policy, resource.name, s, e, uow.now)  # notice, advance, length
        except ValidationError as exc:
            raise ValidationError(exc.field, f"occurrence on {s.astimezone(tz).date()}: "
                                             f"{exc.rule}") from None
    return text, windows


def preview_series(uow: UnitOfWork, actor_id: object, *, resource_id: object,
                   start_time: object, end_time: object, rule: object) -> SeriesPreview:
    """Every occurrence a rule would request, each with its conflict report: what the member
    sees before choosing to skip the conflicting dates or send them all."""
    with uow.read():
        load_actor(uow, actor_id, P.BOOKING_CREATE)
        resource = active_resource(uow, resource_id)
        text, windows = _plan(uow, resource, start_time, end_time, rule)
        return SeriesPreview(text, describe(text), [
            PlannedOccurrence(s, e, conflict_report(uow, resource, s, e)) for s, e in windows])


@logged("series.request")
def request_series(uow: UnitOfWork, actor_id: object, *, resource_id: object,
                   start_time: object, end_time: object, rule: object, purpose: object,
                   priority: object = 0, skip_conflicts: bool = False) -> SeriesView:
    """A member requests every occurrence of a rule as pending bookings, in one transaction.
    With skip_conflicts, dates where an approved booking or a blackout is in the way are left
    out (and remembered as the series' exceptions)."""
    with uow:
        actor = load_actor(uow, actor_id, P.BOOKING_CREATE)
        resource = active_resource(uow, resource_id)
        text, windows = _plan(uow, resource, start_time, end_time, rule)
        purpose, priority = validate_purpose(purpose), validate_priority(priority)
        planned = [(s, e, bool(hard_conflicts(uow, resource, s, e))) for s, e in windows]
        skipped = [s for s, _, hard in planned if hard and skip_conflicts]
        if len(skipped) == len(planned):
            raise ValidationError("skip_conflicts", "every occurrence conflicts: nothing left "
                                                    "to request")
        series = BookingSeries(
            id=uuid.uuid4(), resource_id=resource.id, requester_id=actor.id, rule=text,
            timezone=uow.db.settings.site_timezone, first_start=windows[0][0],
            first_end=windows[0][1], purpose=purpose, priority=priority,
            skipped_starts=[s.isoformat() for s in skipped], created_at=uow.now,
            updated_at=uow.now)
        uow.session.add(series)
        uow.session.flush()
        record(uow.session, actor_id=actor.id, action=AuditAction.SERIES_CREATED, now=uow.now,
               entity=series, details={"resource": resource.name, "rule": text,
                                       "occurrences": len(planned) - len(skipped),
                                       "skipped": skipped, "priority": priority})
        occurrences, exceeded = [], []
        for s, e, hard in planned:
            if hard and skip_conflicts:
                continue
            try:  # quotas count the occurrences flushed before this one
                exceeded += check_request_policy(uow, actor, resource, s, e).exceeded
            except PolicyViolation as exc:
                raise PolicyViolation(exc.field, exc.value, f"occurrence on "
                                f"{s.astimezone(uow.tz).date()}: {exc.rule}") from None
            booking = Booking(
                id=uuid.uuid4(), resource_id=resource.id, requester_id=actor.id, start_time=s,
                end_time=e, status=BookingStatus.PENDING, purpose=purpose, priority=priority,
                created_at=uow.now, updated_at=uow.now, conflict_at_request=hard,
                series_id=series.id)
            uow.session.add(booking)
            uow.session.flush()
            occurrences.append(booking)
        for b in occurrences:
            record(uow.session, actor_id=actor.id, action=AuditAction.CREATED, now=uow.now,
                   booking_id=b.id, details={"resource": resource.name, "start_time": b.start_time,
                                             "end_time": b.end_time, "priority": priority,
                                             "series_id": series.id,
                                             **({"quota_exceeded": sorted({
                                                 f"{v.field} ({v.value})" for v in exceeded})}
                                                if exceeded else {})})
        _notify(uow, actor, series, SeriesEvent.REQUESTED, occurrences, to_approvers=True)
        view = SeriesView.of(series, occurrences)
        uow.commit()
        return view


# --- reading --------------------------------------------------------------------------------

def _visible_series(uow: UnitOfWork, actor: User, series_id: object) -> BookingSeries:
    """The series, if the actor may see it; others' series look absent to members."""
    series = get_or_404(uow, BookingSeries, series_id, "series", "series_id")
    if series.requester_id != actor.id and not has_permission(actor.role, P.BOOKING_VIEW_ALL):
        raise NotFoundError("series", series_id)
    return series


def _occurrences(uow: UnitOfWork, series_id: UUID, *, lock: bool = False) -> list[Booking]:
    stmt = (select(Booking).where(Booking.series_id == series_id)
            .order_by(Booking.start_time, Booking.id))
    if lock:
        stmt = for_update(stmt, Booking)
    return list(uow.session.scalars(stmt).unique().all())


def get_series(uow: UnitOfWork, actor_id: object, series_id: object) -> SeriesView:
    """The series and all its occurrences; staff also get each pending occurrence's conflicts."""
    with uow.read():
        actor = load_actor(uow, actor_id, P.BOOKING_VIEW_OWN)
        series = _visible_series(uow, actor, series_id)
        rows = _occurrences(uow, series.id)
        conflicts = {}
        if has_permission(actor.role, P.BOOKING_APPROVE):
            conflicts = conflict_reports(uow, [b for b in rows
                                             if b.status is BookingStatus.PENDING])
        return SeriesView.of(series, rows, conflicts)


def series_queue(uow: UnitOfWork, actor_id: object, *, page: int = 1, page_size: int = 10
                 ) -> Page[SeriesQueueRow]:
    """Series with pending occurrences still to come, soonest first: one row each for the
    approval queue, with how many wait and how many of those conflict."""
    page, page_size = paginate(page, page_size, max_size=50)
    with uow.read():
        load_actor(uow, actor_id, P.BOOKING_APPROVE)
        waiting = (select(Booking.series_id, func.min(Booking.start_time).label("next_start"))
                   .where(Booking.series_id.is_not(None),
                          Booking.status == BookingStatus.PENDING,
                          Booking.start_time >= uow.now)
                   .group_by(Booking.series_id))
        total = uow.session.scalar(select(func.count()).select_from(waiting.subquery())) or 0
        ids = uow.session.execute(waiting.order_by(func.min(Booking.start_time),
                                                   Booking.series_id)
                                  .limit(page_size).offset((page - 1) * page_size)).all()
        rows = []
        for series_id, next_start in ids:
            series = uow.session.get_one(BookingSeries, series_id)
            occurrences = _occurrences(uow, series.id)
            pending = [b for b in occurrences if b.status is BookingStatus.PENDING
                       and b.start_time >= uow.now]
            view = SeriesView.of(series, occurrences, conflict_reports(uow, pending))
            rows.append(SeriesQueueRow(view, len(pending), view.conflicting, next_start))
        return Page(rows, total, page, page_size)


# --- series-wide actions --------------------------------------------------------------------

def _lock_occurrences(uow: UnitOfWork, series: BookingSeries) -> list[Booking]:
    """Take the zone locks of every resource the occurrences sit on (sorted, in one call, as
    approvals do), then re-read the occurrences under row locks."""
    resources = uow.session.scalars(
        select(Resource).where(Resource.id.in_(
            select(Booking.resource_id).where(Booking.series_id == series.id).distinct()))
    ).unique().all()
    # Re-reads the resources under the locks: a zone move in between is a clean 409.
    lock_scopes(uow, *resources)
    return _occurrences(uow, series.id, lock=True)


def _require_series_decider(uow: UnitOfWork, actor: User, series: BookingSeries) -> None:
    """Only the resource's named approvers (or any staff when none are named) decide a series."""
    require_decider(uow, actor, series.resource)


@logged("series.approve")
def approve_series(uow: UnitOfWork, actor_id: object, series_id: object) -> SeriesDecision:
    """Approve every pending occurrence that nothing stands in the way of, in one transaction;
    the others stay pending with the reason. When none can be approved nothing is written."""
    with uow:
        actor = load_actor(uow, actor_id, P.BOOKING_APPROVE)
        series = get_or_404(uow, BookingSeries, series_id, "series", "series_id")
        _require_series_decider(uow, actor, series)
        if effective_policy(uow, series.resource).approval_mode is ApprovalMode.TWO_PERSON:
            raise ValidationError("series_id", f"'{series.resource.name}' needs two approvers: "
                                  "approve its occurrences one by one in the approval queue")
        result = SeriesDecision(series.id)
        approved = []
        with refused_by_database(uow, f"approval of series {series.id}"):
            for booking in _lock_occurrences(uow, series):
                if booking.status is not BookingStatus.PENDING:
                    continue
                try:
                    approve_locked(uow, actor, booking, force_override=False, notify=False)
                except (ConflictError, ValidationError, InvalidTransition) as exc:
                    result.left.append((booking.id, getattr(exc, "summary", exc.message)))
                    continue
                result.changed.append(booking.id)
                approved.append(booking)
            if not result.changed:
                return result  # leaving the unit of work unpublished rolls back: no audit
            record(uow.session, actor_id=actor.id, action=AuditAction.SERIES_APPROVED,
                   now=uow.now, entity=series,
                   details={"approved": len(result.changed),
                            "left_pending": [{"booking_id": b, "reason": r}
                                             for b, r in result.left]})
            _notify(uow, actor, series, SeriesEvent.APPROVED, approved, left=result.left)
            uow.commit()
        return result


@logged("series.deny")
def deny_series(uow: UnitOfWork, actor_id: object, series_id: object, reason: object
                ) -> SeriesDecision:
    """Deny every pending occurrence with one reason; approved ones stay (cancel them)."""
    with uow:
        actor = load_actor(uow, actor_id, P.BOOKING_DENY)
        reason = validate_reason(reason)
        series = get_or_404(uow, BookingSeries, series_id, "series", "series_id")
        _require_series_decider(uow, actor, series)
        result = SeriesDecision(series.id)
        denied = []
        for booking in _lock_occurrences(uow, series):
            if booking.status is BookingStatus.PENDING:
                set_status(uow, actor, booking, BookingAction.DENY, AuditAction.DENIED,
                           reason=reason, details={"reason": reason, "series_id": series.id},
                           notify=False)
                result.changed.append(booking.id)
                denied.append(booking)
        if not result.changed:
            raise ConflictError(f"series {series.id} has no pending occurrences to deny", [])
        record(uow.session, actor_id=actor.id, action=AuditAction.SERIES_DENIED, now=uow.now,
               entity=series, details={"reason": reason, "denied": len(result.changed)})
        _notify(uow, actor, series, SeriesEvent.DENIED, denied, reason=reason)
        uow.commit()
        return result


@logged("series.cancel")
def cancel_series(uow: UnitOfWork, actor_id: object, series_id: object, *,
                  from_booking_id: object | None = None, reason: object | None = None
                  ) -> SeriesDecision:
    """Cancel the whole series, or with `from_booking_id` that occurrence and every later one.
    Occurrences already over stay as they were (they are history); members cancel their own
    series, staff anyone's."""
    with uow:
        actor = load_actor(uow, actor_id, P.BOOKING_CANCEL_OWN)
        series = _visible_series(uow, actor, series_id)
        if series.requester_id != actor.id:
            require(actor, P.BOOKING_CANCEL_ANY)
        reason = validate_reason(reason) if reason else None
        anchor = None
        if from_booking_id is not None:
            first = uow.session.get(Booking, as_uuid("from_booking_id", from_booking_id))
            if first is None or first.series_id != series.id:
                raise ValidationError("from_booking_id", "must be an occurrence of this series")
            anchor = first.start_time
        result = SeriesDecision(series.id)
        cancelled = []
        for booking in _lock_occurrences(uow, series):
            if anchor is not None and booking.start_time < anchor:
                continue
            if booking.end_time <= uow.now or next_status(booking.status,
                                                          BookingAction.CANCEL) is None:
                continue
            set_status(uow, actor, booking, BookingAction.CANCEL, AuditAction.CANCELLED,
                       reason=reason, details={"reason": reason, "series_id": series.id},
                       notify=False)
            result.changed.append(booking.id)
            cancelled.append(booking)
        if not result.changed:
            raise ConflictError(f"series {series.id} has no occurrences left to cancel", [])
        record(uow.session, actor_id=actor.id, action=AuditAction.SERIES_CANCELLED,
               now=uow.now, entity=series,
               details={"scope": "following" if anchor else "all", "from": anchor,
                        "cancelled": len(result.changed), "reason": reason})
        _notify(uow, actor, series, SeriesEvent.CANCELLED, cancelled, reason=reason)
        uow.commit()
        return result
