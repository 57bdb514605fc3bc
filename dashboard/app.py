"""Range-Control operations dashboard: sign-in, then the pages the signed-in role may use.

Run: streamlit run dashboard/app.py. The engine enforces every permission; navigation only
keeps people away from pages whose every call would be refused.
"""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard import auth, ui
from dashboard.session_cookie import cookie_manager
from engine.config import get_settings
from engine.domain.permissions import Permission, has_permission
from engine.logs import configure_logging

PAGES = Path(__file__).resolve().parent / "views"
STATIC = Path(__file__).resolve().parent / "static"
ROLE_LABELS = ui.ROLE_WORDS


#: Once per browser tab: a click on a menu link on a narrow screen (where the sidebar is drawn
#: over the page) presses the sidebar's own close button.
CLOSE_MENU_ON_PHONES = """<script>
if (!window.rcCloseMenuOnPhones) {
  window.rcCloseMenuOnPhones = true;
  document.addEventListener("click", (event) => {
    if (!event.target.closest('[data-testid="stSidebarNavLink"]')) return;
    if (!window.matchMedia("(max-width: 768px)").matches) return;
    setTimeout(() => document.querySelector(
      '[data-testid="stSidebarCollapseButton"] button')?.click(), 100);
  }, true);
}
</script>"""


def page(file: str, title: str, icon: str, **kw) -> st.Page:
    return st.Page(PAGES / file, title=title, icon=icon, url_path=file.removesuffix(".py"), **kw)


def pages_for(role: str) -> dict[str, list[st.Page]]:
    member = role == "user"
    sections = {
        "Bookings": [page("new_booking.py", "New booking", ":material/add_circle:", default=member),
                     page("new_series.py", "Recurring booking", ":material/event_repeat:"),
                     page("my_bookings.py", "My bookings", ":material/event_note:"),
                     page("my_waitlist.py", "My waitlist", ":material/hourglass_top:"),
                     page("calendar.py", "Calendar", ":material/calendar_month:")],
    }
    if role in ("staff", "admin"):
        sections["Staff"] = [
            page("approval_queue.py", "Approval queue", ":material/fact_check:", default=True),
            page("all_bookings.py", "All bookings", ":material/table_view:"),
            page("audit_log.py", "Audit log", ":material/history:")]
        sections["Managers"] = [page("reports.py", "Reports", ":material/monitoring:")]
    elif role == "manager":  # read-only: everything to look at, nothing to decide
        sections["Managers"] = [
            page("reports.py", "Reports", ":material/monitoring:", default=True),
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


def bookmarks() -> list[st.Page]:
    """Signed out, a signed-in page's address (a bookmark, an e-mail's my_bookings?booking=...)
    shows the sign-in form instead of "Page not found"; after sign-in the same address
    (Streamlit knows a page by its url_path) opens that page, with the link's query kept."""
    paths = {p.url_path for role in ROLE_LABELS for pages in pages_for(role).values()
             for p in pages} - {""}
    return [st.Page(PAGES / "sign_in.py", title="Sign in", url_path=path, visibility="hidden")
            for path in sorted(paths)]


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
    # Long words (a purpose typed without spaces, a long e-mail) wrap instead of overflowing.
    st.html("<style>.stMarkdown, .stAlert, .stCaption { overflow-wrap: anywhere; }</style>")
    # On a phone the menu covers the page: choosing a page in it closes it.
    st.html(CLOSE_MENU_ON_PHONES, unsafe_allow_javascript=True)
    db = ui.database()
    cookies = cookie_manager()  # first, on every run
    st.session_state["rc_forms"] = auth.forms(db, settings)  # the pages draw them
    cookie = auth.session_cookie(settings)
    user = auth.signed_in_user(db, cookie)
    if user is None:
        public = [page("sign_in.py", "Sign in", ":material/login:", default=True)]
        if settings.allow_self_registration:
            public.append(page("register.py", "Create an account", ":material/person_add:"))
        nav = st.navigation(public + bookmarks(),
                            position="top" if len(public) > 1 else "hidden")
    else:
        nav = st.navigation(pages_for(user.role))
        sidebar(db, user)
    auth.sync_cookie(cookie, user, cookies)
    st.logo(str(Path(__file__).resolve().parent / "static" / "logo.svg"), size="large")
    nav.run()


main()
