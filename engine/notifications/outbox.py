"""Enqueue e-mails in the caller's unit of work: the transactional outbox.

Any service that changes something people should hear about calls one of these *inside its
`with uow:` block, before `uow.commit()`*. The rows commit or roll back with the change, so a
change that fails sends nothing, and the notify worker (`python -m engine notify`) delivers
what committed.

    from engine.notifications import NotificationEvent, enqueue_booking_event, enqueue_message

    enqueue_booking_event(uow, booking, NotificationEvent.APPROVED, actor=actor)
    enqueue_booking_event(uow, booking, "booking_checked_in", actor=actor, note="...")  # new kinds
    enqueue_message(uow, user, "account", subject="Reset your password", body="...")

`enqueue_booking_event` picks the recipients (the requester; for `REQUESTED` the staff who
approve for the resource, see `approvers_for`), honours each person's preferences, and stores
a JSON snapshot of the booking (resource, window, status, reason, plus your `**context`) that
the worker renders with the kind's templates at send time. Booking status changes made through
`engine.services.lifecycle.set_status` already enqueue (approve, deny, cancel, bump); pass
`notify=False` there to stay silent, or `notify_event=` / `notify_context=` to say more.
"""
from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import and_, bindparam, func, literal, or_, select

from engine.audit import jsonable
from engine.db import AUDIT_COUNTS, UnitOfWork, queue_rows, queued_rows, table_of
from engine.domain.permissions import Role
from engine.models import AuditLog, Booking, NotificationPreference, OutboxMessage, User
from engine.notifications.events import ACCOUNT, ICAL_METHOD, NotificationEvent


def _kind(kind: NotificationEvent | str) -> str:
    value = kind.value if isinstance(kind, enum.Enum) else str(kind)
    if not value or len(value) > 50:
        raise ValueError(f"notification kind must be 1-50 characters: {value!r}")
    return value


def booking_context(booking: Booking) -> dict[str, Any]:
    """The booking as the templates need it, frozen at the moment of the change."""
    resource = booking.resource
    zone = resource.safety_zone if resource is not None else None
    return jsonable({
        "booking_id": booking.id,
        "resource_id": booking.resource_id,
        "resource_name": resource.name if resource is not None else None,
        "resource_type": resource.resource_type if resource is not None else None,
        "zone_name": zone.name if zone is not None else None,
        "start_time": booking.start_time,
        "end_time": booking.end_time,
        "status": booking.status,
        "purpose": booking.purpose,
        "priority": booking.priority,
        "reason": booking.decision_reason,
        "requester_name": booking.requester.name if booking.requester is not None else None,
    })


def calendar_sequence(uow: UnitOfWork, booking_id: uuid.UUID) -> int:
    """iCalendar SEQUENCE of a booking: its audit entries so far (changes to one booking are
    serialised by its row lock, so each change sees a larger number than the one before)."""
    written = uow.session.scalar(select(func.count()).select_from(AuditLog)
                                 .where(AuditLog.booking_id == booking_id)) or 0
    return int(written) + sum(1 for r in queued_rows(uow.session, table_of(AuditLog))
                              if r["booking_id"] == booking_id)


@dataclass(frozen=True)
class Recipient:
    """Who an e-mail goes to, as a plain row (the new-request recipients are read as columns:
    loading a User object per staff member was a fifth of a request's CPU)."""

    id: uuid.UUID
    email: str
    name: str
    role: Role
    is_active: bool


def approvers_for(uow: UnitOfWork, booking: Booking) -> list[Recipient]:
    """Who is told of a new request: the resource's named approvers when it has them
    (engine/services/policies.py), else every active staff member and admin."""
    return _approvers_and_opted_out(uow, booking, None)[0]


def _approvers_and_opted_out(uow: UnitOfWork, booking: Booking, kind: str | None
                             ) -> tuple[list[Recipient], set[uuid.UUID]]:
    """`approvers_for`, and (for a `kind`) which of them switched that kind off: one round
    trip for a new request's recipients and their preferences."""
    from engine.services.policies import most_specific_approvers  # late: services import us

    resource = booking.resource
    rows = uow.session.execute(_approvers_statement(with_preferences=kind is not None), {
        "resource_id": resource.id, "zone_id": resource.safety_zone_id,
        "resource_type": resource.resource_type, "kind": kind}).all()
    people = {r.id: Recipient(r.id, r.email, r.name, r.role, r.is_active) for r in rows}
    opted_out = {r.opted_out for r in rows if r.opted_out is not None} if kind else set()
    named = most_specific_approvers([(people[r.id], r) for r in rows
                                     if r.approver_id is not None])
    if named is not None:
        return sorted(named, key=lambda u: u.email), opted_out
    return [u for u in people.values() if u.role in (Role.STAFF, Role.ADMIN)], opted_out


@cache
def _approvers_statement(*, with_preferences: bool) -> Any:
    """Active staff and admins, each with the approver rows naming them for a resource (named
    people of other roles come too, as named_approvers returns them), and with the preference
    row of those who switched `kind` off. Built once with bound parameters (a statement used
    again skips building and its cache key); a zone of NULL matches no zone row, as
    `names_approvers_of` says for a resource without one."""
    from engine.models import ResourceApprover  # late: the services import the outbox

    names = or_(ResourceApprover.resource_id == bindparam("resource_id"),
                ResourceApprover.safety_zone_id == bindparam("zone_id"),
                ResourceApprover.resource_type == bindparam("resource_type"))
    stmt = (select(User.id, User.email, User.name, User.role, User.is_active,
                   ResourceApprover.id.label("approver_id"), ResourceApprover.resource_id,
                   ResourceApprover.safety_zone_id, ResourceApprover.resource_type)
            .outerjoin(ResourceApprover, and_(ResourceApprover.user_id == User.id, names))
            .where(User.is_active.is_(True),
                   or_(User.role.in_([Role.STAFF, Role.ADMIN]), ResourceApprover.id.is_not(None)))
            .order_by(User.email))
    if with_preferences:
        stmt = stmt.add_columns(NotificationPreference.user_id.label("opted_out")).outerjoin(
            NotificationPreference, and_(
                NotificationPreference.user_id == User.id,
                NotificationPreference.kind == bindparam("kind"),
                NotificationPreference.enabled.is_(False)))
    return stmt


_OPTED_OUT = select(NotificationPreference.user_id).where(
    NotificationPreference.kind == bindparam("kind"), NotificationPreference.enabled.is_(False),
    NotificationPreference.user_id.in_(bindparam("user_ids", expanding=True)))


def _opted_out(uow: UnitOfWork, user_ids: list[uuid.UUID], kind: str) -> set[uuid.UUID]:
    if not user_ids:
        return set()
    return set(uow.session.scalars(_OPTED_OUT, {"kind": kind, "user_ids": user_ids}))


#: `_opted_out` and `calendar_sequence` in one statement: the sequence as a scalar subquery on
#: every row, the opted-out people outer-joined to a single row (NULL if none).
_OPTED_OUT_AND_SEQUENCE = select(
    select(func.count()).select_from(AuditLog)
    .where(AuditLog.booking_id == bindparam("booking_id")).scalar_subquery(),
    NotificationPreference.user_id,
).select_from(select(literal(1).label("one")).subquery()).outerjoin(
    NotificationPreference, and_(
        NotificationPreference.kind == bindparam("kind"),
        NotificationPreference.enabled.is_(False),
        NotificationPreference.user_id.in_(bindparam("user_ids", expanding=True))))


def _opted_out_and_sequence(uow: UnitOfWork, user_ids: list[uuid.UUID], kind: str,
                            booking_id: uuid.UUID) -> tuple[set[uuid.UUID], int]:
    """`_opted_out` and `calendar_sequence` in one round trip."""
    rows = uow.session.execute(_OPTED_OUT_AND_SEQUENCE, {
        "booking_id": booking_id, "kind": kind, "user_ids": user_ids}).all()
    waiting = sum(1 for r in queued_rows(uow.session, table_of(AuditLog))
                  if r["booking_id"] == booking_id)  # this transaction's, not written yet
    return {r[1] for r in rows if r[1] is not None}, int(rows[0][0] or 0) + waiting


def keep_recipient_facts(uow: UnitOfWork, booking: Booking, audit_count: int,
                         opted_out_kinds: str | None) -> None:
    """What a statement that read the booking under its row lock also brought for its
    requester's e-mail: the kinds they switched off (comma-separated) and the booking's audit
    rows so far, so `enqueue_booking_event` needs no look-up of its own. The count stays true
    while only queued audit rows are added (see `queue_rows`); an audit row added through the
    session (`engine.audit.record`) or written early drops it (`forget_audit_counts`)."""
    uow.prefetched[("opted_out_kinds", booking.requester_id)] = set(
        (opted_out_kinds or "").split(",")) - {""}
    uow.session.info.setdefault(AUDIT_COUNTS, {})[booking.id] = int(audit_count or 0)


def _known_skip_and_sequence(uow: UnitOfWork, recipients: Sequence[User | Recipient], kind: str,
                             booking_id: uuid.UUID) -> tuple[set[uuid.UUID], int] | None:
    """`_opted_out_and_sequence` from what `keep_recipient_facts` kept, when it covers these
    recipients (one person, read with the booking), else None."""
    if len(recipients) != 1:
        return None
    kinds = uow.prefetched.get(("opted_out_kinds", recipients[0].id))
    written = uow.session.info.get(AUDIT_COUNTS, {}).get(booking_id)
    if kinds is None or written is None:
        return None
    waiting = sum(1 for r in queued_rows(uow.session, table_of(AuditLog))
                  if r["booking_id"] == booking_id)
    return ({recipients[0].id} if kind in kinds else set()), written + waiting


def _add(uow: UnitOfWork, **fields: Any) -> OutboxMessage:
    """One message as an ORM object in the session (a dedupe key's clash then surfaces at
    the caller's flush, where it expects it)."""
    row = OutboxMessage(**_row(uow, **fields))
    uow.session.add(row)
    return row


def _row(uow: UnitOfWork, *, kind: str, email: str, user_id: uuid.UUID | None,
         booking_id: uuid.UUID | None, context: dict, subject: str | None = None,
         body: str | None = None, html: str | None = None,
         dedupe_key: str | None = None) -> dict[str, Any]:
    """The notification_outbox row of one message, as column values."""
    return {"id": uuid.uuid4(), "kind": kind, "recipient_user_id": user_id,
            "recipient_email": email, "booking_id": booking_id, "context": context,
            "subject": subject, "body_text": body, "body_html": html, "dedupe_key": dedupe_key,
            "status": "pending", "attempts": 0, "next_attempt_at": uow.now,
            "created_at": uow.now}


def enqueue_booking_event(uow: UnitOfWork, booking: Booking, event: NotificationEvent | str, *,
                          actor: User | None = None,
                          recipients: Sequence[User | Recipient] | None = None,
                          **context: Any) -> list[dict[str, Any]]:
    """Queue the e-mails for one booking event in the caller's transaction.

    Recipients: `recipients` when given, else the approvers for `REQUESTED` (minus the actor)
    and the requester for every other event. People who switched the kind off are skipped.
    `context` adds template values (JSON-ready: datetimes and UUIDs are converted).
    """
    kind = _kind(event)
    skip: set[uuid.UUID] | None = None
    if recipients is None:
        if kind == NotificationEvent.REQUESTED.value:
            approvers, skip = _approvers_and_opted_out(uow, booking, kind)
            recipients = [u for u in approvers if actor is None or u.id != actor.id]
        else:
            recipients = [booking.requester]
    recipients = [u for u in recipients if u is not None and u.is_active]
    data = booking_context(booking)
    data.update(jsonable(context))
    data["actor_name"] = actor.name if actor is not None else None
    if kind in ICAL_METHOD and recipients:
        known = _known_skip_and_sequence(uow, recipients, kind, booking.id)
        skip, data["ical_sequence"] = known if known is not None else _opted_out_and_sequence(
            uow, [u.id for u in recipients], kind, booking.id)
    elif skip is None:
        skip = _opted_out(uow, [u.id for u in recipients], kind)
    rows = [_row(uow, kind=kind, email=u.email, user_id=u.id, booking_id=booking.id,
                 context=data | {"recipient_name": u.name})
            for u in recipients if u.id not in skip]
    queue_rows(uow.session, table_of(OutboxMessage), rows)  # no ORM objects: see queue_rows
    return rows


def enqueue_message(uow: UnitOfWork, to: User | str, kind: str = ACCOUNT, *, subject: str,
                    body: str, html: str | None = None, respect_preferences: bool = False,
                    booking: Booking | None = None, dedupe_key: str | None = None,
                    **context: Any) -> OutboxMessage | None:
    """Queue one ready-written e-mail (e.g. a password reset) in the caller's transaction.

    `to` is a user or a bare address. Account mail ignores preferences; pass
    `respect_preferences=True` for optional kinds. Returns None when the person opted out.
    """
    kind = _kind(kind)
    user = to if isinstance(to, User) else None
    email = user.email if user is not None else str(to).strip()
    if "@" not in email:
        raise ValueError(f"not an e-mail address: {email!r}")
    if user is not None and respect_preferences and _opted_out(uow, [user.id], kind):
        return None
    return _add(uow, kind=kind, email=email, user_id=user.id if user else None,
                booking_id=booking.id if booking is not None else None,
                context=jsonable(context) | {"recipient_name": user.name if user else None},
                subject=subject, body=body, html=html, dedupe_key=dedupe_key)
