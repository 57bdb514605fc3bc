"""Booking policies and named approvers over HTTP: everyone signed in reads them, only admins
change them (the engine refuses the rest), bad input is a 422 naming the field and writes
nothing, and what is set is what requests meet."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine.domain.permissions import Role
from engine.models import AuditLog, BookingPolicy, ResourceApprover
from tests.api.conftest import bearer, iso, login

P, A = "/api/v1/policies", "/api/v1/approvers"


def effective(resource_id) -> str:
    return f"/api/v1/resources/{resource_id}/policy"


def rows(db) -> tuple[int, int, int]:
    """Audit entries, policy rows, approver rows: what a refused call must not change."""
    with db.uow().read() as uow:
        return tuple(uow.session.scalar(select(func.count()).select_from(m))
                     for m in (AuditLog, BookingPolicy, ResourceApprover))


def put_policy(client, people, **body):
    r = client.put(P, headers=people.headers["admin"], json=body)
    assert r.status_code == 200, r.text
    return r.json()


def test_a_resource_overrides_its_types_policy_and_the_effective_policy_merges_them(
        client, people, make):
    res = make.resource(resource_type="range")
    of_type = put_policy(client, people, resource_type="range", min_notice_minutes=60,
                         approval_mode="two_person", quota_hours_per_week=4)
    own = put_policy(client, people, resource_id=str(res.id), min_notice_minutes=120)
    assert own["resource_name"] == res.name and own["resource_type"] is None
    got = client.get(effective(res.id), headers=people.headers["member"]).json()
    assert got == {"approval_mode": "two_person", "min_notice_minutes": 120,
                   "max_advance_days": None, "min_length_minutes": None,
                   "max_length_minutes": None, "quota_hours_per_week": 4,
                   "quota_hours_per_month": None, "max_open_bookings": None}
    page = client.get(P, headers=people.headers["member"]).json()
    assert [p["id"] for p in page["items"]] == [of_type["id"], own["id"]]  # types first
    assert page["total"] == 2


def test_a_resource_without_a_policy_gets_the_defaults(client, people, make):
    got = client.get(effective(make.resource().id), headers=people.headers["member"]).json()
    assert got["approval_mode"] == "staff" and got["min_notice_minutes"] is None


def test_a_policy_set_over_http_is_what_a_request_meets(client, people, make, clock):
    res = make.resource(resource_type="live_fire")
    put_policy(client, people, resource_type="live_fire", min_notice_minutes=2880)
    start = clock.now + timedelta(hours=2)
    r = client.post("/api/v1/bookings", headers=people.headers["member"], json={
        "resource_id": str(res.id), "start_time": iso(start),
        "end_time": iso(start + timedelta(hours=1)), "purpose": "Live fire drill"})
    assert r.status_code == 422 and r.json()["field"] == "min_notice_minutes"


def test_put_changes_only_the_fields_sent_and_null_clears_one(client, people):
    first = put_policy(client, people, resource_type="range", min_notice_minutes=60,
                       max_advance_days=30)
    second = put_policy(client, people, resource_type="range", max_advance_days=None)
    assert second["id"] == first["id"]
    assert (second["min_notice_minutes"], second["max_advance_days"]) == (60, None)


def test_delete_returns_a_resource_to_its_types_rules(client, people, make):
    res = make.resource(resource_type="range")
    put_policy(client, people, resource_type="range", min_notice_minutes=60)
    own = put_policy(client, people, resource_id=str(res.id), min_notice_minutes=120)
    h = people.headers["admin"]
    assert client.delete(f"{P}/{own['id']}", headers=h).status_code == 204
    assert client.get(effective(res.id), headers=h).json()["min_notice_minutes"] == 60
    assert client.delete(f"{P}/{own['id']}", headers=h).status_code == 404


def test_history_shows_each_change_newest_first_with_the_previous_state(client, people,
                                                                        clock):
    created = put_policy(client, people, resource_type="range", min_notice_minutes=60)
    clock.advance(minutes=1)
    put_policy(client, people, resource_type="range", min_notice_minutes=90)
    r = client.get(f"{P}/history", headers=people.headers["admin"])
    assert r.status_code == 200
    assert [(e["action"], e["entity_id"]) for e in r.json()] == [
        ("policy_updated", created["id"]), ("policy_created", created["id"])]
    assert r.json()[0]["previous_state"]["min_notice_minutes"] == 60
    assert len(client.get(f"{P}/history", headers=people.headers["admin"],
                          params={"limit": 1}).json()) == 1


@pytest.mark.parametrize("limit", [0, 501])
def test_a_history_limit_out_of_range_is_422_naming_limit(client, people, limit):
    r = client.get(f"{P}/history", headers=people.headers["admin"], params={"limit": limit})
    assert r.status_code == 422 and r.json()["field"] == "limit"


@pytest.mark.parametrize("role", ["member", "manager", "staff"])
def test_only_admins_change_policies_and_approvers_and_a_refusal_writes_nothing(
        client, people, make, role):
    res = make.resource(resource_type="range")
    kept = put_policy(client, people, resource_type="range", min_notice_minutes=60)
    before = rows(make.db)
    h = people.headers[role]
    calls = [("PUT", P, {"resource_type": "range", "min_notice_minutes": 5}),
             ("PUT", P, {"resource_id": str(res.id), "max_advance_days": 5}),
             ("DELETE", f"{P}/{kept['id']}", None),
             ("PUT", A, {"resource_type": "range", "user_ids": [str(people.staff.id)]}),
             ("GET", f"{P}/history", None)]
    for method, path, body in calls:
        r = client.request(method, path, headers=h, json=body)
        assert r.status_code == 403, (method, path, r.text)
    assert rows(make.db) == before
    assert client.get(effective(res.id), headers=h).json()["min_notice_minutes"] == 60


@pytest.mark.parametrize("path", [P, A, "/api/v1/resources/{rid}/policy", f"{P}/history"])
def test_reading_policies_needs_a_signed_in_caller(client, people, make, path):
    r = client.get(path.format(rid=make.resource().id))
    assert r.status_code == 401


@pytest.mark.parametrize("body, field", [
    ({"resource_type": "range", "approval_mode": "sometimes"}, "approval_mode"),
    ({"resource_type": "range", "min_notice_minutes": -5}, "min_notice_minutes"),
    ({"resource_type": "range", "max_length_minutes": 2000}, "max_length_minutes"),
    ({"resource_type": "range", "min_length_minutes": 120, "max_length_minutes": 60},
     "max_length_minutes"),
    ({"resource_type": "range", "min_notice_minutes": True}, "min_notice_minutes"),
    ({"resource_type": "range", "max_advance_days": "30"}, "max_advance_days"),
    ({"resource_type": "range", "max_advance_days": 10**30}, "max_advance_days"),
    ({"resource_type": "range", "min_notice_minuts": 60}, "min_notice_minuts"),
    ({"resource_id": "{rid}", "quota_hours_per_week": 4}, "quota_hours_per_week"),
    ({"resource_type": "range", "resource_id": "{rid}"}, "resource_type"),
    ({"resource_type": "   ", "min_notice_minutes": 60}, "resource_type"),
    ({"resource_type": "x" * 51}, "resource_type"),
    ({"min_notice_minutes": 60}, "resource_type"),
    ({"resource_id": "not-an-id"}, "resource_id"),
])
def test_a_bad_policy_is_422_naming_the_field_and_writes_nothing(client, people, make, body,
                                                                 field):
    rid = str(make.resource().id)
    body = {k: (rid if v == "{rid}" else v) for k, v in body.items()}
    before = rows(make.db)
    r = client.put(P, headers=people.headers["admin"], json=body)
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field
    assert rows(make.db) == before


def test_setting_a_policy_for_an_unknown_resource_is_404(client, people):
    r = client.put(P, headers=people.headers["admin"],
                   json={"resource_id": "00000000-0000-4000-8000-000000000000"})
    assert r.status_code == 404 and r.json()["error"].startswith("resource ")


def test_named_approvers_set_over_http_decide_and_other_staff_cannot(client, people, make):
    res = make.resource(resource_type="range")
    named, other = people.staff, make.user(Role.STAFF)
    r = client.put(A, headers=people.headers["admin"],
                   json={"resource_type": "range", "user_ids": [str(named.id)]})
    assert r.status_code == 200
    assert [(a["user_id"], a["resource_type"]) for a in r.json()] == [(str(named.id), "range")]
    listed = client.get(A, headers=people.headers["member"]).json()["items"]
    assert [(a["user_id"], a["name"]) for a in listed] == [(str(named.id), named.name)]
    booking = make.booking(res, people.member)
    refused = client.post(f"/api/v1/bookings/{booking.id}/approve",
                          headers=bearer(login(client, other.email)), json={})
    assert refused.status_code == 403
    approved = client.post(f"/api/v1/bookings/{booking.id}/approve",
                           headers=people.headers["staff"], json={})
    assert approved.status_code == 200 and approved.json()["status"] == "approved"


def test_an_empty_approver_list_returns_the_scope_to_all_staff(client, people, make, clock):
    zone = make.zone()
    h = people.headers["admin"]
    client.put(A, headers=h, json={"safety_zone_id": str(zone.id),
                                   "user_ids": [str(people.staff.id)]})
    clock.advance(minutes=1)
    r = client.put(A, headers=h, json={"safety_zone_id": str(zone.id), "user_ids": []})
    assert r.status_code == 200 and r.json() == []
    assert client.get(A, headers=h).json()["items"] == []
    history = client.get(f"{P}/history", headers=h).json()
    assert history[0]["action"] == "approvers_changed"
    assert history[0]["previous_state"] == {"approvers": [str(people.staff.id)]}


@pytest.mark.parametrize("body, field", [
    ({"resource_type": "range", "user_ids": ["{member}"]}, "user_ids"),
    ({"resource_type": "range", "user_ids": ["{manager}"]}, "user_ids"),
    ({"resource_type": "range", "user_ids": ["not-an-id"]}, "user_ids"),
    ({"resource_type": "range"}, "user_ids"),
    ({"user_ids": []}, "scope"),
    ({"resource_type": "range", "resource_id": "{rid}", "user_ids": []}, "scope"),
    ({"resource_type": "   ", "user_ids": []}, "resource_type"),
])
def test_bad_approvers_are_422_naming_the_field_and_write_nothing(client, people, make, body,
                                                                  field):
    ids = {"{member}": str(people.member.id), "{manager}": str(people.manager.id),
           "{rid}": str(make.resource().id)}
    client.put(A, headers=people.headers["admin"],
               json={"resource_type": "range", "user_ids": [str(people.staff.id)]})
    body = {k: ([ids.get(u, u) for u in v] if isinstance(v, list) else ids.get(v, v))
            for k, v in body.items()}
    before = rows(make.db)
    r = client.put(A, headers=people.headers["admin"], json=body)
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field
    assert rows(make.db) == before
    assert [a["user_id"] for a in client.get(A, headers=people.headers["admin"]).json()[
        "items"]] == [str(people.staff.id)]


def test_approvers_for_an_unknown_zone_are_404(client, people):
    r = client.put(A, headers=people.headers["admin"], json={
        "safety_zone_id": "00000000-0000-4000-8000-000000000000", "user_ids": []})
    assert r.status_code == 404 and r.json()["error"].startswith("safety zone ")
