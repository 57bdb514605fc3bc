"""Demo data: a realistic range complex with a few months of bookings in every status.

Rows are written directly (past bookings cannot be requested through the services), but every
booking gets the audit entries the services would have written, and approved bookings never
overlap on a resource or within a safety zone.
"""
from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select

from engine.audit import record, snapshot
from engine.db import Database
from engine.domain.audit_actions import AuditAction
from engine.domain.overlap import overlaps
from engine.domain.permissions import Role
from engine.domain.status import BookingStatus
from engine.models import Blackout, Booking, CheckInRule, Resource, SafetyZone, User
from engine.passwords import hash_password
from engine.services.users import new_user
from engine.system import count_people

#: Sign-in details for trying the app locally (also listed in the README).
DEMO_LOGINS = {
    "admin": ("admin@range.example", "admin-demo-pass"),
    "manager": ("manager@range.example", "manager-demo-pass"),
    "staff": ("staff@range.example", "staff-demo-pass"),
    "member": ("member@range.example", "member-demo-pass"),
}

ZONES = {
    "North Danger Area": "Ranges 1-3 share a danger area behind the north butts.",
    "South Danger Area": "Ranges 4-5 and Training Area Bravo share the south impact area.",
}
# name, type, zone, opens, closes, description
RESOURCES = [
    ("Range 1 (300 m rifle)", "range", "North Danger Area", time(8), time(18),
     "Gallery rifle to 300 m, 20 lanes"),
    ("Range 2 (100 m rifle)", "range", "North Danger Area", time(8), time(18),
     "Zeroing range, 12 lanes"),
    ("Range 3 (25 m pistol)", "range", "North Danger Area", time(8), time(20),
     "Pistol and gallery rifle"),
    ("Range 4 (clay and shotgun)", "range", "South Danger Area", time(9), time(17),
     "Trap and skeet layouts"),
    ("Range 5 (600 m long range)", "range", "South Danger Area", time(8), time(16),
     "Long-range precision"),
    ("Indoor Bay 1", "bay", None, time(9), time(21), "10 m air and .22"),
    ("Indoor Bay 2", "bay", None, time(9), time(21), "10 m air and .22"),
    ("Indoor Bay 3", "bay", None, time(9), time(21), "Action bay with turning targets"),
    ("Training Area Alpha", "training_area", None, time(6), time(22), "Woodland, dry training"),
    ("Training Area Bravo", "training_area", "South Danger Area", time(6), time(22),
     "Open ground, inside the south danger area"),
    ("Classroom A", "classroom", None, time(8), time(20), "30 seats, projector"),
    ("Classroom B", "classroom", None, time(8), time(20), "16 seats, first aid kit"),
    ("Minibus 1", "vehicle", None, None, None, "16 seats"),
    ("Range Land Rover", "vehicle", None, None, None, "Range safety vehicle"),
    ("Electronic Target System", "equipment", None, None, None, "Portable ETS for 4 lanes"),
    ("Chronograph Kit", "equipment", None, None, None, "Two chronographs and tripods"),
]
PURPOSES = ["Club practice night", "Probationary member training", "Competition practice",
            "Range officer course", "Zeroing session", "Junior section coaching",
            "Safety briefing", "League match", "Open day demonstration", "Equipment check",
            "Police liaison shoot", "Cadet training", "First aid refresher", "Maintenance party"]
MEMBERS = ["Alex Carter", "Sam Patel", "Jordan Lee", "Chris Morgan", "Taylor Reed",
           "Morgan Hughes", "Casey Evans", "Jamie Clarke", "Robin Shaw", "Drew Walsh",
           "Pat Kelly", "Kim Doyle"]


@dataclass
class DemoSummary:
    users: int
    resources: int
    bookings: int
    by_status: dict

    def __str__(self) -> str:
        statuses = ", ".join(f"{k} {v}" for k, v in sorted(self.by_status.items()))
        return (f"demo loaded: {self.users} users, {self.resources} resources, "
                f"{self.bookings} bookings ({statuses})")


def load_demo(db: Database, *, if_empty: bool = False, seed: int = 7, days_back: int = 90,
              days_ahead: int = 30, hash_rounds: int = 10) -> DemoSummary | str:
    rng = random.Random(seed)
    tz = db.settings.tz
    with db.uow() as uow:
        s = uow.session
        if count_people(s):
            if if_empty:
                return "demo skipped: the database already has users"
            raise RuntimeError("the database already has users: demo loads only into an empty one")
        now = uow.now
        users = {}
        for role, (email, password) in DEMO_LOGINS.items():
            name = {"admin": "Avery Admin", "staff": "Sasha Staff (Range Officer)",
                    "manager": "Max Manager", "member": "Mel Member"}[role]
            users[role] = new_user(email=email, name=name,
                                   role=Role(role if role != "member" else "user"),
                                   password_hash=hash_password(password, hash_rounds),
                                   created_at=now - timedelta(days=days_back + 30),
                                   updated_at=now)
        shared_hash = hash_password("member-demo-pass", hash_rounds)
        members = [users["member"]]
        for i, name in enumerate(MEMBERS):
            members.append(new_user(email=f"{name.split()[0].lower()}@range.example",
                                    name=name, role=Role.USER, password_hash=shared_hash,
                                    created_at=now - timedelta(days=days_back + 20 - i),
                                    updated_at=now))
        staff2 = new_user(email="ro2@range.example", name="Riley Range-Officer",
                          role=Role.STAFF, password_hash=shared_hash, created_at=now)
        s.add_all([*users.values(), *members[1:], staff2])
        s.flush()
        admin = users["admin"]
        deciders = [users["staff"], staff2]
        for u in [*users.values(), *members[1:], staff2]:
            record(s, actor_id=admin.id,
                   action=AuditAction.USER_REGISTERED, now=u.created_at, entity=u,
                   details={"email": u.email, "role": u.role.value})

        zones = {}
        for name, desc in ZONES.items():
            zones[name] = SafetyZone(id=uuid.uuid4(), name=name, description=desc,
                                     created_at=now, updated_at=now)
        s.add_all(zones.values())
        s.flush()
        resources = []
        for name, rtype, zone, opens, closes, desc in RESOURCES:
            r = Resource(id=uuid.uuid4(), name=name, resource_type=rtype, description=desc,
                         safety_zone_id=zones[zone].id if zone else None, is_active=True,
                         opens_at=opens, closes_at=closes, created_at=now, updated_at=now)
            resources.append(r)
        s.add_all(resources)
        s.flush()
        for r in resources:
            record(s, actor_id=admin.id, action=AuditAction.RESOURCE_CREATED, now=now, entity=r,
                   details={"name": r.name, "resource_type": r.resource_type})

        # Blackouts: a maintenance day on Range 1 next week, a closure on Bay 3 last month.
        today = now.astimezone(tz).date()
        blackouts = [
            (resources[0], datetime.combine(today + timedelta(days=6), time(8), tz),
             datetime.combine(today + timedelta(days=6), time(18), tz),
             "Butt repairs and target frame replacement"),
            (resources[7], datetime.combine(today - timedelta(days=20), time(9), tz),
             datetime.combine(today - timedelta(days=18), time(21), tz), "Baffle inspection"),
        ]
        busy: dict[uuid.UUID, list[tuple[datetime, datetime]]] = {}

        def scope(r: Resource) -> uuid.UUID:
            return r.safety_zone_id or r.id

        for r, start, end, reason in blackouts:
            b = Blackout(id=uuid.uuid4(), resource_id=r.id, start_time=start.astimezone(UTC),
                         end_time=end.astimezone(UTC), reason=reason,
                         created_by_id=admin.id, created_at=now)
            s.add(b)
            busy.setdefault(scope(r), []).append((b.start_time, b.end_time))
        s.flush()

        counts: dict[str, int] = {}
        total = 0
        for day_offset in range(-days_back, days_ahead + 1):
            day = today + timedelta(days=day_offset)
            for r in resources:
                if rng.random() < 0.45:
                    continue
                opens = r.opens_at or time(7)
                closes = r.closes_at or time(19)
                for _ in range(rng.randint(1, 3)):
                    hours = rng.choice([1, 1, 2, 2, 3, 4])
                    latest = closes.hour - hours
                    if latest < opens.hour:
                        continue
                    start = datetime.combine(day, time(rng.randint(opens.hour, latest)), tz)
                    end = (start + timedelta(hours=hours)).astimezone(UTC)
                    start = start.astimezone(UTC)
                    requester = rng.choice(members)
                    created = start - timedelta(days=rng.randint(1, 20), hours=rng.randint(0, 12))
                    taken = any(overlaps(start, end, a, b) for a, b in busy.get(scope(r), []))
                    status = _pick_status(rng, start, now, taken)
                    if start < now and status is BookingStatus.PENDING:
                        status = BookingStatus.DENIED
                    if created > now:
                        created = now - timedelta(hours=rng.randint(1, 48))
                    booking = Booking(
                        id=uuid.uuid4(), resource_id=r.id, requester_id=requester.id,
                        start_time=start, end_time=end, status=BookingStatus.PENDING,
                        purpose=rng.choice(PURPOSES), priority=rng.choice([0, 0, 1, 1, 2, 3, 5]),
                        conflict_at_request=taken, created_at=created, updated_at=created)
                    s.add(booking)
                    s.flush()
                    record(s, actor_id=requester.id, action=AuditAction.CREATED, now=created,
                           booking_id=booking.id, details={"resource": r.name, "start_time": start,
                                                           "end_time": end})
                    _decide(s, rng, booking, status, deciders, requester, created, now)
                    if status in (BookingStatus.APPROVED, BookingStatus.BUMPED):
                        busy.setdefault(scope(r), []).append((start, end))
                    counts[status.value] = counts.get(status.value, 0) + 1
                    total += 1
        _day_of_operations(s, rng, resources, now, counts)
        uow.commit()
        return DemoSummary(len(members) + 3, len(resources), total, counts)


CHECK_IN_TYPES = ("range", "bay")
CHECK_IN_HISTORY = timedelta(days=30)


def _day_of_operations(s, rng: random.Random, resources, now: datetime,
                       counts: dict[str, int]) -> None:
    """Check-in is required on ranges and bays since 30 days ago: most of their approved
    bookings since then were checked in, about one in eight was released as a no-show."""
    from engine.system import ensure_system_user

    since = now - CHECK_IN_HISTORY
    for rtype in CHECK_IN_TYPES:
        s.add(CheckInRule(resource_type=rtype, opens_before_minutes=30, grace_minutes=15,
                          offer_minutes=60, required_since=since, updated_at=now))
    system_id = ensure_system_user(s, now)
    ids = [r.id for r in resources if r.resource_type in CHECK_IN_TYPES]
    past = s.scalars(select(Booking).where(
        Booking.resource_id.in_(ids), Booking.status == BookingStatus.APPROVED,
        Booking.start_time >= since, Booking.start_time <= now - timedelta(minutes=15))
        .order_by(Booking.start_time, Booking.id)).all()
    for booking in past:
        if rng.random() < 0.125:
            previous = snapshot(booking)
            booking.status, booking.decided_by_id = BookingStatus.NO_SHOW, system_id
            booking.decided_at = booking.start_time + timedelta(minutes=15, seconds=30)
            booking.decision_reason = "not checked in by the end of the grace period"
            record(s, actor_id=system_id, action=AuditAction.NO_SHOW, now=booking.decided_at,
                   booking_id=booking.id, previous_state=previous,
                   details={"reason": booking.decision_reason, "by": "system"})
            counts["approved"] -= 1
            counts["no_show"] = counts.get("no_show", 0) + 1
        else:
            booking.checked_in_at = booking.start_time - timedelta(minutes=rng.randint(0, 25))
            booking.checked_in_by_id = booking.requester_id
    s.flush()


def _pick_status(rng: random.Random, start: datetime, now: datetime, taken: bool) -> BookingStatus:
    if taken:
        return rng.choice([BookingStatus.DENIED, BookingStatus.CANCELLED, BookingStatus.PENDING])
    roll = rng.random()
    if start > now + timedelta(days=3) and roll < 0.45:
        return BookingStatus.PENDING
    if roll < 0.70:
        return BookingStatus.APPROVED
    if roll < 0.82:
        return BookingStatus.DENIED
    if roll < 0.94:
        return BookingStatus.CANCELLED
    return BookingStatus.BUMPED


def _decide(s, rng, booking: Booking, status: BookingStatus, deciders, requester,
            created: datetime, now: datetime) -> None:
    """Walk the booking to `status` the way the services would, auditing each step."""
    from engine.audit import snapshot

    if status is BookingStatus.PENDING:
        return
    decided = min(created + timedelta(hours=rng.randint(1, 72)), now)
    staff = rng.choice(deciders)
    Step = tuple[BookingStatus, AuditAction, User, str | None]
    walks: dict[BookingStatus, list[Step]] = {
        BookingStatus.APPROVED: [(BookingStatus.APPROVED, AuditAction.APPROVED, staff, None)],
        BookingStatus.DENIED: [(BookingStatus.DENIED, AuditAction.DENIED, staff,
                                "Range already committed to another unit")],
        BookingStatus.CANCELLED: [(BookingStatus.CANCELLED, AuditAction.CANCELLED, requester,
                                   "Plans changed")],
        BookingStatus.BUMPED: [(BookingStatus.APPROVED, AuditAction.APPROVED, staff, None),
                               (BookingStatus.BUMPED, AuditAction.BUMPED, staff,
                                "Displaced by a higher-priority police qualification shoot")],
    }
    for i, (to, action, actor, reason) in enumerate(walks[status]):
        when = decided + timedelta(hours=i * rng.randint(1, 24))
        when = min(when, now)
        previous = snapshot(booking)
        booking.status = to
        booking.decided_by_id = actor.id
        booking.decided_at = when
        booking.updated_at = when
        booking.decision_reason = reason
        s.flush()
        record(s, actor_id=actor.id, action=action, now=when, booking_id=booking.id,
               previous_state=previous, details={"reason": reason} if reason else None)
