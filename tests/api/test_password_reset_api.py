"""'Forgot password?' over HTTP: one answer for every e-mail, throttled like sign-in, the
dashboard's link through the outbox, a token that works once, and every old token dead after
the reset."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from engine.models import AuditLog, PasswordResetToken
from engine.services.password_reset import RESET_REQUESTED
from engine.services.throttle import FREE_ATTEMPTS
from tests.api.conftest import PASSWORD, bearer, login, make_app
from tests.integration.test_password_reset import _outbox, _token_from

REQUEST, CONFIRM = "/api/v1/auth/password-reset", "/api/v1/auth/password-reset/confirm"
NEW = "a-brand-new-secret-7"


def counts(db) -> tuple[int, int]:
    """Audit entries and reset tokens: what a refused call must not change."""
    with db.uow().read() as uow:
        return tuple(uow.session.scalar(select(func.count()).select_from(m))
                     for m in (AuditLog, PasswordResetToken))


def mailed_token(client, db, email: str) -> str:
    r = client.post(REQUEST, json={"email": email})
    assert r.status_code == 202, r.text
    return _token_from(_outbox(db)[-1])


def signs_in(client, email: str, password: str) -> int:
    return client.post("/api/v1/auth/login",
                       data={"username": email, "password": password}).status_code


def test_a_known_email_gets_the_dashboards_link_by_the_outbox_and_its_token_sets_the_password(
        client, make, db):
    u = make.user(email="known@test.example")
    before = len(_outbox(db))
    r = client.post(REQUEST, json={"email": " Known@Test.example "})
    assert (r.status_code, r.json()) == (202, {"message": RESET_REQUESTED})
    outbox = _outbox(db)
    assert len(outbox) == before + 1
    mail = outbox[-1]
    assert (mail.recipient_user_id, mail.recipient_email) == (u.id, u.email)
    token = _token_from(mail)  # NOTIFY_DASHBOARD_URL/?token=..., as the dashboard's flow sends
    r = client.post(CONFIRM, json={"token": token, "new_password": NEW})
    assert r.status_code == 204, r.text
    assert signs_in(client, u.email, NEW) == 200
    assert signs_in(client, u.email, PASSWORD) == 401


def test_an_unknown_email_gets_exactly_the_same_answer_and_nothing_is_sent_or_stored(
        client, make, db):
    make.user(email="known@test.example")
    known = client.post(REQUEST, json={"email": "known@test.example"})
    before, mails = counts(db), len(_outbox(db))
    unknown = client.post(REQUEST, json={"email": "nobody@test.example"})
    assert (unknown.status_code, unknown.json()) == (known.status_code, known.json()) == (
        202, {"message": RESET_REQUESTED})
    assert set(unknown.headers.items()) - {("x-trace-id", unknown.headers["x-trace-id"])} == \
        set(known.headers.items()) - {("x-trace-id", known.headers["x-trace-id"])}
    assert counts(db) == before and len(_outbox(db)) == mails


def test_requests_are_throttled_alike_for_known_and_unknown_emails(client, make):
    """The engine's per-(e-mail, address) throttle, as for sign-in: 429 with Retry-After."""
    u = make.user()

    def answers(email):
        out = []
        for _ in range(FREE_ATTEMPTS + 1):
            r = client.post(REQUEST, json={"email": email})
            out.append((r.status_code, r.json(), r.headers.get("retry-after")))
        return out

    real, unknown = answers(u.email), answers("nobody-" + u.email)
    assert real == unknown
    assert [code for code, _, _ in real] == [202] * FREE_ATTEMPTS + [429]
    assert real[-1][2] == "60" and "password reset" in real[-1][1]["error"]


def test_the_api_edge_limits_reset_requests_like_sign_in(db, make):
    """API_AUTH_RATE_LIMIT_PER_ACCOUNT counts reset requests with sign-ins and registrations."""
    u = make.user()
    with TestClient(make_app(db, API_AUTH_RATE_LIMIT_PER_ACCOUNT=2)) as c:
        codes = [c.post(REQUEST, json={"email": email}).status_code
                 for email in (u.email, u.email.upper(), u.email)]
        other = c.post(REQUEST, json={"email": "nobody@test.example"})
    assert codes == [202, 202, 429]
    assert other.status_code == 202


@pytest.mark.parametrize("body", [{"email": "not an e-mail"}, {}, {"email": 12}])
def test_a_malformed_request_is_422_naming_email_and_writes_nothing(client, make, db, body):
    make.user()
    before = counts(db)
    r = client.post(REQUEST, json=body)
    assert r.status_code == 422 and r.json()["field"] == "email"
    assert counts(db) == before


@pytest.mark.parametrize("password, rule", [("short", "at least 10 characters"),
                                            ("qwertyuiop", "most common")])
def test_a_weak_new_password_is_422_naming_new_password_and_the_link_still_works(
        client, make, db, password, rule):
    u = make.user()
    token = mailed_token(client, db, u.email)
    before = counts(db)
    r = client.post(CONFIRM, json={"token": token, "new_password": password})
    assert r.status_code == 422 and r.json()["field"] == "new_password"
    assert rule in r.json()["error"]
    assert counts(db) == before and signs_in(client, u.email, PASSWORD) == 200
    assert client.post(CONFIRM, json={"token": token, "new_password": NEW}).status_code == 204


def test_a_token_works_once(client, make, db):
    u = make.user()
    token = mailed_token(client, db, u.email)
    assert client.post(CONFIRM, json={"token": token, "new_password": NEW}).status_code == 204
    before = counts(db)
    again = client.post(CONFIRM, json={"token": token, "new_password": "yet-another-secret-8"})
    assert again.status_code == 422 and again.json()["field"] == "token"
    assert counts(db) == before and signs_in(client, u.email, NEW) == 200


@pytest.mark.parametrize("token", ["not-the-token", "x" * 43])
def test_a_wrong_token_is_422_naming_token_and_writes_nothing(client, make, db, token):
    u = make.user()
    mailed_token(client, db, u.email)
    before = counts(db)
    r = client.post(CONFIRM, json={"token": token, "new_password": NEW})
    assert r.status_code == 422 and r.json()["field"] == "token"
    assert counts(db) == before and signs_in(client, u.email, PASSWORD) == 200


def test_an_expired_token_is_refused(client, make, db, clock):
    u = make.user()
    token = mailed_token(client, db, u.email)
    clock.advance(minutes=31)
    r = client.post(CONFIRM, json={"token": token, "new_password": NEW})
    assert r.status_code == 422 and r.json()["field"] == "token"


def test_a_reset_kills_every_old_access_and_refresh_token(client, make, db):
    u = make.user()
    phone, laptop = login(client, u.email), login(client, u.email)
    token = mailed_token(client, db, u.email)
    assert client.post(CONFIRM, json={"token": token, "new_password": NEW}).status_code == 204
    for old in (phone, laptop):
        me = client.get("/api/v1/users/me", headers=bearer(old))
        assert me.status_code == 401 and "revoked" in me.json()["error"]
        refreshed = client.post("/api/v1/auth/refresh",
                                json={"refresh_token": old["refresh_token"]})
        assert refreshed.status_code == 401
    fresh = login(client, u.email, NEW)
    assert client.get("/api/v1/users/me", headers=bearer(fresh)).status_code == 200


def test_confirming_needs_both_fields(client):
    r = client.post(CONFIRM, json={"token": "abc"})
    assert r.status_code == 422 and r.json()["field"] == "new_password"
    r = client.post(CONFIRM, json={"new_password": NEW})
    assert r.status_code == 422 and r.json()["field"] == "token"
