"""AppTest fixtures: the real dashboard/app.py run against the test database and frozen clock."""
from __future__ import annotations

import pytest

from dashboard import ui


@pytest.fixture(autouse=True)
def _quiet_library_cookie_warnings(monkeypatch):
    """AppTest has no browser cookies (it hands out mocks); the library prints on each."""
    monkeypatch.setattr("streamlit_authenticator.models.cookie_model.CookieModel._token_decode",
                        lambda self: False)


@pytest.fixture
def dashboard(db):
    """Point the app at the fixture database (and its clock) for the length of a test."""
    ui.database_override = db
    yield db
    ui.database_override = None


