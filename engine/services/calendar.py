"""The calendar: a page of resources and what occupies them in a window, filtered in SQL.

Resources are paginated and bookings fetched only for that page's resources inside the window,
so the first screen costs the same with a thousand bookings or a million.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import Integer, and_, func, literal, select, union_all

from engine.db import UnitOfWork
from engine.domain.overlap import overlaps_clause
from engine.domain.permissions import Permission as P
from engine.domain.permissions import has_permission
from engine.domain.rules import require_aware
from engine.domain.status import parse_statuses
from engine.errors import ValidationError
from engine.models import Blackout, Booking, Resource, User
from engine.services.common import load_actor, paginate, resource_filter
from engine.services.conflicts import booking_overlaps
from engine.services.results import ResourceView

MAX_WINDOW = timedelta(days=62)
MAX_BARS = 5000


@dataclass(frozen=True)
class CalendarBar:
    booking_id: UUID
    resource_id: UUID
    start_time: datetime
    end_time: datetime
    status: str
    priority: int
    #: Purpose and requester for staff and for the member's own bookings; None otherwise.
    purpose: str | None
    requester_name: str | None
    own: bool
    #: Set when the booking is one occurrence of a recurring series (the calendar marks it).
    series_id: UUID | None = None


@dataclass(frozen=True)
class CalendarBlackout:
    id: UUID
    resource_id: UUID
    start_time: datetime
    end_time: datetime
    reason: str


@dataclass(frozen=True)
class CalendarView:
    resources: list[ResourceView]
    total_resources: int
    page: int
    page_size: int
    bars: list[CalendarBar]
    blackouts: list[CalendarBlackout]
    truncated: bool
    #: With `day_bounds`: bookings per (resource id, day number), counted in SQL; no bars.
    day_counts: dict[tuple[UUID, int], int] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total_resources // self.page_size))

    @property
    def total(self) -> int:
        return self.total_resources

    @property
    def items(self) -> list[ResourceView]:
        return self.resources


def calendar_view(uow: UnitOfWork, actor_id: object, *, window_start: datetime,
                  window_end: datetime, resource_type: str | None = None,
                  safety_zone_id: object | None = None,
                  statuses: tuple[str, ...] = ("pending", "approved"), page: int = 1,
                  resources_per_page: int = 25,
                  day_bounds: Sequence[datetime] | None = None) -> CalendarView:
    """Everyone signed in sees when resources are taken; only staff (and the requester)
    see who booked them and why.

    `day_bounds` (the window's day starts and its end, in the site's zone) asks for a month's
    overview instead of bars: bookings per resource per day, counted in SQL, so a month of a
    busy page costs one grouped query instead of thousands of rows."""
    page, resources_per_page = paginate(page, resources_per_page, max_size=200)
    start = require_aware("window_start", window_start)
    end = require_aware("window_end", window_end)
    if end <= start:
        raise ValidationError("window_end", "must be after window_start")
    if end - start > MAX_WINDOW:
        raise ValidationError("window_end", f"the window may span at most {MAX_WINDOW.days} days")
    wanted = parse_statuses(statuses)
    with uow.read():
        actor = load_actor(uow, actor_id, P.RESOURCE_VIEW)
        see_all = has_permission(actor.role, P.BOOKING_VIEW_ALL)
        conds = [Resource.is_active.is_(True), *resource_filter(resource_type, safety_zone_id)]
        total = uow.session.scalar(select(func.count()).select_from(Resource).where(*conds))
        resources = list(uow.session.scalars(
            select(Resource).where(*conds).order_by(Resource.resource_type, Resource.name,
                                                    Resource.id)
            .limit(resources_per_page).offset((page - 1) * resources_per_page)).unique())
        ids = [r.id for r in resources]
        bars, blackouts, truncated, counts = [], [], False, {}
        if ids and wanted and day_bounds is not None:
            counts = _day_counts(uow, ids, wanted, start, end, day_bounds)
        elif ids and wanted:
            rows = uow.session.execute(
                select(Booking.id, Booking.resource_id, Booking.start_time, Booking.end_time,
                       Booking.status, Booking.priority, Booking.purpose, Booking.requester_id,
                       User.name, Booking.series_id)
                .join(User, User.id == Booking.requester_id)
                .where(Booking.resource_id.in_(ids), Booking.status.in_(wanted),
                       booking_overlaps(start, end))
                .order_by(Booking.start_time, Booking.id).limit(MAX_BARS + 1)).all()
            truncated = len(rows) > MAX_BARS
            for r in rows[:MAX_BARS]:
                own = r.requester_id == actor.id
                shown = see_all or own
                bars.append(CalendarBar(r.id, r.resource_id, r.start_time, r.end_time,
                                        r.status.value, r.priority, r.purpose if shown else None,
                                        r.name if shown else None, own, r.series_id))
        if ids:
            blackouts = [CalendarBlackout(b.id, b.resource_id, b.start_time, b.end_time, b.reason)
                         for b in uow.session.execute(
                             select(Blackout.id, Blackout.resource_id, Blackout.start_time,
                                    Blackout.end_time, Blackout.reason)
                             .where(Blackout.resource_id.in_(ids),
                                    overlaps_clause(Blackout.start_time, Blackout.end_time,
                                                    start, end))
                             .order_by(Blackout.start_time))]
        return CalendarView([ResourceView.of(r) for r in resources], total or 0, page,
                            resources_per_page, bars, blackouts, truncated, counts)


def _day_counts(uow: UnitOfWork, ids: list, wanted, start: datetime, end: datetime,
                bounds: Sequence[datetime]) -> dict[tuple[UUID, int], int]:
    """Bookings overlapping each day [bounds[i], bounds[i+1]), per resource: the days are a
    derived table joined on the overlap, grouped in the database (both backends)."""
    bounds = [require_aware("day_bounds", b) for b in bounds]
    if len(bounds) < 2 or bounds[0] < start or bounds[-1] > end or bounds != sorted(bounds):
        raise ValidationError("day_bounds", "must be ascending times inside the window")
    stamp = Booking.__table__.c.start_time.type
    # A UNION ALL of one-row SELECTs: SQLite has no VALUES list with named columns.
    days = union_all(*(
        select(literal(i, Integer).label("i"), literal(lo, stamp).label("lo"),
               literal(hi, stamp).label("hi"))
        for i, (lo, hi) in enumerate(zip(bounds, bounds[1:], strict=False)))).subquery("days")
    rows = uow.session.execute(
        select(Booking.resource_id, days.c.i, func.count())
        .select_from(Booking)
        .join(days, and_(Booking.start_time < days.c.hi, Booking.end_time > days.c.lo))
        .where(Booking.resource_id.in_(ids), Booking.status.in_(wanted),
               booking_overlaps(start, end))
        .group_by(Booking.resource_id, days.c.i)).all()
    return {(r[0], r[1]): r[2] for r in rows}
