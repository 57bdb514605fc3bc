"""The day of operations: check-in and early check-out of an approved booking (members their
own, staff anyone's), the range board staff work from, and the check-in rules per type."""
from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Query

from api.deps import DB, Me
from api.errors import ERROR_RESPONSES, Responses
from api.schemas import (
    BoardBlackoutOut,
    BoardBookingOut,
    BoardOut,
    BoardRowOut,
    BookingOut,
    CheckInRuleIn,
    CheckInRuleOut,
    Day,
    ShortText,
    json_response,
)
from engine import services

router = APIRouter(tags=["day of operations"], responses=ERROR_RESPONSES)
TRANSITION: Responses = {409: {"description": "the booking's state does not allow this action "
                                              "now (not approved, already checked in or out, "
                                              "outside its check-in or booked time)"}}


@router.post("/bookings/{booking_id}/check-in", response_model=BookingOut, responses=TRANSITION)
def check_in(booking_id: UUID, db: DB, me: Me):
    """Report at the range, from the type's opening time before the start until the end of
    its grace period (outside it, or a second time: 409)."""
    return json_response(BookingOut.model_validate(
        services.check_in(db.uow(), me.id, booking_id)))


@router.post("/bookings/{booking_id}/check-out", response_model=BookingOut, responses=TRANSITION)
def check_out(booking_id: UUID, db: DB, me: Me):
    """Leave early: the booking ends now (rounded up to the minute) and the rest of its window
    is offered to the waitlist (not checked in, checked out already, not started or over:
    409)."""
    return json_response(BookingOut.model_validate(
        services.check_out(db.uow(), me.id, booking_id)))


def _board_booking(b, now) -> BoardBookingOut:
    return BoardBookingOut(id=b.id, requester_name=b.requester_name, start_time=b.start_time,
                           end_time=b.end_time, status=b.status, purpose=b.purpose,
                           checked_in_at=b.checked_in_at, checked_out_at=b.checked_out_at,
                           check_in_opens=b.check_in_opens, check_in_closes=b.check_in_closes,
                           can_check_in=b.can_check_in(now), can_check_out=b.can_check_out(now))


@router.get("/board", response_model=BoardOut)
def board(db: DB, me: Me, day: Day | None = None,
          resource_type: Annotated[ShortText | None, Query(max_length=50)] = None):
    """The range board (the dashboard's *Today*): every active resource with its approved
    booking now and next, hot or cold, the day's blackouts and released no-shows. `day`
    defaults to today in the site time zone. Staff, and managers read-only."""
    view = services.range_board(db.uow(), me.id, day=day, resource_type=resource_type)
    now = view.now
    return json_response(BoardOut(
        day=view.day, now=now, can_act=view.can_act, hot_count=view.hot_count,
        no_show_count=view.no_show_count,
        rows=[BoardRowOut(
            resource_id=r.resource_id, resource_name=r.resource_name,
            resource_type=r.resource_type, zone_name=r.zone_name, hot=r.hot,
            blacked_out_now=r.blacked_out_now,
            current=_board_booking(r.current, now) if r.current else None,
            next=_board_booking(r.next, now) if r.next else None,
            blackouts=[BoardBlackoutOut.model_validate(b) for b in r.blackouts],
            no_shows=[_board_booking(b, now) for b in r.no_shows]) for r in view.rows]))


@router.get("/checkin-rules", response_model=list[CheckInRuleOut])
def list_checkin_rules(db: DB, me: Me):
    """Every resource type in use, with its check-in rule or the defaults."""
    return services.list_checkin_rules(db.uow(), me.id)


@router.put("/checkin-rules/{resource_type}", response_model=CheckInRuleOut)
def set_checkin_rule(resource_type: Annotated[ShortText, Path(max_length=50)],
                     body: CheckInRuleIn, db: DB, me: Me):
    """Admins: set a type's whole rule. Turning `required` on releases only bookings that
    start from now on."""
    minutes = body.model_dump(exclude_none=True, exclude={"required"})
    return services.set_checkin_rule(db.uow(), me.id, resource_type, required=body.required,
                                     **minutes)
