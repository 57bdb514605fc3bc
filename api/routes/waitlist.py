"""/waitlist: members wait for a taken window; when it frees they are offered it as a pending
request, to accept or decline. Members act on their own entries; staff list everyone's."""
from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from api.deps import DB, Me
from api.errors import ERROR_RESPONSES, Responses
from api.schemas import WaitlistIn, WaitlistOut
from engine import services
from engine.domain.status import WaitlistStatus

router = APIRouter(prefix="/waitlist", tags=["waitlist"], responses=ERROR_RESPONSES)
STEP: Responses = {409: {"description": "the entry's status does not allow this step (accept "
                                        "and decline an offer, leave while waiting)"}}


@router.get("", response_model=list[WaitlistOut])
def list_entries(db: DB, me: Me, resource_id: UUID | None = None,
                 status: Annotated[list[WaitlistStatus] | None, Query()] = None,
                 limit: Annotated[int, Query(ge=1, le=500)] = 200):
    """Soonest window first; members see their own entries, staff and managers everyone's.
    `status` may repeat."""
    return services.list_waitlist(db.uow(), me.id, resource_id=resource_id,
                                  statuses=tuple(s.value for s in status or ()), limit=limit)


@router.post("", status_code=201, response_model=WaitlistOut)
def join(body: WaitlistIn, db: DB, me: Me):
    """Wait for a window that is taken (a free window is a 422: request it instead)."""
    return services.join_waitlist(db.uow(), me.id, resource_id=body.resource_id,
                                  start_time=body.start_time, end_time=body.end_time,
                                  purpose=body.purpose, priority=body.priority)


@router.post("/{entry_id}/accept", response_model=WaitlistOut, responses=STEP)
def accept(entry_id: UUID, db: DB, me: Me):
    """Take the offer: its request stops expiring and waits for staff like any other."""
    return services.accept_offer(db.uow(), me.id, entry_id)


@router.post("/{entry_id}/decline", response_model=WaitlistOut, responses=STEP)
def decline(entry_id: UUID, db: DB, me: Me):
    """Turn the offer down: its request is cancelled and the window passes to the next entry."""
    return services.decline_offer(db.uow(), me.id, entry_id)


@router.delete("/{entry_id}", response_model=WaitlistOut, responses=STEP)
def leave(entry_id: UUID, db: DB, me: Me):
    """Stop waiting (an entry still `waiting`; an offer is declined instead)."""
    return services.leave_waitlist(db.uow(), me.id, entry_id)
