"""The API at its edge: client addresses from trusted proxies only, the stricter sign-in limit,
503 + Retry-After while the database is down, the body cap, strict input types."""
from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from api.config import ApiSettings, parse_networks
from api.edge import BodyLimitMiddleware, client_address
from api.tokens import ACCESS
from engine.db import Database
from engine.services.throttle import ACCOUNT_CAP, FREE_ATTEMPTS
from tests.api.conftest import iso, make_app
from tests.conftest import test_settings as settings_for_tests

BOOKINGS = "/api/v1/bookings"
LOGIN = "/api/v1/auth/login"


def _anonymous_codes(c: TestClient, n: int, forwarded=lambda i: f"198.51.100.{i % 250}"):
    return [c.get(BOOKINGS, headers={"X-Forwarded-For": forwarded(i)}).status_code
            for i in range(n)]


# --- who the client is ---------------------------------------------------------------------

def test_rotating_forwarded_for_from_an_untrusted_peer_does_not_escape_the_ip_limit(db):
    """The attack from issue 8: a fresh X-Forwarded-For on every request. The peer is not a
    configured proxy, so the header is ignored and every request spends the peer's window."""
    for trusted in ("", "10.0.0.0/8"):
        app = make_app(db, API_RATE_LIMIT_PER_IP=5, TRUSTED_PROXIES=trusted)
        with TestClient(app, client=("203.0.113.7", 4000)) as c:
            codes = _anonymous_codes(c, 12)
        assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}, (trusted, codes)
        db.dispose()
        if db.dialect == "postgresql":  # a fresh window for the second round
            with db.engine.begin() as conn:
                conn.exec_driver_sql("DELETE FROM rate_limit_counters")


def test_behind_a_trusted_proxy_the_right_most_untrusted_hop_is_the_client(db, caplog):
    caplog.set_level("INFO", logger="range_control.api.requests")
    app = make_app(db, API_RATE_LIMIT_PER_IP=3, TRUSTED_PROXIES="10.0.0.0/8")
    with TestClient(app, client=("10.1.2.3", 4000)) as c:
        # The client forges a different left part each time; the proxy appends the real address.
        codes = _anonymous_codes(c, 6, forwarded=lambda i: f"192.0.2.{i}, 203.0.113.50")
        assert codes == [401, 401, 401, 429, 429, 429]
        r = c.get(BOOKINGS, headers={"X-Forwarded-For": "203.0.113.60"})
        assert r.status_code == 401
        # Another real client behind the same proxy has its own window, through two proxy hops.
        codes = _anonymous_codes(c, 3, forwarded=lambda i: f"1.1.1.{i}, 203.0.113.51, 10.9.9.9")
        assert codes == [401] * 3
    logged = [(rec.client_ip, rec.peer) for rec in caplog.records
              if rec.name == "range_control.api.requests"]
    assert ("203.0.113.60", "10.1.2.3") in logged  # the log shows both, to set TRUSTED_PROXIES


def test_client_address_walks_forwarded_for_from_the_right():
    trusted = parse_networks("10.0.0.0/8, 127.0.0.1, fd00::/8")
    assert client_address("203.0.113.1", ["1.2.3.4"], trusted) == "203.0.113.1"
    assert client_address("10.0.0.1", ["1.2.3.4", "5.6.7.8"], trusted) == "5.6.7.8"
    assert client_address("10.0.0.1", ["1.2.3.4", "5.6.7.8", "10.2.2.2"], trusted) == "5.6.7.8"
    assert client_address("10.0.0.1", ["10.3.3.3", "127.0.0.1"], trusted) == "10.3.3.3"
    assert client_address("10.0.0.1", [], trusted) == "10.0.0.1"
    assert client_address("10.0.0.1", ["not-an-ip"], trusted) == "10.0.0.1"
    assert client_address("fd00::5", ["[2001:db8::1]:443"], trusted) == "2001:db8::1"
    assert client_address("10.0.0.1", ["5.6.7.8:1234"], trusted) == "5.6.7.8"
    with pytest.raises(ValueError, match="TRUSTED_PROXIES"):
        ApiSettings(TRUSTED_PROXIES="10.0.0.0/8, everyone")


def test_the_railway_start_command_leaves_forwarded_headers_to_the_app():
    import tomllib
    from pathlib import Path

    conf = tomllib.loads((Path(__file__).resolve().parents[2] / "railway.api.toml").read_text())
    start = conf["deploy"]["startCommand"]
    assert "--no-proxy-headers" in start and "forwarded-allow-ips" not in start


# --- the stricter sign-in and registration limit --------------------------------------------

def _login(c: TestClient, email: str, password: str, address: str) -> int:
    return c.post(LOGIN, data={"username": email, "password": password},
                  headers={"X-Forwarded-For": address}).status_code


def test_guesses_at_one_account_from_one_address_do_not_lock_out_its_owner(db, make):
    victim = make.user()
    app = make_app(db, API_AUTH_RATE_LIMIT_PER_ACCOUNT=4, API_AUTH_RATE_LIMIT_PER_IP=100,
                   TRUSTED_PROXIES="10.0.0.0/8")
    with TestClient(app, client=("10.0.0.2", 4000)) as c:
        codes = [_login(c, victim.email.upper(), "wrong-pw-1", "198.51.100.9") for _ in range(6)]
        assert codes == [401] * 4 + [429, 429]  # the name is counted case-blind
        r = c.post(LOGIN, data={"username": victim.email, "password": "password-123"},
                   headers={"X-Forwarded-For": "198.51.100.9"})
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        assert "too many" in r.json()["error"]
        # The owner, from their own address, still signs in.
        assert _login(c, victim.email, "password-123", "203.0.113.77") == 200


def test_guesses_spread_over_addresses_are_capped_and_the_owner_still_signs_in(db, make,
                                                                              clock):
    """Past the engine's all-addresses cap an address that failed gets no more checks, even
    with the right password, while the owner from an address that has not failed signs in
    (the edge limits at their defaults do not keep the owner out either)."""
    victim = make.user()
    app = make_app(db, API_AUTH_RATE_LIMIT_PER_ACCOUNT=10, API_AUTH_RATE_LIMIT_PER_IP=30,
                   TRUSTED_PROXIES="10.0.0.0/8")
    addresses = [f"198.51.100.{i}" for i in range(ACCOUNT_CAP // FREE_ATTEMPTS)]
    with TestClient(app, client=("10.0.0.2", 4000)) as c:
        codes = [_login(c, victim.email, "wrong-pw-1", a)
                 for a in addresses for _ in range(FREE_ATTEMPTS)]
        assert codes == [401] * ACCOUNT_CAP
        clock.advance(minutes=5)  # every address's own wait is over
        r = c.post(LOGIN, data={"username": victim.email, "password": "password-123"},
                   headers={"X-Forwarded-For": addresses[0]})
        assert r.status_code == 429 and "many addresses" in r.json()["error"]
        assert _login(c, victim.email, "password-123", "203.0.113.77") == 200


def test_login_and_registration_share_a_per_ip_limit(db):
    app = make_app(db, API_AUTH_RATE_LIMIT_PER_IP=3, API_AUTH_RATE_LIMIT_PER_ACCOUNT=100,
                   API_RATE_LIMIT_PER_IP=1000)
    with TestClient(app) as c:
        codes = [c.post(LOGIN, data={"username": f"guess{i}@x.example",
                                     "password": "wrong-pw-1"}).status_code for i in range(3)]
        r = c.post("/api/v1/auth/register", json={"email": "new@x.example", "name": "New",
                                                  "password": "a-good-passphrase-9"})
        assert codes == [401] * 3 and r.status_code == 429
        assert c.get(BOOKINGS).status_code == 401  # the general limit is separate


# --- the database is down ------------------------------------------------------------------

UNREACHABLE = {
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:1/range_control",
    "sqlite": "sqlite:////nonexistent-dir/range_control/rc.db",
}


@pytest.mark.parametrize("backend", sorted(UNREACHABLE))
@pytest.mark.parametrize("limits", [0, 100])
def test_an_unreachable_database_is_a_503_with_retry_after(backend, limits):
    down = Database(UNREACHABLE[backend], settings=settings_for_tests())
    app = make_app(down, API_RATE_LIMIT_PER_IP=limits, API_UNAVAILABLE_RETRY_AFTER=7)
    token, _ = app.state.tokens.issue(uuid.uuid4(), "user", ACCESS,  # valid: the DB is asked
                                      session_id=uuid.uuid4())
    with TestClient(app, raise_server_exceptions=False) as c:
        for r in (c.get(BOOKINGS, headers={"Authorization": f"Bearer {token}"}),
                  c.post(LOGIN, data={"username": "a@b.example", "password": "whatever-1"})):
            assert r.status_code == 503, r.text
            assert r.headers["retry-after"] == "7" and "unavailable" in r.json()["error"]
        health = c.get("/health")
    down.dispose()
    assert health.status_code == 503 and health.headers["retry-after"] == "7"
    body = health.json()
    assert body["database"] == "unreachable"
    expected = {"postgresql": "connection refused", "sqlite": "cannot be opened"}[backend]
    assert expected in body["reason"]


# --- request bodies ------------------------------------------------------------------------

def test_a_body_over_the_cap_is_a_413_with_or_without_content_length(client, people):
    big = json.dumps({"purpose": "x" * 70_000}).encode()
    r = client.post(BOOKINGS, content=big, headers={**people.headers["member"],
                                                     "Content-Type": "application/json"})
    assert r.status_code == 413 and "at most 65536 bytes" in r.json()["error"]

    def chunks():  # no Content-Length: Transfer-Encoding: chunked
        for i in range(0, len(big), 8192):
            yield big[i:i + 8192]

    r = client.post(BOOKINGS, content=chunks(), headers={**people.headers["member"],
                                                          "Content-Type": "application/json"})
    assert "content-length" not in {k.lower() for k in r.request.headers}
    assert r.status_code == 413
    small = json.dumps({"purpose": "x"}).encode()
    r = client.post(BOOKINGS, content=iter([small]), headers={
        **people.headers["member"], "Content-Type": "application/json"})
    assert r.status_code == 422  # under the cap: the route sees the whole body


def test_the_body_cap_stops_reading_a_chunked_stream_once_it_is_passed():
    seen, sent = [], []

    async def app(scope, receive, send):  # pragma: no cover - must never run
        seen.append(scope)

    async def run():
        chunks = [{"type": "http.request", "body": b"a" * 600, "more_body": True}
                  for _ in range(100)]
        read = []

        async def receive():
            read.append(1)
            return chunks.pop(0)

        async def send(message):
            sent.append(message)

        await BodyLimitMiddleware(app, max_bytes=2000)(
            {"type": "http", "headers": [(b"transfer-encoding", b"chunked")]}, receive, send)
        return len(read)

    reads = asyncio.run(run())
    assert not seen and reads == 4  # 2,400 bytes read, then the answer; the rest never read
    assert sent[0]["status"] == 413


# --- strict input --------------------------------------------------------------------------

def test_priority_and_flags_refuse_lax_types(client, people, make, clock):
    resource = make.resource()
    start = clock.now + timedelta(days=1)
    body = {"resource_id": str(resource.id), "start_time": iso(start),
            "end_time": iso(start + timedelta(hours=1)), "purpose": "Practice session"}
    for bad in (True, "3", 1.0):
        r = client.post(BOOKINGS, json={**body, "priority": bad},
                        headers=people.headers["member"])
        assert r.status_code == 422 and r.json()["field"] == "priority", (bad, r.text)
    r = client.post(BOOKINGS, json={**body, "priority": 1}, headers=people.headers["member"])
    assert r.status_code == 201 and r.json()["priority"] == 1
    r = client.post(f"{BOOKINGS}/{r.json()['id']}/approve", json={"force_override": "yes"},
                    headers=people.headers["staff"])
    assert r.status_code == 422 and r.json()["field"] == "force_override"


def test_a_purpose_of_invisible_characters_is_empty(client, people, make, clock):
    resource = make.resource()
    start = clock.now + timedelta(days=1)
    for purpose in ("\u200b\u200b\u200b\u200b", "\u3000\u00a0\u2060\ufeff\u200d", "\u3164" * 4,
                    "ab\u200b\u200c"):
        r = client.post(BOOKINGS, headers=people.headers["member"], json={
            "resource_id": str(resource.id), "start_time": iso(start),
            "end_time": iso(start + timedelta(hours=1)), "purpose": purpose})
        assert r.status_code == 422 and r.json()["field"] == "purpose", (purpose, r.text)
        assert "visible characters" in r.json()["error"]
    assert client.get(BOOKINGS, headers=people.headers["member"]).json()["total"] == 0
