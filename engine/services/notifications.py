"""People's notification preferences, and the outbox as admins see it (failed mail, retry)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import func, select

from engine.audit import record, snapshot
from engine.db import UnitOfWork
from engine.domain.audit_actions import AuditAction
from engine.domain.permissions import Permission as P
from engine.domain.permissions import has_permission
from engine.errors import ValidationError
from engine.logs import logged
from engine.models import NotificationPreference, OutboxMessage, User
from engine.notifications.events import PREFERENCE_KINDS
from engine.services.common import get_or_404, load_actor, paginate
from engine.services.results import Page

OUTBOX_STATUSES = ("pending", "sent", "failed", "skipped")


@dataclass(frozen=True)
class PreferenceView:
    kind: str
    label: str
    enabled: bool


@dataclass(frozen=True)
class OutboxView:
    id: UUID
    kind: str
    recipient_email: str
    booking_id: UUID | None
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None

    @classmethod
    def of(cls, m: OutboxMessage) -> OutboxView:
        return cls(m.id, m.kind, m.recipient_email, m.booking_id, m.status, m.attempts,
                   m.next_attempt_at, m.last_error, m.created_at, m.sent_at)


def _kinds_for(user: User) -> dict[str, str]:
    staff = has_permission(user.role, P.BOOKING_APPROVE)
    return {k: label for k, (label, staff_only) in PREFERENCE_KINDS.items()
            if staff or not staff_only}


def _preferences(uow: UnitOfWork, user: User) -> list[PreferenceView]:
    stored = dict(uow.session.execute(
        select(NotificationPreference.kind, NotificationPreference.enabled)
        .where(NotificationPreference.user_id == user.id)).all())
    return [PreferenceView(k, label, stored.get(k, True)) for k, label in _kinds_for(user).items()]


def get_preferences(uow: UnitOfWork, actor_id: object) -> list[PreferenceView]:
    """The kinds of e-mail this person may receive, each on or off (on unless switched off)."""
    with uow.read():
        return _preferences(uow, load_actor(uow, actor_id, P.BOOKING_VIEW_OWN))


@logged("notification.preferences")
def set_preferences(uow: UnitOfWork, actor_id: object, choices: dict[str, bool]
                    ) -> list[PreferenceView]:
    """Switch kinds on or off for oneself. Unknown kinds, and staff kinds for members, refused."""
    with uow:
        actor = load_actor(uow, actor_id, P.BOOKING_VIEW_OWN)
        allowed = _kinds_for(actor)
        if not isinstance(choices, dict):
            raise ValidationError("preferences", "must map kinds to true or false")
        for kind, enabled in choices.items():
            if kind not in allowed:
                raise ValidationError("kind", f"'{kind}' is not a kind you can choose; one of "
                                      + ", ".join(allowed))
            if not isinstance(enabled, bool):
                raise ValidationError(kind, "must be true or false")
        before = {p.kind: p.enabled for p in _preferences(uow, actor)}
        for kind, enabled in choices.items():
            row = uow.session.get(NotificationPreference, (actor.id, kind))
            if row is None:
                uow.session.add(NotificationPreference(user_id=actor.id, kind=kind,
                                                       enabled=enabled, updated_at=uow.now))
            else:
                row.enabled, row.updated_at = enabled, uow.now
        changed = {k: v for k, v in choices.items() if before.get(k) != v}
        if changed:
            record(uow.session, actor_id=actor.id, now=uow.now, entity=actor,
                   action=AuditAction.NOTIFICATION_PREFERENCES_CHANGED,
                   previous_state={k: before[k] for k in changed}, details=changed)
        uow.session.flush()
        views = _preferences(uow, actor)
        uow.commit()
        return views


def list_outbox(uow: UnitOfWork, actor_id: object, *, status: str | None = "failed",
                page: int = 1, page_size: int = 50) -> Page[OutboxView]:
    """Admins: queued, sent, failed or skipped e-mails, newest first."""
    page, page_size = paginate(page, page_size)
    with uow.read():
        load_actor(uow, actor_id, P.CONFIG_MANAGE)
        conds = []
        if status is not None:
            if status not in OUTBOX_STATUSES:
                raise ValidationError("status", "must be one of " + ", ".join(OUTBOX_STATUSES))
            conds.append(OutboxMessage.status == status)
        total = uow.session.scalar(select(func.count()).select_from(OutboxMessage).where(*conds))
        items = uow.session.scalars(select(OutboxMessage).where(*conds)
                                    .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id)
                                    .limit(page_size).offset((page - 1) * page_size)).all()
        return Page([OutboxView.of(m) for m in items], total or 0, page, page_size)


def outbox_counts(uow: UnitOfWork, actor_id: object) -> dict[str, int]:
    with uow.read():
        load_actor(uow, actor_id, P.CONFIG_MANAGE)
        counts = dict(uow.session.execute(select(OutboxMessage.status, func.count())
                                          .group_by(OutboxMessage.status)).all())
        return {s: counts.get(s, 0) for s in OUTBOX_STATUSES}


@logged("notification.retry")
def retry_message(uow: UnitOfWork, actor_id: object, message_id: object) -> OutboxView:
    """Admins: send a failed e-mail again, now, with a fresh count of attempts."""
    with uow:
        actor = load_actor(uow, actor_id, P.CONFIG_MANAGE)
        row = get_or_404(uow, OutboxMessage, message_id, "message", "message_id")
        if row.status != "failed":
            raise ValidationError("message_id", f"only failed messages can be retried; "
                                                f"this one is {row.status}")
        previous = snapshot(row)
        row.status, row.attempts, row.next_attempt_at = "pending", 0, uow.now
        row.claimed_by = row.claimed_until = None
        record(uow.session, actor_id=actor.id, action=AuditAction.NOTIFICATION_RETRIED,
               now=uow.now, entity=row,
               previous_state={k: previous[k] for k in ("status", "attempts", "last_error")})
        uow.session.flush()
        view = OutboxView.of(row)
        uow.commit()
        return view
