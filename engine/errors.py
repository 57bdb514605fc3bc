"""Domain errors. Each carries a message a person can act on, naming the field or the booking."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID


class DomainError(Exception):
    """Base of every error a service raises on purpose; entrypoints show its message as is."""

    code = "domain_error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ValidationError(DomainError):
    """Bad input: names the field and the rule it broke."""

    code = "validation_error"

    def __init__(self, field: str, rule: str):
        super().__init__(f"{field}: {rule}")
        self.field = field
        self.rule = rule


class NotFoundError(DomainError):
    code = "not_found"

    def __init__(self, kind: str, ident: object):
        super().__init__(f"{kind} {ident} not found")
        self.kind = kind
        self.ident = ident


class PermissionDenied(DomainError):
    code = "permission_denied"


class AuthenticationError(DomainError):
    code = "authentication_failed"


class SignInThrottled(AuthenticationError):
    """Too many failed sign-ins for this e-mail from this source (or, past the e-mail's cap, from
    many): wait `retry_after` seconds.
    Raised alike for real and unknown e-mails, so it reveals nothing about either."""

    code = "sign_in_throttled"

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class StateConflict(DomainError):
    """The booking or waitlist entry is in a state that does not allow the action now (its
    status, its check-in, or its time): no field of the request is wrong, so it is a 409, not a
    422. The message names the thing, its state and why."""

    code = "state_conflict"

    def __init__(self, kind: str, ident: UUID, state: str, action: str, why: str):
        super().__init__(f"{kind} {str(ident)[:8]} is {state}: {why}")
        self.kind = kind
        self.ident = ident
        self.state = state
        self.action = action


class InvalidTransition(StateConflict):
    """The booking transition table (engine/domain/status.py) forbids the action."""

    code = "invalid_transition"

    def __init__(self, booking_id: UUID, status: str, action: str):
        super().__init__("booking", booking_id, status,
                         action, f"the action '{action}' is not allowed from {status}")
        self.booking_id = booking_id
        self.status = status


#: Why a waitlist entry in each status refuses a step it may not take.
_WAITLIST_WHY = {
    "waiting": "no offer has been made on it yet",
    "offered": "it holds an offer: accept or decline it",
}


class WaitlistTransition(StateConflict):
    """The waitlist table (WAITLIST_TRANSITIONS in engine/domain/status.py) forbids the step."""

    code = "invalid_waitlist_transition"

    def __init__(self, entry_id: UUID, status: str, target: str):
        # every target status reads as the step's past participle: accepted, declined, left...
        why = _WAITLIST_WHY.get(status, "it is no longer on the waitlist")
        super().__init__("waitlist entry", entry_id, status, target,
                         f"it cannot be {target} now ({why})")
        self.entry_id = entry_id
        self.status = status
        self.target = target


@dataclass(frozen=True)
class ConflictItem:
    """One thing in the way: an approved booking or a blackout window."""

    kind: str  # "booking" or "blackout"
    id: UUID
    resource_id: UUID
    resource_name: str
    start_time: datetime
    end_time: datetime
    priority: int | None = None
    status: str | None = None
    label: str = ""

    def describe(self) -> str:
        what = "booking" if self.kind == "booking" else "blackout"
        prio = f", priority {self.priority}" if self.priority is not None else ""
        return (f"{what} {str(self.id)[:8]} on {self.resource_name} "
                f"{self.start_time.isoformat()} to {self.end_time.isoformat()}{prio}")


class ConflictError(DomainError):
    """An approval (or reschedule, or blackout) meets hard conflicts; lists each one."""

    code = "conflict"

    def __init__(self, message: str, conflicts: list[ConflictItem]):
        detail = "; ".join(c.describe() for c in conflicts)
        super().__init__(f"{message}: {detail}" if conflicts else message)
        self.summary = message
        self.conflicts = conflicts
