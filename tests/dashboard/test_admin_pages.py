"""Admin pages (AppTest): users, resources, safety zones and blackouts change the database."""
from __future__ import annotations

from datetime import time, timedelta

import pytest

from engine import services
from engine.domain.permissions import Role
from engine.errors import AuthenticationError
from engine.services import sessions
from tests.conftest import NOW
from tests.dashboard.helpers import button, by_label, errors, signed_in


@pytest.fixture
def admin(make):
    return make.admin


def pick(at, label: str, text: str):
    box = by_label(at.selectbox, label)
    box.select(next(o for o in box.options if text in o)).run()
    return at


def test_admin_adds_a_staff_member(dashboard, admin):
    at = signed_in(dashboard, admin, "admin_users")
    by_label(at.text_input, "Name").input("Riley Officer")
    by_label(at.text_input, "Email").input("riley@range.example")
    [s for s in at.selectbox if s.label == "Role"][-1].set_value("staff")  # the "Add" form's
    by_label(at.text_input, "First password").input("first-pass-1")
    button(at, "Add user").click().run()
    assert not errors(at), errors(at)
    user = services.authenticate(dashboard.uow(), "riley@range.example", "first-pass-1")
    assert (user.name, user.role) == ("Riley Officer", "staff")


def test_admin_changes_a_role_and_the_user_is_signed_out(dashboard, make, admin):
    member = make.user(Role.USER, name="Casey Evans")
    member_at = signed_in(dashboard, member)
    at = signed_in(dashboard, admin, "admin_users")
    pick(at, "User", "Casey Evans")
    at.selectbox(key=f"au_newrole_{member.id}").set_value("staff")
    button(at, "Change role").click().run()
    assert not errors(at), errors(at)
    assert services.get_user(dashboard.uow(), admin.id, member.id).role == "staff"
    assert sessions.session_user(dashboard.uow(), member_at.session_state["rc_token"],
                                 kind="dashboard") is None


def test_admin_deactivates_and_reactivates_a_user(dashboard, make, admin):
    member = make.user(Role.USER, name="Drew Walsh")
    at = signed_in(dashboard, admin, "admin_users")
    pick(at, "User", "Drew Walsh")
    button(at, "Deactivate").click().run()
    assert services.get_user(dashboard.uow(), admin.id, member.id).is_active is False
    with pytest.raises(AuthenticationError):
        services.authenticate(dashboard.uow(), member.email, "password-123")
    pick(at, "User", "Drew Walsh")
    button(at, "Reactivate").click().run()
    assert services.get_user(dashboard.uow(), admin.id, member.id).is_active is True


def test_admin_cannot_deactivate_the_last_admin(dashboard, admin):
    at = signed_in(dashboard, admin, "admin_users")
    pick(at, "User", admin.email)
    button(at, "Deactivate").click().run()
    assert any("last active admin" in m for m in errors(at))
    assert services.get_user(dashboard.uow(), admin.id, admin.id).is_active is True


def test_admin_resets_a_password(dashboard, make, admin):
    member = make.user(Role.USER, name="Pat Kelly")
    at = signed_in(dashboard, admin, "admin_users")
    pick(at, "User", "Pat Kelly")
    by_label(at.text_input, "New password").input("reset-by-admin")
    button(at, "Reset password").click().run()
    assert not errors(at), errors(at)
    assert services.authenticate(dashboard.uow(), member.email, "reset-by-admin").id == member.id


def test_admin_creates_edits_and_deactivates_a_resource(dashboard, make, admin):
    zone = make.zone("North Danger Area")
    at = signed_in(dashboard, admin, "admin_resources")
    # Both tabs render; the "Add a resource" fields carry the ar_new prefix.
    at.text_input(key="ar_new_name").input("Range 9")
    at.selectbox(key="ar_new_type").set_value("+ new type").run()
    at.text_input(key="ar_new_newtype").input("range")
    at.selectbox(key="ar_new_zone").set_value(zone.name)
    at.time_input(key="ar_new_opens").set_value(time(7))
    at.time_input(key="ar_new_closes").set_value(time(19))
    button(at, "Add resource").click().run()
    assert not errors(at), errors(at)
    [r9] = [r for r in services.list_resources(dashboard.uow(), admin.id) if r.name == "Range 9"]
    assert (r9.resource_type, r9.safety_zone_name, r9.opens_at, r9.closes_at) == (
        "range", "North Danger Area", time(7), time(19))

    pick(at, "Resource", "Range 9")
    at.text_input(key=f"ar_edit_{r9.id}_name").input("Range 9 (gallery)")
    button(at, "Save changes").click().run()
    assert services.get_resource(dashboard.uow(), admin.id, r9.id).name == "Range 9 (gallery)"
    pick(at, "Resource", "Range 9")
    button(at, "Deactivate").click().run()
    assert services.get_resource(dashboard.uow(), admin.id, r9.id).is_active is False


def test_bad_resource_input_shows_the_field_and_writes_nothing(dashboard, make, admin):
    make.resource(name="Range 1")
    at = signed_in(dashboard, admin, "admin_resources")
    at.text_input(key="ar_new_name").input("Range 10")
    at.time_input(key="ar_new_opens").set_value(time(18))
    at.time_input(key="ar_new_closes").set_value(time(8))
    button(at, "Add resource").click().run()
    assert any("Closes at must be after opens at" in m for m in errors(at)), errors(at)
    assert at.text_input(key="ar_new_name").value == "Range 10"
    assert [r.name for r in services.list_resources(dashboard.uow(), admin.id)] == ["Range 1"]


def test_admin_creates_and_renames_a_safety_zone(dashboard, admin):
    at = signed_in(dashboard, admin, "admin_zones")
    at.text_input(key="az_new_name").input("South Danger Area")
    button(at, "Add zone").click().run()
    [zone] = services.list_zones(dashboard.uow(), admin.id)
    assert zone.name == "South Danger Area"
    at.text_input(key=f"az_name_{zone.id}").input("South Impact Area")
    button(at, "Save zone").click().run()
    assert services.list_zones(dashboard.uow(), admin.id)[0].name == "South Impact Area"
    at.text_input(key="az_new_name").input("south impact area")
    button(at, "Add zone").click().run()
    assert any("already exists" in m for m in errors(at))
    assert len(services.list_zones(dashboard.uow(), admin.id)) == 1


def test_admin_adds_a_blackout_refused_over_a_booking_unless_bumping(dashboard, make, admin):
    staff = make.user(Role.STAFF)
    r1 = make.resource(name="Range 1")
    start = (NOW + timedelta(days=1)).replace(hour=9)
    booked = make.booking(r1, start=start, end=start + timedelta(hours=2), approve_by=staff)
    at = signed_in(dashboard, admin, "admin_blackouts")
    at.text_input(key="bo_reason").input("Butts maintenance")
    button(at, "Add blackout").click().run()
    assert any("meets approved bookings" in m for m in errors(at))
    assert services.list_blackouts(dashboard.uow(), admin.id) == []
    at.checkbox(key="bo_bump").check()
    button(at, "Add blackout").click().run()
    [blackout] = services.list_blackouts(dashboard.uow(), admin.id)
    assert blackout.reason == "Butts maintenance"
    assert services.get_booking(dashboard.uow(), admin.id, booked.id).status == "bumped"
    button(at, "Remove blackout").click().run()
    assert services.list_blackouts(dashboard.uow(), admin.id) == []


def test_add_a_user_defaults_to_member_and_stays_on_its_tab_with_the_result(dashboard, admin):
    at = signed_in(dashboard, admin, "admin_users")
    add_role = [s for s in at.selectbox if s.label == "Role"][-1]
    assert add_role.value == "user"  # Member
    at.session_state["au_tab"] = "Add a user"
    at.run()
    by_label(at.text_input, "Name").input("Sam Member")
    by_label(at.text_input, "Email").input("not-an-email")
    by_label(at.text_input, "First password").input("first-pass-1")
    button(at, "Add user").click().run()
    [add_tab] = [t for t in at.tabs if t.label == "Add a user"]
    assert add_tab.error, "the refusal shows in the tab the admin is on"
    assert at.session_state["au_tab"] == "Add a user"
    by_label(at.text_input, "Email").input("sam@range.example")
    button(at, "Add user").click().run()
    assert at.session_state["au_tab"] == "Add a user"
    [add_tab] = [t for t in at.tabs if t.label == "Add a user"]
    assert any("Sam Member" in s.value and "Member" in s.value for s in add_tab.success)
    user = services.authenticate(dashboard.uow(), "sam@range.example", "first-pass-1")
    assert user.role == "user"


def test_change_role_without_a_change_says_nothing_changed(dashboard, make, admin):
    member = make.user(Role.USER, name="Casey Evans")
    member_at = signed_in(dashboard, member)
    at = signed_in(dashboard, admin, "admin_users")
    pick(at, "User", "Casey Evans")
    button(at, "Change role").click().run()
    assert any("Nothing changed" in i.value for i in at.info)
    assert sessions.session_user(dashboard.uow(), member_at.session_state["rc_token"],
                                 kind="dashboard") is not None
