"""The browser tests' fixtures: one Chromium per module, the shared demo dashboard, and failure
screenshots. The steps themselves are in tests/e2e/steps.py."""
import pytest

from tests.e2e.server import CHROMIUM, CHROMIUM_ARGS
from tests.e2e.steps import SHOTS, add_free_resource, demo_server


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each test's call report on its item, so fixtures can save screenshots on failure."""
    outcome = yield
    if call.when == "call":
        item.rep_call = outcome.get_result()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The demo dashboard with a free lane; the Today board redraws every 5 seconds."""
    with demo_server(tmp_path_factory, "e2e-data", add_free_resource,
                     BOARD_REFRESH_SECONDS="5") as srv:
        yield srv


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def pages_on_failure(request):
    """Pages registered here are saved as failure-*.png when the test fails, to see why."""
    pages: dict = {}
    yield pages
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        for name, page in pages.items():
            try:
                page.screenshot(path=str(SHOTS / f"failure-{name}.png"), full_page=True)
            except Exception:  # noqa: BLE001 - the page may be gone already
                pass
