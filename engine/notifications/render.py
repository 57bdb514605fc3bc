"""Outbox row -> e-mail: Jinja2 templates (plain text and HTML), times in the site's zone,
a link into the dashboard, and an iCalendar attachment for the kinds that carry one."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, TemplateNotFound, select_autoescape

from engine.notifications import ical
from engine.notifications.events import (
    ICAL_METHOD,
    NotificationEvent,
    ScheduledKind,
    SeriesEvent,
)
from engine.notifications.settings import NotifySettings

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATUS_LABELS = {"pending": "Pending approval", "approved": "Approved", "denied": "Denied",
                 "cancelled": "Cancelled", "bumped": "Bumped", "no_show": "Released (no-show)"}


@lru_cache(maxsize=1)
def environment() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                       trim_blocks=False, keep_trailing_newline=True)


@dataclass(frozen=True)
class Outgoing:
    """What the worker needs from a row to build the e-mail."""

    id: str
    kind: str
    recipient_email: str
    context: dict
    created_at: datetime
    subject: str | None = None
    body_text: str | None = None
    body_html: str | None = None


def _dt(value: str | datetime) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def window(start: str | datetime, end: str | datetime, tz: ZoneInfo, short: bool = False) -> str:
    """'Tue 08 Jan 2030, 09:00-11:00 (Europe/London)' in the site's zone."""
    s, e = _dt(start).astimezone(tz), _dt(end).astimezone(tz)
    day = f"{s:%a %d %b}" if short else f"{s:%a %d %b %Y}"
    end_text = f"{e:%H:%M}" if e.date() == s.date() else f"{e:%a %d %b %H:%M}"
    text = f"{day}, {s:%H:%M}-{end_text}"
    return text if short else f"{text} ({tz.key})"


def _starts_in(start: datetime, now: datetime) -> str:
    hours = (start - now) / timedelta(hours=1)
    if hours < 1:
        return f"in {max(1, round(hours * 60))} minutes"
    if hours < 36:
        return f"in {round(hours)} hours"
    return f"in {round(hours / 24)} days"


def dashboard_link(kind: str, ctx: dict, base: str) -> tuple[str | None, str | None]:
    """Where the e-mail's button lands: the page the reader acts on, with the thing singled
    out (approvers: the queue at that request; a waitlist offer: My waitlist at that offer;
    a member: My bookings at that booking)."""
    if kind == NotificationEvent.REQUESTED.value and ctx.get("booking_id"):
        return (f"{base}/approval_queue?booking={ctx['booking_id']}",
                "Open the request in the approval queue")
    if kind in (NotificationEvent.REQUESTED.value, SeriesEvent.REQUESTED.value,
                ScheduledKind.DIGEST.value):
        return f"{base}/approval_queue", "Open the approval queue"
    if kind == "waitlist_offer" and ctx.get("waitlist_entry_id"):
        return f"{base}/my_waitlist?entry={ctx['waitlist_entry_id']}", "Open My waitlist"
    if ctx.get("booking_id"):
        return f"{base}/my_bookings?booking={ctx['booking_id']}", "Open it in My bookings"
    return None, None


def template_context(row: Outgoing, tz: ZoneInfo, settings: NotifySettings) -> dict:
    ctx = dict(row.context)
    base = settings.dashboard_url.rstrip("/")
    ctx["preferences_link"] = f"{base}/account"
    if "start_time" in ctx and "end_time" in ctx:
        ctx["window"] = window(ctx["start_time"], ctx["end_time"], tz)
        ctx["window_short"] = window(ctx["start_time"], ctx["end_time"], tz, short=True)
        ctx["starts_in"] = _starts_in(_dt(ctx["start_time"]), row.created_at)
    if ctx.get("old_start_time"):
        ctx["old_window"] = window(ctx["old_start_time"], ctx["old_end_time"], tz)
    if isinstance(ctx.get("blackout"), dict):
        ctx["blackout_window"] = window(ctx["blackout"]["start_time"],
                                        ctx["blackout"]["end_time"], tz)
    ctx["status"] = STATUS_LABELS.get(str(ctx.get("status")), ctx.get("status"))
    ctx["link"], ctx["link_label"] = dashboard_link(row.kind, ctx, base)
    if isinstance(ctx.get("series"), dict):
        for o in ctx["series"].get("occurrences", []):
            o["window"] = window(o["start_time"], o["end_time"], tz, short=True)
            o["status"] = STATUS_LABELS.get(o.get("status"), o.get("status"))
    if ctx.get("offer_expires_at"):
        ctx["offer_expires"] = f"{_dt(ctx['offer_expires_at']).astimezone(tz):%a %d %b %H:%M}"
    for b in ctx.get("pending", []) + ctx.get("soon", []):
        b["window"] = window(b["start_time"], b["end_time"], tz, short=True)
        if b.get("created_at"):
            b["requested"] = f"{_dt(b['created_at']).astimezone(tz):%a %d %b %H:%M}"
        b["status"] = STATUS_LABELS.get(b.get("status"), b.get("status"))
    return ctx


def _template(kind: str, ext: str, context: dict):
    """The kind's own template; any other kind about a booking uses `booking_update`."""
    env = environment()
    try:
        return env.get_template(f"{kind}.{ext}")
    except TemplateNotFound:
        if context.get("booking_id") and context.get("start_time"):
            return env.get_template(f"booking_update.{ext}")
        raise


def render_bodies(row: Outgoing, tz: ZoneInfo, settings: NotifySettings) -> tuple[str, str, str]:
    """(subject, text, html). Ready-written rows are used as they are."""
    if row.subject is not None and row.body_text is not None:
        return row.subject, row.body_text, row.body_html or ""
    ctx = template_context(row, tz, settings)
    text = _template(row.kind, "txt", ctx).render(ctx)
    subject, _, body = text.partition("\n===\n")
    subject = " ".join(subject.split())
    html = _template(row.kind, "html", ctx).render(ctx | {"subject": subject})
    return subject, body.strip() + "\n", html


def event_data(ctx: dict, *, sequence: int, stamp: datetime, status: str, tz: ZoneInfo,
               settings: NotifySettings, organizer: str | None = None,
               attendee: str | None = None, attendee_name: str | None = None) -> ical.EventData:
    where = ctx.get("resource_name") or "Range-Control"
    if ctx.get("zone_name"):
        where = f"{where} ({ctx['zone_name']})"
    lines = [f"Resource: {where}",
             f"When: {window(ctx['start_time'], ctx['end_time'], tz)}"]
    if ctx.get("purpose"):
        lines.append(f"Purpose: {ctx['purpose']}")
    if ctx.get("requester_name"):
        lines.append(f"Requested by: {ctx['requester_name']}")
    url = f"{settings.dashboard_url.rstrip('/')}/my_bookings?booking={ctx['booking_id']}"
    return ical.EventData(
        booking_id=ctx["booking_id"], start=_dt(ctx["start_time"]), end=_dt(ctx["end_time"]),
        summary=f"{ctx.get('resource_name') or 'Booking'}: {ctx.get('purpose') or 'booking'}",
        location=where, description="\n".join(lines), status=status, sequence=sequence,
        stamp=stamp, url=url, organizer=organizer, attendee=attendee, attendee_name=attendee_name)


def build_email(row: Outgoing, *, sender: str, domain: str, tz: ZoneInfo,
                settings: NotifySettings, sequence: int | None = None) -> EmailMessage:
    """The e-mail for one outbox row. Its Message-ID is derived from the row id, so a resend
    after a crash carries the same Message-ID (receivers can drop the duplicate)."""
    subject, text, html = render_bodies(row, tz, settings)
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = sender
    msg["To"] = row.recipient_email
    msg["Date"] = format_datetime(row.created_at)
    msg["Message-ID"] = f"<{row.id}@{domain}>"
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Range-Control-Kind"] = row.kind
    msg.set_content(text)
    if html:
        msg.add_alternative(html, subtype="html")
    method = ICAL_METHOD.get(row.kind)
    if method == "REQUEST" and row.context.get("status") != "approved":
        method = None  # a pending request is not put in anyone's calendar
    if method and sequence is not None and row.context.get("booking_id"):
        status = "CANCELLED" if method == "CANCEL" else "CONFIRMED"
        data = event_data(row.context, sequence=sequence, stamp=row.created_at, status=status,
                          tz=tz, settings=settings, organizer=sender,
                          attendee=row.recipient_email,
                          attendee_name=row.context.get("recipient_name"))
        msg.add_attachment(ical.invitation(data, method), maintype="text", subtype="calendar",
                           filename="booking.ics",
                           params={"method": method, "charset": "utf-8"})
    return msg
