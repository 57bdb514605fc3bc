"""Every service x every role: allowed, refused with PermissionDenied, or hidden (404-style).

The engine enforces the architecture's role table itself; entrypoints only decorate it.
"""
from __future__ import annotations

from datetime import time, timedelta

import pytest

from engine import services as s
from engine.domain.permissions import Role
from engine.errors import NotFoundError, PermissionDenied
from engine.services import insights, policies, reporting, reschedule_booking
from engine.services.approval_queue import approve_clear, pending_requests
from engine.services.calendar import calendar_view

OK, DENIED, HIDDEN = "ok", "denied", "hidden"
ROLES = ["user", "manager", "staff", "admin"]


class World:
    """Another member's pending and approved bookings, a resource, a zone, a blackout, and a
    booking policy on the resource."""

    def __init__(self, db, make):
        self.db, self.make = db, make
        self.staff = make.user(Role.STAFF)
        self.owner = make.user()
        self.zone = make.zone()
        self.resource = make.resource(safety_zone_id=self.zone.id)
        self.pending = make.booking(self.resource, self.owner, priority=5)
        w = make.window(48)
        self.approved = make.booking(self.resource, self.owner, start=w[0], end=w[1],
                                     approve_by=self.staff)
        w2 = make.window(96)
        self.blackout = s.create_blackout(db.uow(), make.admin.id, resource_id=self.resource.id,
                                          start_time=w2[0], end_time=w2[1], reason="Maintenance")
        self.victim = make.user()
        self.policy = policies.set_policy(db.uow(), make.admin.id, resource_id=self.resource.id,
                                          max_length_minutes=600)
        w3 = make.window(120)
        self.series = s.request_series(db.uow(), self.owner.id, resource_id=self.resource.id,
                                       start_time=w3[0], end_time=w3[1], purpose="Weekly",
                                       rule={"frequency": "weekly", "count": 3})

    def actor(self, role: str):
        return self.make.admin if role == "admin" else self.make.user(Role(role))


def later(w, hours):
    return w.make.clock.now + timedelta(hours=hours)


CALLS = {
    "request_booking": (lambda w, a: s.request_booking(
        w.db.uow(), a.id, resource_id=w.resource.id, start_time=later(w, 200),
        end_time=later(w, 202), purpose="Practice"),
        {"user": OK, "manager": OK, "staff": OK, "admin": OK}),
    "get_booking (another's)": (lambda w, a: s.get_booking(w.db.uow(), a.id, w.pending.id),
                                {"user": HIDDEN, "manager": OK, "staff": OK, "admin": OK}),
    "list_bookings": (lambda w, a: s.list_bookings(w.db.uow(), a.id),
                      {"user": OK, "manager": OK, "staff": OK, "admin": OK}),
    "cancel_booking (another's)": (lambda w, a: s.cancel_booking(w.db.uow(), a.id, w.pending.id),
                                   {"user": HIDDEN, "manager": DENIED, "staff": OK, "admin": OK}),
    "approve_booking": (lambda w, a: s.approve_booking(w.db.uow(), a.id, w.pending.id,
                                                       force_override=True),
                        {"user": DENIED, "manager": DENIED, "staff": OK, "admin": OK}),
    "deny_booking": (lambda w, a: s.deny_booking(w.db.uow(), a.id, w.pending.id, "No officer"),
                     {"user": DENIED, "manager": DENIED, "staff": OK, "admin": OK}),
    "reschedule_booking": (lambda w, a: reschedule_booking(
        w.db.uow(), a.id, w.pending.id, start_time=later(w, 300), end_time=later(w, 301)),
        {"user": DENIED, "manager": DENIED, "staff": OK, "admin": OK}),
    "bump_booking": (lambda w, a: s.bump_booking(w.db.uow(), a.id, w.approved.id,
                                                 reason="Police shoot"),
                     {"user": DENIED, "manager": DENIED, "staff": OK, "admin": OK}),
    "find_conflicts": (lambda w, a: s.find_conflicts(w.db.uow(), a.id, w.resource.id,
                                                     later(w, 20), later(w, 30)),
                       {"user": OK, "manager": OK, "staff": OK, "admin": OK}),
    "suggest_alternatives": (lambda w, a: s.suggest_alternatives(
        w.db.uow(), a.id, w.resource.id, later(w, 24), later(w, 26)),
        {"user": OK, "manager": OK, "staff": OK, "admin": OK}),
    "list_audit_logs": (lambda w, a: s.list_audit_logs(w.db.uow(), a.id),
                        {"user": DENIED, "manager": OK, "staff": OK, "admin": OK}),
    "register_user (staff account)": (lambda w, a: s.register_user(
        w.db.uow(), email="new-staff@test.example", name="New", password="password-123",
        role="staff", actor_id=a.id, hash_rounds=4),
        {"user": DENIED, "manager": DENIED, "staff": DENIED, "admin": OK}),
    "list_users": (lambda w, a: s.list_users(w.db.uow(), a.id),
                   {"user": DENIED, "manager": DENIED, "staff": DENIED, "admin": OK}),
    "get_user (another)": (lambda w, a: s.get_user(w.db.uow(), a.id, w.victim.id),
                           {"user": DENIED, "manager": DENIED, "staff": DENIED, "admin": OK}),
    "change_role": (lambda w, a: s.change_role(w.db.uow(), a.id, w.victim.id, "staff"),
                    {"user": DENIED, "manager": DENIED, "staff": DENIED, "admin": OK}),
    "deactivate_user": (lambda w, a: s.deactivate_user(w.db.uow(), a.id, w.victim.id),
                        {"user": DENIED, "manager": DENIED, "staff": DENIED, "admin": OK}),
    "reactivate_user": (lambda w, a: s.reactivate_user(w.db.uow(), a.id, w.victim.id),
                        {"user": DENIED, "manager": DENIED, "staff": DENIED, "admin": OK}),
    "reset_password": (lambda w, a: s.reset_password(w.db.uow(), a.id, w.victim.id,
                                                     "new-password-1", hash_rounds=4),
                       {"user": DENIED, "manager": DENIED, "staff": DENIED, "admin": OK}),
    "create_resource": (lambda w, a: s.create_resource(w.db.uow(), a.id, name="Bay 9",
                                                       resource_type="bay"),
                        {"user": DENIED, "manager": DENIED, "staff": DENIED, "admin": OK}),
    "update_resource": (lambda w, a: s.update_resource(w.db.uow(), a.id, w.resource.id,
                                                       opens_at=time(7), closes_at=time(19)),
                        {"user": DENIED, "manager": DENIED, "staff": DENIED, "admin": OK}),
    "deactivate_resource": (lambda w, a: s.deactivate_resource(w.db.uow(), a.id, w.resource.id),
                            {"user": DENIED, "manager": DENIED, "staff": DENIED, "admin": OK}),
    "create_zone": (lambda w, a: s.create_zone(w.db.uow(), a.id, name="East"),
                    {"user": DENIED, "manager": DENIED, "staff": DENIED, "admin": OK}),
    "update_zone": (lambda w, a: s.update_zone(w.db.uow(), a.id, w.zone.id, description="x"),
                    {"user": DENIED, "manager": DENIED, "staff": DENIED, "admin": OK}),
    "create_blackout": (lambda w, a: s.create_blackout(
        w.db.uow(), a.id, resource_id=w.resource.id, start_time=later(w, 500),
        end_time=later(w, 510), reason="Weather"),
        {"user": DENIED, "manager": DENIED, "staff": DENIED, "admin": OK}),
    "delete_blackout": (lambda w, a: s.delete_blackout(w.db.uow(), a.id, w.blackout.id),
                        {"user": DENIED, "manager": DENIED, "staff": DENIED, "admin": OK}),
    "list_resources": (lambda w, a: s.list_resources(w.db.uow(), a.id),
                       {"user": OK, "manager": OK, "staff": OK, "admin": OK}),
    "get_resource": (lambda w, a: s.get_resource(w.db.uow(), a.id, w.resource.id),
                     {"user": OK, "manager": OK, "staff": OK, "admin": OK}),
    "list_zones": (lambda w, a: s.list_zones(w.db.uow(), a.id),
                   {"user": OK, "manager": OK, "staff": OK, "admin": OK}),
    "list_blackouts": (lambda w, a: s.list_blackouts(w.db.uow(), a.id),
                       {"user": OK, "manager": OK, "staff": OK, "admin": OK}),
    "list_resource_types": (lambda w, a: s.list_resource_types(w.db.uow(), a.id),
                            {"user": OK, "manager": OK, "staff": OK, "admin": OK}),
    "approval_queue": (lambda w, a: pending_requests(w.db.uow(), a.id),
                       {"user": DENIED, "manager": DENIED, "staff": OK, "admin": OK}),
    "approve_clear": (lambda w, a: approve_clear(w.db.uow(), a.id, [w.pending.id]),
                      {"user": DENIED, "manager": DENIED, "staff": OK, "admin": OK}),
    "calendar": (lambda w, a: calendar_view(w.db.uow(), a.id, window_start=later(w, 0),
                                       window_end=later(w, 24 * 7)),
                 {"user": OK, "manager": OK, "staff": OK, "admin": OK}),
    "reporting.utilization": (lambda w, a: reporting.utilization(
        w.db.uow(), a.id, start=later(w, 0).date(), end=later(w, 24 * 7).date()),
        {"user": DENIED, "manager": OK, "staff": OK, "admin": OK}),
    "reporting.approval_turnaround": (lambda w, a: reporting.approval_turnaround(
        w.db.uow(), a.id, start=later(w, 0).date(), end=later(w, 24 * 7).date()),
        {"user": DENIED, "manager": OK, "staff": OK, "admin": OK}),
    "policies.set_policy": (lambda w, a: policies.set_policy(
        w.db.uow(), a.id, resource_type="range", min_notice_minutes=60),
        {"user": DENIED, "manager": DENIED, "staff": DENIED, "admin": OK}),
    "policies.delete_policy": (lambda w, a: policies.delete_policy(w.db.uow(), a.id, w.policy.id),
                               {"user": DENIED, "manager": DENIED, "staff": DENIED, "admin": OK}),
    "policies.set_approvers": (lambda w, a: policies.set_approvers(
        w.db.uow(), a.id, [w.staff.id], resource_id=w.resource.id),
        {"user": DENIED, "manager": DENIED, "staff": DENIED, "admin": OK}),
    "insights.quota_report": (lambda w, a: insights.quota_report(w.db.uow(), a.id),
                              {"user": DENIED, "manager": OK, "staff": OK, "admin": OK}),
    "insights.monthly_trends": (lambda w, a: insights.monthly_trends(
        w.db.uow(), a.id, start=later(w, 0).date(), end=later(w, 24 * 30).date()),
        {"user": DENIED, "manager": OK, "staff": OK, "admin": OK}),
    "policies.policy_history": (lambda w, a: policies.policy_history(w.db.uow(), a.id),
                                {"user": DENIED, "manager": DENIED, "staff": DENIED, "admin": OK}),
    "policies.list_policies": (lambda w, a: policies.list_policies(w.db.uow(), a.id),
                               {"user": OK, "manager": OK, "staff": OK, "admin": OK}),
    "policies.list_approvers": (lambda w, a: policies.list_approvers(w.db.uow(), a.id),
                                {"user": OK, "manager": OK, "staff": OK, "admin": OK}),
    "policies.get_effective_policy": (lambda w, a: policies.get_effective_policy(
        w.db.uow(), a.id, w.resource.id), {"user": OK, "manager": OK, "staff": OK, "admin": OK}),
    "preview_series": (lambda w, a: s.preview_series(
        w.db.uow(), a.id, resource_id=w.resource.id, start_time=later(w, 600),
        end_time=later(w, 601), rule={"frequency": "daily", "count": 3}),
        {"user": OK, "manager": OK, "staff": OK, "admin": OK}),
    "request_series": (lambda w, a: s.request_series(
        w.db.uow(), a.id, resource_id=w.resource.id, start_time=later(w, 600),
        end_time=later(w, 601), rule={"frequency": "daily", "count": 3}, purpose="Course"),
        {"user": OK, "manager": OK, "staff": OK, "admin": OK}),
    "get_series (another's)": (lambda w, a: s.get_series(w.db.uow(), a.id, w.series.id),
                               {"user": HIDDEN, "manager": OK, "staff": OK, "admin": OK}),
    "series_queue": (lambda w, a: s.series_queue(w.db.uow(), a.id),
                     {"user": DENIED, "manager": DENIED, "staff": OK, "admin": OK}),
    "approve_series": (lambda w, a: s.approve_series(w.db.uow(), a.id, w.series.id),
                       {"user": DENIED, "manager": DENIED, "staff": OK, "admin": OK}),
    "deny_series": (lambda w, a: s.deny_series(w.db.uow(), a.id, w.series.id, "No officer"),
                    {"user": DENIED, "manager": DENIED, "staff": OK, "admin": OK}),
    "cancel_series (another's)": (lambda w, a: s.cancel_series(w.db.uow(), a.id, w.series.id),
                                  {"user": HIDDEN, "manager": DENIED, "staff": OK, "admin": OK}),
    "change_password (own)": (lambda w, a: s.change_password(
        w.db.uow(), a.id, current_password="password-123" if a.email != "root-admin@test.example"
        else "admin-password", new_password="another-pass-1", hash_rounds=4),
        {"user": OK, "manager": OK, "staff": OK, "admin": OK}),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("service", list(CALLS))
def test_permission_matrix(db, make, service, role):
    world = World(db, make)
    call, expected = CALLS[service]
    actor = world.actor(role)
    outcome = expected[role]
    if outcome == OK:
        call(world, actor)
    elif outcome == DENIED:
        with pytest.raises(PermissionDenied):
            call(world, actor)
    else:
        with pytest.raises(NotFoundError):
            call(world, actor)


@pytest.mark.parametrize("service", ["request_booking", "list_bookings", "find_conflicts"])
def test_a_deactivated_account_can_do_nothing(db, make, service):
    world = World(db, make)
    member = make.user()
    s.deactivate_user(db.uow(), make.admin.id, member.id)
    with pytest.raises(PermissionDenied, match="not active"):
        CALLS[service][0](world, member)
