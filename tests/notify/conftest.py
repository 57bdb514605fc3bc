"""A real SMTP server (aiosmtpd on 127.0.0.1) that records what it accepts, and a worker."""
from __future__ import annotations

import logging

import pytest
from aiosmtpd.controller import Controller

from engine.mail import SmtpSettings
from engine.notifications.settings import NotifySettings
from engine.notifications.worker import Worker
from tests.local_servers import Inbox, free_port


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
