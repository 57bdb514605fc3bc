"""The least-privilege PostgreSQL role the dashboard, API, reports and workers connect as.

Migrations run as the owner of the tables (MIGRATION_DATABASE_URL, else DATABASE_URL). The
applications connect with DATABASE_URL as a different role that may read and write the data
but only SELECT and INSERT on audit_logs, owns nothing (so cannot ALTER, DISABLE TRIGGER or
DROP), is not a superuser (so cannot SET session_replication_role = replica) and has no
TRUNCATE. `python -m engine migrate` creates or updates that role with `ensure_runtime_role`.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from psycopg import sql
from sqlalchemy import create_engine, pool, text
from sqlalchemy.engine import Connection, make_url

log = logging.getLogger("range_control.engine")

#: Tables the runtime role may only read (and, for audit_logs, append to).
APPEND_ONLY = ("audit_logs",)
READ_ONLY = ("alembic_version",)


class RoleSetupError(RuntimeError):
    """The runtime role cannot be made least-privilege as configured; the message says why."""


@dataclass(frozen=True)
class RuntimeRole:
    name: str
    password: str | None


def runtime_role(app_url: str, owner_url: str) -> RuntimeRole | None:
    """The role named by the app's URL, when it differs from the owner's; None on SQLite or
    when both URLs name the same user (then the app runs as the owner, unprotected)."""
    app, owner = make_url(app_url), make_url(owner_url)
    if not app.drivername.startswith("postgresql") or not app.username:
        return None
    if app.username == owner.username:
        return None
    return RuntimeRole(app.username, app.password)


def _execute(conn: Connection, statement: sql.Composable) -> None:
    conn.exec_driver_sql(statement.as_string(conn.connection.driver_connection))


def ensure_runtime_role(owner_url: str, role: RuntimeRole) -> None:
    """Create or update `role` and (re)grant exactly the privileges the applications need on
    every table and sequence of the current schema, now and (default privileges) in future."""
    engine = create_engine(owner_url, poolclass=pool.NullPool)
    try:
        with engine.begin() as conn:
            _grant(conn, role)
    finally:
        engine.dispose()


def _grant(conn: Connection, role: RuntimeRole) -> None:
    owner, schema, database = conn.execute(
        text("SELECT current_user, current_schema(), current_database()")).one()
    if role.name == owner:
        raise RoleSetupError("DATABASE_URL names the owner of the tables: give the "
                             "applications their own user")
    r, o, s = sql.Identifier(role.name), sql.Identifier(str(owner)), sql.Identifier(str(schema))
    owned: int = conn.execute(text("SELECT count(*) FROM pg_class c JOIN pg_roles a "
                              "ON a.oid = c.relowner WHERE a.rolname = :r"),
                         {"r": role.name}).scalar_one()
    if owned:
        raise RoleSetupError(f"role {role.name} owns {owned} table(s) or other relations: "
                             "owners can disable triggers, so the runtime role must own nothing")
    exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"),
                          {"r": role.name}).first()
    attributes = sql.SQL("LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS")
    password = (sql.SQL(" PASSWORD {}").format(sql.Literal(role.password))
                if role.password is not None else sql.SQL(""))
    verb = sql.SQL("ALTER ROLE") if exists else sql.SQL("CREATE ROLE")
    _execute(conn, sql.SQL("{} {} {}{}").format(verb, r, attributes, password))
    # A member of the owner role would inherit the owner's rights.
    if conn.execute(text("SELECT pg_has_role(:r, :o, 'MEMBER')"),
                    {"r": role.name, "o": owner}).scalar_one():
        _execute(conn, sql.SQL("REVOKE {} FROM {}").format(o, r))
    statements = [
        sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(database), r),
        sql.SQL("REVOKE CREATE ON SCHEMA {} FROM PUBLIC").format(s),
        sql.SQL("REVOKE CREATE ON SCHEMA {} FROM {}").format(s, r),
        sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(s, r),
        sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM {}").format(s, r),
        sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {} TO {}"
                ).format(s, r),
        sql.SQL("GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {} TO {}").format(s, r),
        sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA {} GRANT SELECT, INSERT, UPDATE, DELETE "
                "ON TABLES TO {}").format(s, r),
        sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA {} GRANT USAGE, SELECT, UPDATE "
                "ON SEQUENCES TO {}").format(s, r),
    ]
    present = set(conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = :s"),
                               {"s": schema}).scalars())
    for table in APPEND_ONLY:
        if table in present:
            statements.append(sql.SQL("REVOKE UPDATE, DELETE ON {} FROM {}").format(
                sql.Identifier(schema, table), r))
    for table in READ_ONLY:
        if table in present:
            statements.append(sql.SQL("REVOKE INSERT, UPDATE, DELETE ON {} FROM {}").format(
                sql.Identifier(schema, table), r))
    for statement in statements:
        _execute(conn, statement)
    log.info("runtime role %s has least privilege on %s.%s", role.name, database, schema,
             extra={"action": "migrate.runtime_role", "status": "ok"})


def apply_runtime_role(app_url: str, owner_url: str) -> str:
    """What `python -m engine migrate` (and restore) do after the schema: a line to print."""
    if not make_url(owner_url).drivername.startswith("postgresql"):
        return "SQLite: no database roles"
    role = runtime_role(app_url, owner_url)
    if role is None:
        return ("warning: DATABASE_URL connects as the owner of the tables; set "
                "MIGRATION_DATABASE_URL to the owner and DATABASE_URL to a separate user so the "
                "applications cannot erase the audit trail")
    ensure_runtime_role(owner_url, role)
    return f"runtime role {role.name}: least privilege granted (audit_logs: SELECT, INSERT only)"
