"""Calendar subscription feeds (token only, no sign-in) and each person's feeds and e-mail
preferences (/users/me/...)."""
from __future__ import annotations

from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Literal
from uuid import UUID

from fastapi import APIRouter, Header, Response
from pydantic import BaseModel, ConfigDict, StrictBool

from api.deps import DB, Me
from api.errors import ERROR_RESPONSES
from engine import services
from engine.notifications.settings import get_notify_settings

router = APIRouter(tags=["notifications"], responses=ERROR_RESPONSES)


class FeedOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: UUID
    scope: str
    target_id: UUID | None
    name: str
    created_at: datetime


class IssuedFeedOut(FeedOut):
    token: str
    url: str


class FeedIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scope: Literal["mine", "resource", "zone"] = "mine"
    target_id: UUID | None = None


class PreferenceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    kind: str
    label: str
    enabled: bool


def _issued(issued: services.IssuedFeed) -> IssuedFeedOut:
    return IssuedFeedOut(**FeedOut.model_validate(issued.feed).model_dump(), token=issued.token,
                         url=issued.url(get_notify_settings().api_url))


@router.get("/calendar/{token}.ics", response_class=Response, responses={
    200: {"content": {"text/calendar": {}}, "description": "the iCalendar feed"},
    304: {"description": "unchanged since the ETag / date the client sent"},
    404: {"description": "unknown or revoked token"}})
def calendar_feed(token: str, db: DB, if_none_match: str | None = Header(None),
                  if_modified_since: str | None = Header(None)):
    """A private iCalendar feed. The token in the URL is the only credential; revoke or renew
    it on the Account page. Poll with If-None-Match / If-Modified-Since for a cheap 304."""
    feed = services.calendar_feed(db.uow(), token)
    headers = {"ETag": feed.etag, "Last-Modified": format_datetime(feed.last_modified,
                                                                   usegmt=True),
               "Cache-Control": "private, max-age=300"}
    if if_none_match is not None:
        if feed.etag in {t.strip() for t in if_none_match.split(",")} or if_none_match == "*":
            return Response(status_code=304, headers=headers)
    elif if_modified_since:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            since = None
        if since is not None and since.tzinfo is not None and feed.last_modified <= since:
            return Response(status_code=304, headers=headers)
    return Response(feed.body, media_type="text/calendar; charset=utf-8", headers=headers)


@router.get("/users/me/calendar-feeds", response_model=list[FeedOut])
def my_feeds(db: DB, me: Me):
    return services.list_feeds(db.uow(), me.id)


@router.post("/users/me/calendar-feeds", status_code=201, response_model=IssuedFeedOut)
def create_feed(body: FeedIn, db: DB, me: Me):
    """A new subscription URL (shown once). Staff and admins may subscribe to a resource's or
    a safety zone's approved bookings (`scope`, `target_id`)."""
    return _issued(services.create_feed(db.uow(), me.id, scope=body.scope,
                                        target_id=body.target_id))


@router.post("/users/me/calendar-feeds/{feed_id}/renew", status_code=201,
             response_model=IssuedFeedOut)
def renew_feed(feed_id: UUID, db: DB, me: Me):
    """Revoke the feed's URL and issue a new one for the same bookings."""
    return _issued(services.renew_feed(db.uow(), me.id, feed_id))


@router.delete("/users/me/calendar-feeds/{feed_id}", status_code=204, response_class=Response)
def revoke_feed(feed_id: UUID, db: DB, me: Me):
    services.revoke_feed(db.uow(), me.id, feed_id)
    return Response(status_code=204)


@router.get("/users/me/notification-preferences", response_model=list[PreferenceOut])
def my_preferences(db: DB, me: Me):
    """The kinds of e-mail you may receive, each on or off."""
    return services.get_preferences(db.uow(), me.id)


@router.put("/users/me/notification-preferences", response_model=list[PreferenceOut])
def set_preferences(body: dict[str, StrictBool], db: DB, me: Me):
    """Switch kinds on or off, e.g. `{"reminder": false, "digest": false}`."""
    return services.set_preferences(db.uow(), me.id, body)
