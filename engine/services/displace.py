"""Displace several approved bookings at once so a higher-priority request takes their place.

Bumping one booking at a time cannot clear a request with two bookings in its way (approving
it after the first bump still meets the second), so staff displace them together here, in one
transaction with one reason.
"""
from __future__ import annotations

from engine.db import UnitOfWork
from engine.domain.audit_actions import AuditAction
from engine.domain.permissions import Permission as P
from engine.domain.rules import validate_reason
from engine.domain.status import BookingAction
from engine.errors import ValidationError
from engine.logs import logged
from engine.models import Booking
from engine.services.common import as_uuid, get_or_404, load_actor, lock_row
from engine.services.lifecycle import (
    approve_or_sign,
    lock_booking,
    refused_by_database,
    set_status,
    transition,
)
from engine.services.results import BookingView


@logged("booking.bump_together")
def bump_together(uow: UnitOfWork, actor_id: object, booking_ids: list[object], *,
                  reason: object, in_favour_of: object) -> BookingView:
    """Bump every booking in `booking_ids` (each outranked by `in_favour_of`) and approve
    `in_favour_of` in their place; all or nothing. Returns the approved request."""
    with uow:
        actor = load_actor(uow, actor_id, P.BOOKING_BUMP)
        reason = validate_reason(reason)
        ids = sorted({as_uuid("booking_ids", b) for b in booking_ids})
        if not ids:
            raise ValidationError("booking_ids", "pick at least one booking to displace")
        winner = get_or_404(uow, Booking, in_favour_of, "booking", "in_favour_of")
        victims_first = [get_or_404(uow, Booking, b, "booking", "booking_ids") for b in ids]
        # Every scope locked in one sorted call, then each resource re-read under the locks.
        winner = lock_booking(uow, winner.id, *{v.resource for v in victims_first})
        victims = [lock_row(uow, Booking, b) for b in ids]
        for victim in victims:
            transition(victim, BookingAction.BUMP)
            if winner.priority <= victim.priority:
                raise ValidationError(
                    "in_favour_of", f"the request (priority {winner.priority}) must outrank "
                    f"every booking it displaces; {victim.resource.name} "
                    f"{victim.start_time.astimezone(uow.tz):%a %d %b %H:%M} "
                    f"has priority {victim.priority}")
        with refused_by_database(uow, "the bump"):
            for victim in victims:
                set_status(uow, actor, victim, BookingAction.BUMP, AuditAction.BUMPED,
                           reason=reason, bumped_by=winner.id)
            # The approval rules of approve_booking: named approvers, two sign-offs.
            approve_or_sign(uow, actor, winner, force_override=False,
                            in_favour_field="in_favour_of")
            view = BookingView.of(winner)
            uow.commit()
        return view
