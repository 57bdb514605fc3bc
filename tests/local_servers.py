"""Servers the tests run on 127.0.0.1: a free port to listen on, and an SMTP inbox (aiosmtpd's
handler) that records what it accepts, for the notification worker and the report e-mails."""
from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    """Accepts every message (or answers `refuse` codes); `delay` slows each DATA down."""

    def __init__(self):
        self.messages: list[tuple[str, list[str], email.message.EmailMessage]] = []
        self.refuse: dict[str, str] = {}  # recipient -> SMTP answer
        self.delay = 0.0
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), msg))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list:
        return [m for _, rcpts, m in self.messages if address in rcpts]

    def message_ids(self) -> list[str]:
        return [m["Message-ID"] for _, _, m in self.messages]
