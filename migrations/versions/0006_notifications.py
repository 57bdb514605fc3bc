"""Notifications: the transactional outbox, per-person preferences, calendar feed tokens.

Revision ID: 0006
Revises: 0005
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "notification_outbox",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.Column("recipient_user_id", sa.Uuid(), nullable=True),
        sa.Column("recipient_email", sa.String(length=255), nullable=False),
        sa.Column("booking_id", sa.Uuid(), nullable=True),
        sa.Column("context", JSON, nullable=False),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("body_text", sa.Text(), nullable=True),
        sa.Column("body_html", sa.Text(), nullable=True),
        sa.Column("dedupe_key", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=20), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("claimed_by", sa.String(length=100), nullable=True),
        sa.Column("claimed_until", TS, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("sent_at", TS, nullable=True),
        sa.CheckConstraint("status IN ('pending', 'sent', 'failed', 'skipped')",
                           name=op.f("ck_notification_outbox_status_known")),
        sa.CheckConstraint("attempts >= 0",
            name=op.f("ck_notification_outbox_attempts_non_negative")),
        sa.ForeignKeyConstraint(["recipient_user_id"], ["users.id"],
                                name=op.f("fk_notification_outbox_recipient_user_id_users")),
        sa.ForeignKeyConstraint(["booking_id"], ["bookings.id"],
                                name=op.f("fk_notification_outbox_booking_id_bookings")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_outbox")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_notification_outbox_dedupe_key")),
    )
    op.create_index("ix_notification_outbox_due", "notification_outbox",
                    ["status", "next_attempt_at"])
    op.create_index("ix_notification_outbox_booking_id", "notification_outbox", ["booking_id"])
    op.create_table(
        "notification_preferences",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_notification_preferences_user_id_users")),
        sa.PrimaryKeyConstraint("user_id", "kind", name=op.f("pk_notification_preferences")),
    )
    op.create_table(
        "calendar_feeds",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("scope", sa.String(length=20), nullable=False),
        sa.Column("resource_id", sa.Uuid(), nullable=True),
        sa.Column("safety_zone_id", sa.Uuid(), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("revoked_at", TS, nullable=True),
        sa.CheckConstraint("scope IN ('mine', 'resource', 'zone')",
                           name=op.f("ck_calendar_feeds_scope_known")),
        sa.CheckConstraint("(scope = 'resource') = (resource_id IS NOT NULL) AND "
                           "(scope = 'zone') = (safety_zone_id IS NOT NULL)",
                           name=op.f("ck_calendar_feeds_scope_target")),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"],
                                name=op.f("fk_calendar_feeds_owner_id_users")),
        sa.ForeignKeyConstraint(["resource_id"], ["resources.id"],
                                name=op.f("fk_calendar_feeds_resource_id_resources")),
        sa.ForeignKeyConstraint(["safety_zone_id"], ["safety_zones.id"],
                                name=op.f("fk_calendar_feeds_safety_zone_id_safety_zones")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_feeds")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_calendar_feeds_token_hash")),
    )
    op.create_index("ix_calendar_feeds_owner_id", "calendar_feeds", ["owner_id"])


def downgrade() -> None:
    op.drop_index("ix_calendar_feeds_owner_id", table_name="calendar_feeds")
    op.drop_table("calendar_feeds")
    op.drop_table("notification_preferences")
    op.drop_index("ix_notification_outbox_booking_id", table_name="notification_outbox")
    op.drop_index("ix_notification_outbox_due", table_name="notification_outbox")
    op.drop_table("notification_outbox")
