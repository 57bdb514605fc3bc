"""What people wait for in the browser: sign-in to the first page, and each page's first screen.

Starts the real dashboard (`streamlit run dashboard/app.py`) on a free 127.0.0.1 port over a
fresh SQLite database holding the demo range complex (`python -m engine demo`: 16 resources,
months of bookings), drives headless Chromium through Playwright, and prints median and worst
times over --runs repetitions:

- sign-in: from the click on "Sign in" until the role's first page has its heading and the app
  is idle (no script running, no stale elements);
- first page by URL: `page.goto(/<page>)` in a signed-in browser (a bookmark or reload: new
  websocket, cookie check, the page's script) until heading, idle and, for chart pages, the chart
  drawn;
- page switch: a click in the side navigation until the same condition.

    .venv/bin/python bench/bench_browser.py --runs 5
    .venv/bin/python bench/bench_browser.py --app-root /tmp/before  # an older checkout's dashboard
    .venv/bin/python bench/bench_browser.py --database-url postgresql+psycopg://...  # migrated

Run it on a quiet machine: the figures are wall-clock and include Chromium's own work.
"""
from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
LOGINS = {"member": ("member@range.example", "member-demo-pass"),
          "staff": ("staff@range.example", "staff-demo-pass")}
#: (role, url path, heading, nav label, has a chart)
PAGES = [("member", "new_booking", "New booking", "New booking", False),
         ("member", "my_bookings", "My bookings", "My bookings", False),
         ("member", "calendar", "Calendar", "Calendar", True),
         ("staff", "approval_queue", "Approval queue", "Approval queue", False),
         ("staff", "all_bookings", "All bookings", "All bookings", False),
         ("staff", "audit_log", "Audit log", "Audit log", False),
         ("staff", "reports", "Reports", "Reports", True)]
FIRST_PAGE = {"member": "New booking", "staff": "Approval queue"}
TIMEOUT = 120_000
COOKIE = os.environ.get("AUTH_COOKIE_NAME", "range_control_auth")
IDLE = ("!document.querySelector('[data-testid=stStatusWidgetRunningIcon],"
        "[data-testid=stStatusWidgetRunningManIcon]') && "
        "!document.querySelector('[data-stale=true]')")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_dashboard(env: dict[str, str], log: Path, root: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    streamlit = Path(sys.executable).with_name("streamlit")
    proc = subprocess.Popen(
        [str(streamlit), "run", "dashboard/app.py", "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port),
         "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=root, env=env, stdout=open(log, "wb"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                return proc, url
        except OSError:
            time.sleep(0.3)
    proc.terminate()
    raise SystemExit("the dashboard did not start; see " + str(log))


def ready(page, heading: str, chart: bool) -> None:
    page.get_by_role("heading", name=heading).wait_for(timeout=TIMEOUT)
    if chart:
        page.locator(".js-plotly-plot .main-svg").first.wait_for(timeout=TIMEOUT)
    page.wait_for_function(IDLE, timeout=TIMEOUT)


def sign_in(page, url: str, role: str) -> float:
    email, password = LOGINS[role]
    page.goto(url)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.wait_for_function(IDLE, timeout=TIMEOUT)
    t0 = time.perf_counter()
    page.get_by_role("button", name="Sign in").click()
    ready(page, FIRST_PAGE[role], False)
    took = time.perf_counter() - t0
    deadline = time.monotonic() + 30  # not timed: the cookie component writes the cookie
    while not any(c["name"] == COOKIE for c in page.context.cookies()):
        if time.monotonic() > deadline:
            raise SystemExit("the sign-in cookie was never written")
        page.wait_for_timeout(50)
    page.wait_for_function(IDLE, timeout=TIMEOUT)
    return took


def summary(name: str, seconds: list[float]) -> str:
    ms = sorted(s * 1000 for s in seconds)
    return (f"{name:<34} median {statistics.median(ms):7.0f} ms   worst {ms[-1]:7.0f} ms   "
            f"(n={len(ms)})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--database-url", help="use this migrated database instead of a fresh "
                                           "SQLite one with the demo data")
    ap.add_argument("--app-root", type=Path, default=ROOT,
                    help="the checkout whose dashboard to serve (e.g. an older copy, for "
                         "before/after figures from the same bench)")
    args = ap.parse_args()
    root = args.app_root.resolve()
    start_load = os.getloadavg()

    from playwright.sync_api import sync_playwright

    data = Path(tempfile.mkdtemp(prefix="rc-bench-browser-"))
    # PYTHONPATH: this checkout, even where the package is installed from elsewhere.
    env = {**os.environ, "RANGE_CONTROL_DATA_DIR": str(data), "PYTHONPATH": str(root)}
    if args.database_url:
        env["DATABASE_URL"] = args.database_url
    else:
        env.pop("DATABASE_URL", None)
        for cmd in (["migrate"], ["demo", "--if-empty"]):
            subprocess.run([sys.executable, "-m", "engine", *cmd], cwd=root, env=env, check=True,
                           capture_output=True)
    proc, url = start_dashboard(env, data / "streamlit.log", root)
    results: dict[str, list[float]] = {}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for role in LOGINS:  # the first run ever imports and compiles the pages
                warm = browser.new_context().new_page()
                sign_in(warm, url, role)
                for r, path, heading, _, chart in PAGES:
                    if r == role:
                        warm.goto(f"{url}/{path}")
                        ready(warm, heading, chart)
                warm.context.close()
            for _ in range(args.runs):
                for role in LOGINS:
                    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
                    page = ctx.new_page()
                    results.setdefault(f"sign-in ({role})", []).append(sign_in(page, url, role))
                    for r, path, heading, _, chart in PAGES:
                        if r != role:
                            continue
                        t0 = time.perf_counter()
                        page.goto(f"{url}/{path}")
                        ready(page, heading, chart)
                        results.setdefault(f"first page by URL: {path}", []).append(
                            time.perf_counter() - t0)
                    for r, path, heading, label, chart in PAGES:
                        if r != role:
                            continue
                        page.wait_for_function(IDLE, timeout=TIMEOUT)
                        t0 = time.perf_counter()
                        page.get_by_test_id("stSidebarNav").get_by_text(label, exact=True).click()
                        ready(page, heading, chart)
                        results.setdefault(f"page switch: {path}", []).append(
                            time.perf_counter() - t0)
                    ctx.close()
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    load = os.getloadavg()
    print(f"dashboard of {root} at {url}, {args.runs} runs; load average (1 min) "
          f"{start_load[0]:.1f} at the start, {load[0]:.1f} at the end")
    for name, seconds in results.items():
        print(summary(name, seconds))


if __name__ == "__main__":
    main()
