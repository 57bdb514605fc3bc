"""What a message is about: booking events, scheduled messages and account mail.

Each value is also the `kind` stored on the outbox row, the name of its templates
(`templates/<kind>.txt|.html`, falling back to `booking_update` for booking kinds without
their own), and the key of a person's preference (`notification_preferences.kind`).
"""
from __future__ import annotations

import enum


class NotificationEvent(str, enum.Enum):
    REQUESTED = "booking_requested"      # to the staff who approve for the resource
    APPROVED = "booking_approved"        # to the requester, with an iCalendar REQUEST
    DENIED = "booking_denied"            # to the requester, with the reason
    RESCHEDULED = "booking_rescheduled"  # to the requester: old and new window, iCalendar REQUEST
    BUMPED = "booking_bumped"            # to the requester: by what, and why; iCalendar CANCEL
    CANCELLED = "booking_cancelled"      # to the requester, iCalendar CANCEL
    DISPLACED = "booking_displaced"      # a blackout bumped the booking; iCalendar CANCEL


class SeriesEvent(str, enum.Enum):
    """One message per action on a whole recurring series, listing the occurrences it touched
    (never one e-mail per occurrence). Actions on one occurrence send the booking events."""

    REQUESTED = "series_requested"  # to the staff who approve, with the dates and conflicts
    APPROVED = "series_approved"    # to the requester: approved dates, and those left pending
    DENIED = "series_denied"        # to the requester, with the reason
    CANCELLED = "series_cancelled"  # to the requester: the dates cancelled


class ScheduledKind(str, enum.Enum):
    REMINDER = "reminder"  # before an approved booking starts (NOTIFY_REMINDER_HOURS)
    DIGEST = "digest"      # daily to staff: pending requests, bookings starting within 48 h


#: Kinds nobody can switch off (password resets and other account mail).
ACCOUNT = "account"

#: Kinds a person may switch off, with the label the Account page shows, and who sees it.
PREFERENCE_KINDS: dict[str, tuple[str, bool]] = {
    NotificationEvent.REQUESTED.value: ("New requests waiting for approval", True),
    NotificationEvent.APPROVED.value: ("My booking was approved", False),
    NotificationEvent.DENIED.value: ("My booking was denied", False),
    NotificationEvent.RESCHEDULED.value: ("My booking was rescheduled", False),
    NotificationEvent.BUMPED.value: ("My booking was bumped", False),
    NotificationEvent.CANCELLED.value: ("My booking was cancelled", False),
    NotificationEvent.DISPLACED.value: ("My booking was displaced by a blackout", False),
    ScheduledKind.REMINDER.value: ("Reminder before my booking starts", False),
    ScheduledKind.DIGEST.value: ("Daily digest of pending requests", True),
    SeriesEvent.REQUESTED.value: ("New recurring series waiting for approval", True),
    SeriesEvent.APPROVED.value: ("My recurring series was approved", False),
    SeriesEvent.DENIED.value: ("My recurring series was denied", False),
    SeriesEvent.CANCELLED.value: ("My recurring series was cancelled", False),
    "waitlist_offer": ("A window I wait for was offered to me", False),
    "booking_no_show": ("My booking was released as a no-show", False),
}
"""kind -> (label, staff only)."""

#: Booking kinds whose e-mail carries an iCalendar attachment, and its METHOD.
ICAL_METHOD: dict[str, str] = {
    NotificationEvent.APPROVED.value: "REQUEST",
    NotificationEvent.RESCHEDULED.value: "REQUEST",
    NotificationEvent.CANCELLED.value: "CANCEL",
    NotificationEvent.BUMPED.value: "CANCEL",
    NotificationEvent.DISPLACED.value: "CANCEL",
    "booking_no_show": "CANCEL",
}
