"""How engine messages name a booking: whose, where and when, in the site's zone, never by id."""
from __future__ import annotations

from engine.models import Booking


def span(start, end, tz) -> str:
    s, e = start.astimezone(tz), end.astimezone(tz)
    tail = f"{e:%H:%M}" if s.date() == e.date() else f"{e:%a %d %b %H:%M}"
    return f"{s:%a %d %b} {s:%H:%M}–{tail}"


def booking_label(booking: Booking, tz) -> str:
    """"Casey Evans's booking on Indoor Bay 1, Sat 28 Nov 14:00–18:00"."""
    return (f"{booking.requester.name}'s booking on {booking.resource.name}, "
            f"{span(booking.start_time, booking.end_time, tz)}")


def booking_reference_clause(uow, column, reference: object):
    """A filter on a booking-id column that takes the short reference pages show (the first
    8 hex digits of the id) as well as the full id."""
    import re

    from sqlalchemy import String, cast, select

    from engine.errors import ValidationError
    from engine.services.common import as_uuid

    text = str(reference or "").strip().lower()
    if re.fullmatch(r"[0-9a-f]{4,8}", text):
        return column.in_(select(Booking.id).where(cast(Booking.id, String).like(f"{text}%")))
    if len(text) < 32:
        raise ValidationError("booking_id", "must be a booking reference (8 characters, as "
                                            "shown in the tables) or a full booking id")
    return column == as_uuid("booking_id", text)


def names(uow, ids) -> dict[str, str]:
    """Readable names for the ids that audit entries carry: people, resources, zones,
    bookings and blackouts, in a handful of queries."""
    from sqlalchemy import select

    from engine.errors import ValidationError
    from engine.models import Blackout, Resource, SafetyZone, User
    from engine.services.common import as_uuid

    wanted = set()
    for ident in ids:
        try:
            wanted.add(as_uuid("id", ident))
        except ValidationError:
            continue
    if not wanted:
        return {}
    found: dict[str, str] = {}
    for model, label in ((User, lambda u: u.name), (Resource, lambda r: r.name),
                         (SafetyZone, lambda z: z.name),
                         (Booking, lambda b: booking_label(b, uow.tz)),
                         (Blackout, lambda x: f"blackout on {x.resource.name}, "
                                              f"{span(x.start_time, x.end_time, uow.tz)}")):
        for row in uow.session.scalars(select(model).where(model.id.in_(wanted))):
            found[str(row.id)] = label(row)
    return found
