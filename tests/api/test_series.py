"""Recurring bookings over HTTP: preview, request, approve the conflict-free part, deny,
cancel this-and-following, the series_id filter, errors, and the OpenAPI schema."""
from __future__ import annotations

from datetime import timedelta

from tests.api.conftest import iso

S = "/api/v1/bookings/series"


def _body(resource, start, count=6, **extra):
    return {"resource_id": str(resource.id), "start_time": iso(start),
            "end_time": iso(start + timedelta(hours=2)),
            "rule": {"frequency": "weekly", "count": count}, **extra}


def test_preview_request_and_approve_the_conflict_free_part(client, people, make, clock):
    r = make.resource()
    start = clock.now + timedelta(days=1, hours=10)
    blocker = make.booking(r, start=start + timedelta(weeks=2),
                           end=start + timedelta(weeks=2, hours=1), approve_by=people.staff)
    member, staff = people.headers["member"], people.headers["staff"]
    preview = client.post(f"{S}/preview", headers=member, json=_body(r, start))
    assert preview.status_code == 200, preview.text
    p = preview.json()
    assert p["rule"].startswith("FREQ=WEEKLY;COUNT=6") and p["conflicting"] == 1
    assert [c["id"] for c in p["occurrences"][2]["hard"]] == [str(blocker.id)]
    created = client.post(S, headers=member, json=_body(r, start, purpose="Weekly practice"))
    assert created.status_code == 201, created.text
    series = created.json()
    assert len(series["occurrences"]) == 6
    assert {o["status"] for o in series["occurrences"]} == {"pending"}
    assert {o["series_id"] for o in series["occurrences"]} == {series["id"]}
    listed = client.get("/api/v1/bookings", headers=member,
                        params={"series_id": series["id"]}).json()
    assert listed["total"] == 6
    seen = client.get(f"{S}/{series['id']}", headers=staff).json()
    assert seen["conflicting"] == 1
    third = series["occurrences"][2]["id"]
    assert [c["id"] for c in seen["hard_conflicts"][third]] == [str(blocker.id)]
    queue = client.get(S, headers=staff).json()
    assert queue["total"] == 1
    row, = queue["items"]
    assert (row["series"]["id"], row["pending"], row["conflicting"]) == (series["id"], 6, 1)
    assert client.get(S, headers=member).status_code == 403
    decision = client.post(f"{S}/{series['id']}/approve", headers=staff)
    assert decision.status_code == 200
    d = decision.json()
    assert len(d["changed"]) == 5 and [x["booking_id"] for x in d["left"]] == [third]
    assert client.post(f"{S}/{series['id']}/approve", headers=member).status_code == 403


def test_skip_conflicts_deny_and_cancel_following(client, people, make, clock):
    r = make.resource()
    start = clock.now + timedelta(days=1, hours=10)
    make.booking(r, start=start, end=start + timedelta(hours=2), approve_by=people.staff)
    member, staff = people.headers["member"], people.headers["staff"]
    series = client.post(S, headers=member, json=_body(r, start, purpose="Course mornings",
                                                       skip_conflicts=True)).json()
    assert len(series["occurrences"]) == 5 and series["skipped_starts"] == [iso(start)]
    second = series["occurrences"][1]["id"]
    cancel = client.post(f"{S}/{series['id']}/cancel", headers=member,
                         json={"from_booking_id": second, "reason": "course shortened"})
    assert cancel.status_code == 200 and len(cancel.json()["changed"]) == 4
    denied = client.post(f"{S}/{series['id']}/deny", headers=staff, json={"reason": "closed"})
    assert denied.status_code == 200 and len(denied.json()["changed"]) == 1
    again = client.post(f"{S}/{series['id']}/deny", headers=staff, json={"reason": "closed"})
    assert again.status_code == 409 and "no pending occurrences" in again.json()["error"]
    assert client.get(f"{S}/{series['id']}", headers=people.headers["other"]).status_code == 404


def test_bad_rule_is_422_naming_the_field(client, people, make, clock):
    r = make.resource()
    start = clock.now + timedelta(days=1, hours=10)
    body = _body(r, start, purpose="Weekly practice")
    body["rule"] = {"frequency": "weekly", "interval": 0, "count": 3}
    bad = client.post(S, headers=people.headers["member"], json=body)
    assert bad.status_code == 422 and bad.json()["field"] == "rule.interval"
    body["rule"] = {"frequency": "weekly", "count": 3, "until": "2030-03-01"}
    bad = client.post(S, headers=people.headers["member"], json=body)
    assert bad.status_code == 422 and bad.json()["field"] == "rule.count"
    body["rule"] = {"frequency": "weekly", "count": 900}
    bad = client.post(S, headers=people.headers["member"], json=body)
    assert bad.status_code == 422 and "at most 366 occurrences" in bad.json()["error"]


def test_series_operations_are_in_the_openapi_schema(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert "get" in paths["/api/v1/bookings/series"]
    assert {"/api/v1/bookings/series", "/api/v1/bookings/series/preview",
            "/api/v1/bookings/series/{series_id}", "/api/v1/bookings/series/{series_id}/approve",
            "/api/v1/bookings/series/{series_id}/deny",
            "/api/v1/bookings/series/{series_id}/cancel"} <= set(paths)
    params = {p["name"] for p in paths["/api/v1/bookings"]["get"]["parameters"]}
    assert "series_id" in params
