"""Conflicts and alternatives: the one home of 'what is in the way of this window'.

One query builder (`_conflict_parts`) serves the single look-ups (`hard_conflicts`,
`conflict_report`), a whole page of requests at once (`conflict_reports`, used by the approval
and series queues), and `booking_overlaps` gives every window read (the calendar, the board)
the same overlap clause with its index-friendly lower bound.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from uuid import UUID

from sqlalchemy import (
    ColumnClause,
    ColumnElement,
    CompoundSelect,
    Integer,
    String,
    Text,
    and_,
    bindparam,
    case,
    cast,
    literal,
    literal_column,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import aliased

from engine.db import AnySelect, UnitOfWork
from engine.domain.overlap import overlaps_clause
from engine.domain.permissions import Permission, Role
from engine.domain.rules import MAX_DURATION, opening_intervals, validate_window
from engine.domain.status import BookingStatus
from engine.domain.suggestions import nearest_free_windows
from engine.errors import ConflictItem, NotFoundError, ValidationError
from engine.models import Blackout, Booking, Resource, User
from engine.services.common import (
    actor_and_ident,
    as_uuid,
    checked_actor,
    get_or_404,
    ids_to_exclude,
    load_actor,
    require_role,
)
from engine.services.results import ConflictReport, Suggestion


def scope_resources(resource: Resource) -> ColumnElement[bool]:
    """The resource itself and, when it sits in a safety zone, every resource of that zone."""
    if resource.safety_zone_id is None:
        return Resource.id == resource.id
    return Resource.safety_zone_id == resource.safety_zone_id


def booking_overlaps(start: Any, end: Any) -> ColumnElement[bool]:
    """Bookings overlapping [start, end). Bookings last at most MAX_DURATION (a database
    CHECK), so the extra lower bound on start_time changes no answer but lets the
    (resource_id, status, start_time) index read only the rows that can overlap."""
    return and_(overlaps_clause(Booking.start_time, Booking.end_time, start, end),
                Booking.start_time > start - MAX_DURATION - timedelta(minutes=1))


def _conflict_parts(resource: Resource | None, start: Any, end: Any, *, blackouts: bool,
                    statuses: Iterable[BookingStatus], exclude: Iterable[UUID] | Any = (),
                    tag: str | None = None, scope: ColumnElement[bool] | None = None,
                    lower: Any = None) -> list[AnySelect]:
    """The SELECTs (same columns, ready for UNION ALL) of what stands in [start, end) on the
    resource or its safety zone: its blackouts, then one branch per booking status (an
    equality on status keeps the index usable). `tag` labels each row with the request it
    was asked for, so a whole page can share one query. `_prebuilt` passes bound parameters
    for the scope, the window and `lower` (the index's lower bound on start_time)."""
    tagged = [literal(tag, String(36)).label("for_id")] if tag is not None else []
    if scope is None:
        assert resource is not None
        scope = scope_resources(resource)
    parts: list[AnySelect] = []
    if blackouts:
        parts.append(
            select(literal("blackout", String(10)).label("kind"), Blackout.id.label("id"),
                   Blackout.resource_id, Resource.name, Blackout.start_time, Blackout.end_time,
                   cast(null(), Integer).label("priority"),
                   cast(null(), String(50)).label("status"), Blackout.reason.label("label"),
                   *tagged)
            .join(Resource, Resource.id == Blackout.resource_id)
            .where(scope, overlaps_clause(Blackout.start_time, Blackout.end_time, start, end)))
    excluded: Any
    if lower is None:  # values: leave the exclusion out when there is nothing to exclude
        excluded = list(exclude) or None
    else:  # bound parameters: the shape says whether there is an exclusion
        excluded = exclude
    overlap = (booking_overlaps(start, end) if lower is None else
               and_(overlaps_clause(Booking.start_time, Booking.end_time, start, end),
                    Booking.start_time > lower))
    for status in statuses:
        stmt = (select(literal("booking", String(10)).label("kind"), Booking.id.label("id"),
                       Booking.resource_id, Resource.name, Booking.start_time, Booking.end_time,
                       Booking.priority, cast(Booking.status, String(50)).label("status"),
                       cast(null(), Text).label("label"), *tagged)
                .join(Resource, Resource.id == Booking.resource_id)
                .where(scope, Booking.status == status, overlap))
        if excluded is not None:
            stmt = stmt.where(Booking.id.not_in(excluded))
        parts.append(stmt)
    return parts


def _ordered(parts: list[AnySelect]) -> AnySelect | CompoundSelect:
    """Blackouts first, then bookings, each by start."""
    stmt = parts[0] if len(parts) == 1 else union_all(*parts)
    order: list[ColumnClause[Any]] = [literal_column(c) for c in ("kind", "start_time", "id")]
    return stmt.order_by(*order)


def _run(uow: UnitOfWork, parts: list[AnySelect]) -> list[Any]:
    """One round trip for all the parts."""
    return list(uow.session.execute(_ordered(parts)))


@cache
def _prebuilt(in_zone: bool, blackouts: bool, statuses: tuple[BookingStatus, ...],
              excluding: bool) -> AnySelect | CompoundSelect:
    """The single look-up's statement for one shape, built once with bound parameters: a
    statement object used again skips building the expression and its cache key, which
    a profile of find_conflicts showed as a third of its Python time."""
    scope = (Resource.safety_zone_id if in_zone else Resource.id) == bindparam("scope")
    return _ordered(_conflict_parts(
        None, bindparam("start"), bindparam("end"), blackouts=blackouts, statuses=statuses,
        exclude=bindparam("exclude", expanding=True) if excluding else None, scope=scope,
        lower=bindparam("lower")))


@cache
def hard_conflict_in_window() -> ColumnElement[bool]:
    """SQL: does a blackout or an approved booking stand in [:start, :end) on the scope of the
    resource :resource_id (itself, or its zone's resources)? For a statement that reads the
    resource anyway (request_booking's first one): the same branches as `hard_conflicts`,
    as EXISTS tests (`lower` bounds start_time for the index, as there). Built once."""
    target = aliased(Resource)
    zone = (select(target.safety_zone_id).where(target.id == bindparam("resource_id"))
            .scalar_subquery())
    scope = or_(Resource.id == bindparam("resource_id"), Resource.safety_zone_id == zone)
    parts = _conflict_parts(None, bindparam("start"), bindparam("end"), blackouts=True,
                            statuses=(BookingStatus.APPROVED,), exclude=None, scope=scope,
                            lower=bindparam("lower"))
    return or_(*(part.correlate(None).exists() for part in parts))


def conflict_lower_bound(start: datetime) -> datetime:
    """The `lower` parameter of the prebuilt conflict statements for a window from `start`."""
    return start - MAX_DURATION - timedelta(minutes=1)


def _scope_conflicts(uow: UnitOfWork, resource_id: UUID, zone_id: UUID | None, start: datetime,
                     end: datetime, *, blackouts: bool, statuses: tuple[BookingStatus, ...],
                     exclude: Iterable[UUID] = ()) -> list[ConflictItem]:
    """What stands in [start, end) on the resource (or its zone, when `zone_id`)."""
    excluded = list(exclude)
    params: dict[str, Any] = {"scope": zone_id or resource_id, "start": start, "end": end,
                              "lower": start - MAX_DURATION - timedelta(minutes=1)}
    if excluded:
        params["exclude"] = excluded
    stmt = _prebuilt(zone_id is not None, blackouts, statuses, bool(excluded))
    return [_item(r) for r in uow.session.execute(stmt, params)]


def _item(r: Any) -> ConflictItem:
    return ConflictItem(r.kind, r.id, r.resource_id, r.name, r.start_time, r.end_time,
                        r.priority, r.status, r.label or "")


def _report(items: list[ConflictItem]) -> ConflictReport:
    return ConflictReport(hard=[c for c in items if c.status != BookingStatus.PENDING.value],
                          soft=[c for c in items if c.status == BookingStatus.PENDING.value])


_REPORTED = (BookingStatus.APPROVED, BookingStatus.PENDING)
#: Bookings per page query: three branches each stays under SQLite's 500-term UNION limit.
_PER_QUERY = 100


def _conflicts(uow: UnitOfWork, resource: Resource, start: datetime, end: datetime, *,
               blackouts: bool, statuses: tuple[BookingStatus, ...],
               exclude: Iterable[UUID] = ()) -> list[ConflictItem]:
    return _scope_conflicts(uow, resource.id, resource.safety_zone_id, start, end,
                            blackouts=blackouts, statuses=statuses, exclude=exclude)


def booking_conflicts(uow: UnitOfWork, resource: Resource, start: datetime, end: datetime,
                      status: BookingStatus, exclude: Iterable[UUID] = ()) -> list[ConflictItem]:
    """Bookings in `status` that overlap [start, end) on the resource or its safety zone."""
    return _conflicts(uow, resource, start, end, blackouts=False, statuses=(status,),
                      exclude=exclude)


def hard_conflicts(uow: UnitOfWork, resource: Resource, start: datetime, end: datetime,
                   exclude: Iterable[UUID] = ()) -> list[ConflictItem]:
    """Approved bookings and blackouts in the way: approval over any of them is refused."""
    return _conflicts(uow, resource, start, end, blackouts=True,
                      statuses=(BookingStatus.APPROVED,), exclude=exclude)


def conflict_report(uow: UnitOfWork, resource: Resource, start: datetime, end: datetime,
                    exclude: Iterable[UUID] = ()) -> ConflictReport:
    """Hard conflicts (blackouts, approved bookings) and soft ones (pending), in one query."""
    return _report(_conflicts(uow, resource, start, end, blackouts=True, statuses=_REPORTED,
                              exclude=exclude))


def conflict_reports(uow: UnitOfWork, bookings: Sequence[Booking]
                     ) -> dict[UUID, ConflictReport]:
    """conflict_report for each of these bookings (itself excluded), a whole page in one
    query (per hundred): the same branches as a single look-up, tagged with the booking they
    are for."""
    found: dict[str, list[ConflictItem]] = {str(b.id): [] for b in bookings}
    for at in range(0, len(bookings), _PER_QUERY):
        parts = [part for b in bookings[at:at + _PER_QUERY]
                 for part in _conflict_parts(b.resource, b.start_time, b.end_time,
                                             blackouts=True, statuses=_REPORTED,
                                             exclude={b.id}, tag=str(b.id))]
        for r in _run(uow, parts):
            found[r.for_id].append(_item(r))
    return {b.id: _report(found[str(b.id)]) for b in bookings}


def find_conflicts(uow: UnitOfWork, actor_id: object, resource_id: object, start_time: object,
                   end_time: object, *, exclude_booking_id: object | None = None) -> ConflictReport:
    """Hard conflicts (approved bookings, blackouts) and soft ones (pending requests) for a
    window."""
    with uow.read():
        try:
            actor_uuid = as_uuid("actor_id", actor_id)
            resource_uuid = as_uuid("resource_id", resource_id)
            start, end = validate_window(start_time, end_time, uow.now, allow_past=True)
            exclude = ids_to_exclude(exclude_booking_id)
        except ValidationError:
            _actor_and_scope(uow, actor_id, resource_id)  # their errors come first, as ever
            raise
        params: dict[str, Any] = {"aid": actor_uuid, "rid": resource_uuid, "start": start,
                                  "end": end, "lower": start - MAX_DURATION - timedelta(minutes=1)}
        if exclude:
            params["exclude"] = list(exclude)
        rows = list(uow.session.execute(_find_statement(bool(exclude)), params))
        head = rows[0] if rows and rows[0].kind == "actor" else None
        if head is None or head.status != "active":
            checked_actor(None, None)
        assert head is not None  # checked_actor refused
        require_role(Role(head.name), Permission.RESOURCE_VIEW)
        if head.id is None:
            raise NotFoundError("resource", resource_id)
        return _report([_item(r) for r in rows[1:]])


@cache
def _find_statement(excluding: bool) -> AnySelect | CompoundSelect:
    """find_conflicts in one round trip: the actor's role and state and the resource (a row
    of kind 'actor', sorted first) beside what stands in the window on the resource's scope.
    The scope is the resource itself or, when it has a zone, that zone's resources (a zone
    of NULL matches nothing). The rows are only read once the actor's checks pass."""
    target = aliased(Resource)
    zone = select(target.safety_zone_id).where(target.id == bindparam("rid")).scalar_subquery()
    scope = or_(Resource.id == bindparam("rid"), Resource.safety_zone_id == zone)
    actor = (select(literal("actor", String(10)).label("kind"), Resource.id.label("id"),
                    Resource.safety_zone_id.label("resource_id"),
                    cast(User.role, String(50)).label("name"),
                    cast(null(), Blackout.start_time.type).label("start_time"),
                    cast(null(), Blackout.end_time.type).label("end_time"),
                    cast(null(), Integer).label("priority"),
                    case((User.is_active, "active"), else_="inactive").label("status"),
                    cast(null(), Text).label("label"))
             .select_from(User).outerjoin(Resource, Resource.id == bindparam("rid"))
             .where(User.id == bindparam("aid")))
    parts = _conflict_parts(
        None, bindparam("start"), bindparam("end"), blackouts=True, statuses=_REPORTED,
        exclude=bindparam("exclude", expanding=True) if excluding else None, scope=scope,
        lower=bindparam("lower"))
    return _ordered([*parts, actor])


_ACTOR_AND_SCOPE = (select(User.role, User.is_active, Resource.id, Resource.safety_zone_id)
                    .select_from(User).outerjoin(Resource, Resource.id == bindparam("rid"))
                    .where(User.id == bindparam("aid")))


def _actor_and_scope(uow: UnitOfWork, actor_id: object, resource_id: object
                     ) -> tuple[UUID, UUID | None]:
    """`load_actor_and_get` for a look-up that needs only the actor's role and the resource's
    scope: the same errors in the same order, plain columns instead of ORM objects."""
    actor_uuid, resource_uuid = actor_and_ident(uow, actor_id, Permission.RESOURCE_VIEW,
                                                "resource_id", resource_id)
    row = uow.session.execute(_ACTOR_AND_SCOPE, {"aid": actor_uuid, "rid": resource_uuid}).first()
    if row is None or not row.is_active:
        checked_actor(None, None)
    assert row is not None  # checked_actor refused
    require_role(row.role, Permission.RESOURCE_VIEW)
    if row.id is None:
        raise NotFoundError("resource", resource_id)
    return row.id, row.safety_zone_id


def _busy(uow: UnitOfWork, resource: Resource, start: datetime, end: datetime,
          exclude: set[UUID]) -> list[tuple[datetime, datetime]]:
    return [(c.start_time, c.end_time) for c in hard_conflicts(uow, resource, start, end, exclude)]


def suggest_alternatives(uow: UnitOfWork, actor_id: object, resource_id: object,
                         start_time: object, end_time: object, *, limit: int = 5,
                         horizon_days: int = 14, other_resources: int = 10,
                         exclude_booking_id: object | None = None) -> list[Suggestion]:
    """Nearest free windows of the same length: on the same resource first, inside its
    operating hours, then on active resources of the same type (the requested time if free)."""
    with uow.read():
        load_actor(uow, actor_id, Permission.RESOURCE_VIEW)
        resource = get_or_404(uow, Resource, resource_id, "resource", "resource_id")
        start, end = validate_window(start_time, end_time, uow.now, allow_past=True)
        exclude = ids_to_exclude(exclude_booking_id)
        duration = end - start
        horizon = timedelta(days=horizon_days)
        lo, hi = max(start - horizon, uow.now), start + horizon
        tz = uow.tz

        def windows_for(res: Resource, n: int) -> list[tuple[datetime, datetime]]:
            return nearest_free_windows(
                start, duration, opening_intervals(res.opens_at, res.closes_at, tz, lo, hi),
                _busy(uow, res, lo, hi, exclude), not_before=uow.now, limit=n)

        out = [Suggestion(resource.id, resource.name, s, e, True)
               for s, e in windows_for(resource, limit) if (s, e) != (start, end)]
        others = uow.session.scalars(
            select(Resource).where(Resource.resource_type == resource.resource_type,
                                   Resource.is_active.is_(True), Resource.id != resource.id)
            .order_by(Resource.name).limit(other_resources)).all()
        alt = []
        for other in others:
            for s, e in windows_for(other, 1):
                alt.append(Suggestion(other.id, other.name, s, e, False))
        alt.sort(key=lambda sug: (abs(sug.start_time - start), sug.resource_name))
        return out + alt[:limit]
