"""/bookings: request, read, list, cancel, and the staff actions approve/deny/reschedule/bump."""
from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from api.deps import DB, Me
from api.errors import ERROR_RESPONSES, Responses
from api.schemas import (
    ApproveIn,
    ApproveOut,
    BookingIn,
    BookingOut,
    BumpIn,
    ConflictErrorOut,
    PageOut,
    ReasonIn,
    RescheduleIn,
    ShortText,
    When,
    json_response,
)
from engine import services
from engine.domain.status import BookingStatus

router = APIRouter(prefix="/bookings", tags=["bookings"], responses=ERROR_RESPONSES)
CONFLICT: Responses = {409: {"model": ConflictErrorOut,
                  "description": "conflicts with approved bookings or blackouts (listed), "
                                 "or the booking's status does not allow this action"}}
TRANSITION: Responses = {409: {"description": "the booking's status does not allow this action"}}


@router.get("", response_model=PageOut[BookingOut])
def list_bookings(db: DB, me: Me, resource_id: UUID | None = None,
                  resource_type: Annotated[ShortText | None, Query(max_length=50)] = None,
                  safety_zone_id: UUID | None = None,
                  status: Annotated[list[BookingStatus] | None, Query()] = None,
                  requester_id: UUID | None = None, series_id: UUID | None = None,
                  window_start: When | None = None, window_end: When | None = None,
                  order: Annotated[str, Query(pattern="^(start|-start|created)$")] = "start",
                  page: Annotated[int, Query(ge=1, le=100_000)] = 1,
                  page_size: Annotated[int, Query(ge=1, le=500)] = 50):
    """Members see only their own bookings; `status` may repeat; the window overlaps [start, end);
    `series_id` gives the occurrences of one recurring series."""
    filters = services.BookingFilter(resource_id=resource_id, resource_type=resource_type,
                                     safety_zone_id=safety_zone_id,
                                     statuses=tuple(s.value for s in status or ()),
                                     requester_id=requester_id, window_start=window_start,
                                     window_end=window_end, order=order, series_id=series_id)
    result = services.list_bookings(db.uow(), me.id, filters, page=page, page_size=page_size)
    return json_response(PageOut[BookingOut].of(result, BookingOut.model_validate))


@router.get("/{booking_id}", response_model=BookingOut)
def read_booking(booking_id: UUID, db: DB, me: Me):
    return json_response(BookingOut.model_validate(
        services.get_booking(db.uow(), me.id, booking_id)))


@router.post("", status_code=201, response_model=BookingOut)
def create_booking(body: BookingIn, db: DB, me: Me):
    """Request a booking; it waits as `pending` until staff decide."""
    view = services.request_booking(db.uow(), me.id, resource_id=body.resource_id,
                                    start_time=body.start_time, end_time=body.end_time,
                                    purpose=body.purpose, priority=body.priority)
    return json_response(BookingOut.model_validate(view), 201)


@router.put("/{booking_id}", response_model=BookingOut, responses=CONFLICT)
def update_booking(booking_id: UUID, body: RescheduleIn, db: DB, me: Me):
    """Replace the booking's window (and optionally resource): the same as /reschedule."""
    return _reschedule(booking_id, body, db, me)


@router.delete("/{booking_id}", response_model=BookingOut, responses=TRANSITION)
def cancel_booking(booking_id: UUID, db: DB, me: Me,
                   reason: Annotated[ShortText | None, Query(max_length=500)] = None):
    """Cancel: members their own bookings, staff anyone's."""
    return services.cancel_booking(db.uow(), me.id, booking_id, reason=reason)


@router.post("/{booking_id}/approve", response_model=ApproveOut, responses=CONFLICT)
def approve(booking_id: UUID, db: DB, me: Me, body: ApproveIn | None = None):
    body = body or ApproveIn()
    view = services.approve_booking(db.uow(), me.id, booking_id,
                                    force_override=body.force_override)
    return json_response(ApproveOut.model_validate(view))


@router.post("/{booking_id}/deny", response_model=BookingOut, responses=TRANSITION)
def deny(booking_id: UUID, body: ReasonIn, db: DB, me: Me):
    return services.deny_booking(db.uow(), me.id, booking_id, body.reason)


@router.post("/{booking_id}/reschedule", response_model=BookingOut, responses=CONFLICT)
def reschedule(booking_id: UUID, body: RescheduleIn, db: DB, me: Me):
    """Move to a new window; an approved booking keeps its approval only if the window is free."""
    return _reschedule(booking_id, body, db, me)


@router.post("/{booking_id}/bump", response_model=BookingOut, responses=CONFLICT)
def bump(booking_id: UUID, body: BumpIn, db: DB, me: Me):
    return services.bump_booking(db.uow(), me.id, booking_id, reason=body.reason,
                                 in_favour_of=body.in_favour_of)


def _reschedule(booking_id: UUID, body: RescheduleIn, db, me):
    return services.reschedule_booking(db.uow(), me.id, booking_id, start_time=body.start_time,
                                       end_time=body.end_time, resource_id=body.resource_id,
                                       reason=body.reason)
