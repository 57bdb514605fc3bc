"""Private iCalendar subscription feeds: a person's own bookings, or (staff) a resource's or a
safety zone's approved bookings, behind a random token that can be revoked and renewed."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import ColumnElement, func, select

from engine.audit import record
from engine.db import UnitOfWork
from engine.domain.audit_actions import AuditAction
from engine.domain.permissions import Permission as P
from engine.domain.permissions import has_permission
from engine.domain.status import BookingStatus
from engine.errors import NotFoundError, ValidationError
from engine.logs import logged
from engine.models import AuditLog, Booking, CalendarFeed, Resource, SafetyZone, User
from engine.notifications import ical
from engine.notifications.outbox import booking_context
from engine.notifications.render import event_data
from engine.notifications.settings import NotifySettings, get_notify_settings
from engine.services.common import as_uuid, get_or_404, load_actor, require

SCOPES = ("mine", "resource", "zone")
#: What a feed holds: from 30 days back to a year ahead.
PAST, AHEAD = timedelta(days=30), timedelta(days=366)


@dataclass(frozen=True)
class FeedView:
    id: UUID
    scope: str
    target_id: UUID | None
    name: str
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class IssuedFeed:
    """A new feed and its token: the token is shown once (only its hash is stored)."""

    feed: FeedView
    token: str

    def url(self, api_url: str) -> str:
        return feed_url(api_url, self.token)


@dataclass(frozen=True)
class FeedBody:
    body: bytes
    etag: str
    last_modified: datetime


def feed_url(api_url: str, token: str) -> str:
    return f"{api_url.rstrip('/')}/api/v1/calendar/{token}.ics"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _name(uow: UnitOfWork, feed: CalendarFeed, owner: User) -> str:
    if feed.scope == "resource":
        return f"Range-Control: {uow.session.get_one(Resource, feed.resource_id).name}"
    if feed.scope == "zone":
        return f"Range-Control: zone {uow.session.get_one(SafetyZone, feed.safety_zone_id).name}"
    return f"Range-Control: {owner.name}"


def _view(uow: UnitOfWork, feed: CalendarFeed, owner: User) -> FeedView:
    return FeedView(feed.id, feed.scope, feed.resource_id or feed.safety_zone_id,
                    _name(uow, feed, owner), feed.created_at, feed.revoked_at)


def _issue(uow: UnitOfWork, actor: User, scope: str, resource_id, zone_id) -> IssuedFeed:
    token = secrets.token_urlsafe(32)
    feed = CalendarFeed(owner_id=actor.id, scope=scope, resource_id=resource_id,
                        safety_zone_id=zone_id, token_hash=_hash(token), created_at=uow.now)
    uow.session.add(feed)
    uow.session.flush()
    record(uow.session, actor_id=actor.id, action=AuditAction.CALENDAR_FEED_CREATED,
           now=uow.now, entity=feed, details={"scope": scope,
                                              "target": str(resource_id or zone_id or actor.id)})
    return IssuedFeed(_view(uow, feed, actor), token)


@logged("calendar_feed.create")
def create_feed(uow: UnitOfWork, actor_id: object, *, scope: str = "mine",
                target_id: object | None = None) -> IssuedFeed:
    """Everyone may subscribe to their own bookings; staff and admins also to a resource's or
    a safety zone's approved bookings."""
    with uow:
        actor = load_actor(uow, actor_id, P.BOOKING_VIEW_OWN)
        if scope not in SCOPES:
            raise ValidationError("scope", "must be one of " + ", ".join(SCOPES))
        resource_id = zone_id = None
        if scope == "mine":
            if target_id is not None:
                raise ValidationError("target_id", "is not used for your own bookings")
        else:
            require(actor, P.BOOKING_VIEW_ALL)
            if target_id is None:
                raise ValidationError("target_id", f"name the {scope} to subscribe to")
            if scope == "resource":
                resource_id = get_or_404(uow, Resource, target_id, "resource", "target_id").id
            else:
                zone_id = get_or_404(uow, SafetyZone, target_id, "safety zone", "target_id").id
        issued = _issue(uow, actor, scope, resource_id, zone_id)
        uow.commit()
        return issued


def list_feeds(uow: UnitOfWork, actor_id: object) -> list[FeedView]:
    """The caller's live feeds (revoked ones are gone for good)."""
    with uow.read():
        actor = load_actor(uow, actor_id, P.BOOKING_VIEW_OWN)
        feeds = uow.session.scalars(select(CalendarFeed).where(
            CalendarFeed.owner_id == actor.id, CalendarFeed.revoked_at.is_(None))
            .order_by(CalendarFeed.created_at, CalendarFeed.id)).all()
        return [_view(uow, f, actor) for f in feeds]


def _own_live_feed(uow: UnitOfWork, actor: User, feed_id: object) -> CalendarFeed:
    feed = uow.session.get(CalendarFeed, as_uuid("feed_id", feed_id))
    if feed is None or feed.owner_id != actor.id or feed.revoked_at is not None:
        raise NotFoundError("calendar feed", feed_id)
    return feed


def _revoke(uow: UnitOfWork, actor: User, feed: CalendarFeed, **details: object) -> None:
    """One home for ending a feed's token, with its audit entry (revoke and renew)."""
    feed.revoked_at = uow.now
    record(uow.session, actor_id=actor.id, action=AuditAction.CALENDAR_FEED_REVOKED,
           now=uow.now, entity=feed, previous_state={"revoked_at": None},
           details=details or None)


@logged("calendar_feed.revoke")
def revoke_feed(uow: UnitOfWork, actor_id: object, feed_id: object) -> FeedView:
    """The feed's URL answers 404 from now on."""
    with uow:
        actor = load_actor(uow, actor_id, P.BOOKING_VIEW_OWN)
        feed = _own_live_feed(uow, actor, feed_id)
        _revoke(uow, actor, feed)
        view = _view(uow, feed, actor)
        uow.commit()
        return view


@logged("calendar_feed.renew")
def renew_feed(uow: UnitOfWork, actor_id: object, feed_id: object) -> IssuedFeed:
    """Revoke a feed and issue a new token for the same bookings, in one transaction."""
    with uow:
        actor = load_actor(uow, actor_id, P.BOOKING_VIEW_OWN)
        feed = _own_live_feed(uow, actor, feed_id)
        if feed.scope != "mine":
            require(actor, P.BOOKING_VIEW_ALL)
        _revoke(uow, actor, feed, renewed=True)
        issued = _issue(uow, actor, feed.scope, feed.resource_id, feed.safety_zone_id)
        uow.commit()
        return issued


def calendar_feed(uow: UnitOfWork, token: str, settings: NotifySettings | None = None
                  ) -> FeedBody:
    """The feed behind a token (no other credentials). Unknown or revoked tokens, deactivated
    owners, and staff feeds of owners no longer staff all answer NotFoundError."""
    settings = settings or get_notify_settings()
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        raise NotFoundError("calendar feed", "token")
    with uow.read(snapshot=True):
        feed = uow.session.scalar(select(CalendarFeed).where(
            CalendarFeed.token_hash == _hash(token), CalendarFeed.revoked_at.is_(None)))
        owner = uow.session.get(User, feed.owner_id) if feed is not None else None
        if feed is None or owner is None or not owner.is_active or (
                feed.scope != "mine" and not has_permission(owner.role, P.BOOKING_VIEW_ALL)):
            raise NotFoundError("calendar feed", "token")
        lo, hi = uow.now - PAST, uow.now + AHEAD
        conds: list[ColumnElement[bool]] = [Booking.start_time < hi, Booking.end_time > lo]
        shown: tuple[BookingStatus, ...]
        if feed.scope == "mine":
            conds.append(Booking.requester_id == owner.id)
            shown = (BookingStatus.APPROVED, BookingStatus.PENDING)
        elif feed.scope == "resource":
            conds.append(Booking.resource_id == feed.resource_id)
            shown = (BookingStatus.APPROVED,)
        else:
            conds.append(Booking.resource_id.in_(select(Resource.id).where(
                Resource.safety_zone_id == feed.safety_zone_id)))
            shown = (BookingStatus.APPROVED,)
        changed = uow.session.scalar(select(func.max(Booking.updated_at)).where(*conds))
        bookings = uow.session.scalars(select(Booking).where(*conds, Booking.status.in_(shown))
                                       .order_by(Booking.start_time, Booking.id)).unique().all()
        sequences = dict(uow.session.execute(
            select(AuditLog.booking_id, func.count()).where(
                AuditLog.booking_id.in_([b.id for b in bookings]))
            .group_by(AuditLog.booking_id)).all()) if bookings else {}
        tz = uow.tz
        events = [event_data(booking_context(b), sequence=sequences.get(b.id, 0),
                             stamp=b.updated_at, tz=tz, settings=settings,
                             status="CONFIRMED" if b.status is BookingStatus.APPROVED
                             else "TENTATIVE") for b in bookings]
        body = ical.feed(events, _name(uow, feed, owner))
        last_modified = max(d for d in (changed, feed.created_at) if d is not None)
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        return FeedBody(body, etag, last_modified.replace(microsecond=0))
