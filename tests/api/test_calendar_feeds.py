"""Calendar feeds over HTTP: token-only access, parsed back with a second iCalendar parser
(`ical`), conditional GETs, revoke and renew; e-mail preferences through the API."""
from __future__ import annotations

from datetime import timedelta

from ical.calendar_stream import IcsCalendarStream

from engine.services import bookings as svc
from engine.services import feeds


def parse(body: bytes):
    """The second parser: a strict RFC 5545 reader, independent of the `icalendar` writer."""
    return IcsCalendarStream.calendar_from_ics(body.decode())


def new_feed(client, headers, **body):
    r = client.post("/api/v1/users/me/calendar-feeds", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def path(feed: dict) -> str:
    return "/api/v1/calendar/" + feed["token"] + ".ics"


def test_my_feed_lists_my_bookings_and_drops_a_cancelled_one(client, people, make, db):
    r = make.resource(name="Bay 4")
    approved = make.booking(r, people.member, approve_by=people.staff, purpose="Zeroing")
    pending = make.booking(r, people.member, start=approved.end_time,
                           end=approved.end_time + timedelta(hours=1))
    gone = make.booking(r, people.member, approve_by=people.staff,
                        start=approved.start_time + timedelta(days=1),
                        end=approved.end_time + timedelta(days=1))
    make.booking(r, people.other, start=approved.start_time + timedelta(days=2),
                 end=approved.end_time + timedelta(days=2))  # someone else's
    feed = new_feed(client, people.headers["member"])
    assert feed["url"].endswith(path(feed)) and feed["scope"] == "mine"
    resp = client.get(path(feed))  # no Authorization header
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "text/calendar; charset=utf-8"
    assert b"\r\n" in resp.content  # RFC 5545 line endings
    cal = parse(resp.content)
    events = {e.uid: e for e in cal.events}
    assert set(events) == {f"{b.id}@range-control" for b in (approved, pending, gone)}
    first = events[f"{approved.id}@range-control"]
    assert (first.dtstart, first.dtend) == (approved.start_time, approved.end_time)
    assert first.summary == "Bay 4: Zeroing" and first.status.value == "CONFIRMED"
    assert events[f"{pending.id}@range-control"].status.value == "TENTATIVE"
    svc.cancel_booking(db.uow(), people.member.id, gone.id)
    cal = parse(client.get(path(feed)).content)
    assert f"{gone.id}@range-control" not in {e.uid for e in cal.events}


def test_conditional_get_answers_304_until_something_changes(client, people, make, db, clock):
    b = make.booking(make.resource(), people.member, approve_by=people.staff)
    feed = new_feed(client, people.headers["member"])
    first = client.get(path(feed))
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert client.get(path(feed), headers={"If-None-Match": etag}).status_code == 304
    assert client.get(path(feed), headers={"If-Modified-Since": modified}).status_code == 304
    clock.advance(minutes=5)
    svc.reschedule_booking(db.uow(), people.staff.id, b.id,
                           start_time=b.start_time + timedelta(hours=3),
                           end_time=b.end_time + timedelta(hours=3))
    changed = client.get(path(feed), headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    [event] = parse(changed.content).events
    assert event.dtstart == b.start_time + timedelta(hours=3)
    assert event.sequence > 0
    assert client.get(path(feed), headers={"If-Modified-Since": modified}).status_code == 200


def test_revoked_and_renewed_tokens(client, people, make):
    feed = new_feed(client, people.headers["member"])
    assert client.get(path(feed)).status_code == 200
    r = client.post(f"/api/v1/users/me/calendar-feeds/{feed['id']}/renew",
                    headers=people.headers["member"])
    assert r.status_code == 201
    renewed = r.json()
    assert client.get(path(feed)).status_code == 404  # the old URL is dead
    assert client.get(path(renewed)).status_code == 200
    assert client.delete(f"/api/v1/users/me/calendar-feeds/{renewed['id']}",
                         headers=people.headers["other"]).status_code == 404  # not theirs
    assert client.delete(f"/api/v1/users/me/calendar-feeds/{renewed['id']}",
                         headers=people.headers["member"]).status_code == 204
    assert client.get(path(renewed)).status_code == 404
    assert client.get("/api/v1/calendar/" + "x" * 43 + ".ics").status_code == 404
    listed = client.get("/api/v1/users/me/calendar-feeds", headers=people.headers["member"])
    assert listed.json() == []


def test_staff_subscribe_to_a_zone_members_may_not(client, people, make, db):
    zone = make.zone("North")
    a, b = make.resource(safety_zone_id=zone.id), make.resource(safety_zone_id=zone.id)
    elsewhere = make.resource()
    ba = make.booking(a, people.member, approve_by=people.staff)
    bb = make.booking(b, people.other, approve_by=people.staff, start=ba.end_time,
                      end=ba.end_time + timedelta(hours=1))
    make.booking(b, people.other, start=bb.end_time, end=bb.end_time + timedelta(hours=1))
    make.booking(elsewhere, people.other, approve_by=people.staff)
    denied = client.post("/api/v1/users/me/calendar-feeds", headers=people.headers["member"],
                         json={"scope": "zone", "target_id": str(zone.id)})
    assert denied.status_code == 403
    feed = new_feed(client, people.headers["staff"], scope="zone", target_id=str(zone.id))
    cal = parse(client.get(path(feed)).content)
    assert {e.uid for e in cal.events} == {f"{ba.id}@range-control", f"{bb.id}@range-control"}
    res_feed = new_feed(client, people.headers["staff"], scope="resource", target_id=str(a.id))
    assert [e.uid for e in parse(client.get(path(res_feed)).content).events] == [
        f"{ba.id}@range-control"]
    from engine.services import users
    users.change_role(db.uow(), people.admin.id, people.staff.id, "user")
    assert client.get(path(feed)).status_code == 404  # no longer staff: the zone feed stops


def test_tokens_are_stored_only_as_hashes(db, make):
    member = make.user()
    issued = feeds.create_feed(db.uow(), member.id)
    from sqlalchemy import select

    from engine.models import CalendarFeed
    with db.uow().read() as uow:
        [row] = uow.session.scalars(select(CalendarFeed)).all()
    assert issued.token not in row.token_hash and len(row.token_hash) == 64


def test_preferences_through_the_api(client, people):
    h = people.headers["member"]
    prefs = {p["kind"]: p["enabled"] for p in
             client.get("/api/v1/users/me/notification-preferences", headers=h).json()}
    assert prefs["reminder"] is True and "digest" not in prefs  # members get no digest
    r = client.put("/api/v1/users/me/notification-preferences", headers=h,
                   json={"reminder": False})
    assert r.status_code == 200
    assert {p["kind"]: p["enabled"] for p in r.json()}["reminder"] is False
    bad = client.put("/api/v1/users/me/notification-preferences", headers=h,
                     json={"digest": False})
    assert bad.status_code == 422 and bad.json()["field"] == "kind"
    staff = client.put("/api/v1/users/me/notification-preferences",
                       headers=people.headers["staff"], json={"digest": False})
    assert {p["kind"]: p["enabled"] for p in staff.json()}["digest"] is False
