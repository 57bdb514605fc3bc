"""Bounded conflict look-ups: bookings last at most 24 hours, enforced by the database, so a
conflict query may bound start_time from below and use (resource_id, status, start_time).

Written by hand: autogenerate cannot express the PostgreSQL interval CHECK or SQLite triggers.

Revision ID: 0004
Revises: 0003
"""
from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

MAX_SECONDS = 24 * 3600  # engine.domain.rules.MAX_DURATION

_OLD_OVERLAP = """
    SELECT RAISE(ABORT, 'ex_bookings_no_overlapping_approved: approved bookings overlap')
    WHERE NEW.status = 'approved' AND EXISTS (
        SELECT 1 FROM bookings b
        WHERE b.resource_id = NEW.resource_id AND b.id <> NEW.id AND b.status = 'approved'
          AND b.start_time < NEW.end_time AND b.end_time > NEW.start_time)"""
_NEW_OVERLAP = """
    SELECT RAISE(ABORT, 'ex_bookings_no_overlapping_approved: approved bookings overlap')
    WHERE NEW.status = 'approved' AND EXISTS (
        SELECT 1 FROM bookings b
        WHERE b.resource_id = NEW.resource_id AND b.status = 'approved'
          AND b.start_time > strftime('%Y-%m-%d %H:%M:%f', NEW.start_time, '-1 day', '-1 minute')
          AND b.start_time < NEW.end_time AND b.end_time > NEW.start_time AND b.id <> NEW.id)"""
_MAX_DURATION = f"""
    SELECT RAISE(ABORT, 'ck_bookings_max_duration: a booking lasts at most 24 hours')
    WHERE strftime('%s', NEW.end_time) - strftime('%s', NEW.start_time) > {MAX_SECONDS}"""


def _overlap_triggers(body: str) -> list[str]:
    return [
        "DROP TRIGGER IF EXISTS trg_bookings_no_overlap_insert",
        "DROP TRIGGER IF EXISTS trg_bookings_no_overlap_update",
        f"""CREATE TRIGGER trg_bookings_no_overlap_insert BEFORE INSERT ON bookings
            BEGIN {body}; END""",
        f"""CREATE TRIGGER trg_bookings_no_overlap_update
            BEFORE UPDATE OF status, start_time, end_time, resource_id ON bookings
            BEGIN {body}; END""",
    ]


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.create_index("ix_bookings_resource_status_start", "bookings",
                    ["resource_id", "status", "start_time"])
    op.drop_index("ix_bookings_resource_status_end", table_name="bookings")
    if dialect == "postgresql":
        op.execute(f"""ALTER TABLE bookings ADD CONSTRAINT ck_bookings_max_duration
                       CHECK (end_time - start_time <= interval '{MAX_SECONDS} seconds')""")
    elif dialect == "sqlite":
        for sql in _overlap_triggers(_NEW_OVERLAP):
            op.execute(sql)
        op.execute(f"""CREATE TRIGGER trg_bookings_max_duration_insert BEFORE INSERT ON bookings
                       BEGIN {_MAX_DURATION}; END""")
        op.execute(f"""CREATE TRIGGER trg_bookings_max_duration_update
                       BEFORE UPDATE OF start_time, end_time ON bookings
                       BEGIN {_MAX_DURATION}; END""")
    else:
        raise NotImplementedError(f"no guarantees written for dialect {dialect}")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("ALTER TABLE bookings DROP CONSTRAINT IF EXISTS ck_bookings_max_duration")
    elif dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS trg_bookings_max_duration_insert")
        op.execute("DROP TRIGGER IF EXISTS trg_bookings_max_duration_update")
        for sql in _overlap_triggers(_OLD_OVERLAP):
            op.execute(sql)
    op.create_index("ix_bookings_resource_status_end", "bookings",
                    ["resource_id", "status", "end_time"])
    op.drop_index("ix_bookings_resource_status_start", table_name="bookings")
