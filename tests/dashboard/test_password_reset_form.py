"""'Forgot password?' on the sign-in page and the reset form its e-mailed link opens (AppTest)."""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

from sqlalchemy import select

from engine import services
from engine.models import OutboxMessage
from engine.services import sessions
from engine.services.password_reset import RESET_REQUESTED
from tests.dashboard.helpers import button, by_label, errors, new_app, sign_in_with_form, signed_in

NEW_PASSWORD = "a-brand-new-secret"


def _mail_to(db, email) -> list[OutboxMessage]:
    with db.uow().read() as uow:
        return list(uow.session.scalars(select(OutboxMessage).where(
            OutboxMessage.recipient_email == email)))


def _ask_for_a_link(email: str):
    at = new_app().run()
    by_label(at.text_input, "Email")  # the sign-in form is still first
    at.text_input(key="forgot-email").input(email)
    button(at, "Send me a reset link").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _token(message: OutboxMessage) -> str:
    [link] = re.findall(r"https?://\S+", message.body_text)
    return parse_qs(urlparse(link).query)["token"][0]


def _open_link(token: str, new: str = NEW_PASSWORD, repeat: str | None = None):
    at = new_app()
    at.query_params["token"] = token
    at.run()
    by_label(at.text_input, "New password").input(new)
    by_label(at.text_input, "Repeat new password").input(new if repeat is None else repeat)
    button(at, "Set new password").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_link_answers_the_same_for_known_and_unknown_emails(dashboard, make):
    make.user(email="known@example.org")
    answers = []
    for email in ("known@example.org", "nobody@example.org"):
        at = _ask_for_a_link(email)
        answers.append([s.value for s in at.success])
    assert answers == [[RESET_REQUESTED], [RESET_REQUESTED]]
    assert len(_mail_to(dashboard, "known@example.org")) == 1
    assert _mail_to(dashboard, "nobody@example.org") == []


def test_the_emailed_link_sets_a_new_password_and_signs_out_everywhere(dashboard, make):
    member = make.user(email="known@example.org")
    before = signed_in(dashboard, member)
    _ask_for_a_link("known@example.org")
    [message] = _mail_to(dashboard, "known@example.org")
    at = _open_link(_token(message))
    assert "token" not in at.query_params
    assert any("password has been changed" in s.value for s in at.success)
    assert sessions.session_user(dashboard.uow(), before.session_state["rc_token"],
                                 kind="dashboard") is None
    assert services.authenticate(dashboard.uow(), "known@example.org", NEW_PASSWORD)
    assert sign_in_with_form("known@example.org", NEW_PASSWORD).session_state["rc_user_id"] \
        == str(member.id)
    again = _open_link(_token(message), new="yet-another-secret")  # used once already
    assert any("invalid, expired or already used" in e for e in errors(again))


def test_the_reset_form_names_the_rule_it_breaks(dashboard, make):
    make.user(email="known@example.org")
    _ask_for_a_link("known@example.org")
    [message] = _mail_to(dashboard, "known@example.org")
    at = _open_link(_token(message), new="short")
    assert errors(at) == ["New password must be at least 10 characters"]
    at = _open_link(_token(message), repeat="something-else-entirely")
    assert any("must match" in e for e in errors(at))
    assert _open_link(_token(message)).success  # the token survived the refusals
