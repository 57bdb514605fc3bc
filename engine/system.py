"""The reserved system user: the actor of what the engine does on its own (no-show release,
expiring waitlist offers), so the audit trail names it like any other actor.

It is a deactivated staff account with no usable password: nobody can sign in as it and
`load_actor` refuses it, so it can only act through the engine's own jobs. It is created on
first use (insert-if-absent), so an emptied database or a restored dump never lacks it.
"""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from engine.domain.permissions import Role
from engine.models import User

SYSTEM_USER_ID = uuid.UUID("00000000-0000-0000-0000-000000000001")
SYSTEM_USER_EMAIL = "system@range-control.invalid"
SYSTEM_USER_NAME = "Range-Control (system)"


def ensure_system_user(session: Session, now: datetime) -> uuid.UUID:
    """Insert the system user unless present (race-free on both databases); return its id."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(User).values(
        id=SYSTEM_USER_ID, email=SYSTEM_USER_EMAIL, name=SYSTEM_USER_NAME, role=Role.STAFF,
        is_active=False, password_hash="!",
        created_at=now, updated_at=now).on_conflict_do_nothing())
    return SYSTEM_USER_ID


def count_people(session: Session) -> int:
    """Users other than the system user."""
    return session.scalar(select(func.count()).select_from(User)
                          .where(User.id != SYSTEM_USER_ID)) or 0
