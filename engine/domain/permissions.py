"""Roles and the architecture's role table: the one place that says who may do what."""
from __future__ import annotations

import enum


class Role(str, enum.Enum):
    USER = "user"
    MANAGER = "manager"
    STAFF = "staff"
    ADMIN = "admin"


class Permission(str, enum.Enum):
    BOOKING_CREATE = "booking:create"
    BOOKING_VIEW_OWN = "booking:view_own"
    BOOKING_CANCEL_OWN = "booking:cancel_own"
    RESOURCE_VIEW = "resource:view"
    BOOKING_VIEW_ALL = "booking:view_all"
    BOOKING_CANCEL_ANY = "booking:cancel_any"
    BOOKING_APPROVE = "booking:approve"
    BOOKING_DENY = "booking:deny"
    BOOKING_RESCHEDULE = "booking:reschedule"
    BOOKING_BUMP = "booking:bump"
    AUDIT_VIEW = "audit:view"
    REPORT_VIEW = "report:view"
    USER_MANAGE = "user:manage"
    RESOURCE_MANAGE = "resource:manage"
    CONFIG_MANAGE = "config:manage"
    QUOTA_EXCEED = "quota:exceed"
    BOOKING_CHECK_IN_OWN = "booking:check_in_own"
    BOOKING_CHECK_IN_ANY = "booking:check_in_any"
    BOARD_VIEW = "board:view"
    WAITLIST_JOIN = "waitlist:join"


P = Permission
_USER = frozenset({P.BOOKING_CREATE, P.BOOKING_VIEW_OWN, P.BOOKING_CANCEL_OWN, P.RESOURCE_VIEW,
                   P.BOOKING_CHECK_IN_OWN, P.WAITLIST_JOIN})
#: Managers read everything (all bookings, the calendar, the audit trail, reports) and decide
#: nothing: no approvals, no admin.
_MANAGER = _USER | {P.BOOKING_VIEW_ALL, P.AUDIT_VIEW, P.REPORT_VIEW, P.BOARD_VIEW}
_STAFF = _MANAGER | {
    P.BOOKING_CANCEL_ANY,
    P.BOOKING_APPROVE,
    P.BOOKING_DENY,
    P.BOOKING_RESCHEDULE,
    P.BOOKING_BUMP,
    P.QUOTA_EXCEED,  # staff and admins may book past a quota; the audit entry says so
    P.BOOKING_CHECK_IN_ANY,
}
_ADMIN = _STAFF | {P.USER_MANAGE, P.RESOURCE_MANAGE, P.CONFIG_MANAGE}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.USER: _USER,
    Role.MANAGER: frozenset(_MANAGER),
    Role.STAFF: frozenset(_STAFF),
    Role.ADMIN: frozenset(_ADMIN),
}


def has_permission(role: Role | str, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS[Role(role)]
