"""Each rejected input: the error names the field and the rule, and nothing is written."""
from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from engine import services as s
from engine.domain.permissions import Role
from engine.errors import DomainError, NotFoundError, ValidationError
from engine.models import AuditLog, Blackout, Booking, Resource, SafetyZone, User


def counts(db) -> dict:
    with db.uow().read() as uow:
        return {m.__tablename__: uow.session.scalar(select(func.count()).select_from(m))
                for m in (AuditLog, Booking, User, Resource, SafetyZone, Blackout)}


class Ctx:
    def __init__(self, db, make):
        self.db, self.make = db, make
        self.staff = make.user(Role.STAFF)
        self.member = make.user()
        self.resource = make.resource(opens_at=time(8), closes_at=time(18))
        self.closed = make.resource()
        s.deactivate_resource(db.uow(), make.admin.id, self.closed.id)
        self.now = make.clock.now
        self.day = self.now.replace(hour=0) + timedelta(days=1)  # tomorrow 00:00 UTC
        self.pending = make.booking(self.resource, self.member, start=self.at(10), end=self.at(12))
        s.create_zone(db.uow(), make.admin.id, name="North")

    def at(self, hour: float, day: int = 0) -> datetime:
        return self.day + timedelta(days=day, hours=hour)

    def request(self, **kw):
        args = dict(resource_id=self.resource.id, start_time=self.at(13), end_time=self.at(15),
                    purpose="Zeroing session", priority=1)
        args.update(kw)
        return s.request_booking(self.db.uow(), self.member.id, **args)


# name -> (call, expected error type, field, fragment of the rule)
CASES = {
    "naive start": (lambda c: c.request(start_time=c.at(13).replace(tzinfo=None)),
                    ValidationError, "start_time", "timezone-aware"),
    "end before start": (lambda c: c.request(end_time=c.at(12)), ValidationError, "end_time",
                         "after start_time"),
    "too short": (lambda c: c.request(end_time=c.at(13.1)), ValidationError, "end_time",
                  "at least"),
    "too long": (lambda c: c.request(start_time=c.at(1), end_time=c.at(2, day=1)),
                 ValidationError, "end_time", "at most"),
    "in the past": (lambda c: c.request(start_time=c.now - timedelta(hours=3),
                                        end_time=c.now - timedelta(hours=1)),
                    ValidationError, "start_time", "past"),
    "outside operating hours": (lambda c: c.request(start_time=c.at(17), end_time=c.at(19)),
                                ValidationError, "start_time", "open 08:00-18:00"),
    "inactive resource": (lambda c: c.request(resource_id=c.closed.id), ValidationError,
                          "resource_id", "deactivated"),
    "unknown resource": (lambda c: c.request(resource_id="00000000-0000-0000-0000-000000000001"),
                         NotFoundError, None, "not found"),
    "malformed resource id": (lambda c: c.request(resource_id="range-1"), ValidationError,
                              "resource_id", "UUID"),
    "purpose too short": (lambda c: c.request(purpose="ab"), ValidationError, "purpose",
                          "at least"),
    "purpose too long": (lambda c: c.request(purpose="x" * 501), ValidationError, "purpose",
                         "at most"),
    "priority too high": (lambda c: c.request(priority=11), ValidationError, "priority",
                          "between 0 and 10"),
    "priority not a number": (lambda c: c.request(priority="high"), ValidationError, "priority",
                              "whole number"),
    "deny without reason": (lambda c: s.deny_booking(c.db.uow(), c.staff.id, c.pending.id, " "),
                            ValidationError, "reason", "at least"),
    "reschedule into the past": (lambda c: s.reschedule_booking(
        c.db.uow(), c.staff.id, c.pending.id, start_time=c.now - timedelta(hours=2),
        end_time=c.now - timedelta(hours=1)), ValidationError, "start_time", "past"),
    "bump a pending booking": (lambda c: s.bump_booking(c.db.uow(), c.staff.id, c.pending.id,
                                                        reason="Police shoot"),
                               DomainError, None, "not allowed from pending"),
    "register bad email": (lambda c: s.register_member(c.db.uow(), email="not-an-email",
                                                       name="X", password="password-123"),
                           ValidationError, "email", "valid email"),
    "register short password": (lambda c: s.register_member(c.db.uow(), email="a@b.example",
                                                            name="X", password="short"),
                                ValidationError, "password", "at least 10"),
    "register blank password": (lambda c: s.register_member(c.db.uow(), email="a@b.example",
                                                            name="X", password=" " * 12),
                                ValidationError, "password", "only spaces"),
    "register common password": (lambda c: s.register_member(c.db.uow(), email="a@b.example",
                                                             name="X", password="Password123"),
                                 ValidationError, "password", "most common"),
    "admin creates a duplicate email (other case)": (lambda c: s.register_user(
        c.db.uow(), email=c.member.email.upper(), name="X", password="password-123",
        actor_id=c.make.admin.id), ValidationError, "email", "already registered"),
    "register unknown role": (lambda c: s.register_user(
        c.db.uow(), email="z@b.example", name="X", password="password-123", role="owner",
        actor_id=c.make.admin.id), ValidationError, "role", "one of"),
    "resource bad type": (lambda c: s.create_resource(c.db.uow(), c.make.admin.id, name="X",
                                                      resource_type="Firing Range!"),
                          ValidationError, "resource_type", "lowercase"),
    "resource closes before it opens": (lambda c: s.create_resource(
        c.db.uow(), c.make.admin.id, name="X", resource_type="bay", opens_at=time(18),
        closes_at=time(8)), ValidationError, "closes_at", "after opens_at"),
    "resource only opening time": (lambda c: s.create_resource(
        c.db.uow(), c.make.admin.id, name="X", resource_type="bay", opens_at=time(8)),
        ValidationError, "opens_at", "both"),
    "resource empty name": (lambda c: s.create_resource(c.db.uow(), c.make.admin.id, name=" ",
                                                        resource_type="bay"),
                            ValidationError, "name", "empty"),
    "blackout end before start": (lambda c: s.create_blackout(
        c.db.uow(), c.make.admin.id, resource_id=c.resource.id, start_time=c.at(12),
        end_time=c.at(10), reason="Maintenance"), ValidationError, "end_time", "after"),
    "zone duplicate name": (lambda c: s.create_zone(c.db.uow(), c.make.admin.id, name="north"),
                            ValidationError, "name", "already exists"),
    "list page zero": (lambda c: s.list_bookings(c.db.uow(), c.staff.id, page=0),
                       ValidationError, "page", "from 1"),
    "list unknown status": (lambda c: s.list_bookings(c.db.uow(), c.staff.id,
                                                      s.BookingFilter(statuses=("lost",))),
                            ValidationError, "status", "one of"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_rejected_and_writes_nothing(db, make, case):
    ctx = Ctx(db, make)
    call, error, field, fragment = CASES[case]
    before = counts(db)
    with pytest.raises(error) as err:
        call(ctx)
    if field is not None:
        assert err.value.field == field
    assert fragment in err.value.message
    assert counts(db) == before
