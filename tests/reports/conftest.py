"""Fixtures the report tests share: a small week of bookings, and a local SMTP server."""
from __future__ import annotations

import logging
from datetime import time

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from engine.domain.permissions import Role
from tests.local_servers import Inbox, free_port
from tests.reports.test_analytics import at


@pytest.fixture
def data(db, make):
    """Week 2030-01-07..13: Range A (08-18) and Bay B, two approved bookings and one pending
    that conflicts."""
    a = make.resource(name="Range A", resource_type="range", opens_at=time(8), closes_at=time(18))
    b = make.resource(name="Bay B", resource_type="bay")
    staff, member = make.user(Role.STAFF), make.user()
    make.booking(a, member, start=at(8, 9), end=at(8, 11), approve_by=staff)
    make.booking(b, member, start=at(9, 10), end=at(9, 16), approve_by=staff)
    make.booking(a, member, start=at(8, 10), end=at(8, 12))  # conflicting, pending
    return db


def authenticate(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        b"reports", b"s3cret")
    return AuthResult(success=ok, handled=False)  # False: let the server send 535


@pytest.fixture
def smtp_server():
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd chats at INFO
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(),
                            authenticator=authenticate, auth_require_tls=False)
    controller.start()
    yield controller, inbox
    controller.stop()
