"""Booking policies in the database: the request-time check, approvers, two-person sign-offs,
and the admin services that edit them (each change audited with its previous state).

`check_request_policy` is the one request-time check: single requests and recurring series
both call it inside their own transaction, after flushing any bookings made earlier in it.
"""
from __future__ import annotations

import uuid
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any, Protocol, TypeVar
from uuid import UUID

from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    delete,
    exists,
    false,
    func,
    or_,
    select,
    text,
)
from sqlalchemy.orm import aliased, joinedload

from engine.audit import record, snapshot
from engine.db import AnySelect, UnitOfWork
from engine.domain.audit_actions import AuditAction
from engine.domain.permissions import Permission as P
from engine.domain.permissions import Role, has_permission
from engine.domain.policy import (
    ApprovalMode,
    EffectivePolicy,
    PolicyViolation,
    QuotaUse,
    check_window,
    merge,
    month_bounds,
    quota_breaches,
    validate_policy_values,
    week_bounds,
)
from engine.domain.rules import MAX_DURATION
from engine.domain.status import BookingStatus, WaitlistStatus
from engine.errors import NotFoundError, PermissionDenied, ValidationError
from engine.models import (
    AuditLog,
    Booking,
    BookingPolicy,
    BookingSignOff,
    NotificationPreference,
    Resource,
    ResourceApprover,
    SafetyZone,
    User,
    WaitlistEntry,
)
from engine.notifications.outbox import keep_recipient_facts
from engine.services.common import (
    actor_and_ident,
    as_uuid,
    checked_actor,
    for_update,
    get_or_404,
    load_actor,
)
from engine.services.conflicts import conflict_lower_bound, hard_conflict_in_window
from engine.services.results import AuditView
from engine.system import SYSTEM_USER_ID

OPEN_STATUSES = (BookingStatus.PENDING, BookingStatus.APPROVED)
#: A released no-show still counts against the member's hours quota for its week and month:
#: not turning up does not give the hours back (it never counts as an open booking).
QUOTA_STATUSES = OPEN_STATUSES + (BookingStatus.NO_SHOW,)


# --- the effective policy -------------------------------------------------------------------

def _policy_rows(uow: UnitOfWork, resource: Resource
                 ) -> tuple[BookingPolicy | None, BookingPolicy | None]:
    """The resource type's policy row and the resource's own, in one query (none when an
    earlier statement of this transaction brought them: `_keep_policy_rows`)."""
    key = ("policy_rows", resource.id, resource.resource_type)
    if key not in uow.prefetched:
        _keep_policy_rows(uow, resource, uow.session.scalars(select(BookingPolicy).where(
            _policy_rows_of(resource.id, resource.resource_type))).all())
    return uow.prefetched[key]


def _policy_rows_of(resource_id: Any, resource_type: Any) -> ColumnElement[bool]:
    """SQL condition: the policy row of this resource or of its type (values or columns)."""
    return or_(BookingPolicy.resource_id == resource_id,
               BookingPolicy.resource_type == resource_type)


def _keep_policy_rows(uow: UnitOfWork, resource: Resource,
                      rows: Iterable[BookingPolicy | None]) -> None:
    """Remember the resource's policy rows for the rest of the transaction."""
    found = [r for r in rows if r is not None]
    own = next((r for r in found if r.resource_id == resource.id), None)
    of_type = next((r for r in found if r.resource_type == resource.resource_type), None)
    uow.prefetched[("policy_rows", resource.id, resource.resource_type)] = (of_type, own)


#: Built once (a statement used again skips building and its cache key).
_ACTOR_RESOURCE_POLICIES = (
    select(User, Resource, BookingPolicy).select_from(User)
    .outerjoin(Resource, Resource.id == bindparam("resource_id"))
    .outerjoin(BookingPolicy, _policy_rows_of(Resource.id, Resource.resource_type))
    .where(User.id == bindparam("actor_id")))


#: ... and whether a hard conflict stands in a window (request_booking).
_ACTOR_RESOURCE_POLICIES_WINDOW = _ACTOR_RESOURCE_POLICIES.add_columns(
    hard_conflict_in_window().label("in_the_way"))


def actor_and_resource(uow: UnitOfWork, actor_id: object, permission: P, resource_id: object,
                       window: tuple[datetime, datetime] | None = None
                       ) -> tuple[User, Resource, bool | None]:
    """`load_actor` then `active_resource`, with the same errors in the same order, in one
    round trip that also brings the resource's policy rows (kept for `effective_policy`) and,
    for a `window`, whether a blackout or approved booking stands in it (else None)."""
    actor_uuid, resource_uuid = actor_and_ident(uow, actor_id, permission,
                                                "resource_id", resource_id)
    params: dict[str, Any] = {"actor_id": actor_uuid, "resource_id": resource_uuid}
    statement = _ACTOR_RESOURCE_POLICIES
    if window is not None:
        statement = _ACTOR_RESOURCE_POLICIES_WINDOW
        params |= {"start": window[0], "end": window[1],
                   "lower": conflict_lower_bound(window[0])}
    rows = uow.session.execute(statement, params).all()
    actor = checked_actor(rows[0][0] if rows else None, permission)
    resource = rows[0][1]
    if resource is None:
        raise NotFoundError("resource", resource_id)
    if not resource.is_active:
        raise ValidationError("resource_id", f"resource '{resource.name}' is deactivated")
    _keep_policy_rows(uow, resource, (r[2] for r in rows))
    return actor, resource, bool(rows[0]._mapping["in_the_way"]) if window is not None else None


def effective_policy(uow: UnitOfWork, resource: Resource) -> EffectivePolicy:
    """The resource's rules: its own row's fields, else its type's, else the defaults."""
    return merge(*_policy_rows(uow, resource))


# --- quotas ----------------------------------------------------------------------------------

def lock_quota(uow: UnitOfWork, member_id: UUID, resource_type: str) -> None:
    """Serialise requests counted against one (member, resource type) quota.

    PostgreSQL: a transaction-scoped advisory lock on the two-key space (the zone locks use
    the one-key space, so the two never collide). SQLite: BEGIN IMMEDIATE already serialises.
    Taken after any scope lock of the transaction, never before (UnitOfWork.lock_scope).
    """
    if uow.dialect != "postgresql":
        uow.session.connection()
        return
    member_key = int.from_bytes(member_id.bytes[:4], "big", signed=True)
    type_key = zlib.crc32(resource_type.encode()) - 2**31
    uow.session.execute(text("SELECT pg_advisory_xact_lock(:m, :t)"),
                        {"m": member_key, "t": type_key})


def quota_use(uow: UnitOfWork, member_id: UUID, resource_type: str, start: datetime,
              exclude: frozenset[UUID] = frozenset(), *, hours: bool = True,
              open_count: bool = True) -> QuotaUse:
    """Hours of pending and approved bookings starting in the week and the month of `start`
    (site time zone), and the count of such bookings not yet ended, on this resource type.

    Both read the covering (requester, status, start, end, resource) index: the hours only the
    rows of that week and month, the count only a number.
    """
    week = week_bounds(start, uow.tz)
    month = month_bounds(start, uow.tz)
    of_type = Booking.resource_id.in_(select(Resource.id).where(
        Resource.resource_type == resource_type))
    others = [Booking.id.notin_(exclude)] if exclude else []
    week_h = month_h = 0.0
    if hours:
        rows = uow.session.execute(
            select(Booking.start_time, Booking.end_time).where(
                Booking.requester_id == member_id, Booking.status.in_(QUOTA_STATUSES),
                of_type, *others, Booking.start_time >= min(week[0], month[0]),
                Booking.start_time < max(week[1], month[1]))).all()
        for r in rows:
            length = (r.end_time - r.start_time).total_seconds() / 3600
            if week[0] <= r.start_time < week[1]:
                week_h += length
            if month[0] <= r.start_time < month[1]:
                month_h += length
    count = 0
    if open_count:
        count = uow.session.scalar(select(func.count()).select_from(Booking).where(
            Booking.requester_id == member_id, Booking.status.in_(OPEN_STATUSES), of_type,
            *others, Booking.start_time > uow.now - MAX_DURATION,
            Booking.end_time > uow.now)) or 0
    return QuotaUse(round(week_h, 4), round(month_h, 4), count)


@dataclass(frozen=True)
class PolicyOutcome:
    """What the request-time check decided: the policy, and any quota a staff member exceeded."""

    policy: EffectivePolicy
    exceeded: list[PolicyViolation] = field(default_factory=list)

    @property
    def audit_details(self) -> dict:
        if not self.exceeded:
            return {}
        return {"quota_exceeded": [f"{v.field} ({v.value}): {v.rule}" for v in self.exceeded]}


def check_request_policy(uow: UnitOfWork, actor: User, resource: Resource, start: datetime,
                         end: datetime, *, requester: User | None = None,
                         exclude: frozenset[UUID] = frozenset(),
                         window_rules: bool = True) -> PolicyOutcome:
    """Every booking-policy rule for one requested window, inside the caller's transaction.

    Raises PolicyViolation (a ValidationError naming the rule and its value) on notice,
    advance, length, or a quota the actor may not exceed. Quotas are counted under the
    (member, type) lock, so parallel requests cannot pass a cap together; the lock is held
    until the caller's transaction ends. Staff and admins may exceed quotas: the breaches come
    back in `exceeded` for the caller's audit entry. `window_rules=False` checks the quotas
    only: a waitlist offer's window was checked when the member joined, and an offer may come
    later than the notice period by design.
    """
    of_type, own = _policy_rows(uow, resource)
    policy = merge(of_type, own)
    if window_rules:
        check_window(policy, resource.name, start, end, uow.now)
    member = requester or actor
    quota = merge(of_type, None)  # quotas live on the type's row only
    if not quota.has_quota:
        return PolicyOutcome(policy)
    lock_quota(uow, member.id, resource.resource_type)
    use = quota_use(uow, member.id, resource.resource_type, start, exclude,
                    hours=quota.quota_hours_per_week is not None
                    or quota.quota_hours_per_month is not None,
                    open_count=quota.max_open_bookings is not None)
    breaches = quota_breaches(quota, resource.resource_type, use,
                              (end - start).total_seconds() / 3600)
    if breaches and not has_permission(actor.role, P.QUOTA_EXCEED):
        raise breaches[0]
    return PolicyOutcome(policy, breaches)


# --- the system actor ------------------------------------------------------------------------

# --- approvers -------------------------------------------------------------------------------

def names_approvers_of(resource: Resource) -> ColumnElement[bool]:
    """SQL condition: a ResourceApprover row naming someone for this resource, at any scope."""
    return or_(
        ResourceApprover.resource_id == resource.id,
        ResourceApprover.safety_zone_id == resource.safety_zone_id
        if resource.safety_zone_id else false(),
        ResourceApprover.resource_type == resource.resource_type)


class _Person(Protocol):
    @property
    def is_active(self) -> bool: ...
    @property
    def name(self) -> str: ...


PersonT = TypeVar("PersonT", bound=_Person)


def most_specific_approvers(named: Sequence[tuple[PersonT, Any]]) -> list[PersonT] | None:
    """Of (person, approver row) pairs for one resource, the active people of the most specific
    scope that has any (resource, then zone, then type), by name; None when nobody is named:
    any staff. The row needs only its scope columns."""
    for scope in ("resource_id", "safety_zone_id", "resource_type"):
        chosen = [u for u, r in named if getattr(r, scope) is not None and u.is_active]
        if chosen:
            return sorted(chosen, key=lambda u: u.name)
    return None


def named_approvers(uow: UnitOfWork, resource: Resource) -> list[User] | None:
    """The staff named for this resource (most specific scope wins), or None: any staff."""
    key = _approvers_key(resource)
    if key not in uow.prefetched:
        uow.prefetched[key] = uow.session.scalars(
            select(ResourceApprover).where(names_approvers_of(resource))).all()
    return most_specific_approvers([(r.user, r) for r in uow.prefetched[key]])


def _approvers_key(resource: Resource) -> tuple[Any, ...]:
    return ("approvers", resource.id, resource.safety_zone_id, resource.resource_type)


def prefetch_rules(uow: UnitOfWork, resources: Iterable[Resource]) -> None:
    """The policy rows and named approvers of several resources in one query each, kept for
    the transaction (`effective_policy`, `named_approvers` then ask nothing): a page of the
    approval queue otherwise asked twice per resource on it."""
    todo = {r.id: r for r in resources
            if ("policy_rows", r.id, r.resource_type) not in uow.prefetched
            or _approvers_key(r) not in uow.prefetched}
    if not todo:
        return
    types = {r.resource_type for r in todo.values()}
    zones = {r.safety_zone_id for r in todo.values() if r.safety_zone_id is not None}
    policies = uow.session.scalars(select(BookingPolicy).where(or_(
        BookingPolicy.resource_id.in_(todo), BookingPolicy.resource_type.in_(types)))).all()
    approvers = uow.session.scalars(select(ResourceApprover).where(or_(
        ResourceApprover.resource_id.in_(todo), ResourceApprover.resource_type.in_(types),
        ResourceApprover.safety_zone_id.in_(zones) if zones else false()))).all()
    for r in todo.values():
        _keep_policy_rows(uow, r, [p for p in policies if p.resource_id == r.id
                                   or p.resource_type == r.resource_type])
        uow.prefetched[_approvers_key(r)] = [
            a for a in approvers if a.resource_id == r.id or a.resource_type == r.resource_type
            or (r.safety_zone_id is not None and a.safety_zone_id == r.safety_zone_id)]


@cache
def _decision_statement(*, with_approvers: bool, with_actor: bool = False,
                        with_window: bool = False) -> AnySelect:
    """`reread_for_decision`'s statement, built once per shape; `with_actor` puts the actor
    (by :actor_id) first and outer-joins the rest, for `decision_rows_with_actor`."""
    res = aliased(Resource)  # Booking.resource is eager-joined under an anonymous alias
    offered = exists().where(WaitlistEntry.booking_id == Booking.id,
                             WaitlistEntry.status == WaitlistStatus.OFFERED)
    audit_count = (select(func.count()).select_from(AuditLog)
                   .where(AuditLog.booking_id == Booking.id).scalar_subquery())
    opted_out = (select(func.aggregate_strings(NotificationPreference.kind, ","))
                 .where(NotificationPreference.user_id == Booking.requester_id,
                        NotificationPreference.enabled.is_(False)).scalar_subquery())
    columns = (Booking, BookingPolicy, offered.label("offered"),
               audit_count.label("audit_count"), opted_out.label("opted_out"))
    if with_actor:
        stmt = (select(User, *columns).select_from(User)
                .outerjoin(Booking, Booking.id == bindparam("booking_id"))
                .outerjoin(res, res.id == Booking.resource_id)
                .where(User.id == bindparam("actor_id")))
    else:
        stmt = (select(*columns).select_from(Booking)
                .join(res, res.id == Booking.resource_id)
                .where(Booking.id == bindparam("booking_id")))
    stmt = stmt.outerjoin(BookingPolicy, _policy_rows_of(res.id, res.resource_type))
    if with_approvers:
        stmt = stmt.add_columns(ResourceApprover).outerjoin(ResourceApprover, or_(
            ResourceApprover.resource_id == res.id,
            and_(res.safety_zone_id.is_not(None),
                 ResourceApprover.safety_zone_id == res.safety_zone_id),
            ResourceApprover.resource_type == res.resource_type)).options(
            joinedload(ResourceApprover.user, innerjoin=False))  # outer: maybe no approver
    if with_window:  # last, after the approver: _keep_decision_rows reads by position
        stmt = stmt.add_columns(hard_conflict_in_window().label("in_the_way"))
    return for_update(stmt, Booking)


def reread_for_decision(uow: UnitOfWork, booking_id: UUID, decider: User, *,
                        window: tuple[UUID, datetime, datetime] | None = None) -> Booking:
    """The booking re-read under its row lock (as `lock_row`), with what deciding it looks up
    next: its resource's policy rows, the approvers named for it (not for an admin, who needs
    none), whether a waitlist offer rests on it, and for the requester's e-mail the kinds they
    switched off and the booking's audit count (its calendar SEQUENCE so far). One round trip
    instead of up to five; read after the scope lock like the separate look-ups were.

    `window` (resource, start, end: the booking as read before the lock) also asks whether a
    hard conflict stands there: when the re-read booking still has that window and nothing
    does, approval skips its own conflict query (`clear_of_hard_conflicts`)."""
    admin = decider.role is Role.ADMIN
    params: dict[str, Any] = {"booking_id": booking_id}
    if window is not None:
        params |= {"resource_id": window[0], "start": window[1], "end": window[2],
                   "lower": conflict_lower_bound(window[1])}
    rows = uow.session.execute(_decision_statement(with_approvers=not admin,
                                                   with_window=window is not None),
                               params).all()
    if not rows:
        raise NotFoundError("booking", booking_id)
    booking = _keep_decision_rows(uow, [tuple(r) for r in rows], with_approvers=not admin)
    if window is not None and not rows[0].in_the_way:
        uow.prefetched[("clear_of_hard_conflicts", booking.id)] = window
    return booking


def clear_of_hard_conflicts(uow: UnitOfWork, booking: Booking) -> bool:
    """True when the row-locked re-read found no blackout or approved booking in this
    booking's window as it stands (read under the scope lock, so still true now); used once."""
    seen = uow.prefetched.pop(("clear_of_hard_conflicts", booking.id), None)
    return seen == (booking.resource_id, booking.start_time, booking.end_time)


def decision_rows_with_actor(uow: UnitOfWork, actor_id: UUID, booking_id: UUID
                             ) -> tuple[User | None, Booking | None]:
    """The actor and, in the same statement, the booking with all `reread_for_decision`
    brings (named approvers included, whatever the actor's role). For SQLite, where BEGIN
    IMMEDIATE holds the writer lock before the first read, so no re-read under a lock is
    needed. (None, None): no actor, or no booking (its eager inner joins drop the row)."""
    rows = uow.session.execute(_decision_statement(with_approvers=True, with_actor=True),
                               {"actor_id": actor_id, "booking_id": booking_id}).all()
    if not rows:
        return None, None
    if rows[0][1] is None:
        return rows[0][0], None
    return rows[0][0], _keep_decision_rows(uow, [tuple(r)[1:] for r in rows],
                                           with_approvers=True)


def _keep_decision_rows(uow: UnitOfWork, rows: list[tuple[Any, ...]], *,
                        with_approvers: bool) -> Booking:
    """Keep what the decision statement brought beside the booking (see reread_for_decision)."""
    booking = rows[0][0]
    _keep_policy_rows(uow, booking.resource, (r[1] for r in rows))
    if with_approvers:
        uow.prefetched[_approvers_key(booking.resource)] = list(
            {r[5].id: r[5] for r in rows if r[5] is not None}.values())
    uow.prefetched[("waitlist_offered", booking.id)] = bool(rows[0][2])
    keep_recipient_facts(uow, booking, rows[0][3], rows[0][4])
    return booking


def may_decide(uow: UnitOfWork, actor: User, resource: Resource) -> bool:
    """Admins always; staff when no approvers are named for the resource or they are named."""
    if not has_permission(actor.role, P.BOOKING_APPROVE):
        return False
    if actor.role is Role.ADMIN:
        return True
    named = named_approvers(uow, resource)
    return named is None or any(u.id == actor.id for u in named)


def require_decider(uow: UnitOfWork, actor: User, resource: Resource) -> None:
    if not may_decide(uow, actor, resource):
        names = ", ".join(u.name for u in named_approvers(uow, resource) or [])
        raise PermissionDenied(f"permission denied: requests for '{resource.name}' are decided "
                               f"by its named approvers ({names})")


# --- two-person sign-offs --------------------------------------------------------------------

def valid_sign_offs(uow: UnitOfWork, booking: Booking) -> list[BookingSignOff]:
    """Sign-offs given for the booking's current resource and window (a move voids older ones)."""
    return list(uow.session.scalars(select(BookingSignOff).where(
        BookingSignOff.booking_id == booking.id,
        BookingSignOff.resource_id == booking.resource_id,
        BookingSignOff.start_time == booking.start_time,
        BookingSignOff.end_time == booking.end_time).order_by(BookingSignOff.signed_at)).all())


def add_sign_off(uow: UnitOfWork, actor: User, booking: Booking, *, completes: bool,
                 previous: dict | None = None) -> None:
    """Record one approver's sign-off (audited); the unique key refuses a second by the same."""
    uow.session.add(BookingSignOff(
        id=uuid.uuid4(), booking_id=booking.id, signer_id=actor.id,
        resource_id=booking.resource_id, start_time=booking.start_time,
        end_time=booking.end_time, signed_at=uow.now))
    record(uow.session, actor_id=actor.id, action=AuditAction.SIGNED_OFF, now=uow.now,
           booking_id=booking.id, previous_state=previous or snapshot(booking),
           details={"sign_off": 2 if completes else 1, "of": 2})
    uow.session.flush()


@dataclass(frozen=True)
class SignOffStatus:
    """Who has signed a two-person booking, and who may still give the second sign-off."""

    signed_by: list[str]
    needed: int
    candidates: list[str] | None  # None: any staff member other than the signer(s)

    def describe(self) -> str:
        signed = ", ".join(self.signed_by) if self.signed_by else "nobody yet"
        who = ("any other staff member" if self.candidates is None
               else ", ".join(self.candidates) or "no other named approver")
        return f"signed by {signed}; {self.needed} more needed from {who}"


def sign_off_status(uow: UnitOfWork, bookings: Sequence[Booking]
                    ) -> dict[UUID, SignOffStatus]:
    """For the queue: the two-person bookings among these, with their sign-offs."""
    out: dict[UUID, SignOffStatus] = {}
    policies: dict[UUID, EffectivePolicy] = {}
    for b in bookings:
        if b.resource_id not in policies:
            policies[b.resource_id] = effective_policy(uow, b.resource)
        if policies[b.resource_id].approval_mode is not ApprovalMode.TWO_PERSON:
            continue
        signs = valid_sign_offs(uow, b)
        signer_ids = {s.signer_id for s in signs}
        named = named_approvers(uow, b.resource)
        out[b.id] = SignOffStatus(
            [s.signer.name for s in signs], max(0, 2 - len(signs)),
            None if named is None else [u.name for u in named if u.id not in signer_ids])
    return out


# --- admin services --------------------------------------------------------------------------

@dataclass(frozen=True)
class PolicyView:
    id: UUID
    resource_type: str | None
    resource_id: UUID | None
    resource_name: str | None
    approval_mode: str | None
    min_notice_minutes: int | None
    max_advance_days: int | None
    min_length_minutes: int | None
    max_length_minutes: int | None
    quota_hours_per_week: int | None
    quota_hours_per_month: int | None
    max_open_bookings: int | None

    @classmethod
    def of(cls, p: BookingPolicy, resource_name: str | None = None) -> PolicyView:
        return cls(p.id, p.resource_type, p.resource_id, resource_name,
                   p.approval_mode.value if p.approval_mode else None, p.min_notice_minutes,
                   p.max_advance_days, p.min_length_minutes, p.max_length_minutes,
                   p.quota_hours_per_week, p.quota_hours_per_month, p.max_open_bookings)


def list_policies(uow: UnitOfWork, actor_id: object) -> list[PolicyView]:
    """Every type's and resource's policy row (types first)."""
    with uow.read():
        load_actor(uow, actor_id, P.RESOURCE_VIEW)
        rows = uow.session.execute(
            select(BookingPolicy, Resource.name).outerjoin(
                Resource, Resource.id == BookingPolicy.resource_id)).all()
        views = [PolicyView.of(p, name) for p, name in rows]
        return sorted(views, key=lambda v: (v.resource_id is not None, v.resource_type or "",
                                            v.resource_name or ""))


def get_effective_policy(uow: UnitOfWork, actor_id: object, resource_id: object
                         ) -> EffectivePolicy:
    """What applies to one resource, for forms that show the rules before a request."""
    with uow.read():
        load_actor(uow, actor_id, P.RESOURCE_VIEW)
        return effective_policy(uow, get_or_404(uow, Resource, resource_id, "resource",
                                                "resource_id"))


def _type_name(value: object) -> str:
    """A resource type naming a policy or approver scope: 1 to 50 characters (the columns)."""
    name = str(value).strip()
    if not name or len(name) > 50:
        raise ValidationError("resource_type", "must be 1 to 50 characters")
    return name


def set_policy(uow: UnitOfWork, actor_id: object, *, resource_type: str | None = None,
               resource_id: object | None = None, **values: object) -> PolicyView:
    """Create or change the policy of a resource type or of one resource (admins only).

    Only the fields given change; None clears a field (it then inherits).
    """
    with uow:
        actor = load_actor(uow, actor_id, P.CONFIG_MANAGE)
        if (resource_type is None) == (resource_id is None):
            raise ValidationError("resource_type", "give a resource type or a resource, not both")
        resource = None
        if resource_id is not None:
            resource = get_or_404(uow, Resource, resource_id, "resource", "resource_id")
            row = uow.session.scalars(select(BookingPolicy).where(
                BookingPolicy.resource_id == resource.id)).one_or_none()
        else:
            resource_type = _type_name(resource_type)
            row = uow.session.scalars(select(BookingPolicy).where(
                BookingPolicy.resource_type == resource_type)).one_or_none()
        clean = validate_policy_values(values, for_resource=resource is not None)
        if row is not None:
            merged = {k: getattr(row, k) for k in clean} | clean
            lo = merged.get("min_length_minutes", row.min_length_minutes)
            hi = merged.get("max_length_minutes", row.max_length_minutes)
            if lo is not None and hi is not None and lo > hi:
                raise ValidationError("max_length_minutes",
                                      "must not be less than min_length_minutes")
        previous = snapshot(row) if row is not None else None
        if row is None:
            row = BookingPolicy(id=uuid.uuid4(), resource_type=None if resource else resource_type,
                                resource_id=resource.id if resource else None,
                                created_at=uow.now)
            uow.session.add(row)
        for name, value in clean.items():
            setattr(row, name, value)
        row.updated_at = uow.now
        uow.session.flush()
        record(uow.session, actor_id=actor.id, now=uow.now, entity=row,
               action=AuditAction.POLICY_UPDATED if previous else AuditAction.POLICY_CREATED,
               previous_state=previous,
               details={"scope": resource.name if resource else resource_type,
                        **{k: (v.value if isinstance(v, ApprovalMode) else v)
                           for k, v in clean.items()}})
        view = PolicyView.of(row, resource.name if resource else None)
        uow.commit()
        return view


def delete_policy(uow: UnitOfWork, actor_id: object, policy_id: object) -> None:
    """Remove a policy row: its scope falls back to its type's rules or the defaults."""
    with uow:
        actor = load_actor(uow, actor_id, P.CONFIG_MANAGE)
        row = get_or_404(uow, BookingPolicy, policy_id, "policy", "policy_id")
        record(uow.session, actor_id=actor.id, action=AuditAction.POLICY_DELETED, now=uow.now,
               entity=row, previous_state=snapshot(row))
        uow.session.delete(row)
        uow.commit()


@dataclass(frozen=True)
class ApproverScope:
    """What an approver list is for; audited as one entity per scope."""

    __tablename__ = "resource_approvers"
    resource_type: str | None = None
    safety_zone_id: UUID | None = None
    resource_id: UUID | None = None

    @property
    def id(self) -> UUID:
        key = f"{self.resource_type}|{self.safety_zone_id}|{self.resource_id}"
        return uuid.uuid5(SYSTEM_USER_ID, key)

    def clause(self):
        return (ResourceApprover.resource_type == self.resource_type
                if self.resource_type is not None
                else ResourceApprover.safety_zone_id == self.safety_zone_id
                if self.safety_zone_id is not None
                else ResourceApprover.resource_id == self.resource_id)


@dataclass(frozen=True)
class ApproverView:
    user_id: UUID
    name: str
    resource_type: str | None
    safety_zone_id: UUID | None
    resource_id: UUID | None


def _scope(uow: UnitOfWork, resource_type, safety_zone_id, resource_id) -> ApproverScope:
    given = [x for x in (resource_type, safety_zone_id, resource_id) if x]
    if len(given) != 1:
        raise ValidationError("scope", "name exactly one of resource_type, safety_zone_id, "
                                       "resource_id")
    if safety_zone_id:
        return ApproverScope(safety_zone_id=get_or_404(uow, SafetyZone, safety_zone_id,
                                                       "safety zone", "safety_zone_id").id)
    if resource_id:
        return ApproverScope(resource_id=get_or_404(uow, Resource, resource_id, "resource",
                                                    "resource_id").id)
    # Checked like a policy's type: a blank one once became a scope matching every row.
    return ApproverScope(resource_type=_type_name(resource_type))


def set_approvers(uow: UnitOfWork, actor_id: object, user_ids: list[object], *,
                  resource_type: str | None = None, safety_zone_id: object | None = None,
                  resource_id: object | None = None) -> list[ApproverView]:
    """Name the staff who decide requests for a type, zone or resource (replaces the list;
    an empty list returns the scope to all staff). Admins only; audited with the old list."""
    with uow:
        actor = load_actor(uow, actor_id, P.CONFIG_MANAGE)
        scope = _scope(uow, resource_type, safety_zone_id, resource_id)
        users = []
        for raw in dict.fromkeys(as_uuid("user_ids", u) for u in user_ids):
            user = uow.session.get(User, raw)
            if user is None or not user.is_active:
                raise ValidationError("user_ids", f"user {raw} is not an active account")
            if not has_permission(user.role, P.BOOKING_APPROVE):
                raise ValidationError("user_ids", f"{user.name} is a {user.role.value}: only "
                                                  "staff and admins can approve")
            users.append(user)
        old = uow.session.scalars(select(ResourceApprover).where(scope.clause())).all()
        previous = {"approvers": sorted(str(r.user_id) for r in old)}
        uow.session.execute(delete(ResourceApprover).where(scope.clause()))
        for user in users:
            uow.session.add(ResourceApprover(
                id=uuid.uuid4(), user_id=user.id, resource_type=scope.resource_type,
                safety_zone_id=scope.safety_zone_id, resource_id=scope.resource_id,
                created_at=uow.now))
        record(uow.session, actor_id=actor.id, action=AuditAction.APPROVERS_CHANGED, now=uow.now,
               entity=scope, previous_state=previous,
               details={"resource_type": scope.resource_type,
                        "safety_zone_id": scope.safety_zone_id,
                        "resource_id": scope.resource_id,
                        "approvers": [u.name for u in users]})
        uow.session.flush()
        views = [ApproverView(u.id, u.name, scope.resource_type, scope.safety_zone_id,
                              scope.resource_id) for u in users]
        uow.commit()
        return views


def list_approvers(uow: UnitOfWork, actor_id: object) -> list[ApproverView]:
    with uow.read():
        load_actor(uow, actor_id, P.RESOURCE_VIEW)
        rows = uow.session.scalars(select(ResourceApprover)).all()
        return sorted((ApproverView(r.user_id, r.user.name, r.resource_type, r.safety_zone_id,
                                    r.resource_id) for r in rows),
                      key=lambda v: (str(v.resource_type), str(v.safety_zone_id),
                                     str(v.resource_id), v.name))


__all__ = [
    "ApprovalMode", "PolicyOutcome", "PolicyView", "SignOffStatus", "add_sign_off",
    "check_request_policy", "delete_policy", "effective_policy", "get_effective_policy",
    "list_approvers", "list_policies", "lock_quota", "policy_history", "may_decide",
    "named_approvers",
    "quota_use", "require_decider", "set_approvers", "set_policy", "sign_off_status",
    "valid_sign_offs",
]


POLICY_ENTITIES = ("booking_policies", "resource_approvers")


def policy_history(uow: UnitOfWork, actor_id: object, *, limit: int = 50) -> list[AuditView]:
    """The latest audited policy and approver changes, newest first, each with its previous
    state (admins: the policy page shows it beside the editor)."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 500:
        raise ValidationError("limit", "must be a whole number from 1 to 500")
    with uow.read():
        load_actor(uow, actor_id, P.CONFIG_MANAGE)
        rows = uow.session.execute(
            select(AuditLog, User.name).join(User, User.id == AuditLog.actor_id)
            .where(AuditLog.entity_type.in_(POLICY_ENTITIES))
            .order_by(AuditLog.timestamp.desc(), AuditLog.id).limit(limit)).all()
        return [AuditView.of(a, name) for a, name in rows]
