"""Recurring bookings: a booking_series table and bookings.series_id.

Each occurrence stays a row of `bookings`, so the exclusion constraint, the SQLite triggers
and the audit trail apply to it unchanged. Written by hand: SQLite cannot add a foreign key
with ALTER TABLE ... ADD CONSTRAINT, so there the reference goes inline in ADD COLUMN (which
keeps the table, and with it its triggers; a batch rebuild would drop them).

Revision ID: 0010
Revises: 0009
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from engine.models import JSONType, UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "booking_series",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("resource_id", sa.Uuid(), nullable=False),
        sa.Column("requester_id", sa.Uuid(), nullable=False),
        sa.Column("rule", sa.String(500), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("first_start", UTCDateTime(), nullable=False),
        sa.Column("first_end", UTCDateTime(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("priority", sa.Integer(), server_default="0", nullable=False),
        sa.Column("skipped_starts", JSONType, nullable=False),
        sa.Column("created_at", UTCDateTime(), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("first_end > first_start",
                           name="ck_booking_series_valid_time_range"),
        sa.CheckConstraint("priority >= 0 AND priority <= 10",
                           name="ck_booking_series_priority_range"),
        sa.ForeignKeyConstraint(["resource_id"], ["resources.id"],
                                name="fk_booking_series_resource_id_resources"),
        sa.ForeignKeyConstraint(["requester_id"], ["users.id"],
                                name="fk_booking_series_requester_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_booking_series"),
    )
    op.create_index("ix_booking_series_requester_id", "booking_series", ["requester_id"])
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE bookings ADD COLUMN series_id CHAR(32) "
                   "REFERENCES booking_series (id)")
    else:
        op.add_column("bookings", sa.Column("series_id", sa.Uuid(), nullable=True))
        op.create_foreign_key("fk_bookings_series_id_booking_series", "bookings",
                              "booking_series", ["series_id"], ["id"])
    op.create_index("ix_bookings_series_id", "bookings", ["series_id"])


def downgrade() -> None:
    op.drop_index("ix_bookings_series_id", table_name="bookings")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE bookings DROP COLUMN series_id")
    else:
        op.drop_constraint("fk_bookings_series_id_booking_series", "bookings",
                           type_="foreignkey")
        op.drop_column("bookings", "series_id")
    op.drop_index("ix_booking_series_requester_id", table_name="booking_series")
    op.drop_table("booking_series")
