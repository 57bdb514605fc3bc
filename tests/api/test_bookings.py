"""Bookings over HTTP: the architecture's bodies, conflicts, staff actions, lists and errors."""
from __future__ import annotations

from datetime import timedelta

from tests.api.conftest import iso

B = "/api/v1/bookings"


def _request(client, headers, resource, start, hours=2, priority=0, purpose="Club practice"):
    return client.post(B, headers=headers, json={
        "resource_id": str(resource.id), "start_time": iso(start),
        "end_time": iso(start + timedelta(hours=hours)), "purpose": purpose,
        "priority": priority})


def test_create_answers_201_with_the_pending_booking(client, people, make, clock):
    res = make.resource()
    start = clock.now + timedelta(days=1)
    r = _request(client, people.headers["member"], res, start, priority=1)
    assert r.status_code == 201
    b = r.json()
    assert b["status"] == "pending" and b["priority"] == 1
    assert b["resource_id"] == str(res.id) and b["requester_id"] == str(people.member.id)
    assert b["start_time"] == iso(start) and b["purpose"] == "Club practice"
    assert b["created_at"] is not None
    got = client.get(f"{B}/{b['id']}", headers=people.headers["member"])
    assert got.status_code == 200 and got.json()["id"] == b["id"]


def test_approve_answers_id_status_updated_at(client, people, make, clock):
    b = _request(client, people.headers["member"], make.resource(),
                 clock.now + timedelta(days=1)).json()
    r = client.post(f"{B}/{b['id']}/approve", headers=people.headers["staff"],
                    json={"force_override": False})
    assert r.status_code == 200
    assert set(r.json()) == {"id", "status", "updated_at"}
    assert r.json()["status"] == "approved" and r.json()["id"] == b["id"]
    # no body at all means force_override false
    b2 = _request(client, people.headers["member"], make.resource(),
                  clock.now + timedelta(days=2)).json()
    r = client.post(f"{B}/{b2['id']}/approve", headers=people.headers["staff"])
    assert r.status_code == 200


def test_conflicting_approval_is_409_listing_each_conflict(client, people, make, clock):
    zone = make.zone()
    r1, r2 = make.resource(safety_zone_id=zone.id), make.resource(safety_zone_id=zone.id)
    start = clock.now + timedelta(days=1)
    first = make.booking(r1, start=start, end=start + timedelta(hours=2), approve_by=people.staff)
    b = _request(client, people.headers["member"], r2, start + timedelta(hours=1)).json()
    r = client.post(f"{B}/{b['id']}/approve", headers=people.headers["staff"],
                    json={"force_override": False})
    assert r.status_code == 409
    body = r.json()
    assert "conflicts with existing bookings" in body["error"]
    assert [c["id"] for c in body["conflicts"]] == [str(first.id)]
    assert body["conflicts"][0]["start_time"] == iso(first.start_time)
    assert body["conflicts"][0]["end_time"] == iso(first.end_time)
    again = client.get(f"{B}/{b['id']}", headers=people.headers["staff"]).json()
    assert again["status"] == "pending"  # a refused approval writes nothing


def test_force_override_bumps_only_lower_priority(client, people, make, clock):
    res = make.resource()
    start = clock.now + timedelta(days=1)
    low = make.booking(res, start=start, end=start + timedelta(hours=2), priority=1,
                       approve_by=people.staff)
    high = _request(client, people.headers["member"], res, start, priority=5).json()
    r = client.post(f"{B}/{high['id']}/approve", headers=people.headers["staff"],
                    json={"force_override": True})
    assert r.status_code == 200 and r.json()["status"] == "approved"
    assert client.get(f"{B}/{low.id}", headers=people.headers["staff"]).json()["status"] == "bumped"
    equal = _request(client, people.headers["member"], res, start, priority=5).json()
    r = client.post(f"{B}/{equal['id']}/approve", headers=people.headers["staff"],
                    json={"force_override": True})
    assert r.status_code == 409 and r.json()["conflicts"][0]["id"] == high["id"]


def test_deny_takes_a_reason_and_then_the_transition_is_409(client, people, make, clock):
    b = _request(client, people.headers["member"], make.resource(),
                 clock.now + timedelta(days=1)).json()
    r = client.post(f"{B}/{b['id']}/deny", headers=people.headers["staff"], json={})
    assert r.status_code == 422 and r.json()["field"] == "reason"
    r = client.post(f"{B}/{b['id']}/deny", headers=people.headers["staff"], json={"reason": "x"})
    assert r.status_code == 422 and r.json()["field"] == "reason"
    r = client.post(f"{B}/{b['id']}/deny", headers=people.headers["staff"],
                    json={"reason": "Range closed for works"})
    assert r.status_code == 200
    assert r.json()["status"] == "denied"
    assert r.json()["decision_reason"] == "Range closed for works"
    r = client.post(f"{B}/{b['id']}/approve", headers=people.headers["staff"])
    assert r.status_code == 409 and "denied" in r.json()["error"]


def test_reschedule_and_put_move_the_window(client, people, make, clock):
    res, other = make.resource(), make.resource()
    start = clock.now + timedelta(days=1)
    b = _request(client, people.headers["member"], res, start).json()
    new_start = start + timedelta(days=1)
    r = client.post(f"{B}/{b['id']}/reschedule", headers=people.headers["staff"], json={
        "start_time": iso(new_start), "end_time": iso(new_start + timedelta(hours=1)),
        "reason": "Moved by the range officer"})
    assert r.status_code == 200 and r.json()["start_time"] == iso(new_start)
    r = client.put(f"{B}/{b['id']}", headers=people.headers["staff"], json={
        "start_time": iso(new_start), "end_time": iso(new_start + timedelta(hours=3)),
        "resource_id": str(other.id)})
    assert r.status_code == 200
    assert r.json()["resource_id"] == str(other.id)
    assert r.json()["end_time"] == iso(new_start + timedelta(hours=3))


def test_reschedule_of_an_approved_booking_onto_a_taken_window_is_409(client, people, make, clock):
    res = make.resource()
    start = clock.now + timedelta(days=1)
    taken = make.booking(res, start=start, end=start + timedelta(hours=2), approve_by=people.staff)
    mine = make.booking(res, start=start + timedelta(hours=3), end=start + timedelta(hours=4),
                        approve_by=people.staff)
    r = client.post(f"{B}/{mine.id}/reschedule", headers=people.headers["staff"], json={
        "start_time": iso(start), "end_time": iso(start + timedelta(hours=1))})
    assert r.status_code == 409 and r.json()["conflicts"][0]["id"] == str(taken.id)


def test_bump_in_favour_of_a_higher_priority_request(client, people, make, clock):
    res = make.resource()
    start = clock.now + timedelta(days=1)
    low = make.booking(res, start=start, end=start + timedelta(hours=2), approve_by=people.staff)
    high = _request(client, people.headers["member"], res, start, priority=3).json()
    r = client.post(f"{B}/{low.id}/bump", headers=people.headers["staff"],
                    json={"reason": "Police liaison shoot", "in_favour_of": high["id"]})
    assert r.status_code == 200
    assert r.json()["status"] == "bumped" and r.json()["bumped_by_booking_id"] == high["id"]
    r = client.get(f"{B}/{high['id']}", headers=people.headers["member"])
    assert r.json()["status"] == "approved"


def test_delete_cancels_own_booking_and_hides_others(client, people, make, clock):
    b = _request(client, people.headers["member"], make.resource(),
                 clock.now + timedelta(days=1)).json()
    assert client.get(f"{B}/{b['id']}", headers=people.headers["other"]).status_code == 404
    assert client.delete(f"{B}/{b['id']}", headers=people.headers["other"]).status_code == 404
    r = client.delete(f"{B}/{b['id']}", params={"reason": "Plans changed"},
                      headers=people.headers["member"])
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert client.delete(f"{B}/{b['id']}", headers=people.headers["member"]).status_code == 409


def test_list_is_paginated_with_totals_and_filtered(client, people, make, clock):
    res_a, res_b = make.resource(), make.resource(resource_type="classroom")
    start = clock.now + timedelta(days=1)
    for i in range(5):
        _request(client, people.headers["member"], res_a, start + timedelta(hours=3 * i))
    _request(client, people.headers["other"], res_b, start)
    staff = people.headers["staff"]
    page = client.get(B, headers=staff, params={"page_size": 2, "page": 2}).json()
    assert page["total"] == 6 and page["pages"] == 3 and len(page["items"]) == 2
    assert page["page"] == 2 and page["page_size"] == 2
    mine = client.get(B, headers=people.headers["member"]).json()
    assert mine["total"] == 5
    assert {b["requester_id"] for b in mine["items"]} == {str(people.member.id)}
    by_type = client.get(B, headers=staff, params={"resource_type": "classroom"}).json()
    assert by_type["total"] == 1 and by_type["items"][0]["resource_id"] == str(res_b.id)
    window = client.get(B, headers=staff, params={
        "resource_id": str(res_a.id), "window_start": iso(start + timedelta(hours=3)),
        "window_end": iso(start + timedelta(hours=7))}).json()
    assert window["total"] == 2
    first = client.get(B, headers=staff).json()["items"][0]["id"]
    client.post(f"{B}/{first}/approve", headers=staff)
    approved = client.get(B, headers=staff, params={"status": ["approved", "denied"]}).json()
    assert [b["id"] for b in approved["items"]] == [first]
    newest_first = client.get(B, headers=staff, params={"order": "-start"}).json()["items"]
    assert newest_first[0]["start_time"] >= newest_first[-1]["start_time"]


def test_invalid_input_is_422_naming_the_field(client, people, make, clock):
    res = make.resource()
    h = people.headers["member"]
    start = clock.now + timedelta(days=1)
    good = {"resource_id": str(res.id), "start_time": iso(start),
            "end_time": iso(start + timedelta(hours=1)), "purpose": "Practice"}
    cases = [
        ({**good, "start_time": "2030-01-08T10:00:00"}, "start_time"),  # naive
        ({**good, "end_time": iso(start - timedelta(hours=1))}, "end_time"),
        ({**good, "purpose": "ab\x00cd"}, "purpose"),
        ({**good, "purpose": "x"}, "purpose"),
        ({**good, "priority": 11}, "priority"),
        ({**good, "resource_id": "not-a-uuid"}, "resource_id"),
        ({**good, "start_time": iso(clock.now - timedelta(hours=2)),
          "end_time": iso(clock.now - timedelta(hours=1))}, "start_time"),  # in the past
        ({k: v for k, v in good.items() if k != "end_time"}, "end_time"),
    ]
    for body, field in cases:
        r = client.post(B, headers=h, json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["field"] == field, (body, r.json())
        assert field in r.json()["error"]
    assert client.get(B, headers=h, params={"page": 0}).json()["field"] == "page"
    assert client.get(B, headers=h, params={"status": "lost"}).json()["field"] == "status"
    assert client.get(f"{B}/123", headers=h).json()["field"] == "booking_id"
    assert client.get(B, headers=h).json()["total"] == 0  # nothing was written


def test_unknown_resource_is_404(client, people, clock):
    start = clock.now + timedelta(days=1)
    r = client.post(B, headers=people.headers["member"], json={
        "resource_id": "00000000-0000-4000-8000-000000000000", "start_time": iso(start),
        "end_time": iso(start + timedelta(hours=1)), "purpose": "Practice"})
    assert r.status_code == 404 and "resource" in r.json()["error"]


def test_list_items_are_the_same_as_reading_each_booking(client, people, make, clock):
    """The list reads plain rows, the single read an ORM booking: the same answer either way."""
    zone = make.zone()
    res_a, res_b = make.resource(safety_zone_id=zone.id), make.resource(resource_type="classroom")
    start = clock.now + timedelta(days=1)
    member, staff = people.headers["member"], people.headers["staff"]
    ids = [_request(client, member, res_a, start).json()["id"],
           _request(client, member, res_b, start, priority=3, purpose="Exam").json()["id"],
           _request(client, member, res_a, start + timedelta(hours=3)).json()["id"]]
    client.post(f"{B}/{ids[0]}/approve", headers=staff)
    client.post(f"{B}/{ids[2]}/deny", headers=staff, json={"reason": "Range closed"})
    for headers in (member, staff):
        items = client.get(B, headers=headers).json()["items"]
        assert sorted(b["id"] for b in items) == sorted(ids)
        for item in items:
            assert item == client.get(f"{B}/{item['id']}", headers=headers).json()
    by_id = {b["id"]: b for b in client.get(B, headers=member).json()["items"]}
    assert by_id[ids[0]]["status"] == "approved" and by_id[ids[0]]["decided_by_id"]
    assert by_id[ids[1]]["resource_name"] == res_b.name and by_id[ids[1]]["priority"] == 3
    assert by_id[ids[2]]["decision_reason"] == "Range closed"
    assert {b["requester_name"] for b in by_id.values()} == {people.member.name}
