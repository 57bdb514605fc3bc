"""/bookings/series: recurring bookings. Each occurrence is also a normal booking under
/bookings/{id} (approve, deny, reschedule, bump or cancel one); these act on the whole series."""
from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from api.deps import DB, Me
from api.errors import ERROR_RESPONSES, Responses
from api.schemas import (
    ConflictErrorOut,
    ConflictOut,
    LeftOut,
    PageOut,
    PlannedOccurrenceOut,
    ReasonIn,
    SeriesCancelIn,
    SeriesDecisionOut,
    SeriesIn,
    SeriesOut,
    SeriesPreviewIn,
    SeriesPreviewOut,
    SeriesQueueRowOut,
)
from engine import services

router = APIRouter(prefix="/bookings/series", tags=["series"], responses=ERROR_RESPONSES)
NOTHING_LEFT: Responses = {409: {"model": ConflictErrorOut,
                      "description": "no occurrence of the series is in a state for this"}}


def _series_out(view) -> SeriesOut:
    out = SeriesOut.model_validate(view)
    out.hard_conflicts = {bid: [ConflictOut.model_validate(c, from_attributes=True)
                                 for c in report.hard]
                          for bid, report in view.conflicts.items() if report.hard}
    return out


def _decision_out(decision) -> SeriesDecisionOut:
    return SeriesDecisionOut(series_id=decision.series_id, changed=decision.changed,
                             left=[LeftOut(booking_id=b, reason=r) for b, r in decision.left])


@router.post("/preview", response_model=SeriesPreviewOut)
def preview(body: SeriesPreviewIn, db: DB, me: Me):
    """Every occurrence the rule gives, each with its conflicts; nothing is written."""
    result = services.preview_series(db.uow(), me.id, resource_id=body.resource_id,
                                     start_time=body.start_time, end_time=body.end_time,
                                     rule=body.rule.model_dump())
    return SeriesPreviewOut(
        rule=result.rule, description=result.description, conflicting=result.conflicting,
        occurrences=[PlannedOccurrenceOut(
            start_time=o.start_time, end_time=o.end_time,
            hard=[ConflictOut.model_validate(c, from_attributes=True) for c in o.conflicts.hard],
            soft=[ConflictOut.model_validate(c, from_attributes=True) for c in o.conflicts.soft])
            for o in result.occurrences])


@router.get("", response_model=PageOut[SeriesQueueRowOut])
def waiting(db: DB, me: Me, page: Annotated[int, Query(ge=1, le=100_000)] = 1,
            page_size: Annotated[int, Query(ge=1, le=50)] = 10):
    """Staff: series with pending occurrences to come, soonest first, one row each with how
    many wait and how many of those conflict (the approval queue's series rows)."""
    result = services.series_queue(db.uow(), me.id, page=page, page_size=page_size)
    return PageOut.of(result, lambda row: SeriesQueueRowOut(
        series=_series_out(row.series), pending=row.pending, conflicting=row.conflicting,
        next_start=row.next_start))


@router.post("", status_code=201, response_model=SeriesOut)
def create(body: SeriesIn, db: DB, me: Me):
    """Request every occurrence as a pending booking, in one transaction."""
    view = services.request_series(db.uow(), me.id, resource_id=body.resource_id,
                                   start_time=body.start_time, end_time=body.end_time,
                                   rule=body.rule.model_dump(), purpose=body.purpose,
                                   priority=body.priority, skip_conflicts=body.skip_conflicts)
    return _series_out(view)


@router.get("/{series_id}", response_model=SeriesOut)
def read(series_id: UUID, db: DB, me: Me):
    """The series and its occurrences (members: their own); staff also see conflicts."""
    return _series_out(services.get_series(db.uow(), me.id, series_id))


@router.post("/{series_id}/approve", response_model=SeriesDecisionOut)
def approve(series_id: UUID, db: DB, me: Me):
    """Approve every conflict-free pending occurrence in one transaction; the rest stay
    pending, listed in `left` with the reason."""
    return _decision_out(services.approve_series(db.uow(), me.id, series_id))


@router.post("/{series_id}/deny", response_model=SeriesDecisionOut, responses=NOTHING_LEFT)
def deny(series_id: UUID, body: ReasonIn, db: DB, me: Me):
    """Deny every pending occurrence with one reason."""
    return _decision_out(services.deny_series(db.uow(), me.id, series_id, body.reason))


@router.post("/{series_id}/cancel", response_model=SeriesDecisionOut, responses=NOTHING_LEFT)
def cancel(series_id: UUID, db: DB, me: Me, body: SeriesCancelIn | None = None):
    """Cancel the whole series, or one occurrence and every later one (`from_booking_id`).
    Occurrences already over are kept."""
    body = body or SeriesCancelIn()
    return _decision_out(services.cancel_series(db.uow(), me.id, series_id,
                                                from_booking_id=body.from_booking_id,
                                                reason=body.reason))
