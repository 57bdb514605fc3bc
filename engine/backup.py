"""PostgreSQL backup and restore with the standard tools (pg_dump -Fc / pg_restore).

The password travels in PGPASSWORD, never on the command line, so `ps` does not show it.
The client tools' major version must be at least the server's (Debian ships 15 here).
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupError(RuntimeError):
    """A dump or restore could not run or failed; the message says why."""


def libpq_target(url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection URI without the password, and the environment carrying it."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("postgres"):
        raise BackupError(f"backups need a PostgreSQL DATABASE_URL (got {parsed.drivername}): "
                          "for SQLite, copy the database file while nothing writes to it")
    env = dict(os.environ)
    if parsed.password is not None:
        env["PGPASSWORD"] = str(parsed.password)
    # URL.set(password=None) means "unchanged"; _replace really drops it.
    uri = parsed._replace(drivername="postgresql", password=None).render_as_string(
        hide_password=False)
    return uri, env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if not path:
        raise BackupError(f"{name} not found: install the PostgreSQL client "
                          "(Debian: apt-get install postgresql-client)")
    return path


def _run(cmd: list[str], env: dict[str, str], what: str) -> None:
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise BackupError(f"{what} failed (exit {proc.returncode}): "
                          + ("; ".join(detail[-5:]) or "no output"))


def backup(url: str, out: Path) -> Path:
    """Dump the whole database (schema, data, alembic_version) in pg_dump's custom format."""
    uri, env = libpq_target(url)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    try:
        _run([_tool("pg_dump"), "--format=custom", "--no-owner", "--no-acl",
              f"--file={partial}", f"--dbname={uri}"], env, "pg_dump")
        partial.replace(out)  # a failed dump never leaves a file that looks complete
    finally:
        partial.unlink(missing_ok=True)
    return out


def restore(url: str, source: Path) -> None:
    """Replace the target database's objects with the dump's, in one transaction."""
    if not source.is_file():
        raise BackupError(f"backup file {source} does not exist")
    uri, env = libpq_target(url)
    _run([_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-acl",
          "--single-transaction", "--exit-on-error", f"--dbname={uri}", str(source)],
         env, "pg_restore")
