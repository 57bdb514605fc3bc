"""The architecture's role table, cell by cell."""
import pytest

from engine.domain.permissions import Permission as P, Role, has_permission

USER_ONLY = {P.BOOKING_CREATE, P.BOOKING_VIEW_OWN, P.BOOKING_CANCEL_OWN, P.RESOURCE_VIEW,
             P.BOOKING_CHECK_IN_OWN, P.WAITLIST_JOIN}
STAFF = USER_ONLY | {P.BOOKING_VIEW_ALL, P.BOOKING_CANCEL_ANY, P.BOOKING_APPROVE, P.BOOKING_DENY,
                     P.BOOKING_RESCHEDULE, P.BOOKING_BUMP, P.AUDIT_VIEW, P.REPORT_VIEW,
                     P.BOOKING_CHECK_IN_ANY, P.BOARD_VIEW}
ADMIN = set(P)
GRANTS = {Role.USER: USER_ONLY, Role.STAFF: STAFF, Role.ADMIN: ADMIN}


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("permission", list(P))
def test_role_table(role, permission):
    assert has_permission(role, permission) is (permission in GRANTS[role])


def test_each_role_holds_everything_of_the_role_below():
    assert USER_ONLY < STAFF < ADMIN


def test_unknown_role_is_rejected():
    with pytest.raises(ValueError):
        has_permission("superuser", P.BOOKING_CREATE)
