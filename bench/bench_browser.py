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

Beside each median: the script runs the server made for it (counted from the websocket's
messages: a redundant rerun shows as 2 where 1 is enough), and the CPU seconds the server and
Chromium spent on it (from /proc), which are steadier than wall time on a busy machine, and
the elements the page's main area drew (the same on any machine).

    .venv/bin/python bench/bench_browser.py --runs 5
    .venv/bin/python bench/bench_browser.py --app-root /tmp/before  # an older checkout's dashboard
    .venv/bin/python bench/bench_browser.py --database-url postgresql+psycopg://...  # migrated
    .venv/bin/python bench/bench_browser.py --pages my_bookings,audit_log  # only these pages

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
from functools import partial
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
#: A drawn chart: plotly's SVG, or Vega-Lite's marks (SVG or canvas).
CHART = ".js-plotly-plot .main-svg, [data-testid=stVegaLiteChart] .marks"
IDLE = ("!document.querySelector('[data-testid=stStatusWidgetRunningIcon],"
        "[data-testid=stStatusWidgetRunningManIcon]') && "
        "!document.querySelector('[data-stale=true]')")


class Counter:
    """Script runs the server made (one `new_session` message each) and CPU seconds of the
    dashboard's and the browser's processes, read before and after one operation."""

    def __init__(self, server_pid: int):
        self.server_pid, self.runs = server_pid, 0

    def listen(self, page) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        def frame(payload) -> None:
            if isinstance(payload, bytes) and ForwardMsg.FromString(payload).HasField(
                    "new_session"):
                self.runs += 1

        page.on("websocket", lambda ws: ws.on("framereceived", frame))

    def cpu(self) -> tuple[float, float]:
        """(server, everything else this bench started: Playwright's driver and Chromium)."""
        parents: dict[int, int] = {}
        ticks: dict[int, int] = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            pid = int(stat.parent.name)
            parents[pid], ticks[pid] = int(fields[1]), int(fields[11]) + int(fields[12])
        mine = {os.getpid()}
        for _ in range(6):  # descendants, a few levels down
            mine |= {pid for pid, parent in parents.items() if parent in mine}
        server = {self.server_pid} | {p for p, parent in parents.items()
                                      if parent == self.server_pid}
        hz = os.sysconf("SC_CLK_TCK")
        return (sum(ticks.get(p, 0) for p in server) / hz,
                sum(ticks.get(p, 0) for p in mine - server - {os.getpid()}) / hz)

    def measure(self, action) -> tuple[float, int, float, float, int]:
        """(wall seconds, script runs, server CPU s, browser CPU s, elements drawn) of
        `action()`, which returns the elements drawn."""
        runs, (server0, browser0) = self.runs, self.cpu()
        t0 = time.perf_counter()
        elements = action()
        took = time.perf_counter() - t0
        server1, browser1 = self.cpu()
        return took, self.runs - runs, server1 - server0, browser1 - browser0, elements


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


def ready(page, heading: str, chart: bool) -> int:
    """Wait for the page; return how many elements its main area drew (a steady measure of
    the browser's work, where CPU seconds vary with the machine's load)."""
    page.get_by_role("heading", name=heading).wait_for(timeout=TIMEOUT)
    if chart:
        page.locator(CHART).first.wait_for(timeout=TIMEOUT)
    page.wait_for_function(IDLE, timeout=TIMEOUT)
    return page.locator("[data-testid=stMain] [data-testid=stElementContainer]").count()


def open_by_url(page, url: str, heading: str, chart: bool) -> int:
    page.goto(url)
    return ready(page, heading, chart)


def switch(page, label: str, heading: str, chart: bool) -> int:
    page.get_by_test_id("stSidebarNav").get_by_text(label, exact=True).click()
    return ready(page, heading, chart)


def sign_in(page, url: str, role: str, counter: Counter | None = None):
    email, password = LOGINS[role]
    page.goto(url)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.wait_for_function(IDLE, timeout=TIMEOUT)

    def click() -> int:
        page.get_by_role("button", name="Sign in").click()
        return ready(page, FIRST_PAGE[role], False)

    took = counter.measure(click) if counter else click()
    deadline = time.monotonic() + 30  # not timed: the cookie component writes the cookie
    while not any(c["name"] == COOKIE for c in page.context.cookies()):
        if time.monotonic() > deadline:
            raise SystemExit("the sign-in cookie was never written")
        page.wait_for_timeout(50)
    page.wait_for_function(IDLE, timeout=TIMEOUT)
    return took


def summary(name: str, measured: list[tuple[float, int, float, float, int]]) -> str:
    ms = sorted(m[0] * 1000 for m in measured)
    runs = "/".join(str(m[1]) for m in measured)
    server = statistics.median(m[2] for m in measured)
    browser = statistics.median(m[3] for m in measured)
    elements = statistics.median(m[4] for m in measured)
    return (f"{name:<34} median {statistics.median(ms):6.0f} ms  worst {ms[-1]:6.0f} ms  "
            f"runs {runs:<7} CPU server {server:4.2f} s browser {browser:4.2f} s  "
            f"elements {elements:3.0f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--database-url", help="use this migrated database instead of a fresh "
                                           "SQLite one with the demo data")
    ap.add_argument("--app-root", type=Path, default=ROOT,
                    help="the checkout whose dashboard to serve (e.g. an older copy, for "
                         "before/after figures from the same bench)")
    ap.add_argument("--pages", help="comma-separated url paths to time (default: all); "
                                    "sign-in is always timed")
    args = ap.parse_args()
    pages = [p for p in PAGES if not args.pages or p[1] in args.pages.split(",")]
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
    results: dict[str, list[tuple[float, int, float, float, int]]] = {}
    counter = Counter(proc.pid)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for role in LOGINS:  # the first run ever imports and compiles the pages
                warm = browser.new_context().new_page()
                sign_in(warm, url, role)
                for r, path, heading, _, chart in pages:
                    if r == role:
                        warm.goto(f"{url}/{path}")
                        ready(warm, heading, chart)
                warm.context.close()
            for _ in range(args.runs):
                for role in LOGINS:
                    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
                    page = ctx.new_page()
                    counter.listen(page)
                    results.setdefault(f"sign-in ({role})", []).append(
                        sign_in(page, url, role, counter))
                    for r, path, heading, _, chart in pages:
                        if r != role:
                            continue
                        results.setdefault(f"first page by URL: {path}", []).append(
                            counter.measure(partial(open_by_url, page, f"{url}/{path}",
                                                    heading, chart)))
                    for r, path, heading, label, chart in pages:
                        if r != role:
                            continue
                        page.wait_for_function(IDLE, timeout=TIMEOUT)
                        results.setdefault(f"page switch: {path}", []).append(
                            counter.measure(partial(switch, page, label, heading, chart)))
                    ctx.close()
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    load = os.getloadavg()
    print(f"dashboard of {root} at {url}, {args.runs} runs; load average (1 min) "
          f"{start_load[0]:.1f} at the start, {load[0]:.1f} at the end")
    for name, measured in results.items():
        print(summary(name, measured))


if __name__ == "__main__":
    main()
