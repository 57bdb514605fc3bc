"""Optional e-mail delivery of report files through the SMTP server of `engine.mail`
(SMTP_* variables), to REPORT_RECIPIENTS (comma separated).
"""
from __future__ import annotations

import mimetypes
from collections.abc import Mapping
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator

from engine import mail
from engine.mail import MailConfigError as DeliveryConfigError  # noqa: F401 - the reports' name


class SmtpSettings(mail.SmtpSettings):
    """The engine's SMTP settings plus REPORT_RECIPIENTS."""

    recipients: tuple[str, ...] = Field(default=(), alias="REPORT_RECIPIENTS")

    @field_validator("recipients", mode="before")
    @classmethod
    def _recipients(cls, v: Any) -> tuple[str, ...]:
        items = tuple(r.strip() for r in (v.split(",") if isinstance(v, str) else v or ())
                      if r.strip())
        if not items or any("@" not in r for r in items):
            raise ValueError("REPORT_RECIPIENTS must list e-mail addresses, separated by commas")
        return items

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **extra: Any) -> SmtpSettings:
        import os
        env = os.environ if env is None else env
        return super().from_env(env, REPORT_RECIPIENTS=env.get("REPORT_RECIPIENTS", ""), **extra)


def build_message(settings: SmtpSettings, subject: str, body: str,
                  attachments: list[Path]) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = settings.sender
    msg["To"] = ", ".join(settings.recipients)
    msg.set_content(body)
    for path in attachments:
        ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        maintype, subtype = ctype.split("/", 1)
        msg.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype,
                           filename=path.name)
    return msg


def send(settings: SmtpSettings, message: EmailMessage) -> None:
    """Deliver one message; raises smtplib/OSError errors for the caller to report."""
    smtp = mail.connect(settings)
    try:
        smtp.send_message(message)
    finally:
        smtp.quit()
