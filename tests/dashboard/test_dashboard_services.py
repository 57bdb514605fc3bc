"""The engine helpers the dashboard added: calendar_view() and the approval queue services."""
from __future__ import annotations

from datetime import timedelta

import pytest

from engine import services
from engine.domain.permissions import Role
from engine.errors import PermissionDenied, ValidationError
from engine.services.approval_queue import approve_clear, pending_requests
from engine.services.calendar import calendar_view
from tests.conftest import NOW

WEEK = dict(window_start=NOW, window_end=NOW + timedelta(days=7))


def test_calendar_pages_resources_and_fetches_only_their_bookings(db, make):
    resources = [make.resource(name=f"Range {i:02d}") for i in range(5)]
    for r in resources:
        make.booking(r)
    member = make.user(Role.USER)
    first = calendar_view(db.uow(), member.id, **WEEK, page=1, resources_per_page=2)
    last = calendar_view(db.uow(), member.id, **WEEK, page=3, resources_per_page=2)
    assert [r.name for r in first.resources] == ["Range 00", "Range 01"]
    assert {b.resource_id for b in first.bars} == {resources[0].id, resources[1].id}
    assert [r.name for r in last.resources] == ["Range 04"]
    assert (first.total_resources, first.pages) == (5, 3)


def test_calendar_hides_who_and_why_from_members_but_not_staff(db, make):
    r1 = make.resource()
    member, other, staff = make.user(Role.USER), make.user(Role.USER), make.user(Role.STAFF)
    make.booking(r1, other, purpose="Private shoot")
    mine = make.booking(r1, member, start=NOW + timedelta(days=2),
                        end=NOW + timedelta(days=2, hours=1), purpose="My practice")
    bars = {b.booking_id: b for b in calendar_view(db.uow(), member.id, **WEEK).bars}
    assert bars[mine.id].purpose == "My practice" and bars[mine.id].own
    [theirs] = [b for b in bars.values() if b.booking_id != mine.id]
    assert (theirs.purpose, theirs.requester_name) == (None, None)
    staff_view = calendar_view(db.uow(), staff.id, **WEEK).bars
    assert {b.purpose for b in staff_view} == {"Private shoot", "My practice"}


def test_calendar_filters_by_status_and_window(db, make):
    staff = make.user(Role.STAFF)
    r1 = make.resource()
    approved = make.booking(r1, approve_by=staff)
    make.booking(r1, start=NOW + timedelta(days=10), end=NOW + timedelta(days=10, hours=1))
    bars = calendar_view(db.uow(), staff.id, **WEEK, statuses=("approved",)).bars
    assert [b.booking_id for b in bars] == [approved.id]


@pytest.mark.parametrize("kw,field", [
    (dict(window_start=NOW, window_end=NOW), "window_end"),
    (dict(window_start=NOW, window_end=NOW + timedelta(days=90)), "window_end"),
    (dict(window_start=NOW.replace(tzinfo=None), window_end=NOW + timedelta(days=1)),
     "window_start"),
    (dict(**WEEK, statuses=("maybe",)), "status"),
])
def test_calendar_rejects_bad_input_naming_the_field(db, make, kw, field):
    with pytest.raises(ValidationError) as err:
        calendar_view(db.uow(), make.user().id, **kw)
    assert err.value.field == field


def test_approval_queue_is_for_staff_and_soonest_first_with_conflicts(db, make):
    staff, member = make.user(Role.STAFF), make.user(Role.USER)
    r1 = make.resource()
    start = NOW + timedelta(days=2)
    blocker = make.booking(r1, start=start, end=start + timedelta(hours=1), priority=2,
                           approve_by=staff)
    later = make.booking(r1, start=start + timedelta(days=1),
                         end=start + timedelta(days=1, hours=1))
    sooner = make.booking(r1, start=start, end=start + timedelta(hours=1))
    with pytest.raises(PermissionDenied):
        pending_requests(db.uow(), member.id)
    page = pending_requests(db.uow(), staff.id)
    assert [i.booking.id for i in page.items] == [sooner.id, later.id]
    assert [(c.id, c.priority) for c in page.items[0].conflicts.hard] == [(blocker.id, 2)]
    assert page.items[1].conflicts.hard == []


def test_approval_queue_hides_requests_already_started_unless_asked(db, make, clock):
    staff = make.user(Role.STAFF)
    b = make.booking(make.resource(), start=NOW + timedelta(hours=1),
                     end=NOW + timedelta(hours=2))
    clock.advance(hours=3)
    assert pending_requests(db.uow(), staff.id).items == []
    assert [i.booking.id for i in pending_requests(db.uow(), staff.id, include_past=True).items] \
        == [b.id]


def test_approve_clear_approves_what_is_free_and_leaves_the_rest_with_reasons(db, make):
    staff = make.user(Role.STAFF)
    r1 = make.resource()
    start = NOW + timedelta(days=2)
    first = make.booking(r1, start=start, end=start + timedelta(hours=2))
    rival = make.booking(r1, start=start + timedelta(hours=1), end=start + timedelta(hours=3))
    free = make.booking(r1, start=start + timedelta(days=1), end=start + timedelta(days=1, hours=1))
    result = approve_clear(db.uow(), staff.id, [first.id, rival.id, free.id])
    assert result.approved == [first.id, free.id]
    assert [b for b, _ in result.skipped] == [rival.id]
    assert "conflicts" in result.skipped[0][1]
    statuses = {b: services.get_booking(db.uow(), staff.id, b).status
                for b in (first.id, rival.id, free.id)}
    assert statuses == {first.id: "approved", rival.id: "pending", free.id: "approved"}


def test_approve_clear_is_refused_to_members_and_writes_nothing(db, make):
    member = make.user(Role.USER)
    b = make.booking(make.resource(), member)
    with pytest.raises(PermissionDenied):
        approve_clear(db.uow(), member.id, [b.id])
    assert services.get_booking(db.uow(), member.id, b.id).status == "pending"
    with pytest.raises(ValidationError):
        approve_clear(db.uow(), make.user(Role.STAFF).id, [b.id] * 201)


def test_the_queue_page_reports_exactly_what_conflict_report_finds(db, make):
    """The batched page read agrees with the one-booking conflict report, item by item."""
    from engine.models import Booking
    from engine.services.conflicts import conflict_report

    staff = make.user(Role.STAFF)
    zone = make.zone()
    zoned = [make.resource(safety_zone_id=zone.id) for _ in range(2)]
    lone = make.resource()
    start = NOW + timedelta(days=2)
    for r, prio in ((zoned[0], 3), (lone, 1)):
        make.booking(r, start=start, end=start + timedelta(hours=2), priority=prio,
                     approve_by=staff)
    services.create_blackout(db.uow(), make.admin.id, resource_id=zoned[1].id,
                             start_time=start + timedelta(hours=2),
                             end_time=start + timedelta(hours=5), reason="Clearance")
    for r in (*zoned, lone, lone):
        make.booking(r, start=start + timedelta(minutes=30), end=start + timedelta(hours=3))
    page = pending_requests(db.uow(), staff.id)
    assert len(page.items) == 4
    with db.uow().read() as uow:
        for item in page.items:
            b = uow.session.get(Booking, item.booking.id)
            expected = conflict_report(uow, b.resource, b.start_time, b.end_time, {b.id})
            assert item.conflicts == expected
    assert sum(len(i.conflicts.hard) for i in page.items) >= 5


def test_the_queue_count_stops_at_the_cap(db, make, monkeypatch):
    from engine.services import approval_queue as module

    monkeypatch.setattr(module, "COUNT_CAP", 2)
    staff, r1 = make.user(Role.STAFF), make.resource()
    for day in (2, 3, 4):
        make.booking(r1, start=NOW + timedelta(days=day), end=NOW + timedelta(days=day, hours=1))
    page = pending_requests(db.uow(), staff.id, page_size=1)
    assert (page.total, page.more, page.pages) == (2, True, 2)
    monkeypatch.setattr(module, "COUNT_CAP", 3)
    page = pending_requests(db.uow(), staff.id, page_size=1)
    assert (page.total, page.more) == (3, False)
