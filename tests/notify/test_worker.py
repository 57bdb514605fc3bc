"""The worker delivers the outbox through a real SMTP server: right people, right content,
right calendar attachment; retries with backoff; failures visible; nothing sent twice."""
from __future__ import annotations

from datetime import timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import select

from engine.domain.permissions import Role
from engine.models import OutboxMessage
from engine.notifications.worker import Worker
from engine.services import bookings as svc
from engine.services import resources as res
from tests.notify.conftest import notify_settings


def rows(db, **where):
    with db.uow().read() as uow:
        stmt = select(OutboxMessage).order_by(OutboxMessage.created_at, OutboxMessage.kind)
        for k, v in where.items():
            stmt = stmt.where(getattr(OutboxMessage, k) == v)
        return list(uow.session.scalars(stmt))


def calendar_of(msg):
    [part] = [p for p in msg.iter_attachments() if p.get_content_type() == "text/calendar"]
    cal = Calendar.from_ical(part.get_content() if isinstance(part.get_content(), bytes)
                             else part.get_content().encode())
    [event] = cal.walk("VEVENT")
    return part, cal, event


@pytest.fixture
def people(make):
    make.admin  # noqa: B018
    return {"staff": make.user(Role.STAFF, email="staff@test.example", name="Sam Staff"),
            "member": make.user(email="member@test.example", name="Mia Member")}


def test_a_request_and_its_approval_reach_the_right_people(db, make, people, sink, worker):
    r = make.resource(name="Bay 7")
    b = make.booking(r, people["member"], purpose="Night qualification")
    svc.approve_booking(db.uow(), people["staff"].id, b.id)
    result = worker.run_once()
    assert (result.sent, result.failed, result.retried) == (3, 0, 0)
    inbox = sink.inbox
    [to_staff] = inbox.to("staff@test.example")
    assert to_staff["Subject"].startswith("New request: Bay 7")
    assert "Mia Member asks for Bay 7" in to_staff.get_body(("plain",)).get_content()
    assert "https://rc.example/approval_queue" in to_staff.get_body(("html",)).get_content()
    assert len(inbox.to("root-admin@test.example")) == 1
    [approved] = inbox.to("member@test.example")
    assert approved["Subject"].startswith("Approved: Bay 7")
    text = approved.get_body(("plain",)).get_content()
    assert "Tue 08 Jan 2030, 06:00-08:00 (UTC)" in text
    assert f"https://rc.example/my_bookings?booking={b.id}" in text
    part, cal, event = calendar_of(approved)
    assert part.get_param("method") == "REQUEST" and str(cal["METHOD"]) == "REQUEST"
    assert str(event["UID"]) == f"{b.id}@range-control"
    assert event.decoded("DTSTART") == b.start_time and event.decoded("DTEND") == b.end_time
    assert str(event["STATUS"]) == "CONFIRMED"
    assert approved["Message-ID"] == f"<{rows(db, kind='booking_approved')[0].id}@range.example>"
    assert all(m.status == "sent" and m.attempts == 1 for m in rows(db))
    assert worker.run_once().sent == 0  # nothing left, nothing sent twice


def test_reschedule_then_cancel_update_the_same_calendar_event(db, make, people, sink, worker,
                                                               clock):
    b = make.booking(make.resource(name="Old bay"), people["member"], approve_by=people["staff"])
    start = b.start_time + timedelta(days=2)
    clock.advance(minutes=1)
    svc.reschedule_booking(db.uow(), people["staff"].id, b.id, start_time=start,
                           end_time=start + timedelta(hours=3), reason="Course moved")
    clock.advance(minutes=1)
    svc.cancel_booking(db.uow(), people["member"].id, b.id)
    worker.run_once()
    approved, moved, cancelled = sink.inbox.to("member@test.example")
    assert moved["Subject"].startswith("Rescheduled:")
    body = moved.get_body(("plain",)).get_content()
    assert "Was:      Old bay, Tue 08 Jan 2030, 06:00-08:00 (UTC)" in body
    assert "Now:      Old bay, Thu 10 Jan 2030, 06:00-09:00 (UTC)" in body
    assert "Course moved" in body
    events = [calendar_of(m) for m in (approved, moved, cancelled)]
    assert {str(e["UID"]) for _, _, e in events} == {f"{b.id}@range-control"}
    sequences = [int(e["SEQUENCE"]) for _, _, e in events]
    assert sequences == sorted(sequences) and len(set(sequences)) == 3
    assert [str(c["METHOD"]) for _, c, _ in events] == ["REQUEST", "REQUEST", "CANCEL"]
    assert str(events[2][2]["STATUS"]) == "CANCELLED"
    assert events[1][2].decoded("DTSTART") == start


def test_denial_carries_the_reason_and_no_calendar(db, make, people, sink, worker):
    b = make.booking(make.resource(), people["member"])
    svc.deny_booking(db.uow(), people["staff"].id, b.id, "Range closed for maintenance")
    worker.run_once()
    [denied] = sink.inbox.to("member@test.example")
    assert "Reason: Range closed for maintenance" in denied.get_body(("plain",)).get_content()
    assert not [p for p in denied.iter_attachments() if p.get_content_type() == "text/calendar"]


def test_bump_and_blackout_messages_say_why_and_cancel_the_event(db, make, people, sink, worker):
    r = make.resource(name="Range A")
    low = make.booking(r, people["member"], priority=1, approve_by=people["staff"])
    high = make.booking(r, make.user(email="vip@test.example"), start=low.start_time,
                        end=low.end_time, priority=7, purpose="Live fire exercise")
    svc.approve_booking(db.uow(), people["staff"].id, high.id, force_override=True)
    other = make.booking(make.resource(name="Range B"), people["member"],
                         approve_by=people["staff"])
    res.create_blackout(db.uow(), make.admin.id, resource_id=other.resource_id,
                        start_time=other.start_time, end_time=other.end_time,
                        reason="Storm damage", bump_conflicting=True)
    worker.run_once()
    subjects = {m["Subject"].split(":")[0]: m for m in sink.inbox.to("member@test.example")}
    bumped = subjects["Bumped"].get_body(("plain",)).get_content()
    assert '"Live fire exercise", priority 7' in bumped
    assert calendar_of(subjects["Bumped"])[1]["METHOD"] == "CANCEL"
    closed = subjects["Closed"].get_body(("plain",)).get_content()
    assert "Range B is closed" in closed and "Storm damage" in closed
    assert calendar_of(subjects["Closed"])[1]["METHOD"] == "CANCEL"


def test_a_rolled_back_change_sends_nothing(db, make, people, sink, worker):
    r = make.resource()
    make.booking(r, people["member"], approve_by=people["staff"])
    worker.run_once()
    before = len(sink.inbox.messages)
    rival = make.booking(r, make.user(email="rival@test.example"))
    worker.run_once()
    from engine.errors import ConflictError
    with pytest.raises(ConflictError):
        svc.approve_booking(db.uow(), people["staff"].id, rival.id)
    worker.run_once()
    assert [m["Subject"].split(":")[0] for _, _, m in sink.inbox.messages[before:]] == [
        "New request", "New request"]  # the request, to two approvers; no approval


def test_smtp_down_then_up_delivers_everything_once(db, make, people, sink, clock):
    sink.stop()
    worker = Worker(db, sink.settings, notify_settings(), worker_id="w1")
    for _ in range(3):
        make.booking(make.resource(), people["member"], approve_by=people["staff"])
    first = worker.run_once()
    assert first.sent == 0 and first.retried == 9 and first.errors
    assert all(m.status == "pending" and m.attempts == 1 and m.last_error for m in rows(db))
    assert {m.next_attempt_at for m in rows(db)} == {clock.now + timedelta(seconds=60)}
    sink.start()
    assert worker.run_once().sent == 0  # not yet due: backoff
    clock.advance(seconds=61)
    assert worker.run_once().sent == 9
    assert len(sink.inbox.messages) == len(set(sink.inbox.message_ids())) == 9
    assert worker.run_once().sent == 0


def test_retries_back_off_then_fail_and_an_admin_retry_sends(db, make, people, sink, clock):
    from engine.services import notifications as notes
    worker = Worker(db, sink.settings, notify_settings(), worker_id="w1")
    sink.inbox.refuse["member@test.example"] = "451 4.3.0 Try again later"
    make.booking(make.resource(), people["member"], approve_by=people["staff"])
    waits = []
    for _ in range(3):
        worker.run_once()
        [row] = rows(db, kind="booking_approved")
        waits.append((row.next_attempt_at - clock.now).total_seconds())
        clock.advance(seconds=3600)
    [row] = rows(db, kind="booking_approved")
    assert row.status == "failed" and row.attempts == 3 and "451" in row.last_error
    assert waits[:2] == [60, 120]  # exponential backoff
    page = notes.list_outbox(db.uow(), make.admin.id, status="failed")
    assert [m.id for m in page.items] == [row.id]
    del sink.inbox.refuse["member@test.example"]
    notes.retry_message(db.uow(), make.admin.id, row.id)
    assert worker.run_once().sent == 1
    assert len(sink.inbox.to("member@test.example")) == 1


def test_a_permanent_refusal_fails_at_once(db, make, people, sink, worker):
    sink.inbox.refuse["member@test.example"] = "550 5.1.1 No such user"
    make.booking(make.resource(), people["member"], approve_by=people["staff"])
    result = worker.run_once()
    [row] = rows(db, kind="booking_approved")
    assert (row.status, row.attempts, result.failed) == ("failed", 1, 1)
    assert "550" in row.last_error
    assert len(sink.inbox.to("staff@test.example")) == 1  # the others still go out
    assert len(sink.inbox.to("root-admin@test.example")) == 1


def test_a_claimed_row_is_invisible_to_another_worker_until_its_lease_ends(db, make, people,
                                                                           sink, clock):
    make.booking(make.resource(), people["member"])
    first = Worker(db, sink.settings, notify_settings(), worker_id="first")
    second = Worker(db, sink.settings, notify_settings(), worker_id="second")
    claimed = first.claim()  # and then "dies" without sending
    assert len(claimed) == 2
    assert second.claim() == []
    clock.advance(seconds=61)
    assert second.run_once().sent == 2
    assert first._finish(claimed[0].id, status="sent") is False  # the lease was taken over
    assert len(sink.inbox.messages) == 2


def test_a_recurring_series_sends_one_message_per_action(db, make, people, sink, worker):
    from engine import services as s
    r = make.resource(name="Bay 12")
    start = make.clock.now + timedelta(days=1, hours=12)
    series = s.request_series(db.uow(), people["member"].id, resource_id=r.id, start_time=start,
                              end_time=start + timedelta(hours=2),
                              rule={"frequency": "weekly", "count": 4},
                              purpose="Tuesday practice night")
    s.approve_series(db.uow(), people["staff"].id, series.id)
    result = worker.run_once()
    assert result.failed == 0 and result.retried == 0
    [asked] = [m for m in sink.inbox.to("staff@test.example")
               if m["Subject"].startswith("New recurring request")]
    assert "4 dates" in asked["Subject"]
    [approved] = [m for m in sink.inbox.to("member@test.example")
                  if m["Subject"].startswith("Recurring booking approved")]
    text = approved.get_body(("plain",)).get_content()
    assert text.count(": Approved") == 4 and "Bay 12" in text
