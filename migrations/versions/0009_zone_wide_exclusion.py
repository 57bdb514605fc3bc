"""Zone-wide overlap refused by the database: every booking carries its exclusive scope.

`bookings.scope_id` is the key that must stay exclusive for approved bookings: the resource's
safety zone, or the resource itself when it has none. The database keeps it right on its own,
so no code path (nor raw SQL) can forget it:

- PostgreSQL: a BEFORE INSERT / UPDATE OF resource_id, scope_id trigger sets it from the
  resource (read FOR SHARE, so a concurrent zone move waits or is waited for); an AFTER UPDATE OF
  safety_zone_id trigger on resources rewrites the scope of that resource's bookings in the same
  transaction; the exclusion constraint ex_bookings_no_overlapping_approved_in_scope
  (scope_id WITH =, tstzrange WITH &&) WHERE approved replaces the per-resource one (it implies
  it). A zone move that would make approved bookings overlap fails on the constraint.
- SQLite: AFTER triggers with the same upkeep, and the overlap triggers compare scopes instead
  of resources (writers are already serialised by BEGIN IMMEDIATE).

Written by hand: autogenerate cannot express triggers or exclusion constraints.

Revision ID: 0009
Revises: 0008
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

PG_UPGRADE = [
    """UPDATE bookings b SET scope_id = COALESCE(r.safety_zone_id, r.id)
       FROM resources r WHERE r.id = b.resource_id""",
    """CREATE FUNCTION bookings_set_scope() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         -- FOR SHARE: a zone move of this resource waits for us, or we wait for it and read
         -- the zone it committed; the scope can never be read stale.
         SELECT COALESCE(r.safety_zone_id, r.id) INTO NEW.scope_id
           FROM resources r WHERE r.id = NEW.resource_id FOR SHARE;
         RETURN NEW;
       END $$""",
    """CREATE TRIGGER trg_bookings_set_scope
       BEFORE INSERT OR UPDATE OF resource_id, scope_id ON bookings
       FOR EACH ROW EXECUTE FUNCTION bookings_set_scope()""",
    """CREATE FUNCTION resources_move_booking_scopes() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         UPDATE bookings SET scope_id = COALESCE(NEW.safety_zone_id, NEW.id)
          WHERE resource_id = NEW.id
            AND scope_id IS DISTINCT FROM COALESCE(NEW.safety_zone_id, NEW.id);
         RETURN NULL;
       END $$""",
    """CREATE TRIGGER trg_resources_move_booking_scopes
       AFTER UPDATE OF safety_zone_id ON resources FOR EACH ROW
       WHEN (OLD.safety_zone_id IS DISTINCT FROM NEW.safety_zone_id)
       EXECUTE FUNCTION resources_move_booking_scopes()""",
    "ALTER TABLE bookings DROP CONSTRAINT ex_bookings_no_overlapping_approved",
    """ALTER TABLE bookings ADD CONSTRAINT ex_bookings_no_overlapping_approved_in_scope
       EXCLUDE USING gist (scope_id WITH =, tstzrange(start_time, end_time, '[)') WITH &&)
       WHERE (status = 'approved')""",
]
PG_DOWNGRADE = [
    "ALTER TABLE bookings DROP CONSTRAINT IF EXISTS ex_bookings_no_overlapping_approved_in_scope",
    """ALTER TABLE bookings ADD CONSTRAINT ex_bookings_no_overlapping_approved
       EXCLUDE USING gist (resource_id WITH =, tstzrange(start_time, end_time, '[)') WITH &&)
       WHERE (status = 'approved')""",
    "DROP TRIGGER IF EXISTS trg_resources_move_booking_scopes ON resources",
    "DROP FUNCTION IF EXISTS resources_move_booking_scopes()",
    "DROP TRIGGER IF EXISTS trg_bookings_set_scope ON bookings",
    "DROP FUNCTION IF EXISTS bookings_set_scope()",
]

_SQLITE_SCOPE_OF_NEW = ("(SELECT COALESCE(r.safety_zone_id, r.id) FROM resources r "
                        "WHERE r.id = NEW.resource_id)")
_SCOPE_MESSAGE = ("ex_bookings_no_overlapping_approved_in_scope: approved bookings overlap "
                  "in one safety zone or on one resource")
#: The scope is computed from the resource, not read from NEW.scope_id: on INSERT and on a
#: change of resource the stored value is only fixed by the AFTER triggers below.
_SCOPE_OVERLAP = f"""
    SELECT RAISE(ABORT, '{_SCOPE_MESSAGE}')
    WHERE NEW.status = 'approved' AND EXISTS (
        SELECT 1 FROM bookings b
        WHERE b.scope_id = {_SQLITE_SCOPE_OF_NEW} AND b.status = 'approved'
          AND b.start_time > strftime('%Y-%m-%d %H:%M:%f', NEW.start_time, '-1 day', '-1 minute')
          AND b.start_time < NEW.end_time AND b.end_time > NEW.start_time AND b.id <> NEW.id)"""
#: The per-resource body of revision 0004, restored on downgrade.
_RESOURCE_OVERLAP = """
    SELECT RAISE(ABORT, 'ex_bookings_no_overlapping_approved: approved bookings overlap')
    WHERE NEW.status = 'approved' AND EXISTS (
        SELECT 1 FROM bookings b
        WHERE b.resource_id = NEW.resource_id AND b.status = 'approved'
          AND b.start_time > strftime('%Y-%m-%d %H:%M:%f', NEW.start_time, '-1 day', '-1 minute')
          AND b.start_time < NEW.end_time AND b.end_time > NEW.start_time AND b.id <> NEW.id)"""


def _sqlite_overlap_triggers(body: str, columns: str) -> list[str]:
    return [
        "DROP TRIGGER IF EXISTS trg_bookings_no_overlap_insert",
        "DROP TRIGGER IF EXISTS trg_bookings_no_overlap_update",
        f"""CREATE TRIGGER trg_bookings_no_overlap_insert BEFORE INSERT ON bookings
            BEGIN {body}; END""",
        f"""CREATE TRIGGER trg_bookings_no_overlap_update BEFORE UPDATE OF {columns} ON bookings
            BEGIN {body}; END""",
    ]


SQLITE_UPGRADE = [
    """UPDATE bookings SET scope_id = (SELECT COALESCE(r.safety_zone_id, r.id) FROM resources r
                                       WHERE r.id = bookings.resource_id)""",
    *_sqlite_overlap_triggers(_SCOPE_OVERLAP,
        "status, start_time, end_time, resource_id, scope_id"),
    f"""CREATE TRIGGER trg_bookings_scope_insert AFTER INSERT ON bookings
        BEGIN UPDATE bookings SET scope_id = {_SQLITE_SCOPE_OF_NEW} WHERE id = NEW.id; END""",
    f"""CREATE TRIGGER trg_bookings_scope_update AFTER UPDATE OF resource_id, scope_id ON bookings
        WHEN NEW.scope_id IS NOT {_SQLITE_SCOPE_OF_NEW}
        BEGIN UPDATE bookings SET scope_id = {_SQLITE_SCOPE_OF_NEW} WHERE id = NEW.id; END""",
    """CREATE TRIGGER trg_resources_move_booking_scopes AFTER UPDATE OF safety_zone_id ON resources
       WHEN OLD.safety_zone_id IS NOT NEW.safety_zone_id
       BEGIN UPDATE bookings SET scope_id = COALESCE(NEW.safety_zone_id, NEW.id)
             WHERE resource_id = NEW.id; END""",
]
SQLITE_DOWNGRADE = [
    "DROP TRIGGER IF EXISTS trg_resources_move_booking_scopes",
    "DROP TRIGGER IF EXISTS trg_bookings_scope_update",
    "DROP TRIGGER IF EXISTS trg_bookings_scope_insert",
    *_sqlite_overlap_triggers(_RESOURCE_OVERLAP, "status, start_time, end_time, resource_id"),
]


def _dialect() -> str:
    dialect = op.get_bind().dialect.name
    if dialect not in ("postgresql", "sqlite"):
        raise NotImplementedError(f"no guarantees written for dialect {dialect}")
    return dialect


def upgrade() -> None:
    dialect = _dialect()
    op.add_column("bookings", sa.Column("scope_id", sa.Uuid(), nullable=True))
    for sql in PG_UPGRADE if dialect == "postgresql" else SQLITE_UPGRADE:
        op.execute(sql)
    op.create_index("ix_bookings_scope_status_start", "bookings",
                    ["scope_id", "status", "start_time"])


def downgrade() -> None:
    dialect = _dialect()
    op.drop_index("ix_bookings_scope_status_start", table_name="bookings")
    for sql in PG_DOWNGRADE if dialect == "postgresql" else SQLITE_DOWNGRADE:
        op.execute(sql)
    op.drop_column("bookings", "scope_id")
