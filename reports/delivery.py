"""Optional e-mail delivery of report files through an SMTP server named in the environment.

SMTP_HOST, SMTP_PORT (587 with STARTTLS, else 25), SMTP_USER / SMTP_PASSWORD (login only when
both are set), SMTP_FROM, REPORT_RECIPIENTS (comma separated), SMTP_STARTTLS (true/false,
default true), SMTP_SSL (true for implicit TLS, port 465), SMTP_TIMEOUT (seconds, default 30).
"""
from __future__ import annotations

import mimetypes
import os
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class DeliveryConfigError(ValueError):
    """An SMTP setting is missing or malformed (the message names the variable)."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    sender: str
    recipients: tuple[str, ...]
    user: str | None = None
    password: str | None = None
    starttls: bool = True
    use_ssl: bool = False
    timeout: float = 30.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SmtpSettings:
        env = os.environ if env is None else env

        def flag(name: str, default: bool) -> bool:
            raw = env.get(name)
            if raw is None:
                return default
            if raw.strip().lower() in _TRUE:
                return True
            if raw.strip().lower() in _FALSE:
                return False
            raise DeliveryConfigError(f"{name} must be true or false (got {raw!r})")

        host = env.get("SMTP_HOST", "").strip()
        if not host:
            raise DeliveryConfigError("SMTP_HOST is not set: e-mail delivery needs an SMTP server")
        use_ssl = flag("SMTP_SSL", False)
        starttls = flag("SMTP_STARTTLS", not use_ssl) and not use_ssl
        raw_port = env.get("SMTP_PORT", "").strip() or ("465" if use_ssl else
                                                        "587" if starttls else "25")
        if not raw_port.isdigit() or not 0 < int(raw_port) < 65536:
            raise DeliveryConfigError(f"SMTP_PORT must be a port number (got {raw_port!r})")
        sender = env.get("SMTP_FROM", "").strip()
        if "@" not in sender:
            raise DeliveryConfigError("SMTP_FROM must be an e-mail address")
        recipients = tuple(r.strip() for r in env.get("REPORT_RECIPIENTS", "").split(",")
                           if r.strip())
        if not recipients or any("@" not in r for r in recipients):
            raise DeliveryConfigError("REPORT_RECIPIENTS must list e-mail addresses, "
                                      "separated by commas")
        try:
            timeout = float(env.get("SMTP_TIMEOUT", "30"))
        except ValueError:
            raise DeliveryConfigError("SMTP_TIMEOUT must be a number of seconds") from None
        return cls(host=host, port=int(raw_port), sender=sender, recipients=recipients,
                   user=env.get("SMTP_USER") or None, password=env.get("SMTP_PASSWORD") or None,
                   starttls=starttls, use_ssl=use_ssl, timeout=timeout)


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
    context = ssl.create_default_context()
    smtp_cls = smtplib.SMTP_SSL if settings.use_ssl else smtplib.SMTP
    kwargs = {"context": context} if settings.use_ssl else {}
    with smtp_cls(settings.host, settings.port, timeout=settings.timeout, **kwargs) as smtp:
        if settings.starttls:
            smtp.starttls(context=context)
        if settings.user and settings.password:
            smtp.login(settings.user, settings.password)
        smtp.send_message(message)
