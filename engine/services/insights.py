"""Read-only figures for managers beyond the reports: quota use, busiest hours, conflict and
no-show trends. The managers' notebook (notebooks/utilization.ipynb) reads these; each call
is one read transaction and needs `report:view`.

Busiest hours and trends group rows in Python over a bounded range (at most 366 days), so the
site-time-zone hour and month come out the same on SQLite and PostgreSQL.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select

from engine.db import UnitOfWork
from engine.domain.permissions import Permission as P
from engine.domain.policy import QUOTA_FIELDS
from engine.domain.rules import MAX_DURATION, local_midnight_utc
from engine.domain.status import BookingStatus
from engine.errors import ValidationError
from engine.models import Booking, BookingPolicy, Resource, User
from engine.services.common import load_actor
from engine.services.policies import OPEN_STATUSES, quota_use

MAX_RANGE = timedelta(days=366)


def _range(uow: UnitOfWork, start: object, end: object) -> tuple[datetime, datetime]:
    if not isinstance(start, date) or not isinstance(end, date):
        raise ValidationError("start", "start and end must be dates")
    if end < start:
        raise ValidationError("end", "must not be before start")
    lo, hi = local_midnight_utc(start, uow.tz), local_midnight_utc(end + timedelta(days=1), uow.tz)
    if hi - lo > MAX_RANGE + timedelta(days=1):
        raise ValidationError("end", "the range may cover at most 366 days")
    return lo, hi


@dataclass(frozen=True)
class QuotaUseRow:
    member: str
    resource_type: str
    week_hours: float
    week_limit: int | None
    month_hours: float
    month_limit: int | None
    open_bookings: int
    open_limit: int | None


def quota_report(uow: UnitOfWork, actor_id: object) -> list[QuotaUseRow]:
    """Each member's use of each resource type that has a quota, this week and this month."""
    with uow.read(snapshot=True):
        load_actor(uow, actor_id, P.REPORT_VIEW)
        types = uow.session.scalars(select(BookingPolicy).where(
            BookingPolicy.resource_type.is_not(None))).all()
        out = []
        for policy in types:
            assert policy.resource_type is not None  # the query reads type policies only
            if all(getattr(policy, f) is None for f in QUOTA_FIELDS):
                continue
            members = uow.session.execute(
                select(User.id, User.name).distinct().join(Booking, Booking.requester_id == User.id)
                .join(Resource, Resource.id == Booking.resource_id)
                .where(Resource.resource_type == policy.resource_type,
                       Booking.status.in_(OPEN_STATUSES),
                       Booking.start_time >= uow.now - MAX_DURATION - timedelta(days=31))).all()
            for member_id, name in members:
                use = quota_use(uow, member_id, policy.resource_type, uow.now)
                out.append(QuotaUseRow(name, policy.resource_type, use.week_hours,
                                       policy.quota_hours_per_week, use.month_hours,
                                       policy.quota_hours_per_month, use.open_bookings,
                                       policy.max_open_bookings))
        return sorted(out, key=lambda r: (r.resource_type, -r.month_hours, r.member))


@dataclass(frozen=True)
class HourCell:
    weekday: int  # 0 Monday
    hour: int     # 0-23, site time zone
    booked_hours: float


def busiest_hours(uow: UnitOfWork, actor_id: object, *, start: date, end: date
                  ) -> list[HourCell]:
    """Approved booking-hours by weekday and hour of day in the site zone (every cell)."""
    with uow.read():
        load_actor(uow, actor_id, P.REPORT_VIEW)
        lo, hi = _range(uow, start, end)
        rows = uow.session.execute(
            select(Booking.start_time, Booking.end_time)
            .where(Booking.status == BookingStatus.APPROVED, Booking.start_time >= lo,
                   Booking.start_time < hi)).all()
        cells: Counter = Counter()
        for r in rows:
            t = r.start_time
            while t < r.end_time:
                step = min(r.end_time, t.replace(minute=0, second=0, microsecond=0)
                           + timedelta(hours=1))
                local = t.astimezone(uow.tz)
                cells[(local.weekday(), local.hour)] += (step - t).total_seconds() / 3600
                t = step
        return [HourCell(d, h, round(cells[(d, h)], 2)) for d in range(7) for h in range(24)]


@dataclass(frozen=True)
class MonthTrend:
    month: str  # YYYY-MM in the site zone
    requests: int
    conflicted: int
    ended: int
    no_shows: int

    @property
    def conflict_rate(self) -> float:
        return round(self.conflicted / self.requests, 4) if self.requests else 0.0

    @property
    def no_show_rate(self) -> float:
        return round(self.no_shows / self.ended, 4) if self.ended else 0.0


def monthly_trends(uow: UnitOfWork, actor_id: object, *, start: date, end: date
                   ) -> list[MonthTrend]:
    """Per month: requests made and how many met a hard conflict when made; bookings that
    should have happened (approved or no-show, already ended) and how many were no-shows."""
    with uow.read(snapshot=True):
        load_actor(uow, actor_id, P.REPORT_VIEW)
        lo, hi = _range(uow, start, end)
        requests = uow.session.execute(
            select(Booking.created_at, Booking.conflict_at_request)
            .where(Booking.created_at >= lo, Booking.created_at < hi)).all()
        held = uow.session.execute(
            select(Booking.start_time, Booking.status)
            .where(Booking.status.in_([BookingStatus.APPROVED, BookingStatus.NO_SHOW]),
                   Booking.start_time >= lo, Booking.start_time < hi,
                   Booking.end_time <= uow.now)).all()
        months: dict[str, list[int]] = {}

        def month(ts: datetime) -> list[int]:
            return months.setdefault(ts.astimezone(uow.tz).strftime("%Y-%m"), [0, 0, 0, 0])

        for created, conflicted in requests:
            m = month(created)
            m[0] += 1
            m[1] += bool(conflicted)
        for started, status in held:
            m = month(started)
            m[2] += 1
            m[3] += BookingStatus(status) is BookingStatus.NO_SHOW
        return [MonthTrend(k, *v) for k, v in sorted(months.items())]
