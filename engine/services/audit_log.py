"""Reading the audit trail (staff and admins)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from engine.db import UnitOfWork
from engine.domain.permissions import Permission as P
from engine.models import AuditLog, User
from engine.services.common import as_uuid, load_actor, paginate
from engine.services.results import AuditView, Page
from engine.services.wording import booking_reference_clause, names


def list_audit_logs(uow: UnitOfWork, actor_id: object, *, booking_id: object | None = None,
                    by_actor_id: object | None = None, action: str | None = None,
                    entity_id: object | None = None, since: datetime | None = None,
                    until: datetime | None = None, page: int = 1, page_size: int = 100
                    ) -> Page[AuditView]:
    """Newest first, filtered and paginated in SQL."""
    page, page_size = paginate(page, page_size)
    with uow.read():
        load_actor(uow, actor_id, P.AUDIT_VIEW)
        conds = []
        if booking_id:
            conds.append(booking_reference_clause(uow, AuditLog.booking_id, booking_id))
        if by_actor_id:
            conds.append(AuditLog.actor_id == as_uuid("actor_id", by_actor_id))
        if entity_id:
            conds.append(AuditLog.entity_id == as_uuid("entity_id", entity_id))
        if action:
            conds.append(AuditLog.action == action)
        if since:
            conds.append(AuditLog.timestamp >= since)
        if until:
            conds.append(AuditLog.timestamp < until)
        total = uow.session.scalar(select(func.count()).select_from(AuditLog).where(*conds))
        rows = uow.session.execute(
            select(AuditLog, User.name).join(User, User.id == AuditLog.actor_id).where(*conds)
            .order_by(AuditLog.timestamp.desc(), AuditLog.id)
            .limit(page_size).offset((page - 1) * page_size)).all()
        return Page([AuditView.of(a, name) for a, name in rows], total or 0, page, page_size)


def audit_names(uow: UnitOfWork, actor_id: object, ids) -> dict[str, str]:
    """Names for the ids in audit entries, so the log reads as people, places and times."""
    with uow.read():
        load_actor(uow, actor_id, P.AUDIT_VIEW)
        return names(uow, ids)
