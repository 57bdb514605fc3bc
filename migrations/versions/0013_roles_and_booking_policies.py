"""Manager role, booking policies, per-resource approvers and two-person sign-offs.

Adds 'manager' to the users.role check; booking_policies (per type, or per resource
overriding its type); resource_approvers; booking_sign_offs; and a (requester, status, start)
index so quota look-ups read one member's bookings only.

Revision ID: 0013
Revises: 0012
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

ROLES_BEFORE = ("user", "staff", "admin")
ROLES_AFTER = ("user", "manager", "staff", "admin")


def _role_check(roles: tuple[str, ...]) -> None:
    listed = ", ".join(f"'{r}'" for r in roles)
    with op.batch_alter_table("users", recreate="always" if op.get_bind().dialect.name ==
                              "sqlite" else "auto") as batch:
        batch.drop_constraint(op.f("ck_users_user_role"), type_="check")
        batch.create_check_constraint(op.f("ck_users_user_role"), f"role IN ({listed})")


def upgrade() -> None:
    _role_check(ROLES_AFTER)
    op.create_table(
        "booking_policies",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("resource_type", sa.String(length=50), nullable=True),
        sa.Column("resource_id", sa.Uuid(), nullable=True),
        sa.Column("approval_mode", sa.Enum("staff", "automatic", "two_person",
                                           name="approval_mode", native_enum=False,
                                           create_constraint=True, length=50), nullable=True),
        sa.Column("min_notice_minutes", sa.Integer(), nullable=True),
        sa.Column("max_advance_days", sa.Integer(), nullable=True),
        sa.Column("min_length_minutes", sa.Integer(), nullable=True),
        sa.Column("max_length_minutes", sa.Integer(), nullable=True),
        sa.Column("quota_hours_per_week", sa.Integer(), nullable=True),
        sa.Column("quota_hours_per_month", sa.Integer(), nullable=True),
        sa.Column("max_open_bookings", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        sa.CheckConstraint("(resource_type IS NULL) <> (resource_id IS NULL)",
                           name=op.f("ck_booking_policies_one_scope")),
        sa.CheckConstraint("resource_id IS NULL OR (quota_hours_per_week IS NULL AND "
                           "quota_hours_per_month IS NULL AND max_open_bookings IS NULL)",
                           name=op.f("ck_booking_policies_quotas_per_type")),
        sa.CheckConstraint("min_notice_minutes IS NULL OR min_notice_minutes >= 0",
                           name=op.f("ck_booking_policies_notice_range")),
        sa.CheckConstraint("max_advance_days IS NULL OR max_advance_days >= 1",
                           name=op.f("ck_booking_policies_advance_range")),
        sa.CheckConstraint("min_length_minutes IS NULL OR min_length_minutes >= 15",
                           name=op.f("ck_booking_policies_min_length_range")),
        sa.CheckConstraint("max_length_minutes IS NULL OR max_length_minutes <= 1440",
                           name=op.f("ck_booking_policies_max_length_range")),
        sa.CheckConstraint("min_length_minutes IS NULL OR max_length_minutes IS NULL OR "
                           "min_length_minutes <= max_length_minutes",
                           name=op.f("ck_booking_policies_length_order")),
        sa.CheckConstraint("(quota_hours_per_week IS NULL OR quota_hours_per_week > 0) AND "
                           "(quota_hours_per_month IS NULL OR quota_hours_per_month > 0) AND "
                           "(max_open_bookings IS NULL OR max_open_bookings > 0)",
                           name=op.f("ck_booking_policies_quotas_positive")),
        sa.ForeignKeyConstraint(["resource_id"], ["resources.id"],
                                name=op.f("fk_booking_policies_resource_id_resources")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking_policies")),
        sa.UniqueConstraint("resource_type", name=op.f("uq_booking_policies_resource_type")),
        sa.UniqueConstraint("resource_id", name=op.f("uq_booking_policies_resource_id")),
    )
    op.create_table(
        "resource_approvers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("resource_type", sa.String(length=50), nullable=True),
        sa.Column("safety_zone_id", sa.Uuid(), nullable=True),
        sa.Column("resource_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        sa.CheckConstraint("(CASE WHEN resource_type IS NULL THEN 0 ELSE 1 END) + "
                           "(CASE WHEN safety_zone_id IS NULL THEN 0 ELSE 1 END) + "
                           "(CASE WHEN resource_id IS NULL THEN 0 ELSE 1 END) = 1",
                           name=op.f("ck_resource_approvers_one_scope")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_resource_approvers_user_id_users")),
        sa.ForeignKeyConstraint(["safety_zone_id"], ["safety_zones.id"],
                                name=op.f("fk_resource_approvers_safety_zone_id_safety_zones")),
        sa.ForeignKeyConstraint(["resource_id"], ["resources.id"],
                                name=op.f("fk_resource_approvers_resource_id_resources")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resource_approvers")),
    )
    op.create_index("ix_resource_approvers_user_id", "resource_approvers", ["user_id"])
    op.create_table(
        "booking_sign_offs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("booking_id", sa.Uuid(), nullable=False),
        sa.Column("signer_id", sa.Uuid(), nullable=False),
        sa.Column("resource_id", sa.Uuid(), nullable=False),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["booking_id"], ["bookings.id"],
                                name=op.f("fk_booking_sign_offs_booking_id_bookings")),
        sa.ForeignKeyConstraint(["signer_id"], ["users.id"],
                                name=op.f("fk_booking_sign_offs_signer_id_users")),
        sa.ForeignKeyConstraint(["resource_id"], ["resources.id"],
                                name=op.f("fk_booking_sign_offs_resource_id_resources")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking_sign_offs")),
        sa.UniqueConstraint("booking_id", "signer_id", "resource_id", "start_time", "end_time",
                            name=op.f("uq_booking_sign_offs_once")),
    )
    op.create_index("ix_bookings_requester_status_start", "bookings",
                    ["requester_id", "status", "start_time"])


def downgrade() -> None:
    op.drop_index("ix_bookings_requester_status_start", table_name="bookings")
    op.drop_table("booking_sign_offs")
    op.drop_index("ix_resource_approvers_user_id", table_name="resource_approvers")
    op.drop_table("resource_approvers")
    op.drop_table("booking_policies")
    # Managers existed only from this revision on: they become members again.
    op.execute("UPDATE users SET role = 'user' WHERE role = 'manager'")
    _role_check(ROLES_BEFORE)
