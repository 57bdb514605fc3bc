"""Optional e-mail delivery of a report through the SMTP server of `engine.mail`
(SMTP_* variables), to REPORT_RECIPIENTS (comma separated): the mail copy of
`reports.mail_copy` as the message (charts as inline PNG parts), the CSV files attached.
"""
from __future__ import annotations

import mimetypes
from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator

from engine import mail
from engine.mail import MailConfigError as DeliveryConfigError  # noqa: F401 - the reports' name
from reports.mail_copy import InlineImage


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
                  attachments: list[Path], html: str | None = None,
                  images: Sequence[InlineImage] = ()) -> EmailMessage:
    """Text, and when given the HTML copy with its charts, then the files as attachments.

    The MIME tree mail clients expect: multipart/mixed [ multipart/alternative [ text/plain,
    multipart/related [ text/html, image/png (Content-ID, inline)... ] ], attachments... ].
    """
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = settings.sender
    msg["To"] = ", ".join(settings.recipients)
    # RFC 5322 wants both; smtplib adds neither, and receivers score a message without them
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = make_msgid("report", domain=settings.sender_domain)
    msg.set_content(body)
    if html is not None:
        msg.add_alternative(html, subtype="html")
        html_part = msg.get_body(preferencelist=("html",))
        assert html_part is not None  # just added
        for image in images:
            html_part.add_related(image.data, maintype="image", subtype="png",
                                  cid=f"<{image.cid}>", filename=image.filename,
                                  disposition="inline")
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
