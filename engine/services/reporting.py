"""Management figures for signed-in staff and admins (Permission.REPORT_VIEW).

Thin, permission-checked wrappers over engine.analytics: one read transaction each, periods in
the site time zone (uow.tz). Dashboards and the API call these; the report CLI, a trusted
operator process, may call engine.analytics directly.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from engine import analytics
from engine.analytics import (  # noqa: F401 - re-exported for callers of this module
    BumpCancelRow,
    DailyCountRow,
    GroupBy,
    Period,
    RateRow,
    TurnaroundRow,
    UtilizationRow,
)
from engine.db import UnitOfWork
from engine.domain.permissions import Permission as P
from engine.services.common import load_actor

T = TypeVar("T")


def _report(figures: Callable[..., T], uow: UnitOfWork, actor_id: object, **kw: Any) -> T:
    """Check the role, then compute `figures` in one snapshot of the database."""
    with uow.read(snapshot=True):
        load_actor(uow, actor_id, P.REPORT_VIEW)
        return figures(uow.session, tz=uow.tz, **kw)


@dataclass(frozen=True)
class ReportFigures:
    """Everything the Reports page draws, from one snapshot."""

    utilization: list[UtilizationRow]
    conflicts: list[RateRow]
    approvals: list[RateRow]
    turnaround: list[TurnaroundRow]  # per period
    overall: TurnaroundRow | None  # the whole range
    daily: list[DailyCountRow]


def report_figures(uow: UnitOfWork, actor_id: object, *, start: date, end: date,
                   group_by: GroupBy = "resource", period: Period = "week") -> ReportFigures:
    """The Reports page's figures: one role check and one snapshot instead of six."""
    def figures(session, *, tz) -> ReportFigures:
        kw: dict[str, Any] = dict(start=start, end=end, tz=tz)
        approvals, turnaround, overall = analytics.decision_figures(session, period=period, **kw)
        return ReportFigures(
            analytics.utilization(session, group_by=group_by, period=period, **kw),
            analytics.conflict_rate(session, period=period, **kw),
            approvals, turnaround, overall, analytics.bookings_per_day(session, **kw))
    return _report(figures, uow, actor_id)


def report_version(uow: UnitOfWork, actor_id: object) -> str:
    """A stamp of the data behind every report (see analytics.data_version) plus the site time
    zone, after the role check: a cache keyed on it and the inputs is never stale."""
    with uow.read():
        load_actor(uow, actor_id, P.REPORT_VIEW)
        newest, recent = analytics.data_version(uow.session)
    return f"{newest}|{recent}|{uow.tz.key}"


def utilization(uow: UnitOfWork, actor_id: object, *, start: date, end: date,
                group_by: GroupBy = "resource", period: Period = "week") -> list[UtilizationRow]:
    return _report(analytics.utilization, uow, actor_id, start=start, end=end,
                   group_by=group_by, period=period)


def conflict_rate(uow: UnitOfWork, actor_id: object, *, start: date, end: date,
                  period: Period = "week") -> list[RateRow]:
    return _report(analytics.conflict_rate, uow, actor_id, start=start, end=end, period=period)


def approval_rate(uow: UnitOfWork, actor_id: object, *, start: date, end: date,
                  period: Period = "week") -> list[RateRow]:
    return _report(analytics.approval_rate, uow, actor_id, start=start, end=end, period=period)


def approval_turnaround(uow: UnitOfWork, actor_id: object, *, start: date, end: date,
                        period: Period | None = None) -> list[TurnaroundRow]:
    return _report(analytics.approval_turnaround, uow, actor_id, start=start, end=end,
                   period=period)


def bookings_per_day(uow: UnitOfWork, actor_id: object, *, start: date, end: date
                     ) -> list[DailyCountRow]:
    return _report(analytics.bookings_per_day, uow, actor_id, start=start, end=end)


def bumps_and_cancellations(uow: UnitOfWork, actor_id: object, *, start: date, end: date,
                            period: Period = "week") -> list[BumpCancelRow]:
    return _report(analytics.bumps_and_cancellations, uow, actor_id, start=start, end=end,
                   period=period)
