"""Migrations build the whole schema from empty, agree with the models, and downgrade cleanly."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, pool

from engine import migrate
from engine.models import Base


def diff(url: str) -> list:
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True,
                                                     "compare_server_default": False})
        result = compare_metadata(ctx, Base.metadata)
    engine.dispose()
    return result


def test_models_and_migrated_schema_agree(db_url):
    assert diff(db_url) == []


def test_migrations_are_at_head(db_url):
    assert migrate.current_revision(db_url) == migrate.head_revision(db_url)


def test_downgrade_to_base_and_back_up(db_url):
    migrate.downgrade(db_url, "base")
    engine = create_engine(db_url, poolclass=pool.NullPool)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(db_url)
    assert {"users", "resources", "bookings", "audit_logs", "safety_zones", "blackouts",
            "auth_sessions"} <= set(inspect(engine).get_table_names())
    engine.dispose()
    assert diff(db_url) == []


def test_architecture_names_are_kept(db_url):
    engine = create_engine(db_url, poolclass=pool.NullPool)
    insp = inspect(engine)
    booking_indexes = {ix["name"] for ix in insp.get_indexes("bookings")}
    assert {"idx_bookings_resource", "idx_bookings_requester", "idx_bookings_status",
            "idx_bookings_time"} <= booking_indexes
    checks = {c["name"] for c in insp.get_check_constraints("bookings")}
    assert "ck_bookings_valid_time_range" in checks
    cols = {c["name"] for c in insp.get_columns("audit_logs")}
    assert {"id", "booking_id", "actor_id", "action", "details", "previous_state",
            "timestamp"} <= cols
    engine.dispose()


def test_a_row_with_only_the_architectures_columns_is_valid(db_url):
    """Other tools may write rows knowing only the architecture's schema."""
    import uuid

    from sqlalchemy import text

    engine = create_engine(db_url, poolclass=pool.NullPool)
    hexid = (lambda u: u.hex) if db_url.startswith("sqlite") else str
    u, r, b, a = (uuid.uuid4() for _ in range(4))
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO users (id, email, password_hash, name, role) "
                          "VALUES (:id, 'x@y.example', 'h', 'X', 'user')"), {"id": hexid(u)})
        conn.execute(text("INSERT INTO resources (id, name, resource_type, description) "
                          "VALUES (:id, 'R', 'range', NULL)"), {"id": hexid(r)})
        conn.execute(text(
            "INSERT INTO bookings (id, resource_id, requester_id, start_time, end_time, status, "
            "purpose, priority) VALUES (:id, :r, :u, '2030-01-01 10:00:00', "
            "'2030-01-01 12:00:00', 'pending', 'p', 1)"),
            {"id": hexid(b), "r": hexid(r), "u": hexid(u)})
        conn.execute(text("INSERT INTO audit_logs (id, booking_id, actor_id, action, details) "
                          "VALUES (:id, :b, :u, 'created', 'imported')"),
                     {"id": hexid(a), "b": hexid(b), "u": hexid(u)})
        row = conn.execute(text("SELECT is_active, priority FROM bookings JOIN users "
                                "ON users.id = bookings.requester_id")).one()
    engine.dispose()
    assert bool(row.is_active) is True and row.priority == 1


def test_unique_names_migration_renames_existing_duplicates(db_url):
    """0014 keeps the oldest name and renames the others before building the unique index."""
    import uuid

    import sqlalchemy as sa

    from engine import migrate

    migrate.downgrade(db_url, "0013")
    engine = sa.create_engine(db_url)
    try:
        with engine.begin() as conn:
            for n, name in enumerate(["Range 1", "range 1", "RANGE 1"]):
                conn.execute(sa.text(
                    "INSERT INTO resources (id, name, resource_type, is_active, created_at, "
                    "updated_at) VALUES (:id, :name, 'range', true, :at, :at)"),
                    {"id": uuid.uuid4().hex if engine.dialect.name == "sqlite" else uuid.uuid4(),
                     "name": name, "at": f"2030-01-0{n + 1} 00:00:00+00:00"})
        migrate.upgrade(db_url)
        with engine.connect() as conn:
            names = sorted(conn.execute(sa.text("SELECT name FROM resources")).scalars())
        assert names == ["RANGE 1 (3)", "Range 1", "range 1 (2)"]
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM resources"))
        engine.dispose()
