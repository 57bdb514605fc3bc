"""The sign-in, registration and change-password forms, drawn by streamlit-authenticator.

This adapter is the only module that imports the library, so an upgrade touches this file
alone. It uses the library's public widgets (`login`, `register_user`, `reset_password`) and
its public model class, whose credential methods are answered by the engine (`Accounts`):
no credentials dict, no YAML. The library's own cookie is switched off
(`cookie_expiry_days=0`, a name we never set); the sign-in cookie and the session are ours
(dashboard/session_cookie.py, dashboard/auth.py).
"""
from __future__ import annotations

from typing import Any, Protocol

import streamlit as st
import streamlit_authenticator as stauth
from streamlit_authenticator.models import AuthenticationModel
from streamlit_authenticator.utilities import (
    CredentialsError,
    LoginError,
    RegisterError,
    ResetError,
    Validator,
)

from engine.errors import DomainError

#: A cookie name the library may look for and never finds: the sign-in cookie is ours.
_LIBRARY_COOKIE = "range_control_forms_unused"


class FormError(Exception):
    """A form's answer for the user (the library's or the engine's rule, in words)."""


class Accounts(Protocol):
    """What the forms ask of the engine (dashboard/auth.py answers)."""

    def sign_in(self, email: str, password: str) -> tuple[str, str, str]:
        """(email, name, role) of the account now signed in; DomainError when refused."""
        ...

    def register(self, email: str, password: str, name: str) -> None: ...

    def change_password(self, current_password: str, new_password: str) -> None: ...


class _EngineRules(Validator):
    """Password rules live in the engine (engine/passwords.py); the form defers to them."""

    def validate_password(self, password: str) -> bool:
        return True


class _EngineModel(AuthenticationModel):
    """The library's model with every credential question answered by the engine."""

    def __init__(self, accounts: Accounts, validator: Validator):
        super().__init__({"usernames": {}}, auto_hash=False, validator=validator)
        self.accounts = accounts
        self.refusal: str | None = None

    def check_credentials(self, username: str, password: str) -> bool:
        try:
            email, name, role = self.accounts.sign_in(username, password)
        except DomainError as exc:
            self.refusal = exc.message
            return False
        self.credentials["usernames"][username] = {"email": email, "name": name,
                                                   "roles": [role]}
        return True

    def register_user(self, new_first_name: str, new_last_name: str, new_email: str,
                      new_username: str, new_password: str, password_hint: str,
                      pre_authorized: Any = None, roles: Any = None,
                      callback: Any = None) -> tuple[str, str, str]:
        name = f"{new_first_name} {new_last_name}"
        try:
            self.accounts.register(new_email, new_password, name)
        except DomainError as exc:
            raise RegisterError(exc.message) from exc
        return new_email, new_email, name

    def reset_password(self, username: str, password: str, new_password: str,
                       callback: Any = None) -> bool:
        try:
            self.accounts.change_password(password, new_password)
        except DomainError as exc:
            raise ResetError(exc.message) from exc
        return True


class Forms:
    def __init__(self, accounts: Accounts, *, secret_key: str, password_help: str):
        """`secret_key` signs the registration captcha."""
        self._library = stauth.Authenticate(
            {"usernames": {}}, _LIBRARY_COOKIE, secret_key, cookie_expiry_days=0,
            validator=_EngineRules(), auto_hash=False, login_sleep_time=0,
            password_instructions=password_help)
        self._model = _EngineModel(accounts, self._library.authentication_controller.validator)
        self._library.authentication_controller.authentication_model = self._model

    def sign_in(self, *, title: str, email_label: str, button: str) -> str | None:
        """Draw the sign-in form; after a refused attempt, the reason to show."""
        try:
            self._library.login(location="main", key="sign-in",
                                fields={"Form name": title, "Username": email_label,
                                        "Password": "Password", "Login": button})
        except LoginError as exc:
            return str(exc)
        if st.session_state.get("authentication_status") is False:
            return self._model.refusal or "email or password is incorrect"
        return None

    def register(self, *, title: str, button: str) -> str | None:
        """Draw the registration form (with its captcha); the e-mail once submitted."""
        try:
            email, _, _ = self._library.register_user(
                location="main", merge_username_email=True, password_hint=False,
                captcha=True, key="register", fields={"Form name": title, "Register": button})
        except (RegisterError, CredentialsError) as exc:
            raise FormError(str(exc)) from exc
        return email

    def change_password(self, email: str, *, title: str, button: str) -> bool:
        """Draw the change-password form; True once the engine changed it."""
        try:
            return bool(self._library.reset_password(email, key="change-password",
                                                     fields={"Form name": title,
                                                             "Reset": button}))
        except (ResetError, CredentialsError) as exc:
            raise FormError(str(exc)) from exc
