"""Scheduled messages: reminders before approved bookings and the staff's daily digest.

The worker calls `schedule_due` on every pass. Each scheduled row has a `dedupe_key`
(`reminder:<booking>:<start>`, `digest:<user>:<site-local date>`) that the database keeps
unique, and rows are inserted with ON CONFLICT DO NOTHING: any number of workers, passes or
restarts enqueue each reminder and each day's digest exactly once.
"""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from engine.audit import jsonable
from engine.db import AnySelect, Database, UnitOfWork, rows_changed
from engine.domain.permissions import Role
from engine.domain.status import BookingStatus
from engine.models import Booking, NotificationPreference, OutboxMessage, User
from engine.notifications.events import ScheduledKind
from engine.notifications.outbox import booking_context
from engine.notifications.settings import NotifySettings

DIGEST_PENDING_LIMIT = 50
DIGEST_SOON_HOURS = 48


def _insert_once(uow: UnitOfWork, rows: list[dict]) -> int:
    """Insert scheduled rows; a dedupe_key already present (another worker won) is skipped."""
    if not rows:
        return 0
    insert = pg_insert if uow.dialect == "postgresql" else sqlite_insert
    stmt = insert(OutboxMessage).values(rows).on_conflict_do_nothing(
        index_elements=["dedupe_key"])
    return rows_changed(uow.session.execute(stmt))


def _row(uow: UnitOfWork, *, kind: str, user: User, key: str, context: dict,
         booking_id: uuid.UUID | None = None, status: str = "pending") -> dict:
    return {"id": uuid.uuid4(), "kind": kind, "recipient_user_id": user.id,
            "recipient_email": user.email, "booking_id": booking_id,
            "context": context | {"recipient_name": user.name}, "dedupe_key": key,
            "status": status, "attempts": 0, "next_attempt_at": uow.now,
            "created_at": uow.now}


def _opted_out(uow: UnitOfWork, kind: str) -> AnySelect:
    return select(NotificationPreference.user_id).where(
        NotificationPreference.kind == kind, NotificationPreference.enabled.is_(False))


def reminder_key(booking_id: object, start: datetime) -> str:
    return f"reminder:{booking_id}:{start.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}"


def schedule_reminders(uow: UnitOfWork, settings: NotifySettings) -> int:
    """Queue a reminder for each approved booking starting within NOTIFY_REMINDER_HOURS."""
    horizon = uow.now + timedelta(hours=settings.reminder_hours)
    bookings = uow.session.scalars(
        select(Booking).where(Booking.status == BookingStatus.APPROVED,
                              Booking.start_time > uow.now, Booking.start_time <= horizon,
                              Booking.requester_id.not_in(
                                  _opted_out(uow, ScheduledKind.REMINDER.value)))
        .order_by(Booking.start_time)).unique().all()
    keys = {b.id: reminder_key(b.id, b.start_time) for b in bookings}
    if not keys:
        return 0
    existing = set(uow.session.scalars(select(OutboxMessage.dedupe_key)
                                       .where(OutboxMessage.dedupe_key.in_(keys.values()))))
    rows = [_row(uow, kind=ScheduledKind.REMINDER.value, user=b.requester, key=keys[b.id],
                 context=booking_context(b), booking_id=b.id)
            for b in bookings if keys[b.id] not in existing and b.requester.is_active]
    return _insert_once(uow, rows)


def _digest_item(b: Booking) -> dict:
    return jsonable({"booking_id": b.id, "resource_name": b.resource.name,
                      "start_time": b.start_time, "end_time": b.end_time,
                      "requester_name": b.requester.name, "status": b.status,
                      "created_at": b.created_at, "priority": b.priority})


def schedule_digests(uow: UnitOfWork, settings: NotifySettings) -> int:
    """From NOTIFY_DIGEST_HOUR (site time) on, one digest per staff member per local day.
    A day with nothing pending and nothing starting soon is recorded as `skipped`."""
    local = uow.now.astimezone(uow.tz)
    if local.hour < settings.digest_hour:
        return 0
    day = local.date().isoformat()
    staff = uow.session.scalars(
        select(User).where(User.is_active.is_(True), User.role.in_([Role.STAFF, Role.ADMIN]),
                           User.id.not_in(_opted_out(uow, ScheduledKind.DIGEST.value)))
        .order_by(User.email)).all()
    keys = {u.id: f"digest:{u.id}:{day}" for u in staff}
    if not keys:
        return 0
    existing = set(uow.session.scalars(select(OutboxMessage.dedupe_key)
                                       .where(OutboxMessage.dedupe_key.in_(keys.values()))))
    todo = [u for u in staff if keys[u.id] not in existing]
    if not todo:
        return 0
    pending_q = select(Booking).where(Booking.status == BookingStatus.PENDING,
                                      Booking.start_time > uow.now)
    pending_total = uow.session.scalar(select(func.count()).select_from(
        pending_q.subquery())) or 0
    pending = uow.session.scalars(pending_q.order_by(Booking.created_at, Booking.id)
                                  .limit(DIGEST_PENDING_LIMIT)).unique().all()
    soon = uow.session.scalars(
        select(Booking).where(and_(
            Booking.status.in_([BookingStatus.APPROVED, BookingStatus.PENDING]),
            Booking.start_time >= uow.now,
            Booking.start_time < uow.now + timedelta(hours=DIGEST_SOON_HOURS)))
        .order_by(Booking.start_time).limit(DIGEST_PENDING_LIMIT)).unique().all()
    context = {"day": day, "pending_total": pending_total,
               "pending": [_digest_item(b) for b in pending],
               "soon": [_digest_item(b) for b in soon]}
    status = "pending" if pending_total or soon else "skipped"
    rows = [_row(uow, kind=ScheduledKind.DIGEST.value, user=u, key=keys[u.id], context=context,
                 status=status) for u in todo]
    return _insert_once(uow, rows)


def schedule_due(db: Database, settings: NotifySettings) -> int:
    """One transaction: enqueue every reminder and digest that is due and not yet queued."""
    with db.uow() as uow:
        count = schedule_reminders(uow, settings) + schedule_digests(uow, settings)
        uow.commit()
        return count
