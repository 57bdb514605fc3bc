"""The audit trail: one entry per change, written in the same transaction as the change."""
from __future__ import annotations

import enum
import json
import uuid
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from engine.db import AUDIT_COUNTS, queue_rows, table_of
from engine.domain.audit_actions import AuditAction
from engine.models import AuditLog

_SECRET_COLUMNS = {"password_hash"}


def jsonable(value: Any) -> Any:
    """Dates and times as ISO text, ids as text, enums as their values, containers walked:
    what audit rows and outbox messages store as JSON."""
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [jsonable(v) for v in value]
    return value


def snapshot(obj: Any) -> dict[str, Any]:
    """The row as JSON-ready column values (secrets left out): the audit's `previous_state`."""
    keys = _SNAPSHOT_KEYS.get(type(obj))
    if keys is None:  # once per model: the mapper walk showed in every status change's profile
        keys = _SNAPSHOT_KEYS[type(obj)] = tuple(
            col.key for col in inspect(obj).mapper.column_attrs
            if col.key not in _SECRET_COLUMNS)
    return {key: jsonable(getattr(obj, key)) for key in keys}


_SNAPSHOT_KEYS: dict[type, tuple[str, ...]] = {}


def record(session: Session, *, actor_id: uuid.UUID, action: AuditAction, now: datetime,
           booking_id: uuid.UUID | None = None, entity: Any = None,
           previous_state: dict | None = None, details: dict | str | None = None) -> AuditLog:
    """Add one audit entry to the session's transaction."""
    entry = AuditLog(**audit_row(actor_id=actor_id, action=action, now=now,
                                 booking_id=booking_id, entity=entity,
                                 previous_state=previous_state, details=details))
    session.add(entry)
    if booking_id is not None:  # a count read earlier no longer holds (see queue_rows)
        session.info.get(AUDIT_COUNTS, {}).pop(booking_id, None)
    return entry


def queue_record(session: Session, *, actor_id: uuid.UUID, action: AuditAction, now: datetime,
                 booking_id: uuid.UUID | None = None, previous_state: dict | None = None,
                 details: dict | str | None = None) -> None:
    """`record` for the booking hot paths: the same row, written by `queue_rows` with the
    transaction (no ORM object), in the same transaction."""
    queue_rows(session, table_of(AuditLog), [audit_row(
        actor_id=actor_id, action=action, now=now, booking_id=booking_id,
        previous_state=previous_state, details=details)])


def audit_row(*, actor_id: uuid.UUID, action: AuditAction, now: datetime,
              booking_id: uuid.UUID | None = None, entity: Any = None,
              previous_state: dict | None = None,
              details: dict | str | None = None) -> dict[str, Any]:
    """The audit_logs row of one change, as column values."""
    return {
        "id": uuid.uuid4(),
        "booking_id": booking_id,
        "actor_id": actor_id,
        "action": action.value,
        "details": details if isinstance(details, str) or details is None
        else json.dumps(details, default=jsonable, sort_keys=True),
        "previous_state": previous_state,
        "timestamp": now,
        "entity_type": type(entity).__tablename__ if entity is not None else
        ("bookings" if booking_id else None),
        "entity_id": getattr(entity, "id", None) if entity is not None else booking_id,
    }
