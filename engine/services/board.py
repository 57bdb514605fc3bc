"""The range board: every active resource with what is on it now and next today, checked in
or not, hot or cold, blackouts, and the no-shows released today. Four bounded queries (one
site-zone day), so a refresh stays fast with a large history."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from uuid import UUID

from sqlalchemy import select

from engine.db import UnitOfWork
from engine.domain.overlap import overlaps_clause
from engine.domain.permissions import Permission as P
from engine.domain.permissions import has_permission
from engine.domain.rules import MAX_DURATION, local_day_utc
from engine.domain.status import BookingStatus
from engine.errors import ValidationError
from engine.models import Blackout, Booking, CheckInRule, Resource, SafetyZone, User
from engine.services.common import load_actor, resource_filter
from engine.services.conflicts import booking_overlaps
from engine.services.dayops import CheckInRuleView, default_rule


@dataclass(frozen=True)
class BoardBooking:
    id: UUID
    requester_name: str
    start_time: datetime
    end_time: datetime
    status: str
    purpose: str | None
    checked_in_at: datetime | None
    checked_out_at: datetime | None
    check_in_opens: datetime
    check_in_closes: datetime

    @property
    def checked_in(self) -> bool:
        return self.checked_in_at is not None

    def can_check_in(self, now: datetime) -> bool:
        return (self.status == "approved" and self.checked_in_at is None
                and self.check_in_opens <= now < self.check_in_closes)

    def can_check_out(self, now: datetime) -> bool:
        return (self.status == "approved" and self.checked_in_at is not None
                and self.checked_out_at is None and self.start_time < now < self.end_time)


@dataclass(frozen=True)
class BoardBlackout:
    start_time: datetime
    end_time: datetime
    reason: str


@dataclass(frozen=True)
class BoardRow:
    resource_id: UUID
    resource_name: str
    resource_type: str
    zone_name: str | None
    current: BoardBooking | None
    next: BoardBooking | None
    blackouts: list[BoardBlackout] = field(default_factory=list)
    no_shows: list[BoardBooking] = field(default_factory=list)
    blacked_out_now: bool = False

    @property
    def hot(self) -> bool:
        """An approved booking is in progress and its people are checked in."""
        return self.current is not None and self.current.checked_in \
            and self.current.checked_out_at is None


@dataclass(frozen=True)
class Board:
    day: date
    now: datetime
    rows: list[BoardRow]
    can_act: bool  # may check bookings in and out (staff); managers read only

    @property
    def hot_count(self) -> int:
        return sum(1 for r in self.rows if r.hot)

    @property
    def no_show_count(self) -> int:
        return sum(len(r.no_shows) for r in self.rows)


_BOOKING_COLUMNS = (Booking.id, Booking.resource_id, User.name, Booking.start_time,
                    Booking.end_time, Booking.status, Booking.purpose, Booking.checked_in_at,
                    Booking.checked_out_at)


def range_board(uow: UnitOfWork, actor_id: object, *, day: date | None = None,
                resource_type: str | None = None) -> Board:
    """The board for `day` (default: today in the site zone); 'now' is the engine clock."""
    with uow.read(snapshot=True):
        actor = load_actor(uow, actor_id, P.BOARD_VIEW)
        now = uow.now
        day = day or now.astimezone(uow.tz).date()
        if not isinstance(day, date):
            raise ValidationError("day", "must be a date")
        lo, hi = local_day_utc(day, uow.tz)
        # "now and next" on today's board; a past or future day shows its first bookings.
        pivot = min(max(now, lo), hi)
        res_stmt = (select(Resource.id, Resource.name, Resource.resource_type, SafetyZone.name)
                    .outerjoin(SafetyZone, SafetyZone.id == Resource.safety_zone_id)
                    .where(Resource.is_active.is_(True)).order_by(Resource.name, Resource.id))
        res_stmt = res_stmt.where(*resource_filter(resource_type, None))
        resources = uow.session.execute(res_stmt).all()
        rules = {r.resource_type: CheckInRuleView.of(r)
                 for r in uow.session.scalars(select(CheckInRule))}

        live = uow.session.execute(
            select(*_BOOKING_COLUMNS).join(User, User.id == Booking.requester_id)
            .where(Booking.status == BookingStatus.APPROVED,
                   booking_overlaps(pivot, hi))
            .order_by(Booking.start_time)).all()
        no_shows = uow.session.execute(
            select(*_BOOKING_COLUMNS).join(User, User.id == Booking.requester_id)
            .where(Booking.status == BookingStatus.NO_SHOW,
                   Booking.start_time >= lo - MAX_DURATION, Booking.start_time < hi,
                   Booking.decided_at >= lo, Booking.decided_at < hi)
            .order_by(Booking.start_time)).all()
        blackouts = uow.session.execute(
            select(Blackout.resource_id, Blackout.start_time, Blackout.end_time, Blackout.reason)
            .where(overlaps_clause(Blackout.start_time, Blackout.end_time, lo, hi))
            .order_by(Blackout.start_time)).all()

        types = {r.id: r.resource_type for r in resources}

        def view(row) -> BoardBooking:
            rule = rules.get(types.get(row.resource_id, "")) or default_rule("")
            opens, closes = rule.window(row.start_time)
            return BoardBooking(row.id, row.name, row.start_time, row.end_time, row.status.value,
                                row.purpose, row.checked_in_at, row.checked_out_at, opens, closes)

        by_resource: dict[UUID, list] = defaultdict(list)
        for row in live:
            by_resource[row.resource_id].append(row)
        missed: dict[UUID, list[BoardBooking]] = defaultdict(list)
        for row in no_shows:
            missed[row.resource_id].append(view(row))
        closed: dict[UUID, list[BoardBlackout]] = defaultdict(list)
        for b in blackouts:
            closed[b.resource_id].append(BoardBlackout(b.start_time, b.end_time, b.reason))

        rows = []
        for r in resources:
            bookings = by_resource.get(r.id, [])
            current = next((b for b in bookings if b.start_time <= pivot < b.end_time), None)
            upcoming = next((b for b in bookings if b.start_time > pivot), None)
            rows.append(BoardRow(
                r.id, r.name, r.resource_type, r[3],
                view(current) if current else None, view(upcoming) if upcoming else None,
                closed.get(r.id, []), missed.get(r.id, []),
                any(b.start_time <= pivot < b.end_time for b in closed.get(r.id, []))))
        return Board(day, now, rows, has_permission(actor.role, P.BOOKING_CHECK_IN_ANY))
