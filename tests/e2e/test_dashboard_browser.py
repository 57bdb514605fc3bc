"""The dashboard in headless Chromium: a member requests, staff approve, the member sees it.

Runs the real `streamlit run dashboard/app.py` on a free 127.0.0.1 port over a temp SQLite
database with the demo data, drives Debian's chromium through Playwright, and saves
screenshots under tests/e2e/screenshots/.
"""
from __future__ import annotations

from datetime import UTC
from pathlib import Path

import pytest

from tests.e2e.steps import (
    FREE_RESOURCE,
    SESSION_COOKIE,
    TIMEOUT,
    VIEWPORT,
    choose,
    database,
    fill_purpose,
    go_to,
    open_sign_in,
    settle,
    shot,
    sign_in,
    signed_in_page,
    submit_sign_in,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
PURPOSE = "Browser test practice"


def test_member_requests_staff_approves_member_sees_it_approved(server, browser,
                                                              pages_on_failure):
    member_ctx, member = signed_in_page(browser, server.url, "member", pages_on_failure, "member")
    member.get_by_role("heading", name="New booking").wait_for(timeout=TIMEOUT)
    choose(member, "Resource", FREE_RESOURCE)
    member.get_by_text(f"{FREE_RESOURCE} is free").wait_for(timeout=TIMEOUT)
    settle(member)
    fill_purpose(member, PURPOSE)
    shot(member, "1-member-new-booking")
    member.get_by_role("button", name="Send request").click()
    member.get_by_text("Request sent").wait_for(timeout=TIMEOUT)
    shot(member, "2-member-request-sent")

    staff_ctx, staff = signed_in_page(browser, server.url, "staff", pages_on_failure, "staff")
    staff.get_by_role("heading", name="Approval queue").wait_for(timeout=TIMEOUT)
    choose(staff, "Request to decide", FREE_RESOURCE)
    staff.get_by_role("heading", name=FREE_RESOURCE).wait_for(timeout=TIMEOUT)
    settle(staff)
    shot(staff, "3-staff-approval-queue")
    staff.get_by_role("button", name="Approve", exact=True).click()
    staff.get_by_text(f"Approved: Mel Member's request for {FREE_RESOURCE}").first.wait_for(
        timeout=TIMEOUT)
    shot(staff, "4-staff-approved")

    go_to(member, server.url, "my_bookings", "My bookings")
    card = member.get_by_test_id("stMarkdownContainer").filter(has_text=FREE_RESOURCE)
    card.filter(has_text=PURPOSE).filter(has_text="approved").wait_for(timeout=TIMEOUT)
    shot(member, "5-member-sees-approved")
    staff_ctx.close()

    # Signing out ends the session for real: the old cookie no longer signs anyone in.
    old_cookies = member_ctx.cookies()
    assert any(c["name"] == SESSION_COOKIE for c in old_cookies)
    member.get_by_role("button", name="Sign out").click()
    member.get_by_label("Email").wait_for(timeout=TIMEOUT)
    replay_ctx = browser.new_context()
    replay_ctx.add_cookies(old_cookies)
    replay = replay_ctx.new_page()
    replay.goto(server.url)
    replay.get_by_label("Email").wait_for(timeout=TIMEOUT)
    assert replay.get_by_role("button", name="Sign out").count() == 0
    shot(replay, "6-old-cookie-refused")
    replay_ctx.close()
    member_ctx.close()


def _bookings_starting_soon(data: Path) -> tuple[list, object]:
    """Two approved bookings of the demo member starting in ten minutes on two new resources
    of a type whose check-in is open 30 minutes before the start."""
    from datetime import datetime, timedelta

    from engine import services
    from engine.demo import DEMO_LOGINS

    db = database(data)
    admin = services.authenticate(db.uow(), *DEMO_LOGINS["admin"])
    staff = services.authenticate(db.uow(), *DEMO_LOGINS["staff"])
    member = services.authenticate(db.uow(), *DEMO_LOGINS["member"])
    services.set_checkin_rule(db.uow(), admin.id, "e2e_board", opens_before_minutes=30,
                              grace_minutes=15, required=True)
    start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=10)
    out = []
    for name in ("E2E Board Range", "E2E Board Bay"):
        r = services.create_resource(db.uow(), admin.id, name=name, resource_type="e2e_board")
        b = services.request_booking(db.uow(), member.id, resource_id=r.id, start_time=start,
                                     end_time=start + timedelta(hours=1), purpose="Board test")
        out.append(services.approve_booking(db.uow(), staff.id, b.id))
    db.dispose()
    return out, staff


def _hot_now(page) -> int:
    metric = page.get_by_test_id("stMetric").filter(has_text="Hot now")
    return int(metric.get_by_test_id("stMetricValue").inner_text().strip())


def test_staff_check_a_member_in_from_the_board(server, browser, pages_on_failure):
    from engine import services

    (first, second), staff_user = _bookings_starting_soon(server.data)
    ctx, staff = signed_in_page(browser, server.url, "staff", pages_on_failure, "staff-board")
    go_to(staff, server.url, "range_board", "Today")
    row = staff.get_by_test_id("stHorizontalBlock").filter(
        has_text="E2E Board Range · Mel Member")
    row.get_by_role("button", name="Check in").wait_for(timeout=TIMEOUT)
    shot(staff, "7-staff-board")
    before = _hot_now(staff)
    row.get_by_role("button", name="Check in").click()
    staff.get_by_text("Checked in Mel Member on E2E Board Range").wait_for(timeout=TIMEOUT)
    settle(staff)
    shot(staff, "8-staff-checked-in-from-board")
    db = database(server.data)
    assert services.get_booking(db.uow(), staff_user.id, first.id).status == "approved"
    with db.uow().read() as uow:
        from engine.models import Booking
        assert uow.session.get(Booking, first.id).checked_in_at is not None
    # The board redraws itself: a check-in made elsewhere shows up without reloading the page
    # (it counts as hot only once the booking has started, so compare the check-in buttons).
    services.check_in(db.uow(), staff_user.id, second.id)
    db.dispose()
    bay = staff.get_by_test_id("stHorizontalBlock").filter(has_text="E2E Board Bay · Mel Member")
    bay.get_by_role("button", name="Check in").wait_for(state="detached", timeout=30_000)
    assert _hot_now(staff) == before  # neither has started yet: checked in, still cold
    ctx.close()


def test_a_valid_cookie_signs_the_browser_back_in(server, browser):
    ctx = browser.new_context()
    page = ctx.new_page()
    sign_in(page, server.url, "admin")
    again = ctx.new_page()  # same browser, new Streamlit session: only the cookie carries over
    again.goto(server.url)
    again.get_by_role("button", name="Sign out").wait_for(timeout=TIMEOUT)
    assert again.get_by_label("Email").count() == 0
    ctx.close()


def test_an_emailed_booking_link_opens_that_booking_after_signing_in(server, browser,
                                                                     pages_on_failure):
    """The e-mail's button (my_bookings?booking=<id>) opened in a signed-out browser: the
    sign-in form at that address, then My bookings with that booking first."""
    from engine import services
    from engine.demo import DEMO_LOGINS

    db = database(server.data)
    member = services.authenticate(db.uow(), *DEMO_LOGINS["member"])
    denied = services.list_bookings(db.uow(), member.id, services.BookingFilter(
        requester_id=member.id, statuses=("denied",)), page_size=1).items[0]
    db.dispose()
    ctx = browser.new_context(viewport=VIEWPORT)
    page = pages_on_failure["emailed-link"] = ctx.new_page()
    open_sign_in(page, f"{server.url}/my_bookings?booking={denied.id}")
    page.wait_for_timeout(500)
    settle(page)
    assert page.get_by_text("Page not found").count() == 0
    submit_sign_in(page, "member")
    card = page.get_by_test_id("stVerticalBlock").filter(
        has=page.get_by_role("heading", name=denied.resource_name)).filter(
        has_text=f"Reference {str(denied.id)[:8]}")
    card.first.wait_for(timeout=TIMEOUT)
    settle(page)
    assert "denied" in card.first.inner_text()
    shot(page, "9-member-opens-emailed-link")
    ctx.close()
