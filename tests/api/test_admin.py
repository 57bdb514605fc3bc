"""Users, resources and audit logs over HTTP: what admins change and what the trail shows."""
from __future__ import annotations

from datetime import timedelta

from tests.api.conftest import iso, login

U, R, A = "/api/v1/users", "/api/v1/resources", "/api/v1/audit-logs"


def test_admin_lists_users_paginated_and_filtered(client, people, make):
    h = people.headers["admin"]
    page = client.get(U, headers=h, params={"page_size": 2}).json()
    assert page["total"] == 5 and len(page["items"]) == 2 and page["pages"] == 3  # with the manager
    staff = client.get(U, headers=h, params={"role": "staff"}).json()
    assert [u["id"] for u in staff["items"]] == [str(people.staff.id)]
    managers = client.get(U, headers=h, params={"role": "manager"}).json()
    assert [u["id"] for u in managers["items"]] == [str(people.manager.id)]
    found = client.get(U, headers=h, params={"search": people.other.email}).json()
    assert found["total"] == 1 and "password_hash" not in found["items"][0]


def test_admin_creates_users_of_any_role(client, people):
    r = client.post(U, headers=people.headers["admin"], json={
        "email": "ro@test.example", "name": "Range Officer", "password": "ro-password",
        "role": "staff"})
    assert r.status_code == 201 and r.json()["role"] == "staff"
    assert login(client, "ro@test.example", "ro-password")["access_token"]


def test_put_changes_role_and_active_flag_together(client, people, clock):
    h, uid = people.headers["admin"], people.other.id
    clock.advance(minutes=1)
    r = client.put(f"{U}/{uid}", headers=h, json={"role": "staff", "is_active": False})
    assert r.status_code == 200
    assert r.json()["role"] == "staff" and r.json()["is_active"] is False
    clock.advance(minutes=1)
    r = client.put(f"{U}/{uid}", headers=h, json={"is_active": True})
    assert r.json()["is_active"] is True and r.json()["role"] == "staff"
    entries = client.get(A, headers=h, params={"entity_id": str(uid)}).json()["items"]
    actions = [e["action"] for e in entries]
    assert actions[0] == "user_reactivated"
    assert sorted(actions[1:3]) == ["user_deactivated", "user_role_changed"]


def test_last_admin_cannot_be_demoted_and_nothing_changes(client, people):
    h, uid = people.headers["admin"], people.admin.id
    r = client.put(f"{U}/{uid}", headers=h, json={"role": "user"})
    assert r.status_code == 422 and r.json()["field"] == "user_id"
    r = client.put(f"{U}/{uid}", headers=h, json={"role": "admin", "is_active": False})
    assert r.status_code == 422
    me = client.get(f"{U}/me", headers=h).json()
    assert me["role"] == "admin" and me["is_active"] is True
    assert client.put(f"{U}/{uid}", headers=h, json={"role": "boss"}).json()["field"] == "role"


def test_delete_user_deactivates_and_blocks_login(client, people):
    r = client.delete(f"{U}/{people.other.id}", headers=people.headers["admin"])
    assert r.status_code == 200 and r.json()["is_active"] is False
    r = client.post("/api/v1/auth/login", data={"username": people.other.email,
                                                 "password": "password-123"})
    assert r.status_code == 401 and "deactivated" in r.json()["error"]


def test_members_read_only_themselves(client, people):
    h = people.headers["member"]
    assert client.get(f"{U}/{people.member.id}", headers=h).status_code == 200
    assert client.get(f"{U}/{people.other.id}", headers=h).status_code == 403
    assert client.get(f"{U}/00000000-0000-4000-8000-000000000000",
                      headers=people.headers["admin"]).status_code == 404


def test_resource_lifecycle(client, people, make):
    h = people.headers["admin"]
    zone = make.zone()
    r = client.post(R, headers=h, json={"name": "Range 9", "resource_type": "range",
                                        "safety_zone_id": str(zone.id),
                                        "opens_at": "08:00", "closes_at": "18:00"})
    assert r.status_code == 201
    res = r.json()
    assert res["safety_zone_name"] == zone.name and res["opens_at"] == "08:00:00"
    r = client.put(f"{R}/{res['id']}", headers=h, json={"description": "20 lanes"})
    assert r.status_code == 200 and r.json()["description"] == "20 lanes"
    assert r.json()["name"] == "Range 9"  # fields not sent stay as they were
    r = client.put(f"{R}/{res['id']}", headers=h, json={"closes_at": "07:00"})
    assert r.status_code == 422 and r.json()["field"] == "closes_at"
    r = client.put(f"{R}/{res['id']}", headers=h, json={"opens_at": "08:00+02:00"})
    assert r.status_code == 422 and r.json()["field"] == "opens_at"
    assert client.delete(f"{R}/{res['id']}", headers=h).json()["is_active"] is False
    member = people.headers["member"]
    assert client.get(R, headers=member).json()["total"] == 0
    assert client.get(R, headers=member, params={"include_inactive": True}).json()["total"] == 1
    assert client.put(f"{R}/{res['id']}", headers=h, json={"is_active": True}).json()["is_active"]
    assert client.get(f"{R}/{res['id']}", headers=member).json()["is_active"] is True


def test_resources_list_is_paginated_and_filtered(client, people, make):
    for _ in range(3):
        make.resource()
    make.resource(resource_type="classroom")
    h = people.headers["member"]
    page = client.get(R, headers=h, params={"page_size": 3, "page": 2}).json()
    assert page["total"] == 4 and len(page["items"]) == 1 and page["pages"] == 2
    rooms = client.get(R, headers=h, params={"resource_type": "classroom"}).json()
    assert rooms["total"] == 1 and rooms["items"][0]["resource_type"] == "classroom"
    r = client.post(R, headers=people.headers["admin"],
                    json={"name": "X", "resource_type": "B A D"})
    assert r.status_code == 422 and r.json()["field"] == "resource_type"


def test_audit_logs_filter_by_booking_actor_action_and_time(client, people, make, clock):
    res = make.resource()
    start = clock.now + timedelta(days=1)
    b1 = make.booking(res, people.member, start=start, end=start + timedelta(hours=1))
    clock.advance(minutes=5)  # the access tokens stay valid for 15
    client.post(f"/api/v1/bookings/{b1.id}/approve", headers=people.headers["staff"])
    clock.advance(minutes=5)
    b2 = make.booking(res, people.other, start=start + timedelta(hours=2),
                      end=start + timedelta(hours=3))
    h = people.headers["staff"]
    by_booking = client.get(A, headers=h, params={"booking_id": str(b1.id)}).json()
    assert [e["action"] for e in by_booking["items"]] == ["approved", "created"]
    by_actor = client.get(A, headers=h, params={"actor_id": str(people.staff.id)}).json()
    assert [e["booking_id"] for e in by_actor["items"]] == [str(b1.id)]
    created = client.get(A, headers=h, params={"action": "created"}).json()
    assert {e["booking_id"] for e in created["items"]} == {str(b1.id), str(b2.id)}
    late = client.get(A, headers=h, params={"since": iso(clock.now), "action": "created"}).json()
    assert late["total"] == 1
    assert [e["booking_id"] for e in late["items"]] == [str(b2.id)]
    early = client.get(A, headers=h, params={"until": iso(clock.now), "action": "created"}).json()
    assert [e["booking_id"] for e in early["items"]] == [str(b1.id)]
    naive = client.get(A, headers=h, params={"since": "2030-01-07T06:00:00"})
    assert naive.json()["field"] == "since"
