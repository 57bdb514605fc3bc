"""Request and response bodies. Input types refuse what the database cannot store (NUL
characters, lone surrogates, naive or out-of-range datetimes) with a 422 naming the field;
the engine's own rules (lengths, windows, priorities) still decide everything else."""
from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Generic, Literal, TypeVar
from uuid import UUID

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StrictBool
from starlette.responses import Response

from engine.domain.permissions import Role
from engine.domain.policy import ApprovalMode
from engine.domain.recurrence import Frequency
from engine.domain.status import BookingStatus, WaitlistStatus
from engine.passwords import POLICY

T = TypeVar("T")


def _storable(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid UTF-8 text") from None
    return value


def _sane_year(value: datetime) -> datetime:
    if not 1970 <= value.year <= 2999:
        raise ValueError("must be between the years 1970 and 2999")
    return value


def _sane_day(value: date) -> date:
    if not 1970 <= value.year <= 2999:
        raise ValueError("must be between the years 1970 and 2999")
    return value


def _local_time(value: time) -> time:
    if value.tzinfo is not None:
        raise ValueError("must be a local time of day without a UTC offset (e.g. 08:00)")
    return value


Text = Annotated[str, AfterValidator(_storable)]
ShortText = Annotated[str, Field(max_length=1000), AfterValidator(_storable)]
LongText = Annotated[str, Field(max_length=10000), AfterValidator(_storable)]
When = Annotated[AwareDatetime, AfterValidator(_sane_year)]
TimeOfDay = Annotated[time, AfterValidator(_local_time)]
Day = Annotated[date, AfterValidator(_sane_day)]


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class PageOut(BaseModel, Generic[T]):
    items: list[T]
    total: int
    page: int
    page_size: int
    pages: int

    @classmethod
    def of(cls, page, convert) -> PageOut:
        return cls(items=[convert(i) for i in page.items], total=page.total, page=page.page,
                   page_size=page.page_size, pages=page.pages)


def json_response(body: BaseModel, status_code: int = 200) -> Response:
    """`body` as JSON, written in the route's own worker thread. A route returning a Response
    skips FastAPI's response_model pass, which re-validates the result in a second trip through
    the thread pool; build `body` as the route's response_model so the documented shape holds."""
    return Response(body.model_dump_json(), status_code, media_type="application/json")


class ErrorOut(BaseModel):
    error: str
    field: str | None = None


class ConflictOut(BaseModel):
    id: UUID
    kind: str
    resource_id: UUID
    resource_name: str
    start_time: datetime
    end_time: datetime
    priority: int | None = None


class ConflictErrorOut(BaseModel):
    error: str
    conflicts: list[ConflictOut]


# --- auth -----------------------------------------------------------------------------------

class RegisterIn(BaseModel):
    email: ShortText
    name: ShortText
    password: Annotated[ShortText, Field(description=POLICY.help_text())]


class RegisterOut(BaseModel):
    message: str


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="seconds until the access token expires")
    refresh_expires_in: int


class RefreshIn(BaseModel):
    refresh_token: ShortText


class AccessToken(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class PasswordResetIn(BaseModel):
    email: ShortText


class PasswordResetOut(BaseModel):
    message: str = Field(description="the same words whether or not the e-mail has an account")


class PasswordResetConfirmIn(BaseModel):
    token: ShortText = Field(description="the `token` of the e-mailed link")
    new_password: Annotated[ShortText, Field(description=POLICY.help_text())]


# --- users ----------------------------------------------------------------------------------

class UserOut(Out):
    id: UUID
    email: str
    name: str
    role: Role
    is_active: bool
    created_at: datetime | None


class UserCreateIn(RegisterIn):
    role: Role = Role.USER


class UserUpdateIn(BaseModel):
    role: Role | None = None
    is_active: StrictBool | None = None


# --- resources ------------------------------------------------------------------------------

class ResourceOut(Out):
    id: UUID
    name: str
    resource_type: str
    description: str | None
    safety_zone_id: UUID | None
    safety_zone_name: str | None
    is_active: bool
    opens_at: time | None
    closes_at: time | None


class ResourceIn(BaseModel):
    name: ShortText
    resource_type: ShortText
    description: LongText | None = None
    safety_zone_id: UUID | None = None
    opens_at: TimeOfDay | None = None
    closes_at: TimeOfDay | None = None


class ResourceUpdateIn(BaseModel):
    """Only the fields sent are changed; `is_active` deactivates or reactivates."""

    name: ShortText | None = None
    resource_type: ShortText | None = None
    description: LongText | None = None
    safety_zone_id: UUID | None = None
    opens_at: TimeOfDay | None = None
    closes_at: TimeOfDay | None = None
    is_active: StrictBool | None = None


# --- bookings -------------------------------------------------------------------------------

class BookingOut(Out):
    id: UUID
    resource_id: UUID
    resource_name: str
    requester_id: UUID
    requester_name: str
    start_time: datetime
    end_time: datetime
    status: BookingStatus
    purpose: str | None
    priority: int
    decision_reason: str | None
    decided_by_id: UUID | None
    decided_at: datetime | None
    bumped_by_booking_id: UUID | None
    conflict_at_request: bool
    created_at: datetime | None
    updated_at: datetime | None
    series_id: UUID | None = Field(default=None, description="the recurring series this "
                                                              "booking is an occurrence of")


class BookingIn(BaseModel):
    resource_id: UUID
    start_time: When
    end_time: When
    purpose: ShortText
    #: strict: `true` or `"3"` is a 422 naming the field, never silently 1 or 3.
    priority: int = Field(default=0, ge=0, le=10, strict=True)


class ApproveIn(BaseModel):
    force_override: StrictBool = Field(default=False, description=(
        "bump lower-priority approved bookings in the way; never overrides blackouts or "
        "bookings of equal or higher priority"))


class ApproveOut(Out):
    id: UUID
    status: BookingStatus
    updated_at: datetime | None


class ReasonIn(BaseModel):
    reason: ShortText


class BumpIn(ReasonIn):
    in_favour_of: UUID | None = Field(default=None, description=(
        "a pending booking of higher priority to approve in the bumped booking's place"))


class RescheduleIn(BaseModel):
    start_time: When
    end_time: When
    resource_id: UUID | None = None
    reason: ShortText | None = None


# --- series ---------------------------------------------------------------------------------

class RuleIn(BaseModel):
    """A repetition rule (RFC 5545 underneath). Exactly one of `until` and `count`."""

    frequency: Frequency
    interval: int = Field(default=1, ge=1, le=366, description="every N days, weeks or months")
    weekdays: list[Annotated[int, Field(ge=0, le=6)]] = Field(
        default_factory=list, max_length=7,
        description="weekly only: 0 (Monday) to 6 (Sunday); default the first window's day")
    month_day: int | None = Field(default=None, ge=-1, le=31, description=(
        "monthly only: day of the month, -1 for the last day; default the first window's day"))
    month_week: int | None = Field(default=None, ge=-1, le=4, description=(
        "monthly only: the Nth (1-4, -1 last) weekday of the first window's weekday"))
    until: date | None = Field(default=None, description="last day, in the site time zone")
    count: int | None = Field(default=None, ge=1, le=1000)


class SeriesPreviewIn(BaseModel):
    resource_id: UUID
    start_time: When = Field(description="the first occurrence's start")
    end_time: When = Field(description="the first occurrence's end")
    rule: RuleIn


class SeriesIn(SeriesPreviewIn):
    purpose: ShortText
    priority: int = Field(default=0, ge=0, le=10)
    skip_conflicts: bool = Field(default=False, description=(
        "leave out dates where an approved booking or a blackout is in the way; otherwise "
        "they are sent too and staff decide"))


class PlannedOccurrenceOut(Out):
    start_time: datetime
    end_time: datetime
    hard: list[ConflictOut] = Field(description="approved bookings and blackouts in the way")
    soft: list[ConflictOut] = Field(description="other pending requests for the same time")


class SeriesPreviewOut(BaseModel):
    rule: str = Field(description="the RFC 5545 RRULE")
    description: str
    conflicting: int
    occurrences: list[PlannedOccurrenceOut]


class SeriesOut(Out):
    id: UUID
    resource_id: UUID
    resource_name: str
    requester_id: UUID
    requester_name: str
    rule: str
    description: str
    timezone: str
    first_start: datetime
    first_end: datetime
    purpose: str
    priority: int
    skipped_starts: list[datetime]
    created_at: datetime | None
    occurrences: list[BookingOut]
    conflicting: int = Field(description="pending occurrences with hard conflicts (staff only)")
    hard_conflicts: dict[UUID, list[ConflictOut]] = Field(
        default_factory=dict, description="per pending occurrence id (staff only)")


class SeriesQueueRowOut(BaseModel):
    series: SeriesOut
    pending: int = Field(description="pending occurrences still to come")
    conflicting: int = Field(description="of those, how many have hard conflicts")
    next_start: datetime


class LeftOut(BaseModel):
    booking_id: UUID
    reason: str


class SeriesDecisionOut(BaseModel):
    series_id: UUID
    changed: list[UUID] = Field(description="occurrences approved, denied or cancelled")
    left: list[LeftOut] = Field(description="occurrences left as they were, with the reason")


class SeriesCancelIn(BaseModel):
    from_booking_id: UUID | None = Field(default=None, description=(
        "cancel this occurrence and every later one; without it, the whole series"))
    reason: ShortText | None = None


# --- day of operations ----------------------------------------------------------------------

class BoardBookingOut(Out):
    id: UUID
    requester_name: str
    start_time: datetime
    end_time: datetime
    status: BookingStatus
    purpose: str | None
    checked_in_at: datetime | None
    checked_out_at: datetime | None
    check_in_opens: datetime
    check_in_closes: datetime
    can_check_in: bool = Field(description="approved, not checked in, and check-in is open now")
    can_check_out: bool = Field(description="checked in and in progress now")


class BoardBlackoutOut(Out):
    start_time: datetime
    end_time: datetime
    reason: str


class BoardRowOut(Out):
    resource_id: UUID
    resource_name: str
    resource_type: str
    zone_name: str | None
    hot: bool = Field(description="an approved booking is in progress and checked in")
    blacked_out_now: bool
    current: BoardBookingOut | None = Field(description="the approved booking on it now")
    next: BoardBookingOut | None = Field(description="the next approved booking that day")
    blackouts: list[BoardBlackoutOut] = Field(description="the day's blackouts")
    no_shows: list[BoardBookingOut] = Field(description="no-shows released that day")


class BoardOut(BaseModel):
    day: date = Field(description="the site-time-zone day shown")
    now: datetime
    can_act: bool = Field(description="the caller may check bookings in and out (staff)")
    hot_count: int
    no_show_count: int
    rows: list[BoardRowOut]


class CheckInRuleOut(Out):
    resource_type: str
    opens_before_minutes: int
    grace_minutes: int
    offer_minutes: int
    required_since: datetime | None = Field(description="null: check-in is optional and "
                                                        "nothing is released")
    is_default: bool = Field(description="no rule set for the type: the defaults apply")


class CheckInRuleIn(BaseModel):
    """The whole rule; a minute field left out takes the engine's default. The engine checks
    the ranges (a 422 naming the field); strict, so `true` is not 1."""

    opens_before_minutes: int | None = Field(default=None, strict=True, description=(
        "0 to 1440; default 30"))
    grace_minutes: int | None = Field(default=None, strict=True, description="1 to 720; default 15")
    offer_minutes: int | None = Field(default=None, strict=True, description=(
        "5 to 10080; default 60"))
    required: StrictBool = Field(default=True, description=(
        "release approved bookings not checked in by the end of the grace period (only those "
        "starting from now on)"))


class WaitlistIn(BaseModel):
    resource_id: UUID
    start_time: When
    end_time: When
    purpose: ShortText
    priority: int = Field(default=0, ge=0, le=10, strict=True)


class WaitlistOut(Out):
    id: UUID
    resource_id: UUID
    resource_name: str
    requester_id: UUID
    requester_name: str
    start_time: datetime
    end_time: datetime
    purpose: str
    priority: int
    status: WaitlistStatus
    joined_at: datetime
    offered_at: datetime | None
    offer_expires_at: datetime | None
    booking_id: UUID | None = Field(description="the pending request made by the offer")


# --- policies and approvers -----------------------------------------------------------------

#: A policy number: strict, so `true` or `"60"` is a 422 naming the field; the engine checks
#: the bounds (engine/domain/policy.py).
PolicyNumber = Annotated[int | None, Field(strict=True)]


class PolicyOut(Out):
    id: UUID
    resource_type: str | None
    resource_id: UUID | None
    resource_name: str | None
    approval_mode: ApprovalMode | None
    min_notice_minutes: int | None
    max_advance_days: int | None
    min_length_minutes: int | None
    max_length_minutes: int | None
    quota_hours_per_week: int | None
    quota_hours_per_month: int | None
    max_open_bookings: int | None


class EffectivePolicyOut(Out):
    """What applies to one resource: its own row's fields, else its type's, else the defaults
    (null: no such rule)."""

    approval_mode: ApprovalMode
    min_notice_minutes: int | None
    max_advance_days: int | None
    min_length_minutes: int | None
    max_length_minutes: int | None
    quota_hours_per_week: int | None
    quota_hours_per_month: int | None
    max_open_bookings: int | None


class PolicyIn(BaseModel):
    """Name one scope, `resource_type` or `resource_id`. Only the fields sent change; `null`
    clears one (it then inherits: a resource from its type, a type from the defaults). A field
    that is not a policy field is a 422 naming it, not silently ignored."""

    model_config = ConfigDict(extra="forbid")

    resource_type: ShortText | None = None
    resource_id: UUID | None = None
    approval_mode: ApprovalMode | None = None
    min_notice_minutes: PolicyNumber = None
    max_advance_days: PolicyNumber = None
    min_length_minutes: PolicyNumber = None
    max_length_minutes: PolicyNumber = None
    quota_hours_per_week: PolicyNumber = Field(default=None, description="resource types only")
    quota_hours_per_month: PolicyNumber = Field(default=None, description="resource types only")
    max_open_bookings: PolicyNumber = Field(default=None, description="resource types only")


class ApproverOut(Out):
    user_id: UUID
    name: str
    resource_type: str | None
    safety_zone_id: UUID | None
    resource_id: UUID | None


class ApproversIn(BaseModel):
    """Name exactly one scope; the list replaces the scope's approvers."""

    resource_type: ShortText | None = None
    safety_zone_id: UUID | None = None
    resource_id: UUID | None = None
    user_ids: list[UUID] = Field(max_length=500, description=(
        "active staff or admins; empty: every staff member decides again"))


# --- audit ----------------------------------------------------------------------------------

class AuditOut(Out):
    id: UUID
    timestamp: datetime
    actor_id: UUID
    actor_name: str
    action: str
    booking_id: UUID | None
    entity_type: str | None
    entity_id: UUID | None
    details: str | None
    previous_state: dict | None


class HealthOut(BaseModel):
    status: str
    database: str
    revision: str | None = None
    reason: str | None = Field(default=None, description="why the database is not usable (503)")
