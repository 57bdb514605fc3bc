"""The role table over HTTP: every endpoint for anonymous, member, manager, staff and admin
callers.

Each cell gets fresh targets, so one role's success cannot change what the next role meets.
"""
from __future__ import annotations

from datetime import timedelta
from itertools import count

import pytest

from tests.api.conftest import iso

ROLES = ("anon", "member", "manager", "staff", "admin")
_n = count()


def _window(w, days=1):
    start = w.clock.now + timedelta(days=days, hours=next(_n) % 20)
    return start, start + timedelta(hours=1)


def _booking(w, requester=None, approved=False):
    start, end = _window(w)
    return w.make.booking(w.make.resource(), requester or w.people.other, start=start, end=end,
                          approve_by=w.people.staff if approved else None)


def _new_user_body():
    return {"email": f"matrix{next(_n)}@test.example", "name": "Matrix", "password": "pass-word-1"}


def _booking_body(w):
    start, end = _window(w)
    return {"resource_id": str(w.make.resource().id), "start_time": iso(start),
            "end_time": iso(end), "purpose": "Matrix practice"}


def _move_body(w):
    start, end = _window(w, days=3)
    return {"start_time": iso(start), "end_time": iso(end), "reason": "Matrix move"}


def _series_body(w):
    start, end = _window(w)
    return {"resource_id": str(w.make.resource().id), "start_time": iso(start),
            "end_time": iso(end), "purpose": "Matrix weekly",
            "rule": {"frequency": "weekly", "count": 3}}


def _series(w, requester=None):
    from engine.services.series import request_series

    start, end = _window(w)
    return request_series(w.make.db.uow(), (requester or w.people.other).id,
                          resource_id=w.make.resource().id, start_time=start, end_time=end,
                          rule={"frequency": "weekly", "count": 3}, purpose="Matrix weekly")


def _soon(w, requester=None):
    """An approved booking starting in ten minutes: check-in is open now."""
    start = w.clock.now + timedelta(minutes=10)
    return w.make.booking(w.make.resource(), requester or w.people.other, start=start,
                          end=start + timedelta(hours=1), approve_by=w.people.staff)


def _taken_body(w):
    """A waitlist body for a window another member holds."""
    b = _booking(w, approved=True)
    return {"resource_id": str(b.resource_id), "start_time": iso(b.start_time),
            "end_time": iso(b.end_time), "purpose": "Matrix wait"}


def _member_entry(w, offered=False):
    """The member's waitlist entry; `offered` once the holder cancels."""
    from engine.services.bookings import cancel_booking
    from engine.services.waitlist import join_waitlist

    b = _booking(w, approved=True)
    entry = join_waitlist(w.make.db.uow(), w.people.member.id, resource_id=b.resource_id,
                          start_time=b.start_time, end_time=b.end_time, purpose="Matrix wait")
    if offered:
        cancel_booking(w.make.db.uow(), w.people.other.id, b.id)
    return entry


def _policy(w) -> str:
    from engine.services.policies import set_policy

    return str(set_policy(w.make.db.uow(), w.make.admin.id, resource_id=w.make.resource().id,
                          max_advance_days=30).id)


def _s(path: str) -> str:
    return f"/api/v1/bookings/series{path}"


# name -> (builder of (method, path, json/params), expected status per role in ROLES order)
MATRIX = {
    "health": (lambda w: ("GET", "/health", None), (200, 200, 200, 200, 200)),
    "list users": (lambda w: ("GET", "/api/v1/users", None), (401, 403, 403, 403, 200)),
    "read me": (lambda w: ("GET", "/api/v1/users/me", None), (401, 200, 200, 200, 200)),
    "read other user": (lambda w: ("GET", f"/api/v1/users/{w.people.other.id}", None),
                        (401, 403, 403, 403, 200)),
    "create user": (lambda w: ("POST", "/api/v1/users", _new_user_body()),
                    (401, 403, 403, 403, 201)),
    "update user": (lambda w: ("PUT", f"/api/v1/users/{w.make.user().id}", {"role": "staff"}),
                    (401, 403, 403, 403, 200)),
    "deactivate user": (lambda w: ("DELETE", f"/api/v1/users/{w.make.user().id}", None),
                        (401, 403, 403, 403, 200)),
    "list resources": (lambda w: ("GET", "/api/v1/resources", None), (401, 200, 200, 200, 200)),
    "read resource": (lambda w: ("GET", f"/api/v1/resources/{w.make.resource().id}", None),
                      (401, 200, 200, 200, 200)),
    "create resource": (lambda w: ("POST", "/api/v1/resources",
                                   {"name": "Bay X", "resource_type": "bay"}),
                        (401, 403, 403, 403, 201)),
    "update resource": (lambda w: ("PUT", f"/api/v1/resources/{w.make.resource().id}",
                                   {"description": "new"}), (401, 403, 403, 403, 200)),
    "deactivate resource": (lambda w: ("DELETE", f"/api/v1/resources/{w.make.resource().id}",
                                       None), (401, 403, 403, 403, 200)),
    "list bookings": (lambda w: ("GET", "/api/v1/bookings", None), (401, 200, 200, 200, 200)),
    "read own booking": (lambda w: ("GET", f"/api/v1/bookings/{_booking(w, w.people.member).id}",
                                    None), (401, 200, 200, 200, 200)),
    "read others' booking": (lambda w: ("GET", f"/api/v1/bookings/{_booking(w).id}", None),
                             (401, 404, 200, 200, 200)),
    "create booking": (lambda w: ("POST", "/api/v1/bookings", _booking_body(w)),
                       (401, 201, 201, 201, 201)),
    "put booking": (lambda w: ("PUT", f"/api/v1/bookings/{_booking(w).id}", _move_body(w)),
                    (401, 403, 403, 200, 200)),
    "cancel own booking": (lambda w: ("DELETE",
                                      f"/api/v1/bookings/{_booking(w, w.people.member).id}", None),
                           (401, 200, 403, 200, 200)),  # the member's own; a manager may not
    "cancel others' booking": (lambda w: ("DELETE", f"/api/v1/bookings/{_booking(w).id}", None),
                               (401, 404, 403, 200, 200)),
    "approve": (lambda w: ("POST", f"/api/v1/bookings/{_booking(w).id}/approve",
                           {"force_override": False}), (401, 403, 403, 200, 200)),
    "deny": (lambda w: ("POST", f"/api/v1/bookings/{_booking(w).id}/deny",
                        {"reason": "Matrix says no"}), (401, 403, 403, 200, 200)),
    "reschedule": (lambda w: ("POST", f"/api/v1/bookings/{_booking(w).id}/reschedule",
                              _move_body(w)), (401, 403, 403, 200, 200)),
    "bump": (lambda w: ("POST", f"/api/v1/bookings/{_booking(w, approved=True).id}/bump",
                        {"reason": "Matrix bump"}), (401, 403, 403, 200, 200)),
    "preview series": (lambda w: ("POST", _s("/preview"), _series_body(w)),
                       (401, 200, 200, 200, 200)),
    "series queue": (lambda w: ("GET", _s(""), None), (401, 403, 403, 200, 200)),
    "create series": (lambda w: ("POST", _s(""), _series_body(w)), (401, 201, 201, 201, 201)),
    "read own series": (lambda w: ("GET", _s(f"/{_series(w, w.people.member).id}"), None),
                        (401, 200, 200, 200, 200)),
    "read others' series": (lambda w: ("GET", _s(f"/{_series(w).id}"), None),
                            (401, 404, 200, 200, 200)),
    "approve series": (lambda w: ("POST", _s(f"/{_series(w).id}/approve"), None),
                       (401, 403, 403, 200, 200)),
    "deny series": (lambda w: ("POST", _s(f"/{_series(w).id}/deny"), {"reason": "Matrix no"}),
                    (401, 403, 403, 200, 200)),
    "cancel own series": (lambda w: ("POST", _s(f"/{_series(w, w.people.member).id}/cancel"),
                                     {}), (401, 200, 403, 200, 200)),
    "cancel others' series": (lambda w: ("POST", _s(f"/{_series(w).id}/cancel"), {}),
                              (401, 404, 403, 200, 200)),
    "check in own booking": (lambda w: ("POST", f"/api/v1/bookings/"
                                                f"{_soon(w, w.people.member).id}/check-in", None),
                             (401, 200, 403, 200, 200)),  # a manager may not check others in
    "check in others' booking": (lambda w: ("POST", f"/api/v1/bookings/{_soon(w).id}/check-in",
                                            None), (401, 404, 403, 200, 200)),
    "range board": (lambda w: ("GET", "/api/v1/board", None), (401, 403, 200, 200, 200)),
    "list check-in rules": (lambda w: ("GET", "/api/v1/checkin-rules", None),
                            (401, 200, 200, 200, 200)),
    "set check-in rule": (lambda w: ("PUT", "/api/v1/checkin-rules/range",
                                     {"grace_minutes": 10}), (401, 403, 403, 403, 200)),
    "list waitlist": (lambda w: ("GET", "/api/v1/waitlist", None), (401, 200, 200, 200, 200)),
    "join waitlist": (lambda w: ("POST", "/api/v1/waitlist", _taken_body(w)),
                      (401, 201, 201, 201, 201)),
    "accept own offer": (lambda w: ("POST", f"/api/v1/waitlist/"
                                            f"{_member_entry(w, offered=True).id}/accept", None),
                         (401, 200, 404, 404, 404)),  # only the member acts on their entry
    "decline own offer": (lambda w: ("POST", f"/api/v1/waitlist/"
                                             f"{_member_entry(w, offered=True).id}/decline", None),
                          (401, 200, 404, 404, 404)),
    "leave own entry": (lambda w: ("DELETE", f"/api/v1/waitlist/{_member_entry(w).id}", None),
                        (401, 200, 404, 404, 404)),
    "audit logs": (lambda w: ("GET", "/api/v1/audit-logs", None), (401, 403, 200, 200, 200)),
    "list policies": (lambda w: ("GET", "/api/v1/policies", None), (401, 200, 200, 200, 200)),
    "effective policy": (lambda w: ("GET", f"/api/v1/resources/{w.make.resource().id}/policy",
                                    None), (401, 200, 200, 200, 200)),
    "set policy": (lambda w: ("PUT", "/api/v1/policies",
                              {"resource_id": str(w.make.resource().id),
                               "min_notice_minutes": 60}), (401, 403, 403, 403, 200)),
    "delete policy": (lambda w: ("DELETE", f"/api/v1/policies/{_policy(w)}", None),
                      (401, 403, 403, 403, 204)),
    "policy history": (lambda w: ("GET", "/api/v1/policies/history", None),
                       (401, 403, 403, 403, 200)),
    "list approvers": (lambda w: ("GET", "/api/v1/approvers", None), (401, 200, 200, 200, 200)),
    "set approvers": (lambda w: ("PUT", "/api/v1/approvers",
                                 {"resource_id": str(w.make.resource().id),
                                  "user_ids": [str(w.people.staff.id)]}),
                      (401, 403, 403, 403, 200)),
    "request password reset": (lambda w: ("POST", "/api/v1/auth/password-reset",
                                          {"email": w.people.other.email}),
                               (202, 202, 202, 202, 202)),  # no sign-in needed
    "confirm password reset": (lambda w: ("POST", "/api/v1/auth/password-reset/confirm",
                                          {"token": "not-a-token",
                                           "new_password": "a-new-password-5"}),
                               (422, 422, 422, 422, 422)),  # anyone; a wrong token names it
}


class World:
    def __init__(self, client, make, people, clock):
        self.client, self.make, self.people, self.clock = client, make, people, clock


@pytest.mark.parametrize("endpoint", list(MATRIX))
def test_role_matrix(endpoint, client, make, people, clock):
    build, expected = MATRIX[endpoint]
    world = World(client, make, people, clock)
    got = []
    for role in ROLES:
        method, path, body = build(world)
        kwargs = {"json": body} if body is not None and method != "GET" else {}
        r = client.request(method, path, headers=people.headers[role], **kwargs)
        got.append(r.status_code)
        if r.status_code >= 400:
            assert "error" in r.json(), r.text
    assert tuple(got) == expected, dict(zip(ROLES, got, strict=True))
