"""SQLAlchemy 2 ORM models. Table and column names follow the architecture document."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, time
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Enum,
    FetchedValue,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    Time,
    TypeDecorator,
    UniqueConstraint,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from engine.domain.permissions import Role
from engine.domain.policy import ApprovalMode
from engine.domain.status import BookingStatus, WaitlistStatus

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC in and out, on PostgreSQL (timestamptz) and SQLite (text) alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _enum(enum_cls: type, name: str) -> Enum:
    return Enum(enum_cls, name=name, native_enum=False, length=50, create_constraint=True,
                values_callable=lambda e: [m.value for m in e], validate_strings=True)


JSONType = JSON().with_variant(JSONB(), "postgresql")
NOW = func.now()
def stamp_column(*, on_update: bool = False) -> Mapped[datetime]:
    """A creation (or, with `on_update`, last-change) time set in Python as the row is written,
    so it is known before the flush; the database default covers rows written in SQL."""
    return mapped_column(UTCDateTime, server_default=NOW, default=lambda: datetime.now(UTC),
                         onupdate=(lambda: datetime.now(UTC)) if on_update else None)


def updated_at_column() -> Mapped[datetime]:
    """The row's last change: set by the database on insert, by SQLAlchemy on update."""
    return mapped_column(UTCDateTime, server_default=NOW,
                         onupdate=lambda: datetime.now(UTC))


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (Index("idx_users_role", "role"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    email: Mapped[str] = mapped_column(String(255), nullable=False, unique=True)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    role: Mapped[Role] = mapped_column(_enum(Role, "user_role"), nullable=False)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=NOW)
    updated_at: Mapped[datetime] = updated_at_column()


class SafetyZone(Base):
    """Resources whose danger areas overlap: an approved booking on one blocks them all."""

    __tablename__ = "safety_zones"
    __table_args__ = (Index("uq_safety_zones_name_lower", func.lower(text("name")), unique=True),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(255), nullable=False, unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=NOW)
    updated_at: Mapped[datetime] = updated_at_column()


class Resource(Base):
    __tablename__ = "resources"
    __table_args__ = (
        Index("idx_resources_type", "resource_type"),
        Index("ix_resources_safety_zone_id", "safety_zone_id"),
        Index("uq_resources_name_lower", func.lower(text("name")), unique=True),
        CheckConstraint("(opens_at IS NULL) = (closes_at IS NULL)", name="hours_both_or_neither"),
        CheckConstraint("opens_at IS NULL OR closes_at > opens_at", name="hours_order"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    resource_type: Mapped[str] = mapped_column(String(50), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    safety_zone_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("safety_zones.id"))
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    opens_at: Mapped[time | None] = mapped_column(Time)
    closes_at: Mapped[time | None] = mapped_column(Time)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=NOW)
    updated_at: Mapped[datetime] = updated_at_column()

    safety_zone: Mapped[SafetyZone | None] = relationship(lazy="joined")


class Blackout(Base):
    """A closure (maintenance, weather, range clearance): nothing is approved over it."""

    __tablename__ = "blackouts"
    __table_args__ = (
        CheckConstraint("end_time > start_time", name="valid_time_range"),
        Index("ix_blackouts_resource_start", "resource_id", "start_time"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    resource_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("resources.id"), nullable=False)
    start_time: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    end_time: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=NOW)

    resource: Mapped[Resource] = relationship(lazy="joined")


class BookingSeries(Base):
    """A recurring request: one rule, many occurrences. Each occurrence is a normal row of
    `bookings` (with `series_id`), so every booking guarantee applies to it unchanged."""

    __tablename__ = "booking_series"
    __table_args__ = (
        CheckConstraint("first_end > first_start", name="valid_time_range"),
        CheckConstraint("priority >= 0 AND priority <= 10", name="priority_range"),
        Index("ix_booking_series_requester_id", "requester_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    resource_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("resources.id"), nullable=False)
    requester_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), nullable=False)
    #: RFC 5545 RRULE without DTSTART, e.g. FREQ=WEEKLY;COUNT=52;BYDAY=TU.
    rule: Mapped[str] = mapped_column(String(500), nullable=False)
    #: The zone whose wall-clock time the occurrences keep (SITE_TIMEZONE when requested).
    timezone: Mapped[str] = mapped_column(String(64), nullable=False)
    first_start: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    first_end: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    purpose: Mapped[str] = mapped_column(Text, nullable=False)
    priority: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    #: Starts (UTC ISO) the requester chose to skip because something was in the way (EXDATEs).
    skipped_starts: Mapped[list] = mapped_column(JSONType, nullable=False, default=list)
    created_at: Mapped[datetime] = stamp_column()
    updated_at: Mapped[datetime] = stamp_column(on_update=True)

    resource: Mapped[Resource] = relationship(lazy="joined", innerjoin=True)
    requester: Mapped[User] = relationship(lazy="joined", innerjoin=True)


class Booking(Base):
    """A request for a resource over [start_time, end_time).

    Migrations add what the ORM cannot say: on PostgreSQL the exclusion constraint
    ex_bookings_no_overlapping_approved_in_scope (no two approved bookings overlap within one
    `scope_id`) and ck_bookings_max_duration (24 hours); on SQLite, triggers with the same
    effect. Triggers on both keep `scope_id` equal to the resource's safety zone (or the
    resource itself when it has none), including when a resource changes zone.
    """

    __tablename__ = "bookings"
    __table_args__ = (
        CheckConstraint("end_time > start_time", name="valid_time_range"),
        CheckConstraint("priority >= 0 AND priority <= 10", name="priority_range"),
        Index("idx_bookings_resource", "resource_id"),
        Index("idx_bookings_requester", "requester_id"),
        Index("idx_bookings_status", "status"),
        Index("idx_bookings_time", "start_time", "end_time"),
        Index("ix_bookings_resource_status_start", "resource_id", "status", "start_time"),
        Index("ix_bookings_status_start_cover", "status", "start_time", "end_time", "resource_id"),
        Index("ix_bookings_requester_status_start_cover", "requester_id", "status", "start_time",
              "end_time", "resource_id"),
        # Partial: most bookings belong to no series, and SQLite's planner statistics would
        # count every NULL as one value and refuse the index (a full scan at 1,000,000 rows).
        Index("ix_bookings_series_id", "series_id",
              sqlite_where=text("series_id IS NOT NULL"),
              postgresql_where=text("series_id IS NOT NULL")),
        Index("ix_bookings_scope_status_start", "scope_id", "status", "start_time"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    resource_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("resources.id"), nullable=False)
    requester_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), nullable=False)
    start_time: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    end_time: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    status: Mapped[BookingStatus] = mapped_column(_enum(BookingStatus, "booking_status"),
                                                  nullable=False)
    purpose: Mapped[str | None] = mapped_column(Text)
    priority: Mapped[int] = mapped_column(Integer, server_default="0", default=0)
    decision_reason: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    bumped_by_booking_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("bookings.id"))
    #: The exclusive scope (safety zone id, else resource id). Written only by the database's
    #: triggers, never by the ORM: FetchedValue leaves it out of INSERT and UPDATE statements.
    scope_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, server_default=FetchedValue(),
                                                       server_onupdate=FetchedValue())
    conflict_at_request: Mapped[bool] = mapped_column(Boolean, nullable=False,
                                                      server_default=text("false"))
    #: The series this booking is an occurrence of, if any.
    series_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("booking_series.id"))
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_in_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    checked_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = stamp_column()
    updated_at: Mapped[datetime] = stamp_column(on_update=True)

    resource: Mapped[Resource] = relationship(lazy="joined", innerjoin=True)
    requester: Mapped[User] = relationship(foreign_keys=[requester_id], lazy="joined",
                                           innerjoin=True)


class CheckInRule(Base):
    """Per resource type: when check-in opens and closes, and how long a waitlist offer stands.

    A type without a row uses the defaults in engine.services.dayops. `required_since` NULL
    means check-in is optional there (nothing is released); otherwise approved bookings that
    start from that moment on and are not checked in by the end of the grace are released.
    """

    __tablename__ = "checkin_rules"
    __table_args__ = (
        CheckConstraint("opens_before_minutes >= 0 AND opens_before_minutes <= 1440",
                        name="opens_before_range"),
        CheckConstraint("grace_minutes >= 1 AND grace_minutes <= 720", name="grace_range"),
        CheckConstraint("offer_minutes >= 5 AND offer_minutes <= 10080", name="offer_range"),
    )

    resource_type: Mapped[str] = mapped_column(String(50), primary_key=True)
    opens_before_minutes: Mapped[int] = mapped_column(Integer, nullable=False)
    grace_minutes: Mapped[int] = mapped_column(Integer, nullable=False)
    offer_minutes: Mapped[int] = mapped_column(Integer, nullable=False)
    required_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class WaitlistEntry(Base):
    """A member waiting for a window that conflicted; offered as a pending request when it frees.

    The partial unique index keeps a member to one live entry per resource and window; the
    unique booking_id keeps one offer per entry.
    """

    __tablename__ = "waitlist_entries"
    __table_args__ = (
        CheckConstraint("end_time > start_time", name="valid_time_range"),
        CheckConstraint("priority >= 0 AND priority <= 10", name="priority_range"),
        Index("ix_waitlist_entries_resource_status_start", "resource_id", "status", "start_time"),
        Index("ix_waitlist_entries_status_expires", "status", "offer_expires_at"),
        Index("ix_waitlist_entries_requester_id", "requester_id"),
        Index("uq_waitlist_entries_live_window", "requester_id", "resource_id", "start_time",
              "end_time", unique=True,
              sqlite_where=text("status IN ('waiting', 'offered')"),
              postgresql_where=text("status IN ('waiting', 'offered')")),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    resource_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("resources.id"), nullable=False)
    requester_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), nullable=False)
    start_time: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    end_time: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    purpose: Mapped[str] = mapped_column(Text, nullable=False)
    priority: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    status: Mapped[WaitlistStatus] = mapped_column(_enum(WaitlistStatus, "waitlist_status"),
                                                   nullable=False)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    offered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    offer_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    booking_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("bookings.id"), unique=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    resource: Mapped[Resource] = relationship(lazy="joined", innerjoin=True)
    requester: Mapped[User] = relationship(foreign_keys=[requester_id], lazy="joined",
                                           innerjoin=True)


class AuditLog(Base):
    """Append-only: the database refuses UPDATE and DELETE on this table (see migrations)."""

    __tablename__ = "audit_logs"
    __table_args__ = (
        Index("idx_audit_booking", "booking_id"),
        Index("idx_audit_actor", "actor_id"),
        Index("idx_audit_timestamp", "timestamp"),
        Index("ix_audit_logs_entity", "entity_type", "entity_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    booking_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("bookings.id"))
    actor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), nullable=False)
    action: Mapped[str] = mapped_column(String(50), nullable=False)
    details: Mapped[str | None] = mapped_column(Text)
    previous_state: Mapped[dict | None] = mapped_column(JSONType)
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime, server_default=NOW,
                                                default=lambda: datetime.now(UTC))
    entity_type: Mapped[str | None] = mapped_column(String(30))
    entity_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)


class AuthSession(Base):
    """A sign-in that can be revoked: dashboard cookies and API refresh tokens.

    Only a SHA-256 of the token is stored, so a database leak yields no usable tokens.
    """

    __tablename__ = "auth_sessions"
    __table_args__ = (Index("ix_auth_sessions_user_id", "user_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PasswordResetToken(Base):
    """A one-time "forgot password" link: only a SHA-256 of its random token is stored, with an
    expiry; `used_at` is set by the reset that spends it (engine/services/password_reset.py)."""

    __tablename__ = "password_reset_tokens"
    __table_args__ = (Index("ix_password_reset_tokens_user_id", "user_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class BookingPolicy(Base):
    """Rules for one resource type, or one resource's overrides of its type's rules.

    Empty fields inherit (resource → type → default). Quotas count per member per type, so
    only a type's row holds them (the database refuses them on a resource's row).
    """

    __tablename__ = "booking_policies"
    __table_args__ = (
        CheckConstraint("(resource_type IS NULL) <> (resource_id IS NULL)", name="one_scope"),
        CheckConstraint("resource_id IS NULL OR (quota_hours_per_week IS NULL AND "
                        "quota_hours_per_month IS NULL AND max_open_bookings IS NULL)",
                        name="quotas_per_type"),
        CheckConstraint("min_notice_minutes IS NULL OR min_notice_minutes >= 0",
                        name="notice_range"),
        CheckConstraint("max_advance_days IS NULL OR max_advance_days >= 1", name="advance_range"),
        CheckConstraint("min_length_minutes IS NULL OR min_length_minutes >= 15",
                        name="min_length_range"),
        CheckConstraint("max_length_minutes IS NULL OR max_length_minutes <= 1440",
                        name="max_length_range"),
        CheckConstraint("min_length_minutes IS NULL OR max_length_minutes IS NULL OR "
                        "min_length_minutes <= max_length_minutes", name="length_order"),
        CheckConstraint("(quota_hours_per_week IS NULL OR quota_hours_per_week > 0) AND "
                        "(quota_hours_per_month IS NULL OR quota_hours_per_month > 0) AND "
                        "(max_open_bookings IS NULL OR max_open_bookings > 0)",
                        name="quotas_positive"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    resource_type: Mapped[str | None] = mapped_column(String(50), unique=True)
    resource_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("resources.id"), unique=True)
    approval_mode: Mapped[ApprovalMode | None] = mapped_column(
        _enum(ApprovalMode, "approval_mode"))
    min_notice_minutes: Mapped[int | None] = mapped_column(Integer)
    max_advance_days: Mapped[int | None] = mapped_column(Integer)
    min_length_minutes: Mapped[int | None] = mapped_column(Integer)
    max_length_minutes: Mapped[int | None] = mapped_column(Integer)
    quota_hours_per_week: Mapped[int | None] = mapped_column(Integer)
    quota_hours_per_month: Mapped[int | None] = mapped_column(Integer)
    max_open_bookings: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=NOW)
    updated_at: Mapped[datetime] = updated_at_column()


class ResourceApprover(Base):
    """A staff member named to decide requests for a resource type, a safety zone or a resource.

    The most specific assignment wins (resource, then zone, then type); a resource with none
    is decided by any staff member, as before.
    """

    __tablename__ = "resource_approvers"
    __table_args__ = (
        CheckConstraint("(CASE WHEN resource_type IS NULL THEN 0 ELSE 1 END) + "
                        "(CASE WHEN safety_zone_id IS NULL THEN 0 ELSE 1 END) + "
                        "(CASE WHEN resource_id IS NULL THEN 0 ELSE 1 END) = 1", name="one_scope"),
        Index("ix_resource_approvers_user_id", "user_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), nullable=False)
    resource_type: Mapped[str | None] = mapped_column(String(50))
    safety_zone_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("safety_zones.id"))
    resource_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("resources.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=NOW)

    user: Mapped[User] = relationship(lazy="joined", innerjoin=True)


class BookingSignOff(Base):
    """One approver's sign-off on a two-person booking, for the window it had when signed.

    The unique key makes the same person signing the same window twice impossible.
    """

    __tablename__ = "booking_sign_offs"
    __table_args__ = (
        UniqueConstraint("booking_id", "signer_id", "resource_id", "start_time", "end_time",
                         name="uq_booking_sign_offs_once"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    booking_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("bookings.id"), nullable=False)
    signer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), nullable=False)
    resource_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("resources.id"), nullable=False)
    start_time: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    end_time: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    signer: Mapped[User] = relationship(lazy="joined", innerjoin=True)


class OutboxMessage(Base):
    """One e-mail to send, written in the same transaction as the change it tells about.

    The notify worker claims due rows (FOR UPDATE SKIP LOCKED on PostgreSQL, BEGIN IMMEDIATE
    on SQLite) under a lease, sends them, and marks them sent only after the SMTP server has
    accepted them. `dedupe_key` is unique: scheduled messages (reminders, digests) use it so
    two workers can never enqueue the same one twice.
    """

    __tablename__ = "notification_outbox"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'sent', 'failed', 'skipped')",
                        name="status_known"),
        CheckConstraint("attempts >= 0", name="attempts_non_negative"),
        Index("ix_notification_outbox_due", "status", "next_attempt_at"),
        Index("ix_notification_outbox_booking_id", "booking_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    kind: Mapped[str] = mapped_column(String(50), nullable=False)
    recipient_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    recipient_email: Mapped[str] = mapped_column(String(255), nullable=False)
    booking_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("bookings.id"))
    context: Mapped[dict] = mapped_column(JSONType, nullable=False)
    subject: Mapped[str | None] = mapped_column(Text)
    body_text: Mapped[str | None] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(20), nullable=False, server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class NotificationPreference(Base):
    """A person's choice for one kind of message; no row means the kind's default (on)."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(50), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class CalendarFeed(Base):
    """A private iCalendar subscription URL. Only a SHA-256 of the token is stored."""

    __tablename__ = "calendar_feeds"
    __table_args__ = (
        CheckConstraint("scope IN ('mine', 'resource', 'zone')", name="scope_known"),
        CheckConstraint("(scope = 'resource') = (resource_id IS NOT NULL) AND "
                        "(scope = 'zone') = (safety_zone_id IS NOT NULL)", name="scope_target"),
        Index("ix_calendar_feeds_owner_id", "owner_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), nullable=False)
    scope: Mapped[str] = mapped_column(String(20), nullable=False)
    resource_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("resources.id"))
    safety_zone_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("safety_zones.id"))
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RateLimitCounter(Base):
    """One rate-limit window's count for one key (client IP, user, or hashed account name),
    shared by every API replica. UNLOGGED on PostgreSQL: counters need no crash safety."""

    __tablename__ = "rate_limit_counters"
    __table_args__ = (Index("ix_rate_limit_counters_expires_at", "expires_at"),)

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    #: Unix seconds at which the window began (windows are aligned to multiples of their length).
    window_start: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    hits: Mapped[int] = mapped_column(Integer, nullable=False)
    expires_at: Mapped[int] = mapped_column(BigInteger, nullable=False)


class SignInThrottle(Base):
    """Failed sign-ins per (e-mail as typed, source address), for accounts and unknown e-mails
    alike, so throttling tells a stranger nothing. An attempt is counted before its password is
    checked, under a row lock, so parallel guesses cannot outrun the count; a success deletes
    the row. See engine/services/throttle.py."""

    __tablename__ = "sign_in_throttles"

    account_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
