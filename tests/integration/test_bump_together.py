"""bump_together: every booking in a request's way displaced in one transaction, or none."""
from __future__ import annotations

from datetime import timedelta

import pytest

from engine import services as svc
from engine.errors import PermissionDenied, ValidationError
from engine.services.displace import bump_together


@pytest.fixture
def staff(make):
    from engine.domain.permissions import Role

    return make.user(Role.STAFF)


def status(db, staff, booking):
    return svc.get_booking(db.uow(), staff.id, booking.id).status


def two_in_the_way(make, staff, second_priority=2):
    r = make.resource()
    s, e = make.window(hours=4)  # tomorrow, four hours
    first = make.booking(r, start=s, end=s + timedelta(hours=2), priority=1, approve_by=staff)
    second = make.booking(r, start=s + timedelta(hours=2), end=e, priority=second_priority,
                          approve_by=staff)
    winner = make.booking(r, start=s, end=e, priority=5)
    return first, second, winner


def test_two_bookings_in_the_way_are_displaced_together(db, make, staff):
    first, second, winner = two_in_the_way(make, staff)
    view = bump_together(db.uow(), staff.id, [first.id, second.id], reason="Police qualification",
                         in_favour_of=winner.id)
    assert view.status == "approved"
    for b in (first, second):
        got = svc.get_booking(db.uow(), staff.id, b.id)
        assert (got.status, got.decision_reason, got.bumped_by_booking_id) == (
            "bumped", "Police qualification", winner.id)


def test_one_booking_that_outranks_the_request_stops_all_of_it(db, make, staff):
    first, second, winner = two_in_the_way(make, staff, second_priority=8)
    with pytest.raises(ValidationError) as err:
        bump_together(db.uow(), staff.id, [first.id, second.id], reason="Make room",
                      in_favour_of=winner.id)
    assert err.value.field == "in_favour_of" and "priority 8" in err.value.rule
    assert (status(db, staff, first), status(db, staff, second), status(db, staff, winner)) == (
        "approved", "approved", "pending")


def test_displacing_only_some_of_them_leaves_everything_as_it_was(db, make, staff):
    from engine.errors import ConflictError

    first, second, winner = two_in_the_way(make, staff)
    with pytest.raises(ConflictError):
        bump_together(db.uow(), staff.id, [first.id], reason="Make room", in_favour_of=winner.id)
    assert (status(db, staff, first), status(db, staff, winner)) == ("approved", "pending")


def test_members_may_not_bump(db, make, staff):
    first, second, winner = two_in_the_way(make, staff)
    with pytest.raises(PermissionDenied):
        bump_together(db.uow(), make.user().id, [first.id, second.id], reason="Make room",
                      in_favour_of=winner.id)
    assert status(db, staff, first) == "approved"
