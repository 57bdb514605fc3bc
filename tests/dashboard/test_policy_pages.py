"""Policy pages (AppTest): the admin policy page edits and audits policies and approvers; the
approval queue shows two-person sign-offs; managers read but cannot decide."""
from __future__ import annotations

import pytest

from engine import services
from engine.domain.permissions import Role
from engine.services import policies
from tests.dashboard.helpers import button, by_label, errors, signed_in
from tests.dashboard.test_staff_pages import window


@pytest.fixture
def admin(make):
    return make.admin


def test_admin_sets_a_type_policy_and_the_history_shows_the_previous_state(dashboard, make,
                                                                           admin):
    make.resource(name="Live-fire A", resource_type="range")
    at = signed_in(dashboard, admin, "admin_policies")
    by_label(at.selectbox, "Approval mode").set_value("two_person").run()
    by_label(at.number_input, "Minimum notice (minutes)").set_value(2880).run()
    button(at, "Save policy").click().run()
    assert not errors(at), errors(at)
    [row] = policies.list_policies(dashboard.uow(), admin.id)
    assert (row.resource_type, row.approval_mode, row.min_notice_minutes) == (
        "range", "two_person", 2880)
    make.clock.advance(minutes=1)  # the history is newest first
    by_label(at.number_input, "Minimum notice (minutes)").set_value(60).run()
    button(at, "Save policy").click().run()
    history = at.dataframe[-1].value
    assert list(history["Action"])[:2] == ["policy_updated", "policy_created"]
    assert '"min_notice_minutes": 2880' in history["Before"][0]
    table = at.dataframe[0].value
    assert list(table["Approval"]) == ["Two-person"]


def test_a_bad_policy_value_shows_the_field_and_writes_nothing(dashboard, make, admin):
    make.resource(resource_type="range")
    at = signed_in(dashboard, admin, "admin_policies")
    by_label(at.number_input, "Minimum length (minutes)").set_value(120).run()
    by_label(at.number_input, "Maximum length (minutes)").set_value(60).run()
    button(at, "Save policy").click().run()
    assert any("Max length minutes" in e and "min_length_minutes" in e for e in errors(at)), \
        errors(at)
    assert policies.list_policies(dashboard.uow(), admin.id) == []


def test_admin_names_approvers_for_a_resource_type(dashboard, make, admin):
    make.resource(resource_type="range")
    officer = make.user(Role.STAFF, name="Range Officer")
    at = signed_in(dashboard, admin, "admin_policies")
    by_label(at.multiselect, "Approvers (none: every staff member decides)").select(
        str(officer.id)).run()
    button(at, "Save approvers").click().run()
    assert not errors(at), errors(at)
    assert [a.name for a in policies.list_approvers(dashboard.uow(), admin.id)] == [
        "Range Officer"]


def test_two_person_queue_shows_who_signed_and_who_is_needed(dashboard, make, admin):
    r = make.resource(name="Live-fire A")
    policies.set_policy(dashboard.uow(), admin.id, resource_id=r.id, approval_mode="two_person")
    officer = make.user(Role.STAFF, name="Range Officer")
    safety = make.user(Role.STAFF, name="Safety Officer")
    policies.set_approvers(dashboard.uow(), admin.id, [officer.id, safety.id], resource_id=r.id)
    s, e = window(2)
    b = make.booking(r, start=s, end=e)

    at = signed_in(dashboard, officer, "approval_queue")
    by_label(at.selectbox, "Request to decide").set_value(str(b.id)).run()
    assert any("signed by nobody yet; 2 more needed" in i.value for i in at.info)
    button(at, "Approve").click().run()
    assert not errors(at), errors(at)
    assert any("A second approver must approve it" in m.value for m in at.success)
    assert services.get_booking(dashboard.uow(), officer.id, b.id).status == "pending"

    at = signed_in(dashboard, safety, "approval_queue")
    assert list(at.dataframe[0].value["Sign-off"]) == ["1/2 signed"]
    by_label(at.selectbox, "Request to decide").set_value(str(b.id)).run()
    assert any("signed by Range Officer; 1 more needed from Safety Officer" in i.value
               for i in at.info)
    button(at, "Approve").click().run()
    assert not errors(at), errors(at)
    assert services.get_booking(dashboard.uow(), safety.id, b.id).status == "approved"


def test_staff_who_are_not_named_see_the_request_but_cannot_decide(dashboard, make, admin):
    r = make.resource()
    policies.set_approvers(dashboard.uow(), admin.id, [make.user(Role.STAFF).id],
                           resource_id=r.id)
    other = make.user(Role.STAFF)
    s, e = window(2)
    b = make.booking(r, start=s, end=e)
    at = signed_in(dashboard, other, "approval_queue")
    by_label(at.selectbox, "Request to decide").set_value(str(b.id)).run()
    assert any("not a named approver" in w.value for w in at.warning)
    button(at, "Approve").click().run()
    assert any("named approvers" in m for m in errors(at))
    assert services.get_booking(dashboard.uow(), other.id, b.id).status == "pending"


def test_a_manager_reads_all_bookings_and_the_audit_log(dashboard, make):
    manager = make.user(Role.MANAGER)
    s, e = window(2)
    make.booking(make.resource(), start=s, end=e, purpose="Someone else's shoot")
    at = signed_in(dashboard, manager, "all_bookings")
    assert not at.exception
    assert "Someone else's shoot" in list(at.dataframe[0].value["Purpose"])
    at = signed_in(dashboard, manager, "audit_log")
    assert not at.exception and not errors(at)
