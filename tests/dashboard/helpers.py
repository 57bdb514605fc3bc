"""Helpers for AppTest tests of the dashboard."""
from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path

from streamlit.testing.v1 import AppTest

from engine.services import sessions

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")
PASSWORD = "password-123"  # what tests/conftest.py's Factory gives every user


def new_app() -> AppTest:
    return AppTest.from_file(APP, default_timeout=60)


def sign_in_with_form(email: str, password: str = PASSWORD) -> AppTest:
    at = new_app().run()
    email_box, password_box = at.text_input[0], at.text_input[1]
    email_box.input(email)
    password_box.input(password)
    at.button[0].click().run()
    return at


def signed_in(db, user, page: str | None = None) -> AppTest:
    """An AppTest already signed in as `user`, the way a browser with a valid cookie is:
    through a live engine session whose token the app re-checks on every run."""
    token = secrets.token_urlsafe(16)
    sessions.open_session(db.uow(), user.id, kind="dashboard", token=token,
                          expires_at=db.clock() + timedelta(days=1))
    at = new_app()
    at.session_state["authentication_status"] = True
    at.session_state["username"] = user.email
    at.session_state["rc_token"] = token
    at.run()
    if page:
        at.switch_page(f"views/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def button(at: AppTest, label: str):
    matches = [b for b in at.button if b.label == label]
    assert matches, f"no button {label!r}; buttons: {[b.label for b in at.button]}"
    return matches[0]


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def by_label(elements, label: str):
    matches = [e for e in elements if e.label == label]
    assert matches, f"no widget {label!r}; have {[e.label for e in elements]}"
    return matches[0]
