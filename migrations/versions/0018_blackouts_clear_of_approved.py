"""No approved booking over a blackout, refused by the database in both directions.

A blackout is stored on one resource but closes that resource's whole scope: its safety zone,
or the resource itself when it has none (the same `scope_id` key the bookings carry, see
revision 0009; conflicts.hard_conflicts reads blackouts the same way). So:

- an approved booking (inserted, approved, moved in time, moved to another resource or zone)
  may not overlap a blackout on any resource of its scope;
- a blackout (inserted, or moved in time or to another resource) may not overlap an approved
  booking of its scope. Bookings the same transaction has already displaced (bumped) are no
  longer approved, so create_blackout displaces first and inserts the blackout after;
- a resource moved into a zone may not bring a blackout over that zone's approved bookings
  (its own approved bookings meet the new zone's blackouts through the bookings trigger,
  which fires when the move rewrites their scope_id).

Every refusal's message starts with `bookings_clear_of_blackouts`, which the services
recognise (lifecycle.refused_by_database) and turn into a 409 naming what is in the way.

PostgreSQL: row triggers check the other table, but two transactions never see each other's
uncommitted rows, so a check alone races (one inserts a blackout while another approves a
booking under it; both checks pass; both commit). Each trigger therefore first takes the same
transaction-level advisory lock the services take for that scope (pg_advisory_xact_lock on the
first 8 bytes of the scope id, as UnitOfWork.lock_scope does) and only then looks. The second
of two racing writers waits for the first to commit; its check is a fresh statement, which at
READ COMMITTED sees what the first committed, so it refuses. The lock is re-entrant inside one
transaction, so services, which already hold it, pay nothing extra. A snapshot taken before the
wait (REPEATABLE READ, or SERIALIZABLE next to a READ COMMITTED writer) would not see the
other's row, so the triggers refuse to write approved bookings or blackouts at those levels;
nothing in the project writes at them. The scope itself cannot move under the lock: the
booking's scope_id is set by trg_bookings_set_scope reading the resource FOR SHARE, the
blackout trigger reads its resource FOR SHARE, and a zone move locks its new scope too.

SQLite: every writer holds the database's single write lock (BEGIN IMMEDIATE in the services;
a deferred writer upgrading from a stale WAL snapshot gets SQLITE_BUSY), so a trigger is enough.

Written by hand: autogenerate cannot express triggers.

Revision ID: 0018
Revises: 0017
"""
from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

GUARD = "bookings_clear_of_blackouts"

_PG_ISOLATION = f"""
    IF current_setting('transaction_isolation') IN ('repeatable read', 'serializable') THEN
      RAISE EXCEPTION '{GUARD}: write approved bookings and blackouts at READ COMMITTED'
        USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;"""

PG_UPGRADE = [
    # The key UnitOfWork.lock_scope uses: the uuid's first 8 bytes as a signed bigint.
    """CREATE FUNCTION scope_lock_key(scope uuid) RETURNS bigint
       LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS
       $$ SELECT ('x' || left(replace(scope::text, '-', ''), 16))::bit(64)::bigint $$""",
    f"""CREATE FUNCTION bookings_clear_of_blackouts() RETURNS trigger LANGUAGE plpgsql AS $$
       DECLARE hit record;
       BEGIN
         {_PG_ISOLATION}
         PERFORM pg_advisory_xact_lock(scope_lock_key(NEW.scope_id));
         SELECT bl.id, bl.reason, r.name INTO hit
           FROM blackouts bl JOIN resources r ON r.id = bl.resource_id
          WHERE (r.id = NEW.scope_id OR r.safety_zone_id = NEW.scope_id)
            AND COALESCE(r.safety_zone_id, r.id) = NEW.scope_id
            AND bl.start_time < NEW.end_time AND bl.end_time > NEW.start_time
          LIMIT 1;
         IF FOUND THEN
           RAISE EXCEPTION '{GUARD}: approved booking % overlaps blackout % on % (%)',
             NEW.id, hit.id, hit.name, hit.reason USING ERRCODE = 'exclusion_violation';
         END IF;
         RETURN NULL;
       END $$""",
    # AFTER: trg_bookings_set_scope (BEFORE) has fixed NEW.scope_id by then.
    """CREATE TRIGGER trg_bookings_clear_of_blackouts
       AFTER INSERT OR UPDATE OF status, start_time, end_time, resource_id, scope_id ON bookings
       FOR EACH ROW WHEN (NEW.status = 'approved')
       EXECUTE FUNCTION bookings_clear_of_blackouts()""",
    f"""CREATE FUNCTION blackouts_clear_of_approved() RETURNS trigger LANGUAGE plpgsql AS $$
       DECLARE scope uuid; hit record;
       BEGIN
         {_PG_ISOLATION}
         -- FOR SHARE: the resource cannot change zone until we commit.
         SELECT COALESCE(r.safety_zone_id, r.id) INTO scope
           FROM resources r WHERE r.id = NEW.resource_id FOR SHARE;
         PERFORM pg_advisory_xact_lock(scope_lock_key(scope));
         -- Bookings last at most a day (ck_bookings_max_duration): the lower bound on
         -- start_time lets the (scope_id, status, start_time) index read only candidates.
         SELECT b.id INTO hit FROM bookings b
          WHERE b.scope_id = scope AND b.status = 'approved'
            AND b.start_time > NEW.start_time - interval '1 day 1 minute'
            AND b.start_time < NEW.end_time AND b.end_time > NEW.start_time
          LIMIT 1;
         IF FOUND THEN
           RAISE EXCEPTION '{GUARD}: blackout % overlaps approved booking % (displace it first)',
             NEW.id, hit.id USING ERRCODE = 'exclusion_violation';
         END IF;
         RETURN NULL;
       END $$""",
    """CREATE TRIGGER trg_blackouts_clear_of_approved
       AFTER INSERT OR UPDATE OF resource_id, start_time, end_time ON blackouts
       FOR EACH ROW EXECUTE FUNCTION blackouts_clear_of_approved()""",
    f"""CREATE FUNCTION resources_move_keeps_blackouts_clear() RETURNS trigger
       LANGUAGE plpgsql AS $$
       DECLARE scope uuid := COALESCE(NEW.safety_zone_id, NEW.id); hit record;
       BEGIN
         {_PG_ISOLATION}
         PERFORM pg_advisory_xact_lock(scope_lock_key(scope));
         SELECT bl.id AS blackout_id, b.id AS booking_id INTO hit
           FROM blackouts bl JOIN bookings b
             ON b.scope_id = scope AND b.status = 'approved' AND b.resource_id <> NEW.id
            AND b.start_time > bl.start_time - interval '1 day 1 minute'
            AND b.start_time < bl.end_time AND b.end_time > bl.start_time
          WHERE bl.resource_id = NEW.id
          LIMIT 1;
         IF FOUND THEN
           RAISE EXCEPTION '{GUARD}: moving resource % brings blackout % over booking %',
             NEW.id, hit.blackout_id, hit.booking_id
             USING ERRCODE = 'exclusion_violation';
         END IF;
         RETURN NULL;
       END $$""",
    """CREATE TRIGGER trg_resources_zone_move_keeps_blackouts_clear
       AFTER UPDATE OF safety_zone_id ON resources FOR EACH ROW
       WHEN (OLD.safety_zone_id IS DISTINCT FROM NEW.safety_zone_id)
       EXECUTE FUNCTION resources_move_keeps_blackouts_clear()""",
]
PG_DOWNGRADE = [
    "DROP TRIGGER IF EXISTS trg_resources_zone_move_keeps_blackouts_clear ON resources",
    "DROP FUNCTION IF EXISTS resources_move_keeps_blackouts_clear()",
    "DROP TRIGGER IF EXISTS trg_blackouts_clear_of_approved ON blackouts",
    "DROP FUNCTION IF EXISTS blackouts_clear_of_approved()",
    "DROP TRIGGER IF EXISTS trg_bookings_clear_of_blackouts ON bookings",
    "DROP FUNCTION IF EXISTS bookings_clear_of_blackouts()",
    "DROP FUNCTION IF EXISTS scope_lock_key(uuid)",
]

_SQLITE_BOOKING_MESSAGE = (f"{GUARD}: an approved booking may not overlap a blackout on its "
                           "resource or its safety zone")
_SQLITE_BLACKOUT_MESSAGE = (f"{GUARD}: a blackout may not overlap approved bookings on its "
                            "resource or its safety zone (displace them first)")
_SQLITE_MOVE_MESSAGE = (f"{GUARD}: the move brings a blackout of this resource over approved "
                        "bookings of the zone")
#: NEW's scope from its resource: on INSERT the stored scope_id is only set by an AFTER trigger.
_SQLITE_SCOPE_OF_NEW = ("(SELECT COALESCE(r.safety_zone_id, r.id) FROM resources r "
                        "WHERE r.id = NEW.resource_id)")
_SQLITE_BOOKING_BODY = f"""
    SELECT RAISE(ABORT, '{_SQLITE_BOOKING_MESSAGE}')
    WHERE EXISTS (
        SELECT 1 FROM resources r JOIN blackouts bl ON bl.resource_id = r.id
        WHERE (r.id = {_SQLITE_SCOPE_OF_NEW} OR r.safety_zone_id = {_SQLITE_SCOPE_OF_NEW})
          AND COALESCE(r.safety_zone_id, r.id) = {_SQLITE_SCOPE_OF_NEW}
          AND bl.start_time < NEW.end_time AND bl.end_time > NEW.start_time)"""
_SQLITE_BLACKOUT_BODY = f"""
    SELECT RAISE(ABORT, '{_SQLITE_BLACKOUT_MESSAGE}')
    WHERE EXISTS (
        SELECT 1 FROM bookings b
        WHERE b.scope_id = {_SQLITE_SCOPE_OF_NEW} AND b.status = 'approved'
          AND b.start_time > strftime('%Y-%m-%d %H:%M:%f', NEW.start_time, '-1 day', '-1 minute')
          AND b.start_time < NEW.end_time AND b.end_time > NEW.start_time)"""
#: The AFTER INSERT upkeep writing a new row's first scope_id: the insert trigger has just
#: checked that row (the body reads the scope from the resource, never from scope_id).
_SQLITE_FIRST_SCOPE_ONLY = """(OLD.scope_id IS NULL AND OLD.status IS NEW.status
    AND OLD.start_time IS NEW.start_time AND OLD.end_time IS NEW.end_time
    AND OLD.resource_id IS NEW.resource_id)"""
SQLITE_UPGRADE = [
    f"""CREATE TRIGGER trg_bookings_clear_of_blackouts_insert BEFORE INSERT ON bookings
        WHEN NEW.status = 'approved' BEGIN {_SQLITE_BOOKING_BODY}; END""",
    f"""CREATE TRIGGER trg_bookings_clear_of_blackouts_update
        BEFORE UPDATE OF status, start_time, end_time, resource_id, scope_id ON bookings
        WHEN NEW.status = 'approved' AND NOT {_SQLITE_FIRST_SCOPE_ONLY}
        BEGIN {_SQLITE_BOOKING_BODY}; END""",
    f"""CREATE TRIGGER trg_blackouts_clear_of_approved_insert BEFORE INSERT ON blackouts
        BEGIN {_SQLITE_BLACKOUT_BODY}; END""",
    f"""CREATE TRIGGER trg_blackouts_clear_of_approved_update
        BEFORE UPDATE OF resource_id, start_time, end_time ON blackouts
        BEGIN {_SQLITE_BLACKOUT_BODY}; END""",
    f"""CREATE TRIGGER trg_resources_zone_move_keeps_blackouts_clear
        AFTER UPDATE OF safety_zone_id ON resources
        WHEN OLD.safety_zone_id IS NOT NEW.safety_zone_id
        BEGIN SELECT RAISE(ABORT, '{_SQLITE_MOVE_MESSAGE}')
        WHERE EXISTS (
            SELECT 1 FROM blackouts bl JOIN bookings b
              ON b.scope_id = COALESCE(NEW.safety_zone_id, NEW.id) AND b.status = 'approved'
             AND b.resource_id <> NEW.id
             AND b.start_time < bl.end_time AND b.end_time > bl.start_time
            WHERE bl.resource_id = NEW.id); END""",
]
SQLITE_DOWNGRADE = [
    "DROP TRIGGER IF EXISTS trg_resources_zone_move_keeps_blackouts_clear",
    "DROP TRIGGER IF EXISTS trg_blackouts_clear_of_approved_update",
    "DROP TRIGGER IF EXISTS trg_blackouts_clear_of_approved_insert",
    "DROP TRIGGER IF EXISTS trg_bookings_clear_of_blackouts_update",
    "DROP TRIGGER IF EXISTS trg_bookings_clear_of_blackouts_insert",
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
