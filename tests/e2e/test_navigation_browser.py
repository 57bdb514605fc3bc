"""The app shell in a real browser: every page URL can be bookmarked (signed out or in), a
page the role may not use lands on its first page with a note, and on a phone the menu
closes once a page is chosen."""
from __future__ import annotations

import pytest

from tests.e2e.steps import SHOTS, TIMEOUT, VIEWPORT, settle, submit_sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def no_page_not_found(page) -> None:
    page.wait_for_timeout(300)  # Streamlit's "Page not found" dialog comes after the run
    assert page.get_by_text("Page not found").count() == 0


def times_match_availability(page) -> None:
    """The Start and End boxes show the window the page checked, not their "now" default (a
    browser that kept the sign-in run's widgets showed the defaults, and sent them back)."""
    free = page.get_by_text(" is free ").first
    free.wait_for(timeout=TIMEOUT)
    shown = [page.get_by_test_id("stTimeInput").filter(has_text=label)
             .locator("input[type=hidden]").first.input_value()[:5] for label in ("Start", "End")]
    assert f"{shown[0]} – {shown[1]}" in free.inner_text(), (shown, free.inner_text())


@pytest.mark.parametrize("role,path,heading", [
    ("member", "new_booking", "New booking"),      # the member's first page
    ("staff", "approval_queue", "Approval queue"),  # the staff's first page
    ("member", "calendar", "Calendar"),
    ("staff", "all_bookings", "All bookings"),
])
def test_a_bookmarked_page_opens_after_sign_in_and_again_from_the_cookie(
        server, browser, pages_on_failure, role, path, heading):
    ctx = browser.new_context(viewport=VIEWPORT)
    page = pages_on_failure[f"bookmark-{path}"] = ctx.new_page()
    page.goto(f"{server.url}/{path}")  # signed out: the sign-in form, at that URL
    submit_sign_in(page, role)
    page.get_by_role("heading", name=heading).wait_for(timeout=TIMEOUT)
    settle(page)
    no_page_not_found(page)
    assert page.url.rstrip("/").endswith(f"/{path}")
    if path == "new_booking":
        times_match_availability(page)
    settle(page)  # the session cookie is in the browser already (submit_sign_in waits for it)

    again = ctx.new_page()  # signed in by the cookie: the bookmark opens the page directly
    again.goto(f"{server.url}/{path}")
    again.get_by_role("heading", name=heading).wait_for(timeout=TIMEOUT)
    settle(again)
    no_page_not_found(again)
    assert again.url.rstrip("/").endswith(f"/{path}")
    again.get_by_role("button", name="Sign out").wait_for(timeout=TIMEOUT)
    if path == "new_booking":
        times_match_availability(again)
    ctx.close()


def test_signing_in_at_the_root_lands_on_the_roles_first_page_at_its_own_url(
        server, browser, pages_on_failure):
    ctx = browser.new_context(viewport=VIEWPORT)
    page = pages_on_failure["root"] = ctx.new_page()
    page.goto(server.url)
    submit_sign_in(page, "staff")
    page.get_by_role("heading", name="Approval queue").wait_for(timeout=TIMEOUT)
    settle(page)
    no_page_not_found(page)
    assert page.url.rstrip("/").endswith("/approval_queue")
    ctx.close()


def test_a_page_the_role_may_not_use_lands_on_its_first_page_with_a_note(
        server, browser, pages_on_failure):
    ctx = browser.new_context(viewport=VIEWPORT)
    page = pages_on_failure["refused"] = ctx.new_page()
    page.goto(f"{server.url}/audit_log")  # bookmarked by someone else, opened by a member
    submit_sign_in(page, "member")
    page.get_by_role("heading", name="New booking").wait_for(timeout=TIMEOUT)
    page.get_by_text("Audit log is not open to members").wait_for(timeout=TIMEOUT)
    settle(page)
    no_page_not_found(page)
    assert page.get_by_role("heading", name="Audit log").count() == 0
    page.screenshot(path=str(SHOTS / "nav-refused-page-note.png"), full_page=True)

    again = ctx.new_page()  # already signed in: the same
    again.goto(f"{server.url}/admin_users")
    again.get_by_role("heading", name="New booking").wait_for(timeout=TIMEOUT)
    again.get_by_text("Users is not open to members").wait_for(timeout=TIMEOUT)
    settle(again)
    no_page_not_found(again)
    ctx.close()


IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1")


@pytest.mark.parametrize("agent", ["desktop", "iphone"])
def test_on_a_phone_the_menu_closes_after_choosing_a_page_and_stays_closed(
        server, browser, pages_on_failure, agent):
    """Streamlit closes the menu itself only for a phone's user agent; our script closes it on
    any narrow screen. Both at once must not open it again."""
    extra = ({"user_agent": IPHONE, "is_mobile": True, "has_touch": True}
             if agent == "iphone" else {})
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, **extra)
    page = pages_on_failure[f"phone-{agent}"] = ctx.new_page()
    page.goto(server.url)
    submit_sign_in(page, "member")
    page.get_by_role("heading", name="New booking").wait_for(timeout=TIMEOUT)
    settle(page)
    collapsed = ("document.querySelector('[data-testid=stSidebar]')"
                 ".getAttribute('data-collapsed') === '{}'")
    page.get_by_test_id("stExpandSidebarButton").click()
    page.wait_for_function(collapsed.format("false"), timeout=TIMEOUT)
    page.get_by_test_id("stSidebarNavLink").filter(has_text="My bookings").click()
    page.get_by_role("heading", name="My bookings").wait_for(timeout=TIMEOUT)
    page.wait_for_function(collapsed.format("true"), timeout=10_000)
    settle(page)
    page.wait_for_timeout(1000)  # nothing opens it again
    assert page.evaluate(collapsed.format("true"))
    assert page.get_by_test_id("stSidebar").bounding_box()["x"] < 0
    page.screenshot(path=str(SHOTS / f"nav-phone-{agent}-menu-closed.png"))
    ctx.close()
