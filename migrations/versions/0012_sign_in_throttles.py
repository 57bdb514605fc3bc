"""Sign-in throttling per (e-mail, source address) replaces the per-account lockout.

Adds sign_in_throttles; drops users.failed_logins and users.locked_until (the lock anyone could
trigger) and users.session_version (nothing read it: sessions are revoked row by row in
auth_sessions). The downgrade restores the three columns with their defaults.

Revision ID: 0012
Revises: 0011
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sign_in_throttles",
        sa.Column("account_key", sa.String(length=255), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column("blocked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account_key", "source", name=op.f("pk_sign_in_throttles")),
    )
    # SQLite 3.35+ drops plain columns in place (no table rebuild, triggers stay).
    for column in ("failed_logins", "locked_until", "session_version"):
        op.drop_column("users", column)


def downgrade() -> None:
    op.add_column("users", sa.Column("failed_logins", sa.Integer(), server_default="0",
                                     nullable=False))
    op.add_column("users", sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
    op.add_column("users", sa.Column("session_version", sa.Integer(), server_default="0",
                                     nullable=False))
    op.drop_table("sign_in_throttles")
