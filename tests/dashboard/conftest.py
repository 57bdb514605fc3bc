"""AppTest fixtures: the real dashboard/app.py run against the test database and frozen clock."""
from __future__ import annotations

import pytest

from dashboard import ui


@pytest.fixture
def dashboard(db):
    """Point the app at the fixture database (and its clock) for the length of a test."""
    ui.database_override = db
    yield db
    ui.database_override = None


