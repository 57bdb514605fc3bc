"""E-mail rendering without a database: site-time windows, escaping, phone-friendly HTML."""
from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from icalendar import Calendar

from engine.notifications.render import Outgoing, build_email, window
from engine.notifications.settings import NotifySettings

LONDON = ZoneInfo("Europe/London")


def row(kind="booking_approved", **ctx) -> Outgoing:
    context = {"booking_id": "6f1c2a52-0000-4000-8000-000000000001", "resource_name": "Bay 3",
               "zone_name": "North", "start_time": "2030-07-01T08:00:00+00:00",
               "end_time": "2030-07-01T10:00:00+00:00", "status": "approved",
               "purpose": "Qualification", "requester_name": "Ann", "actor_name": "Sam",
               "ical_sequence": 4, "recipient_name": "Ann"}
    context.update(ctx)
    return Outgoing(id="6f1c2a52-0000-4000-8000-0000000000aa", kind=kind,
                    recipient_email="ann@example.com", context=context,
                    created_at=datetime(2030, 6, 1, tzinfo=UTC))


def build(r: Outgoing):
    return build_email(r, sender="rc@range.example", domain="range.example", tz=LONDON,
                       settings=NotifySettings(NOTIFY_DASHBOARD_URL="https://rc.example/"),
                       sequence=r.context.get("ical_sequence"))


def test_windows_are_shown_in_the_site_time_zone():
    assert window("2030-07-01T08:00:00+00:00", "2030-07-01T10:00:00+00:00", LONDON) == \
        "Mon 01 Jul 2030, 09:00-11:00 (Europe/London)"  # BST
    assert window("2030-01-07T08:00:00+00:00", "2030-01-07T10:00:00+00:00", LONDON) == \
        "Mon 07 Jan 2030, 08:00-10:00 (Europe/London)"  # GMT


def test_approval_mail_has_text_html_and_a_calendar_request():
    msg = build(row())
    assert msg["Subject"] == "Approved: Bay 3, Mon 01 Jul, 09:00-11:00"
    assert msg["Message-ID"] == "<6f1c2a52-0000-4000-8000-0000000000aa@range.example>"
    text = msg.get_body(("plain",)).get_content()
    assert "When:     Mon 01 Jul 2030, 09:00-11:00 (Europe/London)" in text
    assert "https://rc.example/my_bookings?booking=6f1c2a52" in text
    html = msg.get_body(("html",)).get_content()
    assert 'name="viewport"' in html and "max-width:560px" in html
    [part] = list(msg.iter_attachments())
    cal = Calendar.from_ical(part.get_content())
    [event] = cal.walk("VEVENT")
    assert int(event["SEQUENCE"]) == 4 and str(cal["METHOD"]) == "REQUEST"
    assert str(event["ORGANIZER"]) == "mailto:rc@range.example"


def test_user_text_is_escaped_in_html():
    msg = build(row(purpose="<script>alert(1)</script>"))
    html = msg.get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_a_pending_reschedule_carries_no_calendar_and_unknown_kinds_fall_back():
    msg = build(row("booking_rescheduled", status="pending",
                    old_start_time="2030-06-30T08:00:00+00:00",
                    old_end_time="2030-06-30T09:00:00+00:00", old_resource_name="Bay 2"))
    assert list(msg.iter_attachments()) == []
    assert "Was:      Bay 2, Sun 30 Jun 2030, 09:00-10:00" in msg.get_body(("plain",)).get_content()
    other = build(row("booking_checked_in", note="You are checked in."))
    assert other["Subject"].startswith("Booking update: Bay 3")
    assert "You are checked in." in other.get_body(("plain",)).get_content()


def test_kinds_other_services_send_have_their_own_templates():
    occurrences = [{"booking_id": "b1", "start_time": f"2030-07-0{d}T08:00:00+00:00",
                    "end_time": f"2030-07-0{d}T09:00:00+00:00", "status": "approved",
                    "conflict": d == 2} for d in (1, 2, 3)]
    series = {"id": "s1", "rule": "FREQ=DAILY", "description": "every day, 3 times",
              "timezone": "Europe/London", "occurrences": occurrences,
              "left": [{"booking_id": "b2-0000", "reason": "conflicts with a booking"}],
              "skipped_starts": []}
    msg = build(row("series_approved", series=series))
    text = msg.get_body(("plain",)).get_content()
    assert msg["Subject"] == "Recurring booking approved: Bay 3, 3 dates"
    assert "every day, 3 times" in text and "Tue 02 Jul, 09:00-10:00: Approved" in text
    assert "(conflict when requested)" in text and "conflicts with a booking" in text
    assert list(msg.iter_attachments()) == []  # the feed carries series dates
    for kind in ("series_requested", "series_denied", "series_cancelled"):
        assert build(row(kind, series=series, reason="No range officer"))["Subject"]
    offer = build(row("waitlist_offer", status="pending",
                      offer_expires_at="2030-06-30T17:00:00+00:00"))
    assert offer["Subject"] == "A place opened up: Bay 3, Mon 01 Jul, 09:00-11:00"
    assert "until Sun 30 Jun 18:00" in offer.get_body(("plain",)).get_content()
    gone = build(row("booking_no_show", status="no_show", reason="not checked in"))
    assert gone["Subject"].startswith("Released as a no-show")
    [part] = list(gone.iter_attachments())
    assert part.get_param("method") == "CANCEL"
