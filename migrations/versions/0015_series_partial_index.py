"""bookings.series_id: a partial index (series_id IS NOT NULL) instead of a full one.

Most bookings belong to no series. SQLite's ANALYZE counts all the NULLs as one value of
about a million rows, so its planner then refuses the full index and scans the table for
"the occurrences of this series" (3 s per series approval at 1,000,000 bookings,
bench/bench_series.py). A partial index holds only occurrences, and its statistics say so;
PostgreSQL gets a smaller index too.

Revision ID: 0015
Revises: 0014
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

IN_SERIES = sa.text("series_id IS NOT NULL")


def upgrade() -> None:
    op.drop_index("ix_bookings_series_id", table_name="bookings")
    op.create_index("ix_bookings_series_id", "bookings", ["series_id"],
                    sqlite_where=IN_SERIES, postgresql_where=IN_SERIES)


def downgrade() -> None:
    op.drop_index("ix_bookings_series_id", table_name="bookings")
    op.create_index("ix_bookings_series_id", "bookings", ["series_id"])
