"""Range-Control operations dashboard: sign-in, then the pages the signed-in role may use.

Run: streamlit run dashboard/app.py. The engine enforces every permission; navigation only
keeps people away from pages whose every call would be refused.
"""
from __future__ import annotations

import threading
from functools import partial
from pathlib import Path

import streamlit as st

from dashboard import auth, ui
from dashboard.session_cookie import WRITER_CLASS
from engine.config import get_settings
from engine.domain.permissions import Permission, has_permission
from engine.logs import configure_logging

PAGES = Path(__file__).resolve().parent / "views"
STATIC = Path(__file__).resolve().parent / "static"
ROLE_LABELS = ui.ROLE_WORDS


#: Once per browser tab: a click on a menu link on a narrow screen (where the sidebar is drawn
#: over the page) presses the sidebar's own close button.
CLOSE_MENU_ON_PHONES = f'<div class="{WRITER_CLASS}">' + """<script>
if (!window.rcCloseMenuOnPhones) {
  window.rcCloseMenuOnPhones = true;
  document.addEventListener("click", (event) => {
    if (!event.target.closest('[data-testid="stSidebarNavLink"]')) return;
    if (!window.matchMedia("(max-width: 768px)").matches) return;
    setTimeout(() => document.querySelector(
      '[data-testid="stSidebarCollapseButton"] button')?.click(), 100);
  }, true);
}
</script></div>"""


def page(file: str, title: str, icon: str, **kw) -> st.Page:
    return st.Page(PAGES / file, title=title, icon=icon, url_path=file.removesuffix(".py"), **kw)


#: The page each role lands on after sign-in (and at "/").
FIRST_PAGE = {"user": "new_booking", "manager": "reports", "staff": "approval_queue",
              "admin": "approval_queue"}
#: Every page's url path is its file's name in views/ (see `page`).
SIGNED_OUT = ("sign_in", "register")
#: The signed-in pages that draw the account forms (st.session_state["rc_forms"]).
FORM_PAGES = ("account",)
NOTE_KEY = "rc_nav_note"
#: The page URL a signed-out browser opened, to open after sign-in.
WANTED_KEY = "rc_wanted_page"


def pages_for(role: str) -> dict[str, list[st.Page]]:
    sections = {
        "Bookings": [page("new_booking.py", "New booking", ":material/add_circle:"),
                     page("new_series.py", "Recurring booking", ":material/event_repeat:"),
                     page("my_bookings.py", "My bookings", ":material/event_note:"),
                     page("my_waitlist.py", "My waitlist", ":material/hourglass_top:"),
                     page("calendar.py", "Calendar", ":material/calendar_month:")],
    }
    if role in ("staff", "admin"):
        sections["Staff"] = [
            page("approval_queue.py", "Approval queue", ":material/fact_check:"),
            page("all_bookings.py", "All bookings", ":material/table_view:"),
            page("audit_log.py", "Audit log", ":material/history:")]
        sections["Managers"] = [page("reports.py", "Reports", ":material/monitoring:")]
    elif role == "manager":  # read-only: everything to look at, nothing to decide
        sections["Managers"] = [
            page("reports.py", "Reports", ":material/monitoring:"),
            page("all_bookings.py", "All bookings", ":material/table_view:"),
            page("audit_log.py", "Audit log", ":material/history:")]
    if has_permission(role, Permission.BOARD_VIEW):  # managers read it, staff also act on it
        sections.setdefault("Managers" if role == "manager" else "Staff", []).insert(
            0, page("range_board.py", "Today", ":material/radar:"))
    if role == "admin":
        sections["Admin"] = [page("admin_users.py", "Users", ":material/group:"),
                             page("admin_resources.py", "Resources", ":material/inventory_2:"),
                             page("admin_zones.py", "Safety zones", ":material/shield:"),
                             page("admin_blackouts.py", "Blackouts", ":material/block:"),
                             page("admin_policies.py", "Booking policies", ":material/rule:"),
                             page("admin_outbox.py", "Outbox", ":material/outgoing_mail:")]
    sections["Account"] = [page("account.py", "Account", ":material/manage_accounts:")]
    return sections


def page_paths() -> list[str]:
    """The url path of every page a signed-in role may have (one file in views/ each)."""
    return sorted(f.stem for f in PAGES.glob("*.py") if f.stem not in SIGNED_OUT)


def signed_out_pages(settings) -> list[st.Page]:
    """The sign-in form at "/"; every page's own URL (bookmarked, an e-mailed link, or reloaded
    after the session ended) is remembered with its query (?booking=<id>) and answered by the
    form, and after sign-in the landing page opens it. The form is not drawn at that URL
    itself: the page after sign-in would then share its page identity (Streamlit's page hash
    is the url path), and the browser kept the form's run's widgets (New booking's times
    showed their defaults)."""
    sign_in = page("sign_in.py", "Sign in", ":material/login:", default=True)
    public = [sign_in]
    if settings.allow_self_registration:
        public.append(page("register.py", "Create an account", ":material/person_add:"))

    def remember(path: str) -> None:
        st.session_state[WANTED_KEY] = path, st.query_params.to_dict()  # ?booking=<id>
        st.switch_page(sign_in)

    return public + [st.Page(partial(remember, path), title="Sign in", url_path=path,
                             visibility="hidden") for path in page_paths()]


def signed_in_pages(role: str) -> dict[str, list[st.Page]]:
    """The role's pages, each at its own URL (Streamlit serves its default page at "/" only,
    so the first page is not the default: a hidden landing page at "/" switches to it). The
    URL of a page the role may not use, or of the sign-in form, lands on the first page too,
    with a note for the former instead of "Page not found"."""
    sections = pages_for(role)
    mine = {p.url_path: p for pages in sections.values() for p in pages}
    first = mine[FIRST_PAGE[role]]

    def refuse(path: str) -> None:
        titles = {p.url_path: p.title for r in ROLE_LABELS if r != role
                  for pages in pages_for(r).values() for p in pages}
        st.session_state[NOTE_KEY] = (f"{titles.get(path, path)} is not open to "
                                      f"{ROLE_LABELS[role].lower()}s: here is {first.title}.")
        st.switch_page(first)

    def land() -> None:
        wanted, query = st.session_state.pop(WANTED_KEY, (None, None))
        if wanted in mine:
            st.switch_page(mine[wanted], query_params=query)
        elif wanted:
            refuse(wanted)
        st.switch_page(first)

    hidden = [st.Page(land, title=first.title, url_path="home", default=True,
                      visibility="hidden")]
    hidden += [st.Page(land, title=first.title, url_path=path, visibility="hidden")
               for path in SIGNED_OUT]
    hidden += [st.Page(partial(refuse, path), title=first.title, url_path=path,
                       visibility="hidden") for path in page_paths() if path not in mine]
    return {**sections, "": hidden}


@st.cache_resource(show_spinner=False)
def warm_up() -> threading.Thread:
    """Once per server, in the background while the first visitor signs in: import the pages'
    shared helper modules, which app.py itself does not import, so the first Calendar, Reports
    or queue page does not pay for them (the charts are Vega-Lite specs: no library to warm)."""
    def work() -> None:
        import dashboard.calendar_chart  # noqa: F401 - imported for their imports
        import dashboard.calendar_picks  # noqa: F401
        import dashboard.queue_actions  # noqa: F401
        import dashboard.report_charts  # noqa: F401
        import dashboard.series_views  # noqa: F401

    thread = threading.Thread(target=work, name="rc-warm-up", daemon=True)
    thread.start()
    return thread


def sidebar(db, user) -> None:
    with st.sidebar:
        st.markdown(f"**{user.name}**  \n{user.email}")
        st.caption(f"{ROLE_LABELS.get(user.role, user.role)} · times in "
                   f"{ui.database().settings.site_timezone}")
        if st.button("Sign out", icon=":material/logout:", width="stretch", key="sign-out"):
            auth.sign_out(db)
            st.rerun()


def main() -> None:
    # The tab icon is our own file: a ":material/..." icon would be fetched from a font CDN.
    st.set_page_config(page_title="Range-Control", page_icon=STATIC / "logo.svg", layout="wide")
    settings = ui.database_override.settings if ui.database_override else get_settings()
    configure_logging("range-control-dashboard", settings.log_level)
    try:
        settings.signing_key("cookie_key")  # refuses weak keys; generates one in development
    except RuntimeError as exc:
        st.error(f"Range-Control will not start: {exc}.", icon=":material/block:")
        st.stop()
    # Long words (a purpose typed without spaces, a long e-mail) wrap instead of overflowing;
    # a row of pills (the status filters) wraps on a phone instead of scrolling sideways with
    # its last choices hidden; the page's scripts (the cookie writer, the phone menu) take no
    # room.
    st.html("<style>.stMarkdown, .stAlert, .stCaption { overflow-wrap: anywhere; } "
            ".stButtonGroup [role=toolbar] { flex-wrap: wrap; overflow-x: visible; } "
            f".stElementContainer:has(.{WRITER_CLASS}) {{ display: none; }}</style>")
    # On a phone the menu covers the page: choosing a page in it closes it.
    st.html(CLOSE_MENU_ON_PHONES, unsafe_allow_javascript=True)
    db = ui.database()
    warm_up()
    forms_slot = st.container()  # drawn on every run, so nothing below it moves
    cookie = auth.session_cookie(settings)
    user = auth.signed_in_user(db, cookie)
    if user is None:
        public = signed_out_pages(settings)
        nav = st.navigation(public, position="top" if settings.allow_self_registration
                            else "hidden")
    else:
        nav = st.navigation(signed_in_pages(user.role))
        sidebar(db, user)
        note = st.session_state.pop(NOTE_KEY, None)
        if note:
            st.info(note, icon=":material/info:")
    if (user is None or nav.url_path in FORM_PAGES) and "rc_forms" not in st.session_state:
        # Once a session, where a form is drawn: the library's object also draws a cookie
        # component, whose answers rerun whatever page is open then (just after sign-in, the
        # first page, before its widgets mounted: New booking's times showed their defaults).
        with forms_slot:
            st.session_state["rc_forms"] = auth.forms(db, settings)
    auth.sync_cookie(cookie, user)
    st.logo(str(Path(__file__).resolve().parent / "static" / "logo.svg"), size="large")
    nav.run()


main()
