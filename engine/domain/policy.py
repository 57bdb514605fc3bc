"""Booking policies as pure rules: the effective policy of a resource and the checks on a request.

A policy row exists per resource type and, optionally, per resource; a field left empty on the
resource falls back to its type, and an empty type field to the defaults below (today's
behaviour: staff approve, 366 days ahead, 15 minutes to 24 hours, no quota).
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from engine.domain.rules import MAX_ADVANCE, MAX_DURATION, MIN_DURATION, local_midnight_utc
from engine.errors import ValidationError


class ApprovalMode(str, enum.Enum):
    STAFF = "staff"            # every request waits for one staff decision (today)
    AUTOMATIC = "automatic"    # a conflict-free request inside every rule is approved at once
    TWO_PERSON = "two_person"  # two approvals by two different approvers


#: The policy fields an admin sets, with the bounds each value must respect.
WINDOW_FIELDS = ("min_notice_minutes", "max_advance_days", "min_length_minutes",
                 "max_length_minutes")
QUOTA_FIELDS = ("quota_hours_per_week", "quota_hours_per_month", "max_open_bookings")
POLICY_FIELDS = ("approval_mode", *WINDOW_FIELDS, *QUOTA_FIELDS)
BOUNDS = {
    "min_notice_minutes": (0, 366 * 24 * 60),
    "max_advance_days": (1, 3660),
    "min_length_minutes": (int(MIN_DURATION.total_seconds() // 60),
                           int(MAX_DURATION.total_seconds() // 60)),
    "max_length_minutes": (int(MIN_DURATION.total_seconds() // 60),
                           int(MAX_DURATION.total_seconds() // 60)),
    "quota_hours_per_week": (1, 7 * 24),
    "quota_hours_per_month": (1, 31 * 24),
    "max_open_bookings": (1, 10_000),
}


class PolicyViolation(ValidationError):
    """A request outside a booking policy: names the rule (as the field) and its value."""

    code = "policy_violation"

    def __init__(self, rule: str, value: object, message: str):
        super().__init__(rule, message)
        self.value = value


@dataclass(frozen=True)
class EffectivePolicy:
    """What applies to one resource after the resource → type → default fallback."""

    approval_mode: ApprovalMode = ApprovalMode.STAFF
    min_notice_minutes: int | None = None
    max_advance_days: int | None = None
    min_length_minutes: int | None = None
    max_length_minutes: int | None = None
    quota_hours_per_week: int | None = None
    quota_hours_per_month: int | None = None
    max_open_bookings: int | None = None

    @property
    def has_quota(self) -> bool:
        return any(getattr(self, f) is not None for f in QUOTA_FIELDS)

    @property
    def max_advance(self) -> timedelta:
        return timedelta(days=self.max_advance_days) if self.max_advance_days else MAX_ADVANCE


def merge(type_policy: object | None, resource_policy: object | None) -> EffectivePolicy:
    """The resource's own value where set, else its type's, else the default."""
    values: dict[str, Any] = {}
    for f in fields(EffectivePolicy):
        for source in (resource_policy, type_policy):
            value = getattr(source, f.name, None) if source is not None else None
            if value is not None:
                values[f.name] = ApprovalMode(value) if f.name == "approval_mode" else value
                break
    return EffectivePolicy(**values)


def validate_policy_values(values: dict, *, for_resource: bool) -> dict:
    """Check an admin's policy edit; returns the cleaned values (None clears a field)."""
    clean: dict[str, Any] = {}
    for name, value in values.items():
        if name not in POLICY_FIELDS:
            raise ValidationError(name, "is not a policy field: use one of "
                                  + ", ".join(POLICY_FIELDS))
        if value is None or value == "":
            clean[name] = None
            continue
        if name == "approval_mode":
            try:
                clean[name] = ApprovalMode(value)
            except ValueError:
                raise ValidationError(name, "must be one of " + ", ".join(
                    m.value for m in ApprovalMode)) from None
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(name, "must be a whole number")
        lo, hi = BOUNDS[name]
        if not lo <= value <= hi:
            raise ValidationError(name, f"must be between {lo} and {hi}")
        if for_resource and name in QUOTA_FIELDS:
            raise ValidationError(name, "quotas are set per resource type, not per resource")
        clean[name] = value
    shortest, longest = clean.get("min_length_minutes"), clean.get("max_length_minutes")
    if shortest is not None and longest is not None and shortest > longest:
        raise ValidationError("max_length_minutes", "must not be less than min_length_minutes")
    return clean


def _hours(minutes: int) -> str:
    if minutes % (24 * 60) == 0 and minutes >= 24 * 60:
        days = minutes // (24 * 60)
        return f"{days} day" + ("s" if days != 1 else "")
    if minutes % 60 == 0:
        return f"{minutes // 60} hour" + ("s" if minutes != 60 else "")
    return f"{minutes} minutes"


def check_window(policy: EffectivePolicy, resource_name: str, start: datetime, end: datetime,
                 now: datetime) -> None:
    """Notice, advance and length rules; raises PolicyViolation naming the rule and its value."""
    length = end - start
    if policy.min_notice_minutes and start - now < timedelta(minutes=policy.min_notice_minutes):
        raise PolicyViolation("min_notice_minutes", policy.min_notice_minutes,
                              f"'{resource_name}' needs at least "
                              f"{_hours(policy.min_notice_minutes)} notice (booking policy)")
    if start - now > policy.max_advance:
        raise PolicyViolation("max_advance_days", policy.max_advance.days,
                              f"'{resource_name}' may be booked at most "
                              f"{policy.max_advance.days} days ahead (booking policy)")
    if policy.min_length_minutes and length < timedelta(minutes=policy.min_length_minutes):
        raise PolicyViolation("min_length_minutes", policy.min_length_minutes,
                              f"bookings of '{resource_name}' last at least "
                              f"{_hours(policy.min_length_minutes)} (booking policy)")
    if policy.max_length_minutes and length > timedelta(minutes=policy.max_length_minutes):
        raise PolicyViolation("max_length_minutes", policy.max_length_minutes,
                              f"bookings of '{resource_name}' last at most "
                              f"{_hours(policy.max_length_minutes)} (booking policy)")


def week_bounds(moment: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[Monday 00:00, next Monday 00:00) in the site zone around `moment`, as UTC."""
    day = moment.astimezone(tz).date()
    monday = day - timedelta(days=day.weekday())
    return local_midnight_utc(monday, tz), local_midnight_utc(monday + timedelta(days=7), tz)


def month_bounds(moment: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[1st 00:00, next 1st 00:00) in the site zone around `moment`, as UTC."""
    day = moment.astimezone(tz).date()
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return local_midnight_utc(first, tz), local_midnight_utc(following, tz)


@dataclass(frozen=True)
class QuotaUse:
    """A member's pending and approved bookings on one resource type, as the quota counts them."""

    week_hours: float
    month_hours: float
    open_bookings: int


def quota_breaches(policy: EffectivePolicy, resource_type: str, use: QuotaUse,
                   new_hours: float) -> list[PolicyViolation]:
    """The quota rules this request would break (empty when it fits every one)."""
    out = []
    for period, limit, used in (("week", policy.quota_hours_per_week, use.week_hours),
                                ("month", policy.quota_hours_per_month, use.month_hours)):
        if limit is not None and used + new_hours > limit + 1e-9:
            out.append(PolicyViolation(
                f"quota_hours_per_{period}", limit,
                f"quota of {limit} hours a {period} on '{resource_type}' "
                f"would be exceeded ({used:g} booked + {new_hours:g} requested)"))
    if policy.max_open_bookings is not None and use.open_bookings + 1 > policy.max_open_bookings:
        out.append(PolicyViolation(
            "max_open_bookings", policy.max_open_bookings,
            f"at most {policy.max_open_bookings} pending or approved future bookings on "
            f"'{resource_type}' per member ({use.open_bookings} already)"))
    return out
