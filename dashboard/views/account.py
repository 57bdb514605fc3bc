"""Account: change your password, or sign out of every browser at once."""
from __future__ import annotations

from functools import partial
from uuid import UUID

import streamlit as st

from dashboard import ui
from dashboard.auth_forms import FormError
from engine import services

ui.page_header("Account")
ui.flash()
uid = ui.user_id()
me = services.get_user(ui.uow(), uid, uid)
c1, c2, c3 = st.columns(3)
c1.metric("Name", me.name)
c2.metric("Email", me.email)
c3.metric("Role", ui.ROLE_WORDS.get(me.role, me.role.title()))

left, right = st.columns(2)
with left:
    try:
        if st.session_state["rc_forms"].change_password(title="Change password",
                                                        button="Change password"):
            st.success("Password changed; your other signed-in browsers are signed out.")
    except FormError as exc:
        st.error(str(exc), icon=":material/warning:")
with right:
    with ui.section("Sign out everywhere"):
        st.write("Ends every signed-in browser of yours, including this one.")
        if st.button("Sign out everywhere", icon=":material/devices:", key="signout-all"):
            if ui.attempt(lambda: services.sign_out_everywhere(ui.uow(), uid)) is not None:
                st.rerun()

# --- e-mail notifications and calendar subscriptions (engine/services/notifications.py, feeds.py)
from engine.notifications.settings import get_notify_settings  # noqa: E402

left, right = st.columns(2)
with left:
    with ui.section("E-mail notifications"):
        prefs = services.get_preferences(ui.uow(), uid)
        with st.form("notification-preferences"):
            choices = {p.kind: st.checkbox(p.label, value=p.enabled, key=f"pref-{p.kind}")
                       for p in prefs}
            if st.form_submit_button("Save e-mail choices", icon=":material/mail:"):
                changed = {k: v for k, v in choices.items()
                           if v != next(p.enabled for p in prefs if p.kind == k)}
                if ui.attempt(lambda: services.set_preferences(ui.uow(), uid, changed),
                              "E-mail choices saved.") is not None:
                    st.rerun()
        st.caption("Password resets and other account e-mails always go out.")
with right:
    with ui.section("Calendar subscriptions"):
        st.write("Add a private URL to Google Calendar, Outlook or Apple Calendar "
                 "(\"subscribe from URL\"); it shows your bookings and updates itself.")
        new_url = st.session_state.pop("rc_new_feed_url", None)
        if new_url:
            st.success("Copy this URL now: it is shown only once.")
            st.code(new_url, language=None)
        api_url = get_notify_settings().api_url

        def issued(result) -> None:
            if result is not None:
                st.session_state["rc_new_feed_url"] = result.url(api_url)
                st.rerun()

        for feed in services.list_feeds(ui.uow(), uid):
            c1, c2, c3 = st.columns([3, 1, 1])
            c1.write(f"**{feed.name}**  \nsince {ui.fmt(feed.created_at)}")
            if c2.button("Renew", key=f"renew-{feed.id}", icon=":material/autorenew:"):
                issued(ui.attempt(partial(services.renew_feed, ui.uow(), uid, feed.id),
                                  "New URL issued; the old one no longer works."))
            if c3.button("Revoke", key=f"revoke-{feed.id}", icon=":material/link_off:"):
                if ui.attempt(partial(services.revoke_feed, ui.uow(), uid, feed.id),
                              "Subscription URL revoked.") is not None:
                    st.rerun()
        options: dict[str, tuple[str, UUID | None]] = {"My bookings": ("mine", None)}
        if me.role in ("staff", "admin"):
            options |= {f"Resource: {r.name}": ("resource", r.id)
                        for r in services.list_resources(ui.uow(), uid)}
            options |= {f"Safety zone: {z.name}": ("zone", z.id)
                        for z in services.list_zones(ui.uow(), uid)}
        what = st.selectbox("Subscribe to", list(options), key="feed-target")
        if st.button("Create subscription URL", icon=":material/add_link:", key="feed-create"):
            scope, target = options[what]
            issued(ui.attempt(lambda: services.create_feed(ui.uow(), uid, scope=scope,
                                                           target_id=target),
                              "Subscription URL created."))
