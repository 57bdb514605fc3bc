"""The day of operations and the waitlist over HTTP: check-in and check-out, the range board,
check-in rules, joining, accepting, declining and leaving; members only on their own."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine import services as s
from engine.models import AuditLog, WaitlistEntry
from tests.api.conftest import bearer, iso, login

B = "/api/v1/bookings"
WL = "/api/v1/waitlist"


def audit_count(db, action: str) -> int:
    with db.uow().read() as uow:
        return uow.session.scalar(select(func.count()).select_from(AuditLog)
                                  .where(AuditLog.action == action))


def entry_count(db) -> int:
    with db.uow().read() as uow:
        return uow.session.scalar(select(func.count()).select_from(WaitlistEntry))


def soon(make, people, requester=None, minutes=10, hours=1):
    """An approved booking starting in `minutes`: check-in (30 min before) is open now."""
    start = make.clock.now + timedelta(minutes=minutes)
    return make.booking(make.resource(), requester or people.member, start=start,
                        end=start + timedelta(hours=hours), approve_by=people.staff)


def signed_in(client, user, password="password-123") -> dict:
    """Fresh headers after the clock moved past the access token's 15 minutes."""
    return bearer(login(client, user.email, password))


# --------------------------------------------------------------------------- check-in / out

def test_a_member_checks_in_and_out_of_their_own_approved_booking(client, people, make, db):
    b = soon(make, people)
    r = client.post(f"{B}/{b.id}/check-in", headers=people.headers["member"])
    assert r.status_code == 200, r.text
    assert r.json()["id"] == str(b.id) and r.json()["status"] == "approved"
    assert audit_count(db, "checked_in") == 1
    board = client.get("/api/v1/board", headers=people.headers["staff"]).json()
    row = next(x for x in board["rows"] if x["resource_id"] == str(b.resource_id))
    assert row["next"]["id"] == str(b.id) and row["next"]["checked_in_at"] == iso(make.clock.now)

    make.clock.advance(minutes=25)  # 15 minutes into the hour
    r = client.post(f"{B}/{b.id}/check-out", headers=signed_in(client, people.member))
    assert r.status_code == 200, r.text
    assert r.json()["end_time"] == iso(b.start_time + timedelta(minutes=15))
    assert audit_count(db, "checked_out") == 1


def test_staff_check_a_members_booking_in_on_their_behalf(client, people, make, db):
    b = soon(make, people)
    r = client.post(f"{B}/{b.id}/check-in", headers=people.headers["staff"])
    assert r.status_code == 200, r.text
    with db.uow().read() as uow:
        entry = uow.session.scalars(select(AuditLog).where(
            AuditLog.booking_id == b.id, AuditLog.action == "checked_in")).one()
    assert entry.actor_id == people.staff.id and '"on_behalf": true' in entry.details


def test_a_member_cannot_check_in_or_out_someone_elses_booking(client, people, make, db):
    b = soon(make, people, requester=people.other)
    for action in ("check-in", "check-out"):
        r = client.post(f"{B}/{b.id}/{action}", headers=people.headers["member"])
        assert r.status_code == 404 and r.json()["error"] == f"booking {b.id} not found", r.text
    assert audit_count(db, "checked_in") == audit_count(db, "checked_out") == 0


def test_a_manager_reads_the_board_but_cannot_check_in_someone_elses_booking(
        client, people, make, db):
    b = soon(make, people)
    r = client.post(f"{B}/{b.id}/check-in", headers=people.headers["manager"])
    assert r.status_code == 403 and audit_count(db, "checked_in") == 0
    board = client.get("/api/v1/board", headers=people.headers["manager"])
    assert board.status_code == 200 and board.json()["can_act"] is False


def test_checking_in_a_booking_that_is_not_approved_is_409_and_writes_nothing(
        client, people, make, db):
    start = make.clock.now + timedelta(minutes=10)
    pending = make.booking(make.resource(), people.member, start=start,
                           end=start + timedelta(hours=1))
    r = client.post(f"{B}/{pending.id}/check-in", headers=people.headers["member"])
    assert r.status_code == 409, r.text
    assert "pending" in r.json()["error"]
    assert audit_count(db, "checked_in") == 0


def test_check_in_before_it_opens_is_409_saying_when_it_opens_and_writes_nothing(
        client, people, make, db):
    b = soon(make, people, minutes=120)
    r = client.post(f"{B}/{b.id}/check-in", headers=people.headers["member"])
    assert r.status_code == 409 and "field" not in r.json(), r.text
    assert r.json()["error"].startswith(f"booking {str(b.id)[:8]} is not open for check-in yet: "
                                        "check-in opens at ")
    assert audit_count(db, "checked_in") == 0


def test_checking_in_twice_is_409_and_writes_nothing(client, people, make, db):
    b = soon(make, people)
    assert client.post(f"{B}/{b.id}/check-in", headers=people.headers["member"]).status_code == 200
    r = client.post(f"{B}/{b.id}/check-in", headers=people.headers["staff"])
    assert r.status_code == 409 and "field" not in r.json(), r.text
    assert r.json()["error"].startswith(f"booking {str(b.id)[:8]} is already checked in: "
                                        "it was checked in at ")
    assert audit_count(db, "checked_in") == 1


def test_checking_out_before_checking_in_is_409_and_writes_nothing(client, people, make, db):
    b = soon(make, people, minutes=1)
    make.clock.advance(minutes=5)
    r = client.post(f"{B}/{b.id}/check-out", headers=signed_in(client, people.member))
    assert r.status_code == 409 and "field" not in r.json(), r.text
    assert r.json()["error"] == (f"booking {str(b.id)[:8]} is not checked in: "
                                 "only a checked-in booking is checked out")
    assert audit_count(db, "checked_out") == 0


def test_a_malformed_booking_id_is_422_naming_booking_id(client, people):
    r = client.post(f"{B}/not-a-uuid/check-in", headers=people.headers["member"])
    assert r.status_code == 422 and r.json()["field"] == "booking_id"


# --------------------------------------------------------------------------- the board

def test_the_board_shows_a_checked_in_booking_in_progress_as_hot(client, people, make):
    b = soon(make, people, minutes=1)
    idle = make.resource()
    client.post(f"{B}/{b.id}/check-in", headers=people.headers["member"])
    make.clock.advance(minutes=5)
    r = client.get("/api/v1/board", headers=signed_in(client, people.staff))
    assert r.status_code == 200, r.text
    board = r.json()
    rows = {x["resource_id"]: x for x in board["rows"]}
    hot = rows[str(b.resource_id)]
    assert hot["hot"] is True and hot["current"]["id"] == str(b.id)
    assert hot["current"]["can_check_out"] is True and hot["current"]["can_check_in"] is False
    assert rows[str(idle.id)]["hot"] is False and rows[str(idle.id)]["current"] is None
    assert board["hot_count"] == 1 and board["can_act"] is True
    assert board["day"] == "2030-01-07"


def test_members_may_not_read_the_board(client, people):
    assert client.get("/api/v1/board", headers=people.headers["member"]).status_code == 403


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "2030-02-30", "tomorrow"])
def test_a_board_day_that_is_not_a_sane_date_is_422_naming_day(client, people, day):
    r = client.get("/api/v1/board", params={"day": day}, headers=people.headers["staff"])
    assert r.status_code == 422 and r.json()["field"] == "day", r.text


# --------------------------------------------------------------------------- check-in rules

def test_an_admin_sets_a_checkin_rule_and_everyone_reads_it(client, people, make, db):
    make.resource(resource_type="bay")
    r = client.put("/api/v1/checkin-rules/bay", headers=people.headers["admin"],
                   json={"opens_before_minutes": 20, "grace_minutes": 10, "required": True})
    assert r.status_code == 200, r.text
    assert r.json()["offer_minutes"] == 60  # left out: the engine's default
    assert r.json()["required_since"] == iso(make.clock.now) and r.json()["is_default"] is False
    rules = client.get("/api/v1/checkin-rules", headers=people.headers["member"]).json()
    assert {"resource_type": "bay", "opens_before_minutes": 20, "grace_minutes": 10,
            "offer_minutes": 60, "required_since": iso(make.clock.now),
            "is_default": False} in rules
    assert audit_count(db, "checkin_rule_set") == 1
    r = client.put("/api/v1/checkin-rules/bay", headers=people.headers["staff"], json={})
    assert r.status_code == 403 and audit_count(db, "checkin_rule_set") == 1


@pytest.mark.parametrize(("body", "field"), [
    ({"grace_minutes": 0}, "grace_minutes"),
    ({"offer_minutes": 100_000}, "offer_minutes"),
    ({"opens_before_minutes": True}, "opens_before_minutes"),
    ({"required": "yes"}, "required"),
])
def test_a_bad_checkin_rule_is_422_naming_the_field_and_writes_nothing(
        client, people, db, body, field):
    r = client.put("/api/v1/checkin-rules/range", headers=people.headers["admin"], json=body)
    assert r.status_code == 422 and r.json()["field"] == field, r.text
    assert audit_count(db, "checkin_rule_set") == 0


# --------------------------------------------------------------------------- waitlist

@pytest.fixture
def taken(make, people):
    """An approved booking of `other`, with check-in optional and 30-minute offers."""
    s.set_checkin_rule(make.db.uow(), make.admin.id, "range", offer_minutes=30, required=False)
    res = make.resource()
    start = make.clock.now + timedelta(days=1)
    return make.booking(res, people.other, start=start, end=start + timedelta(hours=2),
                        approve_by=people.staff)


def _join(client, headers, booking, **overrides):
    body = {"resource_id": str(booking.resource_id), "start_time": iso(booking.start_time),
            "end_time": iso(booking.end_time), "purpose": "Qualification shoot", "priority": 2}
    return client.post(WL, headers=headers, json={**body, **overrides})


def _offered(client, people, taken) -> dict:
    """The member's entry, offered once the holder cancels."""
    entry = _join(client, people.headers["member"], taken).json()
    assert client.delete(f"{B}/{taken.id}", headers=people.headers["other"]).status_code == 200
    return next(e for e in client.get(WL, headers=people.headers["member"]).json()
                if e["id"] == entry["id"])


def test_a_member_joins_the_waitlist_for_a_taken_window_and_lists_only_their_own(
        client, people, make, taken, db):
    r = _join(client, people.headers["member"], taken)
    assert r.status_code == 201, r.text
    entry = r.json()
    assert entry["status"] == "waiting" and entry["requester_id"] == str(people.member.id)
    assert entry["start_time"] == iso(taken.start_time) and entry["priority"] == 2
    assert _join(client, people.headers["manager"], taken).status_code == 201
    mine = client.get(WL, headers=people.headers["member"]).json()
    assert [e["id"] for e in mine] == [entry["id"]]
    everyone = client.get(WL, headers=people.headers["staff"]).json()
    assert len(everyone) == 2
    assert audit_count(db, "waitlist_joined") == 2


def test_staff_filter_the_waitlist_by_status_and_resource(client, people, make, taken):
    waiting = _join(client, people.headers["member"], taken).json()
    elsewhere = make.booking(make.resource(), people.other, start=taken.start_time,
                             end=taken.end_time, approve_by=people.staff)
    _join(client, people.headers["manager"], elsewhere)
    got = client.get(WL, params={"status": ["waiting", "offered"],
                                 "resource_id": str(taken.resource_id)},
                     headers=people.headers["staff"]).json()
    assert [e["id"] for e in got] == [waiting["id"]]
    assert client.get(WL, params={"status": "left"}, headers=people.headers["staff"]).json() == []
    r = client.get(WL, params={"status": "gone"}, headers=people.headers["staff"])
    assert r.status_code == 422 and r.json()["field"] == "status"


def test_joining_a_free_window_is_422_naming_start_time_and_writes_nothing(
        client, people, taken, db):
    free = taken.end_time + timedelta(hours=1)
    r = _join(client, people.headers["member"], taken, start_time=iso(free),
              end_time=iso(free + timedelta(hours=1)))
    assert r.status_code == 422 and r.json()["field"] == "start_time", r.text
    assert entry_count(db) == 0 and audit_count(db, "waitlist_joined") == 0


@pytest.mark.parametrize(("overrides", "field"), [
    ({"purpose": "x"}, "purpose"),
    ({"priority": "3"}, "priority"),
    ({"priority": 11}, "priority"),
    ({"resource_id": "nope"}, "resource_id"),
    ({"start_time": "2030-01-08T08:00:00"}, "start_time"),  # no UTC offset
])
def test_joining_with_bad_input_is_422_naming_the_field_and_writes_nothing(
        client, people, taken, db, overrides, field):
    r = _join(client, people.headers["member"], taken, **overrides)
    assert r.status_code == 422 and r.json()["field"] == field, r.text
    assert entry_count(db) == 0 and audit_count(db, "waitlist_joined") == 0


def test_a_member_accepts_an_offer_and_its_request_waits_for_staff(client, people, taken, db):
    offered = _offered(client, people, taken)
    assert offered["status"] == "offered" and offered["booking_id"] is not None
    r = client.post(f"{WL}/{offered['id']}/accept", headers=people.headers["member"])
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "accepted"
    request = client.get(f"{B}/{offered['booking_id']}", headers=people.headers["member"]).json()
    assert request["status"] == "pending" and request["requester_id"] == str(people.member.id)
    assert audit_count(db, "waitlist_accepted") == 1


def test_a_member_declines_an_offer_and_its_request_is_cancelled(client, people, taken, db):
    offered = _offered(client, people, taken)
    r = client.post(f"{WL}/{offered['id']}/decline", headers=people.headers["member"])
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "declined"
    request = client.get(f"{B}/{offered['booking_id']}", headers=people.headers["member"]).json()
    assert request["status"] == "cancelled"
    assert audit_count(db, "waitlist_declined") == 1


def test_a_member_leaves_the_waitlist(client, people, taken, db):
    entry = _join(client, people.headers["member"], taken).json()
    r = client.delete(f"{WL}/{entry['id']}", headers=people.headers["member"])
    assert r.status_code == 200 and r.json()["status"] == "left", r.text
    assert audit_count(db, "waitlist_left") == 1
    # a left entry no longer holds the window: the member may join again
    assert _join(client, people.headers["member"], taken).status_code == 201


@pytest.mark.parametrize("role", ["other", "staff", "admin"])
def test_nobody_accepts_declines_or_leaves_someone_elses_entry(client, people, taken, db, role):
    offered = _offered(client, people, taken)
    waiting = _join(client, people.headers["manager"], taken).json()
    headers = people.headers[role]
    for method, path in (("POST", f"{WL}/{offered['id']}/accept"),
                         ("POST", f"{WL}/{offered['id']}/decline"),
                         ("DELETE", f"{WL}/{waiting['id']}")):
        r = client.request(method, path, headers=headers)
        assert r.status_code == 404, (method, path, r.text)
        assert r.json()["error"].startswith("waitlist entry "), r.text
    entries = {e["id"]: e["status"] for e in client.get(WL, headers=people.headers["staff"]).json()}
    assert entries == {offered["id"]: "offered", waiting["id"]: "waiting"}
    assert sum(audit_count(db, a) for a in
               ("waitlist_accepted", "waitlist_declined", "waitlist_left")) == 0


def test_an_entry_whose_status_does_not_allow_the_step_is_409_and_writes_nothing(
        client, people, taken, db):
    waiting = _join(client, people.headers["manager"], taken, priority=0).json()
    offered = _offered(client, people, taken)  # priority 2: offered before the manager's
    assert offered["status"] == "offered"
    for action, done in (("accept", "accepted"), ("decline", "declined")):
        r = client.post(f"{WL}/{waiting['id']}/{action}", headers=people.headers["manager"])
        assert r.status_code == 409 and "field" not in r.json(), r.text
        assert r.json()["error"] == (f"waitlist entry {waiting['id'][:8]} is waiting: it cannot "
                                     f"be {done} now (no offer has been made on it yet)")
    r = client.delete(f"{WL}/{offered['id']}", headers=people.headers["member"])
    assert r.status_code == 409 and "field" not in r.json(), r.text
    assert r.json()["error"] == (f"waitlist entry {offered['id'][:8]} is offered: it cannot be "
                                 "left now (it holds an offer: accept or decline it)")
    entries = {e["id"]: e["status"] for e in client.get(WL, headers=people.headers["staff"]).json()}
    assert entries == {offered["id"]: "offered", waiting["id"]: "waiting"}
    assert sum(audit_count(db, a) for a in
               ("waitlist_accepted", "waitlist_declined", "waitlist_left")) == 0


def test_the_waitlist_needs_a_signed_in_caller(client):
    assert client.get(WL).status_code == 401
    assert client.post(WL, json={}).status_code == 401


def test_a_member_may_not_check_in_after_the_grace_period_even_as_staff(client, people, make, db):
    b = soon(make, people, minutes=1)
    make.clock.advance(minutes=16)
    r = client.post(f"{B}/{b.id}/check-in",
                    headers=bearer(login(client, people.staff.email)))
    assert r.status_code == 409 and "field" not in r.json(), r.text
    assert "is past its check-in time: check-in closed at " in r.json()["error"]
    assert audit_count(db, "checked_in") == 0



def test_day_of_operations_and_waitlist_operations_are_in_the_openapi_schema(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert {"/api/v1/bookings/{booking_id}/check-in", "/api/v1/bookings/{booking_id}/check-out",
            "/api/v1/board", "/api/v1/checkin-rules", "/api/v1/checkin-rules/{resource_type}",
            "/api/v1/waitlist", "/api/v1/waitlist/{entry_id}/accept",
            "/api/v1/waitlist/{entry_id}/decline", "/api/v1/waitlist/{entry_id}"} <= set(paths)
    assert "409" in paths["/api/v1/bookings/{booking_id}/check-in"]["post"]["responses"]
    assert "409" in paths["/api/v1/bookings/{booking_id}/check-out"]["post"]["responses"]
    assert "409" in paths["/api/v1/waitlist/{entry_id}/accept"]["post"]["responses"]
    assert "409" in paths["/api/v1/waitlist/{entry_id}/decline"]["post"]["responses"]
    assert "409" in paths["/api/v1/waitlist/{entry_id}"]["delete"]["responses"]
    assert set(paths["/api/v1/waitlist"]) == {"get", "post"}
