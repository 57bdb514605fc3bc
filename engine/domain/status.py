"""Booking statuses and the one table of allowed transitions that every service uses."""
from __future__ import annotations

import enum
from collections.abc import Iterable

from engine.errors import ValidationError


class BookingStatus(str, enum.Enum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    CANCELLED = "cancelled"
    BUMPED = "bumped"
    NO_SHOW = "no_show"


class BookingAction(str, enum.Enum):
    APPROVE = "approve"
    DENY = "deny"
    CANCEL = "cancel"
    RESCHEDULE = "reschedule"
    BUMP = "bump"
    CHECK_IN = "check_in"
    CHECK_OUT = "check_out"
    RELEASE_NO_SHOW = "release_no_show"


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
    # Day of operations: attendance is recorded on an approved booking without leaving it;
    # one not checked in by the end of its grace period is released by the system.
    (S.APPROVED, A.CHECK_IN): S.APPROVED,
    (S.APPROVED, A.CHECK_OUT): S.APPROVED,
    (S.APPROVED, A.RELEASE_NO_SHOW): S.NO_SHOW,
}

#: Statuses that no action leaves.
TERMINAL_STATUSES = frozenset(
    s for s in BookingStatus if not any(cur == s for cur, _ in TRANSITIONS)
)


def parse_statuses(values: Iterable[BookingStatus | str],
                   field: str = "status") -> list[BookingStatus]:
    """Status filters as given by a page or a query string, each one a known status."""
    try:
        return [BookingStatus(v) for v in values]
    except ValueError:
        raise ValidationError(field, "must be one of "
                              + ", ".join(s.value for s in BookingStatus)) from None


def next_status(current: BookingStatus | str, action: BookingAction) -> BookingStatus | None:
    """The status `action` leads to from `current`, or None when the table forbids it."""
    return TRANSITIONS.get((BookingStatus(current), action))


def allowed_actions(current: BookingStatus | str) -> list[BookingAction]:
    """Actions the transition table allows from `current`, in declaration order."""
    cur = BookingStatus(current)
    return [action for (status, action) in TRANSITIONS if status == cur]


class WaitlistStatus(str, enum.Enum):
    """A waitlist entry: waiting for its window, offered it (as a pending request), and how it
    ended."""

    WAITING = "waiting"
    OFFERED = "offered"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    LEFT = "left"


W = WaitlistStatus

#: (current, next) pairs a waitlist entry may take; anything else is refused.
WAITLIST_TRANSITIONS: frozenset[tuple[WaitlistStatus, WaitlistStatus]] = frozenset({
    (W.WAITING, W.OFFERED),
    (W.WAITING, W.LEFT),
    (W.OFFERED, W.ACCEPTED),
    (W.OFFERED, W.DECLINED),
    (W.OFFERED, W.EXPIRED),
})

#: Entries still in the queue: a member holds at most one of these per resource and window.
LIVE_WAITLIST_STATUSES = (W.WAITING, W.OFFERED)


def waitlist_step_allowed(current: WaitlistStatus | str, target: WaitlistStatus | str) -> bool:
    return (WaitlistStatus(current), WaitlistStatus(target)) in WAITLIST_TRANSITIONS
