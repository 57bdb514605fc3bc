"""audit_logs refuses TRUNCATE too (PostgreSQL): row triggers do not fire on TRUNCATE.

The runtime role has no TRUNCATE privilege either (engine/db_roles.py); this trigger also stops
the owner's accidental `TRUNCATE ... CASCADE` from another table. SQLite has no TRUNCATE (its
`DELETE FROM audit_logs` is already refused row by row), so there this revision does nothing.

Revision ID: 0011
Revises: 0010
"""
from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # audit_logs_append_only() (revision 0002) raises naming TG_OP.
        op.execute("""CREATE TRIGGER trg_audit_logs_no_truncate BEFORE TRUNCATE ON audit_logs
                      FOR EACH STATEMENT EXECUTE FUNCTION audit_logs_append_only()""")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS trg_audit_logs_no_truncate ON audit_logs")
