"""The Today board (AppTest): rows now and next, hot or cold, no-shows, check-in from the board."""
from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from engine import services
from engine.domain.permissions import Role
from engine.errors import PermissionDenied
from engine.models import AuditLog
from engine.services.board import range_board
from tests.dashboard.helpers import button, errors, signed_in


@pytest.fixture
def desk(dashboard, make, clock):
    staff, member = make.user(Role.STAFF), make.user(name="Pat Shooter")
    services.set_checkin_rule(dashboard.uow(), make.admin.id, "range", required=True)
    r1 = make.resource(name="Alpha Range", resource_type="range")
    r2 = make.resource(name="Bravo Range", resource_type="range")
    start = clock.now + timedelta(minutes=10)
    now_b = make.booking(r1, member, start=start, end=start + timedelta(hours=2),
                         approve_by=staff)
    later = make.booking(r2, member, start=start + timedelta(hours=3),
                         end=start + timedelta(hours=4), approve_by=staff)
    return staff, member, r1, r2, now_b, later


def test_staff_check_a_member_in_from_the_board(dashboard, clock, desk):
    staff, member, r1, r2, now_b, later = desk
    clock.now = now_b.start_time + timedelta(minutes=1)
    at = signed_in(dashboard, staff, "range_board")
    table = at.dataframe[0].value
    assert list(table["Resource"]) == ["Alpha Range", "Bravo Range"]
    assert list(table["State"]) == ["cold", "cold"]
    assert "Pat Shooter" in table["Now"][0] and "not in" in table["Now"][0]
    assert "Pat Shooter" in table["Next"][1]
    button(at, "Check in").click().run()
    assert not errors(at), errors(at)
    assert any("Checked in Pat Shooter on Alpha Range" in s.value for s in at.success)
    table = at.dataframe[0].value
    assert table["State"][0] == "HOT" and "✔ in" in table["Now"][0]
    board = range_board(dashboard.uow(), staff.id)
    assert board.rows[0].current.checked_in_at == clock.now
    button(at, "Check out").click().run()
    assert not errors(at), errors(at)
    assert at.dataframe[0].value["State"][0] == "cold"


def test_checking_in_a_booking_checked_in_since_the_board_was_drawn_shows_why(
        dashboard, clock, desk):
    staff, member, r1, r2, now_b, later = desk
    clock.now = now_b.start_time + timedelta(minutes=1)
    at = signed_in(dashboard, staff, "range_board")
    services.check_in(dashboard.uow(), member.id, now_b.id)  # at the desk's other screen
    button(at, "Check in").click().run()
    assert errors(at) == [f"booking {str(now_b.id)[:8]} is already checked in: it was checked "
                          f"in at {clock.now.astimezone(ZoneInfo('UTC')):%Y-%m-%d %H:%M} (UTC)"]
    assert not at.success
    assert range_board(dashboard.uow(), staff.id).rows[0].current.checked_in_at == clock.now
    with dashboard.uow().read() as uow:  # the member's check-in only: the refusal wrote nothing
        assert uow.session.scalars(select(AuditLog.actor_id).where(
            AuditLog.booking_id == now_b.id, AuditLog.action == "checked_in")).all() \
            == [member.id]


def test_released_no_shows_and_blackouts_show_on_the_board(dashboard, make, clock, desk):
    staff, member, r1, r2, now_b, later = desk
    services.create_blackout(dashboard.uow(), make.admin.id, resource_id=r2.id,
                             start_time=clock.now + timedelta(hours=1),
                             end_time=clock.now + timedelta(hours=2), reason="Berm repair")
    clock.now = now_b.start_time + timedelta(minutes=20)
    services.release_no_shows(dashboard)
    at = signed_in(dashboard, staff, "range_board")
    table = at.dataframe[0].value
    assert "Pat Shooter" in table["No-shows today"][0]
    assert table["Now"][0] == ""
    assert "Berm repair" in table["Blackouts"][1]
    assert [m.value for m in at.metric if m.label == "No-shows today"] == ["1"]


def test_members_may_not_read_the_board(dashboard, desk):
    staff, member, *_ = desk
    with pytest.raises(PermissionDenied):
        range_board(dashboard.uow(), member.id)
    board = range_board(dashboard.uow(), staff.id)
    assert board.can_act is True


def test_managers_read_the_board_without_buttons(dashboard, make, clock, desk):
    staff, member, r1, r2, now_b, later = desk
    manager = make.user(Role.MANAGER)
    clock.now = now_b.start_time + timedelta(minutes=1)
    at = signed_in(dashboard, manager, "range_board")
    assert list(at.dataframe[0].value["Resource"]) == ["Alpha Range", "Bravo Range"]
    assert not [b for b in at.button if b.label in ("Check in", "Check out")]
    assert any("Read-only view" in c.value for c in at.caption)
    with pytest.raises(PermissionDenied):
        services.check_in(dashboard.uow(), manager.id, now_b.id)
