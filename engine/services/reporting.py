"""Management figures for signed-in staff and admins (Permission.REPORT_VIEW).

Thin, permission-checked wrappers over engine.analytics: one read transaction each, periods in
the site time zone (uow.tz). Dashboards and the API call these; the report CLI, a trusted
operator process, may call engine.analytics directly.
"""
from __future__ import annotations

from datetime import date

from engine import analytics
from engine.analytics import (  # noqa: F401 - re-exported for callers of this module
    BumpCancelRow, DailyCountRow, GroupBy, Period, RateRow, TurnaroundRow, UtilizationRow,
)
from engine.db import UnitOfWork
from engine.domain.permissions import Permission as P
from engine.services.common import load_actor


def utilization(uow: UnitOfWork, actor_id: object, *, start: date, end: date,
                group_by: GroupBy = "resource", period: Period = "week") -> list[UtilizationRow]:
    with uow.read(snapshot=True):
        load_actor(uow, actor_id, P.REPORT_VIEW)
        return analytics.utilization(uow.session, start=start, end=end, tz=uow.tz,
                                     group_by=group_by, period=period)


def conflict_rate(uow: UnitOfWork, actor_id: object, *, start: date, end: date,
                  period: Period = "week") -> list[RateRow]:
    with uow.read(snapshot=True):
        load_actor(uow, actor_id, P.REPORT_VIEW)
        return analytics.conflict_rate(uow.session, start=start, end=end, tz=uow.tz,
                                       period=period)


def approval_rate(uow: UnitOfWork, actor_id: object, *, start: date, end: date,
                  period: Period = "week") -> list[RateRow]:
    with uow.read(snapshot=True):
        load_actor(uow, actor_id, P.REPORT_VIEW)
        return analytics.approval_rate(uow.session, start=start, end=end, tz=uow.tz,
                                       period=period)


def approval_turnaround(uow: UnitOfWork, actor_id: object, *, start: date, end: date,
                        period: Period | None = None) -> list[TurnaroundRow]:
    with uow.read(snapshot=True):
        load_actor(uow, actor_id, P.REPORT_VIEW)
        return analytics.approval_turnaround(uow.session, start=start, end=end, tz=uow.tz,
                                             period=period)


def bookings_per_day(uow: UnitOfWork, actor_id: object, *, start: date, end: date
                     ) -> list[DailyCountRow]:
    with uow.read(snapshot=True):
        load_actor(uow, actor_id, P.REPORT_VIEW)
        return analytics.bookings_per_day(uow.session, start=start, end=end, tz=uow.tz)


def bumps_and_cancellations(uow: UnitOfWork, actor_id: object, *, start: date, end: date,
                            period: Period = "week") -> list[BumpCancelRow]:
    with uow.read(snapshot=True):
        load_actor(uow, actor_id, P.REPORT_VIEW)
        return analytics.bumps_and_cancellations(uow.session, start=start, end=end, tz=uow.tz,
                                                 period=period)
