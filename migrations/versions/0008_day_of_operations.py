"""Day of operations: check-in columns, the `no_show` status, check-in rules, the waitlist.

Written by hand: SQLite cannot alter a CHECK constraint, so there the bookings table is rebuilt
the way SQLite documents (new table, copy, drop, rename) and its indexes and triggers (the
overlap and duration guarantees) are re-created from their stored SQL, whatever they are now.

Revision ID: 0008
Revises: 0007
"""
from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

OLD_STATUSES = ("pending", "approved", "denied", "cancelled", "bumped")
NEW_STATUSES = OLD_STATUSES + ("no_show",)
WAITLIST_STATUSES = ("waiting", "offered", "accepted", "declined", "expired", "left")


def _in_list(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


_SQLITE_COLUMNS = ("\tchecked_in_at DATETIME, \n\tchecked_in_by_id CHAR(32), \n"
                   "\tchecked_out_at DATETIME, \n")
_SQLITE_FK = (", \n\tCONSTRAINT fk_bookings_checked_in_by_id_users FOREIGN KEY(checked_in_by_id) "
              "REFERENCES users (id)")


def _sqlite_rebuild_bookings(transform) -> None:
    """Rebuild `bookings` from its own CREATE statement passed through `transform`."""
    conn = op.get_bind()
    create_sql = conn.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'bookings'").scalar_one()
    extras = [r[0] for r in conn.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE tbl_name = 'bookings' AND type IN ('index', "
        "'trigger') AND sql IS NOT NULL ORDER BY type, name")]
    old_cols = [r[1] for r in conn.exec_driver_sql("PRAGMA table_info(bookings)")]
    new_sql = transform(create_sql)
    conn.exec_driver_sql(re.sub(r"^CREATE TABLE \"?bookings\"?", "CREATE TABLE bookings_rebuilt",
                                new_sql))
    new_cols = [r[1] for r in conn.exec_driver_sql("PRAGMA table_info(bookings_rebuilt)")]
    common = ", ".join(c for c in old_cols if c in new_cols)
    conn.exec_driver_sql(f"INSERT INTO bookings_rebuilt ({common}) SELECT {common} FROM bookings")
    conn.exec_driver_sql("DROP TABLE bookings")
    conn.exec_driver_sql("ALTER TABLE bookings_rebuilt RENAME TO bookings")
    for sql in extras:
        conn.exec_driver_sql(sql)


def _sqlite_up(sql: str) -> str:
    sql = sql.replace(f"CHECK (status IN ({_in_list(OLD_STATUSES)}))",
                      f"CHECK (status IN ({_in_list(NEW_STATUSES)}))")
    sql = sql.replace("\tCONSTRAINT pk_bookings", _SQLITE_COLUMNS + "\tCONSTRAINT pk_bookings", 1)
    return sql.rstrip().removesuffix(")").rstrip() + _SQLITE_FK + "\n)"


def _sqlite_down(sql: str) -> str:
    sql = sql.replace(f"CHECK (status IN ({_in_list(NEW_STATUSES)}))",
                      f"CHECK (status IN ({_in_list(OLD_STATUSES)}))")
    return sql.replace(_SQLITE_COLUMNS, "").replace(_SQLITE_FK, "")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        _sqlite_rebuild_bookings(_sqlite_up)
    elif dialect == "postgresql":
        op.add_column("bookings", sa.Column("checked_in_at", sa.DateTime(timezone=True)))
        op.add_column("bookings", sa.Column("checked_in_by_id", sa.Uuid()))
        op.add_column("bookings", sa.Column("checked_out_at", sa.DateTime(timezone=True)))
        op.create_foreign_key("fk_bookings_checked_in_by_id_users", "bookings", "users",
                              ["checked_in_by_id"], ["id"])
        op.execute("ALTER TABLE bookings DROP CONSTRAINT ck_bookings_booking_status")
        op.execute("ALTER TABLE bookings ADD CONSTRAINT ck_bookings_booking_status "
                   f"CHECK (status IN ({_in_list(NEW_STATUSES)}))")
    else:
        raise NotImplementedError(f"no migration written for dialect {dialect}")

    op.create_table(
        "checkin_rules",
        sa.Column("resource_type", sa.String(50), nullable=False),
        sa.Column("opens_before_minutes", sa.Integer(), nullable=False),
        sa.Column("grace_minutes", sa.Integer(), nullable=False),
        sa.Column("offer_minutes", sa.Integer(), nullable=False),
        sa.Column("required_since", sa.DateTime(timezone=True)),
        sa.Column("updated_by_id", sa.Uuid()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("opens_before_minutes >= 0 AND opens_before_minutes <= 1440",
                           name="ck_checkin_rules_opens_before_range"),
        sa.CheckConstraint("grace_minutes >= 1 AND grace_minutes <= 720",
                           name="ck_checkin_rules_grace_range"),
        sa.CheckConstraint("offer_minutes >= 5 AND offer_minutes <= 10080",
                           name="ck_checkin_rules_offer_range"),
        sa.ForeignKeyConstraint(["updated_by_id"], ["users.id"],
                                name="fk_checkin_rules_updated_by_id_users"),
        sa.PrimaryKeyConstraint("resource_type", name="pk_checkin_rules"),
    )
    op.create_table(
        "waitlist_entries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("resource_id", sa.Uuid(), nullable=False),
        sa.Column("requester_id", sa.Uuid(), nullable=False),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("priority", sa.Integer(), server_default="0", nullable=False),
        sa.Column("status", sa.Enum(*WAITLIST_STATUSES, name="waitlist_status", native_enum=False,
                                    create_constraint=True, length=50), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("offered_at", sa.DateTime(timezone=True)),
        sa.Column("offer_expires_at", sa.DateTime(timezone=True)),
        sa.Column("booking_id", sa.Uuid()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("end_time > start_time", name="ck_waitlist_entries_valid_time_range"),
        sa.CheckConstraint("priority >= 0 AND priority <= 10",
                           name="ck_waitlist_entries_priority_range"),
        sa.ForeignKeyConstraint(["resource_id"], ["resources.id"],
                                name="fk_waitlist_entries_resource_id_resources"),
        sa.ForeignKeyConstraint(["requester_id"], ["users.id"],
                                name="fk_waitlist_entries_requester_id_users"),
        sa.ForeignKeyConstraint(["booking_id"], ["bookings.id"],
                                name="fk_waitlist_entries_booking_id_bookings"),
        sa.PrimaryKeyConstraint("id", name="pk_waitlist_entries"),
        sa.UniqueConstraint("booking_id", name="uq_waitlist_entries_booking_id"),
    )
    op.create_index("ix_waitlist_entries_resource_status_start", "waitlist_entries",
                    ["resource_id", "status", "start_time"])
    op.create_index("ix_waitlist_entries_status_expires", "waitlist_entries",
                    ["status", "offer_expires_at"])
    op.create_index("ix_waitlist_entries_requester_id", "waitlist_entries", ["requester_id"])
    live = sa.text("status IN ('waiting', 'offered')")
    op.create_index("uq_waitlist_entries_live_window", "waitlist_entries",
                    ["requester_id", "resource_id", "start_time", "end_time"], unique=True,
                    sqlite_where=live, postgresql_where=live)


def downgrade() -> None:
    op.drop_table("waitlist_entries")
    op.drop_table("checkin_rules")
    # `no_show` has no older equivalent: such bookings go back as cancelled (their audit keeps
    # the truth). The check-in columns are dropped.
    op.execute("UPDATE bookings SET status = 'cancelled' WHERE status = 'no_show'")
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        _sqlite_rebuild_bookings(_sqlite_down)
    else:
        op.execute("ALTER TABLE bookings DROP CONSTRAINT ck_bookings_booking_status")
        op.execute("ALTER TABLE bookings ADD CONSTRAINT ck_bookings_booking_status "
                   f"CHECK (status IN ({_in_list(OLD_STATUSES)}))")
        op.drop_constraint("fk_bookings_checked_in_by_id_users", "bookings", type_="foreignkey")
        op.drop_column("bookings", "checked_out_at")
        op.drop_column("bookings", "checked_in_by_id")
        op.drop_column("bookings", "checked_in_at")
