"""Resources, safety zones and blackouts."""
from __future__ import annotations

from datetime import time, timedelta

import pytest

from engine import services as s
from engine.domain.permissions import Role
from engine.errors import ConflictError, ValidationError


def test_update_resource_records_what_changed(db, make):
    from sqlalchemy import select

    from engine.models import AuditLog

    r = make.resource(name="Range A")
    s.update_resource(db.uow(), make.admin.id, r.id, name="Range A (300 m)", opens_at=time(8),
                      closes_at=time(17))
    got = s.get_resource(db.uow(), make.admin.id, r.id)
    assert got.name == "Range A (300 m)" and got.opens_at == time(8)
    with db.uow().read() as uow:
        entry = uow.session.scalar(select(AuditLog).where(AuditLog.action == "resource_updated"))
    assert entry.previous_state["name"] == "Range A"


def test_deactivated_resource_takes_no_requests_and_leaves_the_list(db, make):
    r = make.resource()
    s.deactivate_resource(db.uow(), make.admin.id, r.id)
    assert r.id not in {x.id for x in s.list_resources(db.uow(), make.admin.id)}
    assert r.id in {x.id for x in s.list_resources(db.uow(), make.admin.id, include_inactive=True)}
    with pytest.raises(ValidationError, match="deactivated"):
        make.booking(r)


def test_moving_a_resource_into_a_zone_with_overlapping_approvals_is_refused(db, make):
    staff = make.user(Role.STAFF)
    zone = make.zone()
    inside, outside = make.resource(safety_zone_id=zone.id), make.resource()
    make.booking(inside, approve_by=staff)
    make.booking(outside, approve_by=staff)  # same window, allowed while outside the zone
    with pytest.raises(ValidationError) as err:
        s.update_resource(db.uow(), make.admin.id, outside.id, safety_zone_id=zone.id)
    assert err.value.field == "safety_zone_id"
    assert s.get_resource(db.uow(), make.admin.id, outside.id).safety_zone_id is None


def test_blackout_over_approved_bookings_is_refused_unless_they_are_bumped(db, make):
    staff = make.user(Role.STAFF)
    r = make.resource()
    b = make.booking(r, approve_by=staff)
    with pytest.raises(ConflictError) as err:
        s.create_blackout(db.uow(), make.admin.id, resource_id=r.id, start_time=b.start_time,
                          end_time=b.end_time, reason="Range flooded")
    assert err.value.conflicts[0].id == b.id
    s.create_blackout(db.uow(), make.admin.id, resource_id=r.id, start_time=b.start_time,
                      end_time=b.end_time, reason="Range flooded", bump_conflicting=True)
    bumped = s.get_booking(db.uow(), staff.id, b.id)
    assert bumped.status == "bumped" and "Range flooded" in bumped.decision_reason


def test_list_blackouts_by_window(db, make):
    r = make.resource()
    start = make.clock.now + timedelta(days=2)
    s.create_blackout(db.uow(), make.admin.id, resource_id=r.id, start_time=start,
                      end_time=start + timedelta(hours=4), reason="Maintenance")
    assert len(s.list_blackouts(db.uow(), make.admin.id, window_start=start,
                                window_end=start + timedelta(hours=1))) == 1
    assert s.list_blackouts(db.uow(), make.admin.id, window_start=start + timedelta(hours=4),
                            window_end=start + timedelta(hours=5)) == []


def test_resource_types_are_listed_distinct(db, make):
    make.resource(resource_type="range")
    make.resource(resource_type="classroom")
    make.resource(resource_type="range")
    assert s.list_resource_types(db.uow(), make.admin.id) == ["classroom", "range"]


def test_resource_names_are_unique_whatever_their_capitals(db, make):
    from engine.services.resources import create_resource, update_resource

    make.resource(name="Indoor Bay 1")
    with pytest.raises(ValidationError) as err:
        create_resource(db.uow(), make.admin.id, name="indoor bay 1", resource_type="bay")
    assert err.value.field == "name" and "already exists" in err.value.rule
    other = make.resource(name="Indoor Bay 2")
    with pytest.raises(ValidationError):
        update_resource(db.uow(), make.admin.id, other.id, name="INDOOR BAY 1")
    update_resource(db.uow(), make.admin.id, other.id, name="Indoor bay 2")  # its own name


def test_the_database_refuses_a_second_name_that_differs_only_in_capitals(db, make):
    from sqlalchemy.exc import IntegrityError

    from engine.models import Resource

    make.resource(name="Range 7")
    with db.uow() as uow:
        uow.session.add(Resource(name="RANGE 7", resource_type="range", is_active=True))
        with pytest.raises(IntegrityError):
            uow.session.flush()
