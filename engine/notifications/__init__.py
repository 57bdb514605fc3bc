"""Telling people: booking e-mails through a transactional outbox, reminders, the staff digest,
iCalendar attachments and feeds. See `engine.notifications.outbox` for the API services call.
"""
from engine.notifications.events import (  # noqa: F401
    ACCOUNT,
    ICAL_METHOD,
    PREFERENCE_KINDS,
    NotificationEvent,
    ScheduledKind,
    SeriesEvent,
)
from engine.notifications.outbox import (  # noqa: F401
    approvers_for,
    booking_context,
    enqueue_booking_event,
    enqueue_message,
)
