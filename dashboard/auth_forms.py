"""The sign-in, registration and change-password forms, with streamlit-authenticator's captcha.

This adapter is the only dashboard module that imports streamlit-authenticator, so an upgrade
touches this file alone, and it uses only names the library exports (`Helpers.generate_captcha`,
`Helpers.check_captcha`). The forms are our own `st.form`s: the library's `login`,
`register_user` and `reset_password` widgets check and store credentials in its own model (a
credentials dict of password hashes), and 0.4.2 (the newest release the registry holds) has no
public hook to put the engine's check in its place; answering them would mean replacing the
library's internal `authentication_controller.authentication_model`. Every credential question
goes to the engine (`Accounts`); the sign-in cookie and the session are ours
(dashboard/session_cookie.py, dashboard/auth.py).
"""
from __future__ import annotations

from typing import Protocol

import streamlit as st
from streamlit_authenticator import Helpers

from engine.errors import DomainError

#: Where the registration captcha's answer waits (encrypted with the cookie key) between runs.
CAPTCHA_KEY = "register_user_captcha"
REPEAT_MISMATCH = "Repeat password must match the password."
CAPTCHA_WRONG = "Captcha was entered incorrectly: type the digits in the picture."


class FormError(Exception):
    """A form's answer for the user (the form's or the engine's rule, in words)."""


class Accounts(Protocol):
    """What the forms ask of the engine (dashboard/auth.py answers)."""

    def sign_in(self, email: str, password: str) -> tuple[str, str, str]:
        """(email, name, role) of the account now signed in; DomainError when refused."""
        ...

    def register(self, email: str, password: str, name: str) -> None: ...

    def change_password(self, current_password: str, new_password: str) -> None: ...


class Forms:
    def __init__(self, accounts: Accounts, *, secret_key: str, password_help: str):
        """`secret_key` encrypts the registration captcha's answer in the session."""
        self.accounts = accounts
        self.secret_key = secret_key
        self.password_help = password_help

    def sign_in(self, *, title: str, email_label: str, button: str) -> str | None:
        """Draw the sign-in form; after a refused attempt, the reason to show."""
        with st.form("sign-in"):
            st.subheader(title)
            email = st.text_input(email_label, autocomplete="username")
            password = st.text_input("Password", type="password",
                                     autocomplete="current-password")
            sent = st.form_submit_button(button, type="primary")
        if not sent:
            return None
        try:
            self.accounts.sign_in(email.strip(), password)
        except DomainError as exc:
            return exc.message
        return None

    def register(self, *, title: str, button: str) -> str | None:
        """Draw the registration form (with its captcha); the e-mail once submitted."""
        with st.form("register"):
            st.subheader(title)
            first, last = st.columns(2)
            first_name = first.text_input("First name", autocomplete="given-name")
            last_name = last.text_input("Last name", autocomplete="family-name")
            email = st.text_input("Email", autocomplete="email")
            left, right = st.columns(2)
            password = left.text_input("Password", type="password", help=self.password_help,
                                       autocomplete="new-password")
            repeat = right.text_input("Repeat password", type="password",
                                      autocomplete="new-password")
            entered = st.text_input("Captcha", autocomplete="off")
            st.image(Helpers.generate_captcha(CAPTCHA_KEY, self.secret_key))
            sent = st.form_submit_button(button, type="primary")
        if not sent:
            return None
        if password != repeat:
            raise FormError(REPEAT_MISMATCH)
        if not Helpers.check_captcha(CAPTCHA_KEY, entered.strip(), self.secret_key):
            raise FormError(CAPTCHA_WRONG)
        del st.session_state[CAPTCHA_KEY]  # one answer per picture
        name = f"{first_name.strip()} {last_name.strip()}".strip()
        try:
            self.accounts.register(email.strip(), password, name)
        except DomainError as exc:
            raise FormError(exc.message) from exc
        return email.strip()

    def change_password(self, *, title: str, button: str) -> bool:
        """Draw the change-password form; True once the engine changed it."""
        with st.form("change-password"):
            st.subheader(title)
            current = st.text_input("Current password", type="password",
                                    autocomplete="current-password")
            new = st.text_input("New password", type="password", help=self.password_help,
                                autocomplete="new-password")
            repeat = st.text_input("Repeat password", type="password",
                                   autocomplete="new-password")
            sent = st.form_submit_button(button, type="primary")
        if not sent:
            return False
        if new != repeat:
            raise FormError("Repeat password must match the new password.")
        try:
            self.accounts.change_password(current, new)
        except DomainError as exc:
            raise FormError(exc.message) from exc
        return True
