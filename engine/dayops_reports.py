"""Read-only figures for the day of operations: the no-show rate per resource and per member,
and the rows of the printable day sheet. Aggregated in the database; used by reports/ (a
trusted operator process) and, behind permissions, by the dashboard."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from engine.domain.rules import local_day_utc, local_midnight_utc
from engine.domain.status import BookingStatus
from engine.errors import ValidationError
from engine.models import Booking, Resource, SafetyZone, User

NoShowBy = Literal["resource", "member"]


@dataclass(frozen=True)
class NoShowRow:
    group_id: UUID
    name: str
    attended: int
    no_shows: int

    @property
    def rate(self) -> float:
        """No-shows ÷ bookings that needed someone to turn up (checked in or released)."""
        total = self.attended + self.no_shows
        return self.no_shows / total if total else 0.0


def no_show_rates(session: Session, *, start: date, end: date, tz: ZoneInfo,
                  by: NoShowBy = "resource") -> list[NoShowRow]:
    """Per resource or member, bookings starting in [start, end) (site-zone days): how many
    were checked in and how many released as no-shows. Most no-shows first."""
    if by not in ("resource", "member"):
        raise ValidationError("by", "must be resource or member")
    if end <= start:
        raise ValidationError("end", "must be after start")
    lo, hi = local_midnight_utc(start, tz), local_midnight_utc(end, tz)
    key, name, join = ((Resource.id, Resource.name, Resource.id == Booking.resource_id)
                       if by == "resource" else
                       (User.id, User.name, User.id == Booking.requester_id))
    model = Resource if by == "resource" else User
    no_show = func.sum(case((Booking.status == BookingStatus.NO_SHOW, 1), else_=0))
    attended = func.sum(case((Booking.checked_in_at.is_not(None), 1), else_=0))
    rows = session.execute(
        select(key, name, attended, no_show).select_from(Booking).join(model, join)
        .where(Booking.start_time >= lo, Booking.start_time < hi,
               or_(Booking.status == BookingStatus.NO_SHOW, Booking.checked_in_at.is_not(None)))
        .group_by(key, name).order_by(no_show.desc(), name, key)).all()
    return [NoShowRow(r[0], r[1], int(r[2] or 0), int(r[3] or 0)) for r in rows]


@dataclass(frozen=True)
class DaySheetRow:
    resource_name: str
    resource_type: str
    zone_name: str | None
    start_time: datetime
    end_time: datetime
    requester_name: str
    requester_email: str
    purpose: str | None
    status: str
    checked_in_at: datetime | None


def day_sheet_rows(session: Session, day: date, tz: ZoneInfo) -> list[DaySheetRow]:
    """Approved (and released no-show) bookings starting on `day` in the site zone, by range
    then time: what the range office prints in the morning."""
    lo, hi = local_day_utc(day, tz)
    rows = session.execute(
        select(Resource.name, Resource.resource_type, SafetyZone.name, Booking.start_time,
               Booking.end_time, User.name, User.email, Booking.purpose, Booking.status,
               Booking.checked_in_at)
        .select_from(Booking).join(Resource, Resource.id == Booking.resource_id)
        .join(User, User.id == Booking.requester_id)
        .outerjoin(SafetyZone, SafetyZone.id == Resource.safety_zone_id)
        .where(Booking.status.in_([BookingStatus.APPROVED, BookingStatus.NO_SHOW]),
               Booking.start_time >= lo, Booking.start_time < hi)
        .order_by(Resource.name, Booking.start_time, User.name)).all()
    return [DaySheetRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8].value, r[9])
            for r in rows]
