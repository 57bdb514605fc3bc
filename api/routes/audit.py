"""/audit-logs: the append-only trail, filtered by booking, actor, action, entity and time."""
from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from api.deps import DB, Me
from api.errors import ERROR_RESPONSES
from api.schemas import AuditOut, PageOut, ShortText, When
from engine import services

router = APIRouter(tags=["audit"], responses=ERROR_RESPONSES)


@router.get("/audit-logs", response_model=PageOut[AuditOut])
def list_audit_logs(db: DB, me: Me, booking_id: UUID | None = None,
                    actor_id: UUID | None = None,
                    action: Annotated[ShortText | None, Query(max_length=50)] = None,
                    entity_id: UUID | None = None, since: When | None = None,
                    until: When | None = None,
                    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
                    page_size: Annotated[int, Query(ge=1, le=500)] = 50):
    """Newest first; `since` is inclusive and `until` exclusive."""
    result = services.list_audit_logs(db.uow(), me.id, booking_id=booking_id,
                                      by_actor_id=actor_id, action=action, entity_id=entity_id,
                                      since=since, until=until, page=page, page_size=page_size)
    return PageOut.of(result, AuditOut.model_validate)
