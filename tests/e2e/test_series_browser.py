"""A recurring series in a real browser: a member previews a weekly series with one taken
date and sends them all; staff open the series row in the queue and approve the
conflict-free part in one click; the taken date stays pending."""
from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest

from tests.e2e.steps import (
    TIMEOUT,
    choose,
    database,
    demo_server,
    fill_purpose,
    go_to,
    settle,
    shot,
    signed_in_page,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
RESOURCE = "E2E Series Range"
PURPOSE = "Browser test weekly practice"
TALL = {"width": 1400, "height": 1100}


def _resource_with_one_taken_week(data) -> None:
    """A resource whose only booking is approved over the third Tuesday-evening-style date."""
    from engine.demo import DEMO_LOGINS
    from engine.services import approve_booking, authenticate, create_resource, request_booking

    db = database(data)
    admin = authenticate(db.uow(), *DEMO_LOGINS["admin"])
    staff = authenticate(db.uow(), *DEMO_LOGINS["staff"])
    r = create_resource(db.uow(), admin.id, name=RESOURCE, resource_type="range",
                        description="Range for the series browser test")
    tz = db.settings.tz
    third = datetime.now(tz).date() + timedelta(days=1, weeks=2)
    start = datetime.combine(third, time(18, 30), tz)
    taken = request_booking(db.uow(), admin.id, resource_id=r.id, start_time=start,
                            end_time=start + timedelta(hours=1), purpose="Police qualification")
    approve_booking(db.uow(), staff.id, taken.id)
    db.dispose()


@pytest.fixture(scope="module")
def series_server(tmp_path_factory):
    with demo_server(tmp_path_factory, "e2e-series", _resource_with_one_taken_week) as srv:
        yield srv


def test_member_requests_a_weekly_series_staff_approve_the_conflict_free_part(
        series_server, browser, pages_on_failure):
    ctx, member = signed_in_page(browser, series_server.url, "member", pages_on_failure,
                                 "series-member", TALL)
    go_to(member, series_server.url, "new_series", "Recurring booking")
    choose(member, "Resource", RESOURCE)
    member.get_by_text("10 date(s)").wait_for(timeout=TIMEOUT)
    member.get_by_text("1 taken").wait_for(timeout=TIMEOUT)
    settle(member)
    fill_purpose(member, PURPOSE)
    member.get_by_text("Send them all for staff to decide").click()
    settle(member)
    shot(member, "series-1-member-preview")
    member.get_by_role("button", name="Send series request").click()
    member.get_by_text("Series sent: 10 date(s)").wait_for(timeout=TIMEOUT)
    shot(member, "series-2-member-sent")

    staff_ctx, staff = signed_in_page(browser, series_server.url, "staff", pages_on_failure,
                                      "series-staff", TALL)
    staff.get_by_text("Recurring series waiting").wait_for(timeout=TIMEOUT)
    settle(staff)
    shot(staff, "series-3-staff-queue")
    staff.get_by_role("button", name="Approve all 9 conflict-free occurrences").click()
    staff.get_by_text("Approved 9 occurrence(s)").first.wait_for(timeout=TIMEOUT)
    shot(staff, "series-4-staff-approved")
    staff_ctx.close()
    ctx.close()

    from engine import services
    from engine.demo import DEMO_LOGINS
    from engine.services import BookingFilter

    db = database(series_server.data)
    try:
        staff_user = services.authenticate(db.uow(), *DEMO_LOGINS["staff"])
        mine = services.list_resources(db.uow(), staff_user.id)
        rid = next(r.id for r in mine if r.name == RESOURCE)
        rows = services.list_bookings(db.uow(), staff_user.id, BookingFilter(
            resource_id=rid, statuses=("pending", "approved")), page_size=100).items
        occurrences = [b for b in rows if b.series_id is not None]
        assert len(occurrences) == 10
        assert sorted(b.status for b in occurrences) == ["approved"] * 9 + ["pending"]
    finally:
        db.dispose()
