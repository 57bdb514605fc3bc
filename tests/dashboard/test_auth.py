"""Signing in, out, registering and changing passwords through the dashboard (AppTest)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from streamlit_authenticator.utilities import Encryptor

from engine import services
from engine.config import get_settings
from engine.domain.permissions import Role
from engine.errors import AuthenticationError
from engine.passwords import POLICY
from engine.services import sessions
from engine.services.throttle import FREE_ATTEMPTS
from tests.dashboard.helpers import (
    PASSWORD,
    button,
    by_label,
    errors,
    new_app,
    sign_in_with_form,
    signed_in,
)

MEMBER_PAGES = {"new_booking", "my_bookings", "calendar", "account"}
MANAGER_PAGES = MEMBER_PAGES | {"all_bookings", "audit_log", "reports"}  # read-only
STAFF_PAGES = MEMBER_PAGES | {"approval_queue", "all_bookings", "audit_log", "reports"}
ADMIN_PAGES = STAFF_PAGES | {"admin_users", "admin_resources", "admin_zones", "admin_blackouts",
                             "admin_policies"}
ALL_PAGES = ADMIN_PAGES | {"sign_in", "register"}


def reachable(at) -> set[str]:
    out = set()
    for name in ALL_PAGES:
        try:
            at.switch_page(f"views/{name}.py")
        except ValueError:
            continue
        out.add(name)
    return out


def test_production_with_the_default_cookie_key_refuses_to_start(monkeypatch):
    monkeypatch.setenv("RANGE_CONTROL_ENV", "production")
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    monkeypatch.delenv("AUTH_COOKIE_KEY", raising=False)
    get_settings.cache_clear()
    try:
        at = new_app().run()
    finally:
        get_settings.cache_clear()
    assert any("AUTH_COOKIE_KEY" in e for e in errors(at))
    assert not at.text_input  # no sign-in form: nothing runs


def test_sign_in_with_the_form_opens_the_member_pages(dashboard, make):
    member = make.user(Role.USER)
    at = sign_in_with_form(member.email)
    assert not at.exception
    assert at.session_state["rc_user_id"] == str(member.id)
    assert [t.value for t in at.title] == ["New booking"]
    assert sessions.session_user(dashboard.uow(), at.session_state["rc_token"],
                                 kind="dashboard") == member.id


@pytest.mark.parametrize("role,pages", [(Role.USER, MEMBER_PAGES), (Role.MANAGER, MANAGER_PAGES),
                                        (Role.STAFF, STAFF_PAGES), (Role.ADMIN, ADMIN_PAGES)])
def test_each_role_reaches_its_pages_only(dashboard, make, role, pages):
    at = signed_in(dashboard, make.user(role))
    assert reachable(at) == pages


def test_signed_out_visitors_see_only_sign_in_and_register(dashboard):
    at = new_app().run()
    assert reachable(at) == {"sign_in", "register"}


def test_wrong_passwords_are_throttled_alike_for_real_and_unknown_emails(dashboard, make):
    member = make.user()
    seen = {}
    for email in (member.email, "nobody@club.example"):
        seen[email] = [errors(sign_in_with_form(email, "not-the-password"))
                       for _ in range(FREE_ATTEMPTS + 1)]
    assert seen[member.email] == seen["nobody@club.example"]
    assert all("email or password is incorrect" in " ".join(e).lower()
               for e in seen[member.email][:FREE_ATTEMPTS])
    assert "try again in 60 seconds" in " ".join(seen[member.email][-1])
    at = sign_in_with_form(member.email, PASSWORD)  # right password, but it must wait
    assert "try again" in " ".join(errors(at))
    assert "rc_user_id" not in at.session_state


def test_deactivated_account_cannot_sign_in(dashboard, make):
    member = make.user()
    services.deactivate_user(dashboard.uow(), make.admin.id, member.id)
    at = sign_in_with_form(member.email)
    assert "deactivated" in " ".join(errors(at))


def test_sign_out_revokes_the_session_so_the_old_token_signs_no_one_in(dashboard, make):
    member = make.user()
    at = sign_in_with_form(member.email)
    token = at.session_state["rc_token"]
    button(at, "Sign out").click().run()
    assert sessions.session_user(dashboard.uow(), token, kind="dashboard") is None
    assert [t.value for t in at.title] == ["Range-Control"]  # the sign-in page
    # A browser presenting the old token (as the cookie would) is not signed in.
    replay = new_app()
    replay.session_state["authentication_status"] = True
    replay.session_state["rc_token"] = token
    replay.session_state["username"] = member.email
    replay.run()
    assert "rc_user_id" not in replay.session_state
    assert any("session has ended" in e for e in errors(replay))


def test_deactivating_a_signed_in_user_ends_their_session_on_the_next_run(dashboard, make):
    member = make.user()
    at = signed_in(dashboard, member)
    services.deactivate_user(dashboard.uow(), make.admin.id, member.id)
    at.run()
    assert "rc_user_id" not in at.session_state


def _register(dashboard, email, password="long-enough-1", *, repeat=None, captcha=None):
    """Fill in and send the registration form; `captcha` None types the right answer."""
    at = new_app().run()
    at.switch_page("views/register.py").run()
    by_label(at.text_input, "First name").input("Robin")
    by_label(at.text_input, "Last name").input("Shaw")
    by_label(at.text_input, "Email").input(email)
    by_label(at.text_input, "Password").input(password)
    by_label(at.text_input, "Repeat password").input(password if repeat is None else repeat)
    key = dashboard.settings.signing_key("cookie_key")
    answer = Encryptor(key).decrypt(at.session_state["register_user_captcha"])
    by_label(at.text_input, "Captcha").input(answer if captcha is None else captcha(answer))
    button(at, "Create account").click().run()
    return at


def test_register_creates_a_member_through_the_engine(dashboard, make):
    at = _register(dashboard, "robin@club.example")
    assert not errors(at), errors(at)
    assert "Registration received" in at.success[0].value
    user = services.authenticate(dashboard.uow(), "robin@club.example", "long-enough-1")
    assert (user.name, user.role) == ("Robin Shaw", "user")


def test_registering_a_taken_email_looks_exactly_like_a_new_one(dashboard, make):
    owner = make.user(email="owner@club.example")
    new, taken = _register(dashboard, "fresh@club.example"), _register(dashboard, owner.email)
    assert not errors(new) and not errors(taken)
    assert [m.value for m in taken.success] == [m.value for m in new.success]
    assert services.authenticate(dashboard.uow(), owner.email, PASSWORD).name == owner.name


def test_the_password_help_text_is_the_engine_policy(dashboard, make):
    at = new_app().run()
    at.switch_page("views/register.py").run()
    assert by_label(at.text_input, "Password").help == POLICY.help_text()
    at = signed_in(dashboard, make.user(), "account")
    assert by_label(at.text_input, "New password").help == POLICY.help_text()


def test_register_shows_the_engine_rule_and_keeps_the_form(dashboard, make):
    at = _register(dashboard, "robin@club.example", "short")
    assert any("password: must be at least 10 characters" in e for e in errors(at))
    assert by_label(at.text_input, "Email").value == "robin@club.example"
    with pytest.raises(AuthenticationError):
        services.authenticate(dashboard.uow(), "robin@club.example", "short")


def _change_password(at, current, new, repeat=None):
    by_label(at.text_input, "Current password").input(current)
    by_label(at.text_input, "New password").input(new)
    by_label(at.text_input, "Repeat password").input(new if repeat is None else repeat)
    button(at, "Change password").click().run()
    return at


def test_change_password_on_the_account_page(dashboard, make):
    member = make.user()
    at = signed_in(dashboard, member, "account")
    _change_password(at, PASSWORD, "brand-new-pass")
    assert not errors(at), errors(at)
    assert services.authenticate(dashboard.uow(), member.email, "brand-new-pass").id == member.id


def test_a_password_change_signs_out_the_other_browsers_but_not_this_one(dashboard, make):
    member = make.user()
    other_browser = signed_in(dashboard, member)
    refresh = "api-refresh-token"
    sessions.open_session(dashboard.uow(), member.id, kind="refresh", token=refresh,
                          expires_at=dashboard.clock() + timedelta(days=1))
    at = signed_in(dashboard, member, "account")
    _change_password(at, PASSWORD, "brand-new-pass")
    assert not errors(at), errors(at)
    at.run()
    assert at.session_state["rc_user_id"] == str(member.id)  # the changer stays signed in
    other_browser.run()
    assert "rc_user_id" not in other_browser.session_state
    assert any("session has ended" in e for e in errors(other_browser))
    assert sessions.session_user(dashboard.uow(), refresh, kind="refresh") is None


def test_sign_out_everywhere_ends_this_browser_too(dashboard, make):
    member = make.user()
    other_browser = signed_in(dashboard, member)
    at = signed_in(dashboard, member, "account")
    button(at, "Sign out everywhere").click().run()
    assert "rc_user_id" not in at.session_state
    other_browser.run()
    assert "rc_user_id" not in other_browser.session_state


def test_change_password_with_a_wrong_current_password_is_refused(dashboard, make):
    member = make.user()
    at = signed_in(dashboard, member, "account")
    _change_password(at, "wrong-password", "brand-new-pass")
    assert any("current_password: is incorrect" in e for e in errors(at))
    assert services.authenticate(dashboard.uow(), member.email, PASSWORD).id == member.id


def test_register_page_is_absent_where_self_registration_is_closed(db_url, clock):
    from dashboard import ui
    from engine.db import Database
    from tests.conftest import test_settings

    closed = Database(db_url, settings=test_settings(ALLOW_SELF_REGISTRATION=False), clock=clock)
    ui.database_override = closed
    try:
        at = new_app().run()
        assert reachable(at) == {"sign_in"}
    finally:
        ui.database_override = None
        closed.dispose()


@pytest.mark.parametrize("peer,forwarded,expected", [
    ("93.184.216.34", "8.8.8.8", "93.184.216.34"),   # public peer: its own header is ignored
    ("100.64.3.2", "1.2.3.4, 198.51.100.7", "198.51.100.7"),  # Railway's edge: right-most hop
    ("10.0.0.9", None, "10.0.0.9"),                          # private peer, no header
    (None, None, "127.0.0.1"),                               # localhost (Streamlit says None)
])
def test_the_sign_in_source_trusts_forwarded_headers_only_from_a_proxy(peer, forwarded, expected):
    from dashboard.auth import client_address
    assert client_address(peer, forwarded) == expected


def test_register_refuses_a_wrong_captcha_and_creates_no_account(dashboard):
    at = _register(dashboard, "robin@club.example",
                   captcha=lambda answer: str((int(answer) + 1) % 10000).zfill(4))
    assert any("Captcha was entered incorrectly" in e for e in errors(at))
    assert not at.success
    with pytest.raises(AuthenticationError):
        services.authenticate(dashboard.uow(), "robin@club.example", "long-enough-1")


def test_register_needs_the_repeat_to_match(dashboard):
    at = _register(dashboard, "robin@club.example", repeat="long-enough-2")
    assert any("Repeat password must match the password" in e for e in errors(at))
    with pytest.raises(AuthenticationError):
        services.authenticate(dashboard.uow(), "robin@club.example", "long-enough-1")


def test_change_password_needs_the_repeat_to_match(dashboard, make):
    member = make.user()
    at = signed_in(dashboard, member, "account")
    _change_password(at, PASSWORD, "brand-new-pass", "brand-new-pasS")
    assert any("Repeat password must match the new password" in e for e in errors(at))
    assert services.authenticate(dashboard.uow(), member.email, PASSWORD).id == member.id


def test_only_the_forms_adapter_imports_streamlit_authenticator():
    """An upgrade of the library touches one file (issue 14)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    importers = {str(p.relative_to(root)) for folder in ("dashboard", "engine", "api", "reports")
                 for p in (root / folder).rglob("*.py")
                 if "streamlit_authenticator" in p.read_text(encoding="utf-8")}
    assert importers == {"dashboard/auth_forms.py"}
