"""Staff and phone details only a real browser shows: the tab a person used stays selected
after an action, bookmarked page URLs open after sign-in, the phone menu closes."""
from __future__ import annotations

import pytest

from tests.e2e.test_dashboard_browser import (  # noqa: F401 - fixtures used by name
    SHOTS, TIMEOUT, browser, pages_on_failure, server, settle, sign_in,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def selected_tab(page) -> str:
    return page.locator("[role=tab][aria-selected=true]").inner_text().strip()


def test_deny_keeps_the_deny_tab_open_with_its_message(server, browser,
                                                                 pages_on_failure):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    staff = pages_on_failure["staff-tabs"] = ctx.new_page()
    sign_in(staff, server.url, "staff@range.example", "staff-demo-pass")
    staff.get_by_role("heading", name="Approval queue").wait_for(timeout=TIMEOUT)
    settle(staff)
    staff.get_by_role("tab", name="Deny").click()
    settle(staff)
    staff.get_by_role("button", name="Deny", exact=True).click()
    settle(staff)
    staff.locator("[data-testid=stAlertContentError]").first.wait_for(timeout=TIMEOUT)
    assert selected_tab(staff) == "Deny"
    # A deny that succeeds reruns the page: the Deny tab stays selected, the result in it.
    staff.get_by_label("Reason (the requester sees it)").fill("No range officer that day")
    staff.get_by_label("Reason (the requester sees it)").press("Enter")
    settle(staff)
    staff.get_by_role("button", name="Deny", exact=True).click()
    staff.get_by_text("Denied:").first.wait_for(timeout=TIMEOUT)
    settle(staff)
    assert selected_tab(staff) == "Deny"
    success = staff.locator("[role=tabpanel]:visible [data-testid=stAlertContentSuccess]")
    assert "Denied:" in success.first.inner_text()
    staff.screenshot(path=str(SHOTS / "staff-deny-stays-on-tab.png"), full_page=True)
    ctx.close()
