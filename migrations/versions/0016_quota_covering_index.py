"""Quota look-ups read one index: (requester, status, start, end, resource) replaces
(requester, status, start).

A member's quota count (pending + approved bookings not yet ended, on one resource type) and
their week's and month's hours then come from the index alone, without reading the wide
booking rows (bench/bench_policies.py, 1,000,000 bookings).

Revision ID: 0016
Revises: 0015
"""
from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_bookings_requester_status_start_cover", "bookings",
                    ["requester_id", "status", "start_time", "end_time", "resource_id"])
    op.drop_index("ix_bookings_requester_status_start", table_name="bookings")


def downgrade() -> None:
    op.create_index("ix_bookings_requester_status_start", "bookings",
                    ["requester_id", "status", "start_time"])
    op.drop_index("ix_bookings_requester_status_start_cover", table_name="bookings")
