"""The architecture's role table, cell by cell (with the manager role of issue 11)."""
import pytest

from engine.domain.permissions import Permission as P
from engine.domain.permissions import Role, has_permission

USER_ONLY = {P.BOOKING_CREATE, P.BOOKING_VIEW_OWN, P.BOOKING_CANCEL_OWN, P.RESOURCE_VIEW,
             P.BOOKING_CHECK_IN_OWN, P.WAITLIST_JOIN}
MANAGER = USER_ONLY | {P.BOOKING_VIEW_ALL, P.AUDIT_VIEW, P.REPORT_VIEW, P.BOARD_VIEW}
STAFF = MANAGER | {P.BOOKING_CANCEL_ANY, P.BOOKING_APPROVE, P.BOOKING_DENY,
                   P.BOOKING_RESCHEDULE, P.BOOKING_BUMP, P.QUOTA_EXCEED,
                   P.BOOKING_CHECK_IN_ANY}
ADMIN = set(P)
GRANTS = {Role.USER: USER_ONLY, Role.MANAGER: MANAGER, Role.STAFF: STAFF, Role.ADMIN: ADMIN}


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("permission", list(P))
def test_role_table(role, permission):
    assert has_permission(role, permission) is (permission in GRANTS[role])


def test_each_role_holds_everything_of_the_role_below():
    assert USER_ONLY < MANAGER < STAFF < ADMIN


def test_managers_read_but_decide_nothing():
    decisions = {P.BOOKING_APPROVE, P.BOOKING_DENY, P.BOOKING_RESCHEDULE, P.BOOKING_BUMP,
                 P.BOOKING_CANCEL_ANY, P.QUOTA_EXCEED, P.USER_MANAGE, P.RESOURCE_MANAGE,
                 P.CONFIG_MANAGE}
    assert not any(has_permission(Role.MANAGER, p) for p in decisions)


def test_unknown_role_is_rejected():
    with pytest.raises(ValueError):
        has_permission("superuser", P.BOOKING_CREATE)
