"""A real SMTP server (aiosmtpd on 127.0.0.1) that records what it accepts, and a worker."""
from __future__ import annotations

import asyncio
import email
import email.policy
import logging
import socket
import threading

import pytest
from aiosmtpd.controller import Controller

from engine.mail import SmtpSettings
from engine.notifications.settings import NotifySettings
from engine.notifications.worker import Worker


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


class SmtpSink:
    def __init__(self):
        self.port = free_port()
        self.inbox = Inbox()
        self.controller = None

    def start(self):
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def settings(self) -> SmtpSettings:
        return SmtpSettings.from_env({"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(self.port),
                                      "SMTP_STARTTLS": "false",
                                      "SMTP_FROM": "range-control@range.example",
                                      "SMTP_TIMEOUT": "10"})


@pytest.fixture
def sink():
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    s = SmtpSink()
    s.start()
    yield s
    s.stop()


def notify_settings(**kw) -> NotifySettings:
    values = {"NOTIFY_DASHBOARD_URL": "https://rc.example", "NOTIFY_RETRY_BASE_SECONDS": 60,
              "NOTIFY_MAX_ATTEMPTS": 3, "NOTIFY_LEASE_SECONDS": 60,
              "NOTIFY_REMINDER_HOURS": 1, "NOTIFY_DIGEST_HOUR": 23}
    values.update(kw)
    return NotifySettings(**values)


@pytest.fixture
def worker(db, sink):
    return Worker(db, sink.settings, notify_settings(), worker_id="test-worker")
