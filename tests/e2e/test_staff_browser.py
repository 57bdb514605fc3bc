"""Details only a real browser shows: the tab a person used stays selected after an action,
calendar clicks, nothing fetched from the internet, light and dark themes, long words wrap."""
from __future__ import annotations

from datetime import date

import pytest

from tests.e2e.steps import (
    SHOTS,
    TIMEOUT,
    go_to,
    open_sign_in,
    overflowing,
    settle,
    shot,
    sign_in,
    signed_in_page,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
PHONE = {"width": 390, "height": 844}


def selected_tab(page) -> str:
    return page.locator("[role=tab][aria-selected=true]").inner_text().strip()


def test_deny_keeps_the_deny_tab_open_with_its_message(server, browser,
                                                                 pages_on_failure):
    ctx, staff = signed_in_page(browser, server.url, "staff", pages_on_failure, "staff-tabs")
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
    shot(staff, "staff-deny-stays-on-tab")
    ctx.close()


def test_calendar_click_an_empty_slot_to_book_it_and_a_bar_to_open_it(server, browser,
                                                                      pages_on_failure):
    ctx, page = signed_in_page(browser, server.url, "staff", pages_on_failure, "calendar")
    go_to(page, server.url, "calendar", "Calendar")
    chart = page.locator(".js-plotly-plot").first
    chart.wait_for(timeout=TIMEOUT)
    assert page.locator(".js-plotly-plot .shapelayer path").count() >= 1  # the "now" line
    # The first bar trace holds the invisible free slots; the others are bookings.
    bookings = ".js-plotly-plot .barlayer g.trace.bars:not(:first-child) path"
    page.locator(bookings).first.wait_for(timeout=TIMEOUT)
    best = max(page.locator(bookings).all(),
               key=lambda p: (lambda b: b["width"] * b["height"] if b else 0)(p.bounding_box()))
    best.scroll_into_view_if_needed()  # the easiest bar to hit, on screen
    box = best.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.get_by_role("button", name="Close").wait_for(timeout=TIMEOUT)
    settle(page)
    shot(page, "calendar-bar-opened")
    assert page.get_by_text(" · reference ").count() == 1  # the booking's card

    # An empty slot: the last slot point of the last row lies after every demo booking.
    slot = page.locator(".js-plotly-plot .barlayer g.trace.bars:first-child path").last
    slot.scroll_into_view_if_needed()
    box = slot.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_timeout(300)
    hover = page.evaluate("() => document.querySelector('.hoverlayer').textContent")
    resource = hover.removeprefix("Book ").split(" at ")[0]  # "Book Minibus 1 at Sun 29 Nov 21:00"
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.get_by_role("heading", name="New booking").wait_for(timeout=TIMEOUT)
    settle(page)
    page.get_by_text(f"{resource} is free").wait_for(timeout=TIMEOUT)  # prefilled, and free
    shot(page, "calendar-slot-to-new-booking")
    ctx.close()


def chart_px(page, when: str, row: int) -> tuple[float, float]:
    """Page pixel of a time on the x axis and the middle of a row (0 = bottom) of the chart."""
    area = page.locator(".js-plotly-plot .nsewdrag").first.bounding_box()
    x, y = page.evaluate("""([when, row]) => {
        const L = document.querySelector('.js-plotly-plot')._fullLayout;
        return [L.xaxis.d2p(when), L.yaxis.l2p(row)]; }""", [when, row])
    return area["x"] + x, area["y"] + y


def field_text(page, label: str) -> str:
    """What a date or time field shows (its segments, without the bidi marks between)."""
    text = page.locator(f"[role=group][aria-label='{label}']").first.inner_text()
    return "".join(ch for ch in text if ch.isdigit() or ch in ":/")


def pick_segment(page, label: str) -> None:
    """Choose an option of a segmented control and wait for the page to redraw with it."""
    option = page.get_by_role("radio", name=label, exact=True)
    option.click()
    page.wait_for_function("([label]) => [...document.querySelectorAll('[role=radio]')].some("
                           "r => r.textContent.trim() === label && "
                           "r.getAttribute('aria-checked') === 'true')", arg=[label],
                           timeout=TIMEOUT)
    settle(page)


def test_calendar_drag_across_a_row_opens_the_form_prefilled_with_that_window(
        server, browser, pages_on_failure):
    ctx, page = signed_in_page(browser, server.url, "staff", pages_on_failure, "calendar-drag")
    go_to(page, server.url, "calendar", "Calendar")
    settle(page)
    pick_segment(page, "Day")  # about 30 px an hour: a pixel is well inside 15 minutes
    pick_segment(page, "Drag a window")
    page.wait_for_function("document.querySelector('.js-plotly-plot')?._fullLayout"
                           "?.dragmode === 'select'", timeout=TIMEOUT)
    page.locator(".js-plotly-plot").first.scroll_into_view_if_needed()
    page.wait_for_timeout(300)  # let the scroll end before reading pixel positions
    day, resource = page.evaluate("""() => {
        const L = document.querySelector('.js-plotly-plot')._fullLayout;
        return [L.xaxis.range[0].slice(0, 10), L.yaxis._categories[0]]; }""")
    x0, y = chart_px(page, f"{day} 09:10", 0)
    x1, _ = chart_px(page, f"{day} 13:40", 0)
    page.mouse.move(x0, y)
    page.mouse.down()
    for step in range(1, 11):  # a person's drag: several moves, not one jump
        page.mouse.move(x0 + (x1 - x0) * step / 10, y + (3 if step % 2 else -3))
    page.mouse.up()
    page.get_by_role("heading", name="New booking").wait_for(timeout=TIMEOUT)
    settle(page)
    page.screenshot(path=str(SHOTS / "calendar-drag-to-new-booking.png"), full_page=True)
    # Rounded out to the form's 15-minute grid: 09:00 to 13:45, that day, that resource.
    assert field_text(page, "Start") == "09:00"
    assert field_text(page, "End") == "13:45"
    assert field_text(page, "Date") == f"{date.fromisoformat(day):%d/%m/%Y}"
    chosen = page.get_by_role("combobox", name="Resource", exact=True).input_value()
    assert chosen.startswith(f"{resource} · "), (resource, chosen)
    ctx.close()


def test_nothing_is_loaded_from_the_internet(server, browser, pages_on_failure):
    """Every request the signed-in pages make goes to the dashboard itself (tab icon included)."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = pages_on_failure["offline"] = ctx.new_page()
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith((server.url, "data:", "blob:"))
            else outside.append(r.url))
    sign_in(page, server.url, "staff")
    for path in ("calendar", "reports"):
        page.goto(f"{server.url}/{path}")
        # Calendar draws with plotly, Reports with Vega-Lite.
        page.locator(".js-plotly-plot, [data-testid=stVegaLiteChart] .marks").first.wait_for(
            timeout=TIMEOUT)
        settle(page)
    icon = page.evaluate("() => [...document.querySelectorAll('link[rel~=icon]')].map(l => l.href)")
    assert icon and all(h.startswith((server.url, "data:")) for h in icon), icon
    assert outside == []
    ctx.close()


@pytest.mark.parametrize("scheme,dark", [("dark", True), ("light", False)])
def test_the_dashboard_follows_the_systems_light_or_dark_setting(server, browser, scheme, dark):
    ctx = browser.new_context(color_scheme=scheme)
    page = ctx.new_page()
    open_sign_in(page, server.url)
    rgb = page.evaluate("() => getComputedStyle(document.querySelector('.stApp'))"
                        ".backgroundColor")
    r, g, b = (int(x) for x in rgb[rgb.index("(") + 1:rgb.index(")")].split(",")[:3])
    assert ((r + g + b) / 3 < 80) is dark, rgb
    ctx.close()


def test_long_words_wrap_instead_of_overflowing_their_card(server, browser):
    ctx = browser.new_context(viewport=PHONE)
    page = ctx.new_page()
    open_sign_in(page, server.url)
    wrap = page.evaluate("() => [...document.querySelectorAll('.stMarkdown')]"
                         ".map(e => getComputedStyle(e).overflowWrap)")
    assert wrap and set(wrap) == {"anywhere"}, wrap
    ctx.close()


def test_on_a_phone_choosing_a_page_in_the_menu_closes_it(server, browser, pages_on_failure):
    ctx, page = signed_in_page(browser, server.url, "member", pages_on_failure, "phone-menu",
                               PHONE)
    sidebar = page.get_by_test_id("stSidebar")
    page.get_by_test_id("stExpandSidebarButton").click()
    page.wait_for_function("document.querySelector('[data-testid=stSidebar]')"
                           ".getAttribute('data-collapsed') === 'false'", timeout=TIMEOUT)
    page.get_by_test_id("stSidebarNavLink").filter(has_text="My bookings").click()
    page.get_by_role("heading", name="My bookings").wait_for(timeout=TIMEOUT)
    page.wait_for_function("document.querySelector('[data-testid=stSidebar]')"
                           ".getAttribute('data-collapsed') === 'true'", timeout=10_000)
    settle(page)
    assert sidebar.bounding_box()["x"] < 0  # drawn off the screen, the page readable
    page.screenshot(path=str(SHOTS / "phone-menu-closed.png"))  # the screen, not the page
    ctx.close()


@pytest.mark.parametrize("role,path,heading", [("member", "my_bookings", "My bookings"),
                                               ("staff", "all_bookings", "All bookings")])
def test_on_a_phone_the_status_pills_wrap_and_every_status_shows(server, browser,
                                                                 pages_on_failure, role, path,
                                                                 heading):
    ctx, page = signed_in_page(browser, server.url, role, pages_on_failure, f"phone-{path}",
                               PHONE)
    go_to(page, server.url, path, heading)
    pills = page.get_by_test_id("stButtonGroup").filter(has_text="Status")
    for status in ("pending", "approved", "denied", "cancelled", "bumped"):
        pills.get_by_role("button", name=status).wait_for(timeout=TIMEOUT)  # shown, not hidden
    assert overflowing(page, "stButtonGroup") == []
    shot(page, f"phone-{path}-status-pills")
    ctx.close()
