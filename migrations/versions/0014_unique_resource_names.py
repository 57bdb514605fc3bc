"""Resource and safety-zone names are unique whatever their capitals.

Two resources called "Range 1" and "range 1" merged into one calendar row. Existing duplicates
are renamed first ("Range 1 (2)"), oldest keeping its name, so the unique index can be built;
the downgrade drops the indexes (renamed rows keep their new names: that loses nothing).

Revision ID: 0014
Revises: 0013
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

TABLES = {"resources": "uq_resources_name_lower", "safety_zones": "uq_safety_zones_name_lower"}


def _rename_duplicates(table: str) -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text(f"SELECT id, name FROM {table} ORDER BY created_at, id")).all()
    seen: set[str] = {r.name.lower() for r in rows}
    kept: set[str] = set()
    for row in rows:
        key = row.name.lower()
        if key not in kept:
            kept.add(key)
            continue
        n = 2
        while f"{row.name} ({n})".lower() in seen:
            n += 1
        new = f"{row.name} ({n})"
        seen.add(new.lower())
        kept.add(new.lower())
        bind.execute(sa.text(f"UPDATE {table} SET name = :name WHERE id = :id"),
                     {"name": new, "id": row.id})


def upgrade() -> None:
    for table, index in TABLES.items():
        _rename_duplicates(table)
        op.execute(f"CREATE UNIQUE INDEX {index} ON {table} (lower(name))")


def downgrade() -> None:
    for index in TABLES.values():
        op.execute(f"DROP INDEX IF EXISTS {index}")
