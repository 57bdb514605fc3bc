"""Guarantees the database itself enforces (written by hand: autogenerate cannot express them).

- PostgreSQL: btree_gist and an exclusion constraint so two approved bookings can never overlap
  on one resource, even when the Python check is raced; a trigger that refuses UPDATE and
  DELETE on audit_logs.
- SQLite: triggers with the same two guarantees.

Revision ID: 0002
Revises: 0001
"""
from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

PG_UPGRADE = [
    "CREATE EXTENSION IF NOT EXISTS btree_gist",
    """ALTER TABLE bookings ADD CONSTRAINT ex_bookings_no_overlapping_approved
       EXCLUDE USING gist (resource_id WITH =, tstzrange(start_time, end_time, '[)') WITH &&)
       WHERE (status = 'approved')""",
    """CREATE FUNCTION audit_logs_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         RAISE EXCEPTION 'audit_logs is append-only: % refused', TG_OP
           USING ERRCODE = 'insufficient_privilege';
       END $$""",
    """CREATE TRIGGER trg_audit_logs_append_only BEFORE UPDATE OR DELETE ON audit_logs
       FOR EACH ROW EXECUTE FUNCTION audit_logs_append_only()""",
]
PG_DOWNGRADE = [
    "DROP TRIGGER IF EXISTS trg_audit_logs_append_only ON audit_logs",
    "DROP FUNCTION IF EXISTS audit_logs_append_only()",
    "ALTER TABLE bookings DROP CONSTRAINT IF EXISTS ex_bookings_no_overlapping_approved",
    # btree_gist stays: other objects of the database may use it, and it holds no data.
]

_SQLITE_OVERLAP = """
    SELECT RAISE(ABORT, 'ex_bookings_no_overlapping_approved: approved bookings overlap')
    WHERE NEW.status = 'approved' AND EXISTS (
        SELECT 1 FROM bookings b
        WHERE b.resource_id = NEW.resource_id AND b.id <> NEW.id AND b.status = 'approved'
          AND b.start_time < NEW.end_time AND b.end_time > NEW.start_time)"""
SQLITE_UPGRADE = [
    f"""CREATE TRIGGER trg_bookings_no_overlap_insert BEFORE INSERT ON bookings
        BEGIN {_SQLITE_OVERLAP}; END""",
    f"""CREATE TRIGGER trg_bookings_no_overlap_update
        BEFORE UPDATE OF status, start_time, end_time, resource_id ON bookings
        BEGIN {_SQLITE_OVERLAP}; END""",
    """CREATE TRIGGER trg_audit_logs_no_update BEFORE UPDATE ON audit_logs
       BEGIN SELECT RAISE(ABORT, 'audit_logs is append-only: UPDATE refused'); END""",
    """CREATE TRIGGER trg_audit_logs_no_delete BEFORE DELETE ON audit_logs
       BEGIN SELECT RAISE(ABORT, 'audit_logs is append-only: DELETE refused'); END""",
]
SQLITE_DOWNGRADE = [
    "DROP TRIGGER IF EXISTS trg_audit_logs_no_delete",
    "DROP TRIGGER IF EXISTS trg_audit_logs_no_update",
    "DROP TRIGGER IF EXISTS trg_bookings_no_overlap_update",
    "DROP TRIGGER IF EXISTS trg_bookings_no_overlap_insert",
]


def _run(statements: dict[str, list[str]]) -> None:
    dialect = op.get_bind().dialect.name
    if dialect not in statements:
        raise NotImplementedError(f"no guarantees written for dialect {dialect}")
    for sql in statements[dialect]:
        op.execute(sql)


def upgrade() -> None:
    _run({"postgresql": PG_UPGRADE, "sqlite": SQLITE_UPGRADE})


def downgrade() -> None:
    _run({"postgresql": PG_DOWNGRADE, "sqlite": SQLITE_DOWNGRADE})
