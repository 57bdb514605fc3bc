"""HTTP plumbing: gzip, rate limits with Retry-After, the OpenAPI schema and docs, health."""
from __future__ import annotations

from fastapi.testclient import TestClient

from api.ratelimit import MemoryCounters, RateLimiter
from tests.api.conftest import bearer, login, make_app


def test_large_lists_are_gzipped(client, people, make):
    for _ in range(8):
        make.resource(description="A long description of the lanes and their targets. " * 3)
    r = client.get("/api/v1/resources", headers={**people.headers["member"],
                                                  "Accept-Encoding": "gzip"})
    assert r.status_code == 200 and r.headers["content-encoding"] == "gzip"
    assert r.json()["total"] == 8  # httpx decodes it transparently


def test_per_user_limit_answers_429_with_retry_after(db, make):
    with TestClient(make_app(db, API_RATE_LIMIT_PER_USER=3)) as c:
        a, b = bearer(login(c, make.user().email)), bearer(login(c, make.user().email))
        assert [c.get("/api/v1/bookings", headers=a).status_code for _ in range(3)] == [200] * 3
        r = c.get("/api/v1/bookings", headers=a)
        assert r.status_code == 429
        assert int(r.headers["retry-after"]) >= 1 and "rate limit" in r.json()["error"]
        assert c.get("/api/v1/bookings", headers=b).status_code == 200  # others unaffected


def test_per_ip_limit_covers_anonymous_callers_but_not_health(db):
    with TestClient(make_app(db, API_RATE_LIMIT_PER_IP=2)) as c:
        codes = [c.post("/api/v1/auth/login", data={"username": "a@b.example",
                                                     "password": "whatever-1"}).status_code
                 for _ in range(3)]
        assert codes == [401, 401, 429]
        assert c.get("/health").status_code == 200


def test_fixed_window_allows_its_limit_then_waits_for_the_next_window():
    now = [120.0]
    limiter = RateLimiter(MemoryCounters(clock=lambda: now[0]), clock=lambda: now[0])
    assert all(limiter.check([("k", 60)], 60) == 0 for _ in range(60))
    now[0] += 45.5
    assert limiter.check([("k", 60)], 60) == 14.5  # the window [120, 180) ends in 14.5 s
    assert limiter.check([("other", 60)], 60) == 0  # keys are counted apart
    now[0] += 14.5
    assert limiter.check([("k", 60)], 60) == 0


def test_openapi_and_docs_are_served_under_v1(client):
    schema = client.get("/api/v1/openapi.json").json()
    assert schema["info"]["title"] == "Range-Control API"
    for path in ("/api/v1/auth/login", "/api/v1/bookings/{booking_id}/approve",
                 "/api/v1/audit-logs", "/api/v1/users/{user_id}", "/health"):
        assert path in schema["paths"], path
    approve = schema["paths"]["/api/v1/bookings/{booking_id}/approve"]["post"]
    assert "409" in approve["responses"]
    assert "text/html" in client.get("/api/v1/docs").headers["content-type"]


def test_health_reports_the_database_revision(client):
    r = client.get("/health")
    assert r.status_code == 200
    assert r.json()["status"] == "ok" and r.json()["revision"]


def test_unknown_routes_and_methods_answer_in_the_error_shape(client, people):
    r = client.get("/api/v1/nothing-here")
    assert r.status_code == 404 and "error" in r.json()
    r = client.patch("/api/v1/bookings", headers=people.headers["member"])
    assert r.status_code == 405 and "error" in r.json()


def test_each_request_is_logged_once_with_trace_id_user_and_status(client, people, caplog):
    caplog.set_level("INFO", logger="range_control.api.requests")
    r = client.get("/api/v1/bookings", headers=people.headers["member"])
    lines = [rec for rec in caplog.records if rec.name == "range_control.api.requests"]
    assert len(lines) == 1
    rec = lines[0]
    assert rec.status_code == 200 and rec.method == "GET" and rec.endpoint == "/api/v1/bookings"
    assert rec.trace_id == r.headers["x-trace-id"] and str(people.member.id) == rec.user_id
    r = client.get("/api/v1/bookings", headers={"X-Trace-Id": "abcdef0123456789"})
    assert r.status_code == 401 and r.headers["x-trace-id"] == "abcdef0123456789"


def test_health_is_503_on_an_unmigrated_database(tmp_path):
    from engine.db import Database
    from tests.conftest import test_settings

    empty = Database(f"sqlite:///{tmp_path / 'empty.db'}", settings=test_settings())
    with TestClient(make_app(empty)) as c:
        r = c.get("/health")
    empty.dispose()
    assert r.status_code == 503 and r.json()["database"] == "not migrated"


def test_railway_api_service_runs_this_app_with_its_health_check():
    import tomllib
    from pathlib import Path

    conf = tomllib.loads((Path(__file__).resolve().parents[2] / "railway.api.toml").read_text())
    assert "uvicorn api.main:app" in conf["deploy"]["startCommand"]
    assert "$PORT" in conf["deploy"]["startCommand"]
    assert conf["deploy"]["healthcheckPath"] == "/health"
