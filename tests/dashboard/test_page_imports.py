"""The dashboard draws its charts as Vega-Lite specs (Streamlit's own 0.8 MB chunk in the
browser); plotly (4.7 MB of plotly.js) belongs to the report files and notebooks."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def modules_the_pages_import() -> set[str]:
    """Every module named by an import in the app, its helpers and its page scripts (the pages
    are scripts run by st.navigation, so they are read, not imported)."""
    names: set[str] = set()
    for path in [*(ROOT / "dashboard").glob("*.py"), *(ROOT / "dashboard" / "views").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
    return names


def test_no_dashboard_module_or_page_draws_with_plotly() -> None:
    names = modules_the_pages_import()
    assert "dashboard.report_charts" in names and "dashboard.calendar_chart" in names
    assert not {name for name in names if name.split(".")[0] == "plotly"}
    assert "reports.definitions" not in names  # builds plotly figures for the report files
