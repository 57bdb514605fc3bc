"""The steps the browser tests repeat, written once: start a demo dashboard, open a page signed
in as a demo person, go to a page, wait for the run to settle, pick from a selectbox, fill the
booking form's purpose, save a screenshot. A change to the sign-in form or to Streamlit's
markup is then fixed here, not in every test."""
from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.e2e.server import CHROMIUM, DashboardServer, prepare_demo

SHOTS = Path(__file__).resolve().parent / "screenshots"
TIMEOUT = 60_000
VIEWPORT = {"width": 1400, "height": 1000}
#: A resource with no bookings in the shared server, so tomorrow's default window is free.
FREE_RESOURCE = "E2E Lane"
#: The dashboard's sign-in cookie (AUTH_COOKIE_NAME's default).
SESSION_COOKIE = "range_control_auth"


def database(data: Path):
    """The engine on the server's SQLite database, to set a scene or check what a click did."""
    from engine.config import Settings
    from engine.db import Database

    return Database(settings=Settings(RANGE_CONTROL_DATA_DIR=str(data),
                                      DATABASE_URL=f"sqlite:///{data / 'range_control.db'}"))


def add_free_resource(data: Path) -> None:
    """The shared server's scene: FREE_RESOURCE, a lane nobody has booked."""
    from engine import services
    from engine.demo import DEMO_LOGINS

    db = database(data)
    admin = services.authenticate(db.uow(), *DEMO_LOGINS["admin"])
    services.create_resource(db.uow(), admin.id, name=FREE_RESOURCE, resource_type="lane",
                             description="Lane kept free for the browser test")
    db.dispose()


@contextmanager
def demo_server(tmp_path_factory, name: str, scene: Callable[[Path], None] | None = None,
                **env: str) -> Iterator[DashboardServer]:
    """`streamlit run dashboard/app.py` over a fresh demo database (plus `scene`), stopped after."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (CI's .ci/run does)")
    data = tmp_path_factory.mktemp(name)
    server_env = {**prepare_demo(data), "RANGE_CONTROL_DATA_DIR": str(data), **env}
    if scene is not None:
        scene(data)
    srv = DashboardServer(server_env, data / "streamlit.log")
    srv.data = data  # type: ignore[attr-defined]
    try:
        srv.wait()
        yield srv
    finally:
        srv.stop()


def settle(page) -> None:
    """Wait for the script run to finish and the previous run's (stale) elements to go."""
    page.wait_for_function(
        "!document.querySelector('[data-testid=stStatusWidgetRunningIcon],"
        "[data-testid=stStatusWidgetRunningManIcon]') && "
        "!document.querySelector('[data-stale=true]')", timeout=TIMEOUT)


def open_sign_in(page, url: str) -> None:
    """Open the dashboard signed out: the sign-in form, drawn and settled."""
    page.goto(url)
    page.get_by_label("Email").wait_for(timeout=TIMEOUT)
    settle(page)


def sign_in(page, url: str, role: str) -> None:
    """Sign in through the form as the demo person of `role` (engine.demo.DEMO_LOGINS)."""
    page.goto(url)
    submit_sign_in(page, role)


def submit_sign_in(page, role: str) -> None:
    """Sign in with the form the page shows (at any URL), as the demo person of `role`, as a
    person would: after the first run and the cookie check have settled. Back once signed in
    with the session cookie in the browser."""
    from engine.demo import DEMO_LOGINS

    email, password = DEMO_LOGINS[role]
    page.get_by_label("Email").wait_for(timeout=TIMEOUT)
    page.wait_for_timeout(500)
    settle(page)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Sign out").wait_for(timeout=TIMEOUT)
    # The sign-in cookie lands before the next address is typed (a new tab, a link), as it
    # does for a person: under load the cookie component can take longer than a rerun.
    page.wait_for_function(f"document.cookie.includes('{SESSION_COOKIE}=')", timeout=TIMEOUT)
    page.wait_for_timeout(500)  # the cookie components report back and rerun once
    settle(page)


def signed_in_page(browser, url: str, role: str, pages_on_failure: dict, name: str,
                   viewport: dict | None = None):
    """A new browser (context) signed in as `role`; its page is saved if the test fails.
    Returns (context, page): close the context at the end."""
    ctx = browser.new_context(viewport=viewport or VIEWPORT)
    page = pages_on_failure[name] = ctx.new_page()
    sign_in(page, url, role)
    return ctx, page


def go_to(page, url: str, path: str, heading: str) -> None:
    """Open a page by its URL path and wait until its heading is drawn and the run settled."""
    page.goto(f"{url}/{path}")
    page.get_by_role("heading", name=heading).wait_for(timeout=TIMEOUT)
    settle(page)


def choose(page, label: str, text: str) -> None:
    """Pick an option of a Streamlit selectbox by typing into its search."""
    settle(page)
    box = page.get_by_test_id("stSelectbox").filter(has=page.get_by_text(label, exact=True))
    box.locator("input").click()
    page.keyboard.type(text)
    page.get_by_role("option", name=text, exact=False).first.click()


def fill_purpose(page, purpose: str) -> None:
    """Type the booking form's purpose and apply it (Ctrl+Enter), as the form needs it before
    its send button."""
    page.get_by_label("Purpose").fill(purpose)
    page.get_by_label("Purpose").press("Control+Enter")
    settle(page)


def overflowing(page, test_id: str) -> list[str]:
    """The texts of the elements with data-testid `test_id` whose content is wider than
    they are or than the window (cut off, or scrolled sideways out of sight)."""
    return page.evaluate("""(id) => [...document.querySelectorAll(`[data-testid=${id}]`)]
      .filter(e => [e, ...e.querySelectorAll('*')].some(x => x.scrollWidth > x.clientWidth + 1
               || x.getBoundingClientRect().right > window.innerWidth + 1))
      .map(e => e.innerText)""", test_id)


def shot(page, name: str) -> None:
    """Save the whole page as tests/e2e/screenshots/<name>.png."""
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
