"""iCalendar (RFC 5545) for e-mail attachments and subscription feeds, built with `icalendar`.

Every booking is one event with a stable UID (`<booking id>@range-control`), so a calendar
client that receives a later message or re-reads a feed updates that event instead of adding
another; SEQUENCE grows with each change (the booking's audit entries so far).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from icalendar import Calendar, Event, vCalAddress, vText

PRODID = "-//Range-Control//Bookings//EN"
UID_DOMAIN = "range-control"


def booking_uid(booking_id: object) -> str:
    return f"{booking_id}@{UID_DOMAIN}"


@dataclass(frozen=True)
class EventData:
    booking_id: str
    start: datetime
    end: datetime
    summary: str
    location: str
    description: str
    status: str  # CONFIRMED, TENTATIVE or CANCELLED
    sequence: int
    stamp: datetime
    url: str | None = None
    organizer: str | None = None
    attendee: str | None = None
    attendee_name: str | None = None


def _event(data: EventData) -> Event:
    ev = Event()
    ev.add("uid", booking_uid(data.booking_id))
    ev.add("dtstamp", data.stamp)
    ev.add("dtstart", data.start)
    ev.add("dtend", data.end)
    ev.add("sequence", data.sequence)
    ev.add("summary", data.summary)
    ev.add("location", data.location)
    ev.add("description", data.description)
    ev.add("status", data.status)
    ev.add("transp", "OPAQUE")
    if data.url:
        ev.add("url", data.url)
    if data.organizer:
        organizer = vCalAddress(f"mailto:{data.organizer}")
        organizer.params["cn"] = vText("Range-Control")
        ev["organizer"] = organizer
    if data.attendee:
        attendee = vCalAddress(f"mailto:{data.attendee}")
        if data.attendee_name:
            attendee.params["cn"] = vText(data.attendee_name)
        attendee.params["role"] = vText("REQ-PARTICIPANT")
        attendee.params["partstat"] = vText("ACCEPTED")
        ev.add("attendee", attendee, encode=False)
    return ev


def _calendar(method: str | None = None, name: str | None = None) -> Calendar:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    if method:
        cal.add("method", method)
    if name:
        cal.add("x-wr-calname", name)
    return cal


def invitation(data: EventData, method: str) -> bytes:
    """One event for an e-mail: METHOD REQUEST (add or update) or CANCEL (remove)."""
    if method not in ("REQUEST", "CANCEL"):
        raise ValueError(f"unsupported iTIP method {method!r}")
    cal = _calendar(method)
    cal.add_component(_event(data))
    return cal.to_ical()


def feed(events: Iterable[EventData], name: str) -> bytes:
    """A subscription feed (no METHOD: a published calendar, RFC 5545 section 3.7.2)."""
    cal = _calendar(name=name)
    cal.add("x-published-ttl", "PT15M")  # Outlook, Apple: poll every 15 minutes
    cal.add("refresh-interval", timedelta(minutes=15), parameters={"VALUE": "DURATION"})
    for data in events:
        cal.add_component(_event(data))
    return cal.to_ical()
