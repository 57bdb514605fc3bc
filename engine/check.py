"""`python -m engine check`: does this database still keep the system's promises?

Checks: migrations at head; no two approved bookings overlapping on one resource or on two
resources of one safety zone (the database refuses both: only raw SQL with its constraint or
triggers dropped could produce them); no approved booking over a blackout on its resource or
zone (likewise refused); every booking's scope_id matching its resource's zone;
no booking longer than the rules allow (reports rely on it); every booking has its 'created'
audit entry; every booking whose status records a decision (approved, denied, bumped,
cancelled, no_show) has the matching entry; in production, that the applications' role cannot erase
the audit trail.
Any finding makes the command exit 1, so a cron or CI job can alert on it.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    exists,
    func,
    literal_column,
    not_,
    or_,
    select,
    text,
)
from sqlalchemy.orm import Session, aliased

from engine import migrate
from engine.domain.audit_actions import AuditAction
from engine.domain.overlap import overlaps_clause
from engine.domain.rules import MAX_DURATION
from engine.domain.status import BookingStatus
from engine.models import AuditLog, Blackout, Booking, Resource

#: Examples listed per kind of finding (the count is always complete).
EXAMPLES = 20

#: A booking in this status must have an audit entry with this action.
STATUS_AUDIT = {
    BookingStatus.APPROVED: AuditAction.APPROVED,
    BookingStatus.DENIED: AuditAction.DENIED,
    BookingStatus.BUMPED: AuditAction.BUMPED,
    BookingStatus.CANCELLED: AuditAction.CANCELLED,
    BookingStatus.NO_SHOW: AuditAction.NO_SHOW,
}


@dataclass
class Finding:
    kind: str
    count: int
    message: str
    examples: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class CheckResult:
    revision: str | None
    head: str | None
    findings: list[Finding]

    @property
    def ok(self) -> bool:
        return not self.findings

    def to_json(self) -> str:
        return json.dumps({"ok": self.ok, "revision": self.revision, "head": self.head,
                           "findings": [asdict(f) for f in self.findings]}, indent=2, default=str)

    def to_text(self) -> str:
        lines = [f"schema revision {self.revision} (head {self.head})"]
        if self.ok:
            lines.append("OK: no findings")
        for f in self.findings:
            lines.append(f"FINDING {f.kind}: {f.message}")
            lines.extend(f"  - {json.dumps(e, default=str, sort_keys=True)}" for e in f.examples)
            if f.count > len(f.examples):
                lines.append(f"  ... and {f.count - len(f.examples)} more")
        return "\n".join(lines)


def _overlap_pairs(session: Session, *, same_zone: bool) -> tuple[int, list[dict[str, Any]]]:
    """Approved pairs that overlap on one resource (or on two resources sharing a zone).

    Each pair is counted once: `b` starts no earlier than `a` (ties broken by id). Together with
    the overlap predicate this bounds b.start_time to [a.start, a.end), an index range scan,
    instead of comparing every booking of a resource with every other.
    """
    a, b = aliased(Booking, name="a"), aliased(Booking, name="b")
    ra, rb = aliased(Resource, name="ra"), aliased(Resource, name="rb")
    ordered = and_(b.start_time >= a.start_time,
                   not_(and_(b.start_time == a.start_time, b.id <= a.id)))
    approved = and_(a.status == BookingStatus.APPROVED, b.status == BookingStatus.APPROVED)
    overlap = overlaps_clause(a.start_time, a.end_time, b.start_time, b.end_time)
    if same_zone:
        scope = and_(ra.id == a.resource_id, rb.id == b.resource_id,
                     ra.safety_zone_id.is_not(None), ra.safety_zone_id == rb.safety_zone_id,
                     a.resource_id != b.resource_id)
        base = select(a.id, b.id, ra.name, rb.name, ra.safety_zone_id, a.start_time, a.end_time,
                      b.start_time, b.end_time).select_from(a).join(b, and_(ordered, overlap)) \
            .join(ra, ra.id == a.resource_id).join(rb, rb.id == b.resource_id) \
            .where(approved, scope)
    else:
        base = select(a.id, b.id, ra.name, ra.name, ra.safety_zone_id, a.start_time, a.end_time,
                      b.start_time, b.end_time).select_from(a) \
            .join(b, and_(b.resource_id == a.resource_id, ordered, overlap)) \
            .join(ra, ra.id == a.resource_id).where(approved)
    count = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    examples = [
        {"booking_a": str(ia), "booking_b": str(ib), "resource_a": na, "resource_b": nb,
         **({"safety_zone_id": str(z)} if same_zone else {}),
         "a": f"{sa.isoformat()} - {ea.isoformat()}", "b": f"{sb.isoformat()} - {eb.isoformat()}"}
        for ia, ib, na, nb, z, sa, ea, sb, eb in session.execute(
            base.order_by(a.start_time, a.id, b.id).limit(EXAMPLES))
    ] if count else []
    return count, examples


def _too_long(session: Session) -> tuple[int, list[dict[str, Any]]]:
    dialect = session.get_bind().dialect.name
    seconds: ColumnElement[Any]
    if dialect == "postgresql":
        seconds = func.extract("epoch", Booking.end_time - Booking.start_time)
    else:
        seconds = (func.julianday(Booking.end_time) - func.julianday(Booking.start_time)) * 86400
    cond = seconds > MAX_DURATION.total_seconds() + 0.5
    count = session.scalar(select(func.count()).select_from(Booking).where(cond)) or 0
    examples = [{"booking": str(i), "start_time": s.isoformat(), "end_time": e.isoformat()}
                for i, s, e in session.execute(
                    select(Booking.id, Booking.start_time, Booking.end_time).where(cond)
                    .order_by(Booking.start_time, Booking.id).limit(EXAMPLES))] if count else []
    return count, examples


def _stale_scope(session: Session) -> tuple[int, list[dict[str, Any]]]:
    """Bookings whose scope_id is not their resource's zone (or the resource itself): the
    exclusion constraint relies on it, and triggers keep it right, so any row here means the
    triggers were bypassed."""
    expected = func.coalesce(Resource.safety_zone_id, Resource.id)
    cond = or_(Booking.scope_id.is_(None), Booking.scope_id != expected)
    base = select(Booking.id, Booking.scope_id, expected).join(
        Resource, Resource.id == Booking.resource_id).where(cond)
    count = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    examples = [{"booking": str(i), "scope_id": str(sc), "expected": str(ex)}
                for i, sc, ex in session.execute(base.order_by(Booking.id).limit(EXAMPLES))
                ] if count else []
    return count, examples


def _over_blackout(session: Session) -> tuple[int, list[dict[str, Any]]]:
    """Approved bookings over a blackout on their resource or anywhere in its safety zone (the
    database refuses them, revision 0018). Scopes come from the resources, not the stored
    scope_id, so a stale scope cannot hide one; blackouts are few, so each is the driving row."""
    rb, rk = aliased(Resource, name="rb"), aliased(Resource, name="rk")
    # Bookings last at most a day (MAX_DURATION, a database CHECK): a lower bound on start_time
    # keeps the index range short, the same bound the triggers use.
    earliest: ColumnElement[Any] = (
        Blackout.start_time - literal_column("interval '1 day 1 minute'")
        if session.get_bind().dialect.name == "postgresql"
        else func.strftime("%Y-%m-%d %H:%M:%f", Blackout.start_time, "-1 day", "-1 minute"))
    base = (select(Booking.id, Blackout.id, rb.name, rk.name, Booking.start_time,
                   Booking.end_time, Blackout.start_time, Blackout.end_time)
            .select_from(Blackout).join(rk, rk.id == Blackout.resource_id)
            .join(rb, func.coalesce(rb.safety_zone_id, rb.id)
                  == func.coalesce(rk.safety_zone_id, rk.id))
            .join(Booking, and_(Booking.resource_id == rb.id,
                                Booking.status == BookingStatus.APPROVED,
                                Booking.start_time > earliest,
                                overlaps_clause(Booking.start_time, Booking.end_time,
                                                Blackout.start_time, Blackout.end_time))))
    count = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    examples = [{"booking": str(b), "blackout": str(k), "booking_resource": nb,
                 "blackout_resource": nk, "booking_window": f"{bs.isoformat()} - {be.isoformat()}",
                 "blackout_window": f"{ks.isoformat()} - {ke.isoformat()}"}
                for b, k, nb, nk, bs, be, ks, ke in session.execute(
                    base.order_by(Booking.start_time, Booking.id, Blackout.id).limit(EXAMPLES))
                ] if count else []
    return count, examples


def _missing_audit(session: Session, status: BookingStatus | None, action: AuditAction
                   ) -> tuple[int, list[dict[str, Any]]]:
    has_entry = exists().where(AuditLog.booking_id == Booking.id,
                               AuditLog.action == action.value)
    conds = [not_(has_entry)]
    if status is not None:
        conds.append(Booking.status == status)
    count = session.scalar(select(func.count()).select_from(Booking).where(*conds)) or 0
    examples = [{"booking": str(i), "status": getattr(s, "value", s),
                 "start_time": st.isoformat()}
                for i, s, st in session.execute(
                    select(Booking.id, Booking.status, Booking.start_time).where(*conds)
                    .order_by(Booking.start_time, Booking.id).limit(EXAMPLES))] if count else []
    return count, examples


def _can_erase_audit(session: Session) -> list[dict[str, Any]]:
    """This connection could erase the audit trail: a superuser (replica mode skips triggers)
    or a member of the role owning audit_logs (owners can disable or drop its triggers)."""
    if session.get_bind().dialect.name != "postgresql":
        return []
    row = session.execute(text(
        "SELECT current_user, r.rolsuper, pg_has_role(current_user, t.tableowner, 'MEMBER') "
        "FROM pg_roles r, pg_tables t WHERE r.rolname = current_user "
        "AND t.tablename = 'audit_logs' AND t.schemaname = current_schema()")).first()
    if row is None or not (row[1] or row[2]):
        return []
    return [{"role": row[0], "superuser": bool(row[1]), "owns_audit_logs": bool(row[2])}]


def run_checks(url: str, session: Session, *, app_connection: bool = False) -> CheckResult:
    """`app_connection`: the session uses the applications' DATABASE_URL (in production), so
    a role able to erase the audit trail is a finding too."""
    findings: list[Finding] = []
    revision, head = migrate.current_revision(url), migrate.head_revision(url)
    if revision != head:
        findings.append(Finding("migrations_not_at_head", 1,
                                f"schema is at revision {revision}, code expects {head}: "
                                "run `python -m engine migrate`"))
        return CheckResult(revision, head, findings)  # the other checks assume the schema
    for same_zone, kind, what in ((False, "approved_overlap_resource", "on one resource"),
                                  (True, "approved_overlap_zone",
                                   "on resources sharing a safety zone")):
        count, examples = _overlap_pairs(session, same_zone=same_zone)
        if count:
            findings.append(Finding(kind, count, f"{count} pair(s) of approved bookings "
                                    f"overlap {what}", examples))
    if app_connection and (examples := _can_erase_audit(session)):
        findings.append(Finding("app_role_can_erase_audit", 1,
                                f"the applications connect as '{examples[0]['role']}', which can "
                                "erase the audit trail: set MIGRATION_DATABASE_URL to the owner, "
                                "DATABASE_URL to a separate user, and run `python -m engine "
                                "migrate`", examples))
    count, examples = _stale_scope(session)
    if count:
        findings.append(Finding("booking_scope_stale", count,
                                f"{count} booking(s) carry a scope_id other than their "
                                "resource's safety zone (or the resource)", examples))
    count, examples = _over_blackout(session)
    if count:
        findings.append(Finding("approved_over_blackout", count,
                                f"{count} approved booking(s) overlap a blackout on their "
                                "resource or its safety zone", examples))
    count, examples = _too_long(session)
    if count:
        findings.append(Finding("booking_longer_than_allowed", count,
                                f"{count} booking(s) last longer than {MAX_DURATION}", examples))
    count, examples = _missing_audit(session, None, AuditAction.CREATED)
    if count:
        findings.append(Finding("booking_without_created_audit", count,
                                f"{count} booking(s) have no 'created' audit entry", examples))
    for status, action in STATUS_AUDIT.items():
        count, examples = _missing_audit(session, status, action)
        if count:
            findings.append(Finding(f"{status.value}_booking_without_audit", count,
                                    f"{count} {status.value} booking(s) have no "
                                    f"'{action.value}' audit entry", examples))
    return CheckResult(revision, head, findings)


__all__ = ["CheckResult", "Finding", "run_checks"]
