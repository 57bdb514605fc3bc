"""SMTP settings and connections shared by report e-mails and the notify worker.

SMTP_HOST, SMTP_PORT (587 with STARTTLS, 465 with SMTP_SSL, else 25), SMTP_USER /
SMTP_PASSWORD (login only when both are set), SMTP_FROM, SMTP_STARTTLS (default true),
SMTP_SSL (implicit TLS), SMTP_TIMEOUT (seconds, default 30). A bad value raises
MailConfigError naming the variable.
"""
from __future__ import annotations

import os
import smtplib
import ssl
from collections.abc import Mapping
from typing import Any

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class MailConfigError(ValueError):
    """An SMTP setting is missing or malformed (the message names the variable)."""


def _flag(name: str, raw: Any) -> bool | None:
    if raw is None or isinstance(raw, bool):
        return raw
    if str(raw).strip().lower() in _TRUE:
        return True
    if str(raw).strip().lower() in _FALSE:
        return False
    raise ValueError(f"{name} must be true or false (got {raw!r})")


class SmtpSettings(BaseSettings):
    """Where and how to send mail. Build with `from_env()` to get errors that name a variable."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True, frozen=True)

    host: str = Field(default="", alias="SMTP_HOST")
    port: int | None = Field(default=None, alias="SMTP_PORT")
    sender: str = Field(default="", alias="SMTP_FROM")
    user: str | None = Field(default=None, alias="SMTP_USER")
    password: str | None = Field(default=None, alias="SMTP_PASSWORD")
    starttls: bool | None = Field(default=None, alias="SMTP_STARTTLS")
    use_ssl: bool = Field(default=False, alias="SMTP_SSL")
    timeout: float = Field(default=30.0, alias="SMTP_TIMEOUT")

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings,
                                   dotenv_settings, file_secret_settings):
        """Only what `from_env` hands over: one mapping, read once (no merging of sources)."""
        return (init_settings,)

    @field_validator("host", mode="before")
    @classmethod
    def _host(cls, v: Any) -> str:
        if not str(v or "").strip():
            raise ValueError("SMTP_HOST is not set: e-mail delivery needs an SMTP server")
        return str(v).strip()

    @field_validator("port", mode="before")
    @classmethod
    def _port(cls, v: Any) -> int | None:
        raw = str(v).strip() if v is not None else ""
        if not raw:
            return None
        if not raw.isdigit() or not 0 < int(raw) < 65536:
            raise ValueError(f"SMTP_PORT must be a port number (got {raw!r})")
        return int(raw)

    @field_validator("sender", mode="before")
    @classmethod
    def _sender(cls, v: Any) -> str:
        if "@" not in str(v or ""):
            raise ValueError("SMTP_FROM must be an e-mail address")
        return str(v).strip()

    @field_validator("user", "password", mode="before")
    @classmethod
    def _optional(cls, v: Any) -> str | None:
        return v or None

    @field_validator("starttls", mode="before")
    @classmethod
    def _starttls(cls, v: Any) -> bool | None:
        return _flag("SMTP_STARTTLS", v)

    @field_validator("use_ssl", mode="before")
    @classmethod
    def _ssl(cls, v: Any) -> bool:
        return bool(_flag("SMTP_SSL", v))

    @field_validator("timeout", mode="before")
    @classmethod
    def _timeout(cls, v: Any) -> float:
        try:
            value = float(v)
        except (TypeError, ValueError):
            raise ValueError("SMTP_TIMEOUT must be a number of seconds") from None
        if value <= 0:
            raise ValueError("SMTP_TIMEOUT must be a number of seconds above 0")
        return value

    @model_validator(mode="after")
    def _defaults(self) -> SmtpSettings:
        wanted = not self.use_ssl if self.starttls is None else self.starttls
        starttls = wanted and not self.use_ssl
        object.__setattr__(self, "starttls", starttls)
        if self.port is None:
            object.__setattr__(self, "port", 465 if self.use_ssl else 587 if starttls else 25)
        return self

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **extra: Any):
        """Read SMTP_* from `env` (default: the process environment)."""
        env = os.environ if env is None else env
        fields = {f.alias for f in cls.model_fields.values() if f.alias}
        values = {k: v for k, v in env.items() if k in fields}
        values.update(extra)
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            first = exc.errors()[0]
            message = str(first.get("ctx", {}).get("error") or first["msg"])
            raise MailConfigError(message.removeprefix("Value error, ")) from None

    @property
    def sender_domain(self) -> str:
        return self.sender.rsplit("@", 1)[-1].strip(" >") or "range-control.invalid"


def connect(settings: SmtpSettings) -> smtplib.SMTP:
    """An SMTP connection, upgraded and signed in as the settings say; the caller closes it."""
    context = ssl.create_default_context()
    assert settings.port is not None  # SmtpSettings._defaults fills it in
    if settings.use_ssl:
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(settings.host, settings.port,
                                              timeout=settings.timeout, context=context)
    else:
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    try:
        if settings.starttls:
            smtp.starttls(context=context)
        if settings.user and settings.password:
            smtp.login(settings.user, settings.password)
    except BaseException:
        smtp.close()
        raise
    return smtp
