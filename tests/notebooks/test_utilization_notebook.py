"""The managers' notebook runs top to bottom on the demo data (executed by nbclient in a real
kernel, not only parsed), through the engine's read-only services."""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from engine import migrate
from engine.db import Database
from engine.demo import DEMO_LOGINS, load_demo
from engine.services import authenticate, policies
from tests.conftest import test_settings as settings_for_tests

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "utilization.ipynb"


@pytest.fixture
def demo_database(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    migrate.upgrade(url)
    db = Database(url, settings=settings_for_tests())
    load_demo(db, hash_rounds=4)
    admin = authenticate(db.uow(), *DEMO_LOGINS["admin"])
    policies.set_policy(db.uow(), admin.id, resource_type="range", quota_hours_per_week=12,
                        quota_hours_per_month=40, max_open_bookings=6)
    db.dispose()
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv("RANGE_CONTROL_ENV", raising=False)
    return url


def outputs(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        parts.append(out.get("text", ""))
        data = out.get("data", {})
        parts.append(data.get("text/plain", ""))
        if "application/vnd.plotly.v1+json" in data:
            parts.append("<plotly figure>")
    return "\n".join(parts)


@pytest.mark.slow
def test_the_notebook_runs_on_the_demo_data(demo_database):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT)}}).execute()
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not any(o.get("output_type") == "error" for o in c.get("outputs", []))
               for c in code)
    text = [outputs(c) for c in code]
    assert "Signed in as Max Manager (manager)" in text[0]
    assert "<plotly figure>" in text[1] and "range" in text[1]          # utilization
    assert "<plotly figure>" in text[2] and "range" in text[2]          # quota use
    assert "<plotly figure>" in text[3] and "booked_hours" in text[3]   # busiest hours
    assert "<plotly figure>" in text[4] and "conflict rate" in text[4]  # trends


def test_the_notebook_uses_no_sql_of_its_own():
    source = "\n".join(c.source for c in nbformat.read(NOTEBOOK, as_version=4).cells)
    for forbidden in ("sqlalchemy", "text(", "SELECT ", "session", "create_engine"):
        assert forbidden not in source


def test_quota_report_counts_the_demo_members_use(demo_database):
    """The figures the notebook draws are the engine's: quota use matches a direct count."""
    from engine.services import insights
    db = Database(demo_database, settings=settings_for_tests())
    manager = authenticate(db.uow(), *DEMO_LOGINS["manager"])
    rows = insights.quota_report(db.uow(), manager.id)
    assert rows and {r.resource_type for r in rows} == {"range"}
    assert all(r.week_limit == 12 and r.month_limit == 40 and r.open_limit == 6 for r in rows)
    assert any(r.month_hours > 0 for r in rows)
    cells = insights.busiest_hours(db.uow(), manager.id, start=db.clock().date().replace(day=1),
                                   end=db.clock().date())
    assert len(cells) == 7 * 24
    db.dispose()
