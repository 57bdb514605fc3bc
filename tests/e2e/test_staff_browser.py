"""Details only a real browser shows: the tab a person used stays selected after an action,
calendar clicks, nothing fetched from the internet, light and dark themes, long words wrap."""
from __future__ import annotations

from datetime import datetime

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


#: The calendar's chart (Vega-Lite, drawn as SVG) and its cells and bars: each carries an
#: aria-label ending in its hover text ("tip: Book Range 1 at Sat 28 Nov 09:00").
CAL_CHART = ".vega-embed svg.marks"
CAL_RECTS = ".vega-embed g.layer_0_marks path[aria-label]"


def centre(box: dict) -> tuple[float, float]:
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def calendar_items(page) -> list[dict]:
    """Every cell and bar of the calendar: its hover text and its box on the page."""
    return page.evaluate("""(sel) => [...document.querySelectorAll(sel)].map(p => {
        const r = p.getBoundingClientRect(), label = p.getAttribute('aria-label');
        return {tip: label.slice(label.indexOf('tip: ') + 5), x: r.x + window.scrollX,
                y: r.y + window.scrollY, width: r.width, height: r.height}; })""", CAL_RECTS)


def test_calendar_click_an_empty_slot_to_book_it_and_a_bar_to_open_it(server, browser,
                                                                      pages_on_failure):
    ctx, page = signed_in_page(browser, server.url, "staff", pages_on_failure, "calendar")
    go_to(page, server.url, "calendar", "Calendar")
    page.locator(CAL_CHART).first.wait_for(timeout=TIMEOUT)
    assert page.locator(".vega-embed g.layer_1_marks > *").count() >= 1  # the "now" line
    bars = [i for i in calendar_items(page) if not i["tip"].startswith("Book ")]
    best = max(bars, key=lambda b: b["width"] * b["height"])  # the easiest bar to hit
    page.mouse.wheel(0, best["y"] - page.evaluate("window.scrollY") - 300)
    page.wait_for_timeout(300)
    best = max((i for i in calendar_items(page) if i["tip"] == best["tip"]),
               key=lambda b: b["width"] * b["height"])
    x, y = centre(best)
    y -= page.evaluate("window.scrollY")
    page.mouse.move(x, y)
    page.mouse.click(x, y)
    page.get_by_role("button", name="Close").wait_for(timeout=TIMEOUT)
    settle(page)
    shot(page, "calendar-bar-opened")
    assert page.get_by_text(" · reference ").count() == 1  # the booking's card
    page.get_by_role("button", name="Close").click()
    settle(page)

    # An empty slot, on a freshly opened page (Close redraws the chart under a new key, and a
    # click while it is being replaced would land on nothing): the last cell of the last row
    # lies after every demo booking.
    go_to(page, server.url, "calendar", "Calendar")
    page.locator(CAL_RECTS).first.wait_for(timeout=TIMEOUT)
    slot = [i for i in calendar_items(page) if i["tip"].startswith("Book ")][-1]
    resource = slot["tip"].removeprefix("Book ").split(" at ")[0]  # "Book Minibus 1 at ..."
    page.mouse.wheel(0, slot["y"] - page.evaluate("window.scrollY") - 300)
    page.wait_for_timeout(300)
    slot = [i for i in calendar_items(page) if i["tip"] == slot["tip"]][0]
    x, y = centre(slot)
    y -= page.evaluate("window.scrollY")
    page.mouse.move(x, y)
    page.mouse.click(x, y)
    page.get_by_role("heading", name="New booking").wait_for(timeout=TIMEOUT)
    settle(page)
    page.get_by_text(f"{resource} is free").wait_for(timeout=TIMEOUT)  # prefilled, and free
    shot(page, "calendar-slot-to-new-booking")
    ctx.close()


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


def test_calendar_drag_along_a_row_opens_the_form_prefilled_without_a_mouse_mode(
        server, browser, pages_on_failure):
    ctx, page = signed_in_page(browser, server.url, "staff", pages_on_failure, "calendar-drag")
    go_to(page, server.url, "calendar", "Calendar")
    settle(page)
    assert page.get_by_role("radio", name="Drag a window").count() == 0  # no mode to switch
    pick_segment(page, "Day")  # about 40 px an hour: a pixel is well inside 15 minutes
    # The day view's chart is drawn: free cells an hour of a 24-hour axis wide (a week's
    # are 3 hours of 168).
    page.wait_for_function("""(sel) => { const ps = [...document.querySelectorAll(sel)]
            .filter(p => p.getAttribute('aria-label').includes('tip: Book '));
        const w = document.querySelector('.vega-embed svg.marks').getBoundingClientRect().width;
        return ps.length > 0 && ps.every(p => {
            const cw = p.getBoundingClientRect().width; return cw > w / 40 && cw < w / 20; }); }""",
                           arg=CAL_RECTS, timeout=TIMEOUT)
    page.locator(CAL_CHART).first.scroll_into_view_if_needed()
    page.wait_for_timeout(300)  # let the scroll end before reading pixel positions
    slots = [i for i in calendar_items(page) if i["tip"].startswith("Book ")]
    # Hour cells give the time axis: x = x0 + px_per_hour * hours; rows from the first cells.
    when = [(datetime.strptime(s["tip"].split(" at ")[1], "%a %d %b %H:%M"), s) for s in slots]
    (t_a, a), (t_b, b) = min(when, key=lambda w: w[1]["x"]), max(when, key=lambda w: w[1]["x"])
    per_hour = (b["x"] - a["x"]) / ((t_b - t_a).total_seconds() / 3600)
    resource = slots[0]["tip"].removeprefix("Book ").split(" at ")[0]  # the top row
    y = slots[0]["y"] + slots[0]["height"] / 2 - page.evaluate("window.scrollY")
    hour0 = t_a.replace(hour=0, minute=0)

    def px(hours: float) -> float:
        return a["x"] + per_hour * (hours - (t_a - hour0).total_seconds() / 3600)

    x0, x1 = px(9 + 10 / 60), px(13 + 40 / 60)
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
    assert field_text(page, "Date").startswith(f"{t_a:%d/%m}/")
    chosen = page.get_by_role("combobox", name="Resource", exact=True).input_value()
    assert chosen.startswith(f"{resource} · "), (resource, chosen)
    ctx.close()


def test_on_a_phone_the_calendar_row_names_take_under_a_third_of_the_chart(
        server, browser, pages_on_failure):
    ctx, page = signed_in_page(browser, server.url, "staff", pages_on_failure, "calendar-phone",
                               PHONE)
    go_to(page, server.url, "calendar", "Calendar")
    page.locator(CAL_CHART).first.wait_for(timeout=TIMEOUT)
    settle(page)
    chart = page.locator(CAL_CHART).first.bounding_box()
    cells = calendar_items(page)
    plot_left = min(c["x"] for c in cells)  # where the first hour starts
    assert (plot_left - chart["x"]) / chart["width"] < 1 / 3, (plot_left, chart)
    shot(page, "calendar-phone")
    ctx.close()


def test_nothing_is_loaded_from_the_internet(server, browser, pages_on_failure):
    """Every request the signed-in pages make goes to the dashboard itself (tab icon included)."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = pages_on_failure["offline"] = ctx.new_page()
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith((server.url, "data:", "blob:"))
            else outside.append(r.url))
    sign_in(page, server.url, "staff")
    for path, chart in (("calendar", CAL_CHART),
                        ("reports", "[data-testid=stVegaLiteChart] .marks")):
        page.goto(f"{server.url}/{path}")
        page.locator(chart).first.wait_for(timeout=TIMEOUT)  # both draw with Vega-Lite
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
    # The menu slides out with a CSS transition after it is marked collapsed: wait for it to
    # leave the screen (a menu that stays open times out here).
    page.wait_for_function("document.querySelector('[data-testid=stSidebar]')"
                           ".getBoundingClientRect().x < 0", timeout=10_000)
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


def test_reports_tabs_each_draw_their_chart_when_opened(server, browser, pages_on_failure):
    """Reports draws only the open tab's chart (lazy tabs): opening another tab draws its own,
    the tab stays selected, and only one chart is on the page at a time."""
    ctx, page = signed_in_page(browser, server.url, "staff", pages_on_failure, "reports-tabs")
    go_to(page, server.url, "reports", "Reports")
    charts = page.locator("[data-testid=stVegaLiteChart]")
    charts.locator(".marks").first.wait_for(timeout=TIMEOUT)
    settle(page)
    assert selected_tab(page) == "Utilization" and charts.count() == 1
    for tab in ("Conflict and approval rates", "Approval turnaround", "Bookings per day"):
        page.get_by_role("tab", name=tab).click()
        settle(page)
        charts.locator(".marks").first.wait_for(timeout=TIMEOUT)
        assert selected_tab(page) == tab
        assert charts.count() == 1, tab
    ctx.close()
