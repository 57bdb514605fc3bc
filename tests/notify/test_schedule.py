"""Reminders and the staff digest: queued when due, exactly once however many workers run."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.domain.permissions import Role
from engine.models import OutboxMessage
from engine.notifications.schedule import schedule_due
from engine.services import bookings as svc
from engine.services import notifications as notes
from tests.notify.conftest import notify_settings


def rows(db, kind):
    with db.uow().read() as uow:
        return list(uow.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)
                                        .order_by(OutboxMessage.recipient_email)))


@pytest.fixture
def people(make):
    make.admin  # noqa: B018
    return {"staff": make.user(Role.STAFF, email="staff@test.example"),
            "member": make.user(email="member@test.example")}


SETTINGS = notify_settings(NOTIFY_REMINDER_HOURS=24, NOTIFY_DIGEST_HOUR=7)


def test_a_reminder_is_queued_once_when_the_booking_comes_within_reach(db, make, people, clock):
    b = make.booking(make.resource(), people["member"], approve_by=people["staff"],
                     start=clock.now + timedelta(hours=30), end=clock.now + timedelta(hours=31))
    schedule_due(db, SETTINGS)
    assert rows(db, "reminder") == []  # 30 h away, reminders go 24 h before
    clock.advance(hours=6)
    schedule_due(db, SETTINGS)
    schedule_due(db, SETTINGS)
    [reminder] = rows(db, "reminder")
    assert (reminder.recipient_email, reminder.booking_id) == ("member@test.example", b.id)


def test_reminders_skip_what_changed_since_and_honour_preferences(db, make, people, clock, sink,
                                                                  worker):
    r = make.resource()
    soon = clock.now + timedelta(hours=3)
    moved = make.booking(r, people["member"], approve_by=people["staff"], start=soon,
                         end=soon + timedelta(hours=1))
    cancelled = make.booking(r, people["member"], approve_by=people["staff"],
                             start=soon + timedelta(hours=2), end=soon + timedelta(hours=3))
    quiet = make.user(email="quiet@test.example")
    notes.set_preferences(db.uow(), quiet.id, {"reminder": False})
    make.booking(r, quiet, approve_by=people["staff"], start=soon + timedelta(hours=4),
                 end=soon + timedelta(hours=5))
    schedule_due(db, SETTINGS)
    assert len(rows(db, "reminder")) == 2  # not for the person who switched reminders off
    svc.cancel_booking(db.uow(), people["member"].id, cancelled.id)
    svc.reschedule_booking(db.uow(), people["staff"].id, moved.id,
                           start_time=soon + timedelta(hours=1), end_time=soon + timedelta(hours=2))
    worker.run_once(schedule=False)
    statuses = sorted(m.status for m in rows(db, "reminder"))
    assert statuses == ["skipped", "skipped"]
    schedule_due(db, SETTINGS)  # the moved booking gets a reminder for its new start
    worker.run_once(schedule=False)
    [sent] = [m for m in rows(db, "reminder") if m.status == "sent"]
    assert sent.booking_id == moved.id
    [mail] = [m for m in sink.inbox.to("member@test.example")
              if m["Subject"].startswith("Reminder")]
    assert "starts in 4 hours" in mail.get_body(("plain",)).get_content()


def test_the_digest_goes_to_staff_once_a_day_from_the_set_hour(db, make, people, clock, sink,
                                                               worker):
    r = make.resource(name="Bay 9")
    first = make.booking(r, make.user(name="Early Bird"), start=clock.now + timedelta(hours=40),
                         end=clock.now + timedelta(hours=41))
    clock.advance(minutes=5)
    make.booking(r, make.user(name="Late Comer"), start=clock.now + timedelta(hours=10),
                 end=clock.now + timedelta(hours=11))
    notes.set_preferences(db.uow(), make.admin.id, {"digest": False})
    schedule_due(db, SETTINGS)
    assert rows(db, "digest") == []  # 06:05 local, the digest hour is 07
    clock.advance(hours=1)
    schedule_due(db, SETTINGS)
    schedule_due(db, SETTINGS)
    [digest] = rows(db, "digest")
    assert digest.recipient_email == "staff@test.example"  # the admin switched it off
    worker.run_once(schedule=False)
    [mail] = [m for m in sink.inbox.to("staff@test.example")
              if m["Subject"].startswith("Daily digest")]
    text = mail.get_body(("plain",)).get_content()
    assert mail["Subject"] == "Daily digest: 2 pending, 2 starting within 48 h"
    assert text.index("Early Bird") < text.index("Late Comer")  # oldest request first
    assert first.id and "Bay 9" in text
    clock.advance(days=1)
    schedule_due(db, SETTINGS)
    assert len(rows(db, "digest")) == 2  # the next day's


def test_an_empty_day_records_a_skipped_digest(db, make, people, clock):
    clock.advance(hours=2)
    schedule_due(db, SETTINGS)
    assert {m.status for m in rows(db, "digest")} == {"skipped"}
    assert len(rows(db, "digest")) == 2  # staff and admin, both recorded: no retry later today


def test_concurrent_schedulers_enqueue_each_message_once(db, make, people, clock):
    r = make.resource()
    for i in range(5):
        start = clock.now + timedelta(hours=2 + 2 * i)
        make.booking(r, make.user(), approve_by=people["staff"], start=start,
                     end=start + timedelta(hours=1))
    clock.advance(hours=1)  # 07:00: digests too
    barrier = threading.Barrier(4)
    errors = []

    def run():
        try:
            barrier.wait()
            schedule_due(db, SETTINGS)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(rows(db, "reminder")) == 5
    assert len(rows(db, "digest")) == 2
