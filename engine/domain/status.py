"""Booking statuses and the one table of allowed transitions that every service uses."""
from __future__ import annotations

import enum


class BookingStatus(str, enum.Enum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    CANCELLED = "cancelled"
    BUMPED = "bumped"


class BookingAction(str, enum.Enum):
    APPROVE = "approve"
    DENY = "deny"
    CANCEL = "cancel"
    RESCHEDULE = "reschedule"
    BUMP = "bump"


S, A = BookingStatus, BookingAction

#: (current status, action) -> resulting status. Anything absent is an invalid transition.
TRANSITIONS: dict[tuple[BookingStatus, BookingAction], BookingStatus] = {
    (S.PENDING, A.APPROVE): S.APPROVED,
    (S.PENDING, A.DENY): S.DENIED,
    (S.PENDING, A.CANCEL): S.CANCELLED,
    (S.PENDING, A.RESCHEDULE): S.PENDING,
    (S.APPROVED, A.CANCEL): S.CANCELLED,
    (S.APPROVED, A.RESCHEDULE): S.APPROVED,
    (S.APPROVED, A.BUMP): S.BUMPED,
}

#: Statuses that no action leaves.
TERMINAL_STATUSES = frozenset(
    s for s in BookingStatus if not any(cur == s for cur, _ in TRANSITIONS)
)


def next_status(current: BookingStatus | str, action: BookingAction) -> BookingStatus | None:
    """The status `action` leads to from `current`, or None when the table forbids it."""
    return TRANSITIONS.get((BookingStatus(current), action))


def allowed_actions(current: BookingStatus | str) -> list[BookingAction]:
    """Actions the transition table allows from `current`, in declaration order."""
    cur = BookingStatus(current)
    return [action for (status, action) in TRANSITIONS if status == cur]
