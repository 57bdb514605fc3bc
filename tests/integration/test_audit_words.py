"""The audit trail read by people: filter by the short booking reference, ids as names."""
from __future__ import annotations

import pytest

from engine import services as svc
from engine.domain.permissions import Role
from engine.errors import PermissionDenied, ValidationError
from engine.services.audit_log import audit_names


def test_the_short_reference_finds_the_bookings_entries(db, make):
    staff = make.user(Role.STAFF)
    b = make.booking(make.resource())
    make.booking(make.resource())
    svc.deny_booking(db.uow(), staff.id, b.id, "No range officer")
    page = svc.list_audit_logs(db.uow(), staff.id, booking_id=str(b.id)[:8])
    assert {a.booking_id for a in page.items} == {b.id} and page.total == 2
    assert svc.list_audit_logs(db.uow(), staff.id, booking_id=str(b.id)).total == 2
    with pytest.raises(ValidationError):
        svc.list_audit_logs(db.uow(), staff.id, booking_id="zz")


def test_ids_read_as_names(db, make):
    staff = make.user(Role.STAFF)
    member = make.user(name="Casey Evans")
    r = make.resource(name="Indoor Bay 1")
    b = make.booking(r, member)
    got = audit_names(db.uow(), staff.id, [str(b.id), str(r.id), str(member.id), "not-an-id"])
    assert got[str(r.id)] == "Indoor Bay 1" and got[str(member.id)] == "Casey Evans"
    assert got[str(b.id)].startswith("Casey Evans's booking on Indoor Bay 1, ")
    with pytest.raises(PermissionDenied):
        audit_names(db.uow(), member.id, [str(r.id)])
