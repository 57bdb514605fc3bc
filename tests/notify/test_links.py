"""Every e-mail's button lands on the page its reader acts on, with the thing singled out."""
from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from engine.notifications.events import PREFERENCE_KINDS
from engine.notifications.render import Outgoing, template_context
from engine.notifications.settings import NotifySettings

BOOKING, ENTRY = "11111111-2222-3333-4444-555555555555", "99999999-8888-7777-6666-555555555555"
BASE = "https://rc.example"
CTX = {"booking_id": BOOKING, "start_time": "2030-01-08T10:00:00+00:00",
       "end_time": "2030-01-08T12:00:00+00:00", "status": "pending", "resource_name": "Bay 7"}


def link_of(kind: str, **extra) -> tuple[str, str]:
    row = Outgoing(id="x", kind=kind, recipient_email="a@b.example", context=CTX | extra,
                   created_at=datetime(2030, 1, 7, 9, tzinfo=UTC))
    ctx = template_context(row, ZoneInfo("UTC"), NotifySettings(dashboard_url=BASE + "/"))
    return ctx["link"], ctx["link_label"]


def test_a_new_request_links_approvers_to_that_request_in_the_queue():
    assert link_of("booking_requested") == (f"{BASE}/approval_queue?booking={BOOKING}",
                                            "Open the request in the approval queue")


@pytest.mark.parametrize("kind", ["series_requested", "digest"])
def test_staff_mail_about_many_requests_links_to_the_queue(kind):
    assert link_of(kind)[0] == f"{BASE}/approval_queue"


def test_a_waitlist_offer_links_to_that_entry_on_my_waitlist_where_it_is_accepted():
    assert link_of("waitlist_offer", waitlist_entry_id=ENTRY)[0] == \
        f"{BASE}/my_waitlist?entry={ENTRY}"


@pytest.mark.parametrize("kind", [k for k, (_, staff) in PREFERENCE_KINDS.items()
                                  if not staff and k != "waitlist_offer"] + ["reminder"])
def test_members_mail_about_a_booking_links_to_it_on_my_bookings(kind):
    assert link_of(kind)[0] == f"{BASE}/my_bookings?booking={BOOKING}"
