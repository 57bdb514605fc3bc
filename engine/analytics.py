"""Management figures as SQL aggregates over a Session (the booked side never leaves the database).

Periods are calendar buckets in the site time zone `tz`: days, ISO weeks (Monday first) or
months. `start`/`end` are local dates and the range is [start, end); a bucket that sticks out of
the range is clipped to it but keeps its calendar label (`period_start`).

Local bucket boundaries are computed here in Python (a few hundred at most, daylight saving
included) and sent to the database as UTC instants: PostgreSQL places rows with width_bucket()
over that sorted array in one pass; SQLite, which has neither time zones nor width_bucket, joins
bookings to a small table of the bounds through the (status, start_time) index. Durations are
rounded to whole seconds per row, so both databases sum the same integers and agree exactly.
The bookable side (operating hours minus blackouts) is computed from the small resources x
days set in Python; bookings are never loaded.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import (
    DateTime,
    Float,
    Integer,
    Interval,
    and_,
    bindparam,
    case,
    func,
    join,
    literal,
    not_,
    or_,
    select,
    text,
    true,
    tuple_,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from engine.domain.audit_actions import AuditAction
from engine.domain.overlap import merge_intervals, overlaps_clause
from engine.domain.rules import MAX_DURATION, day_window, local_midnight_utc
from engine.domain.status import BookingStatus
from engine.errors import ValidationError
from engine.models import AuditLog, Blackout, Booking, Resource, SafetyZone, UTCDateTime

Period = Literal["day", "week", "month"]
GroupBy = Literal["resource", "type", "zone"]
PERIODS: tuple[str, ...] = ("day", "week", "month")
GROUP_BYS: tuple[str, ...] = ("resource", "type", "zone")
#: Guards against a "per day for ten years" request building thousands of bucket rows.
MAX_BUCKETS = 1000
NO_ZONE_KEY, NO_ZONE_LABEL = "-", "(no safety zone)"


@dataclass(frozen=True)
class UtilizationRow:
    period_start: date | None  # None: the whole range, no periods
    group_key: str
    label: str
    booked_hours: float
    bookable_hours: float
    utilization: float  # 0..1; 0 when bookable is 0


@dataclass(frozen=True)
class RateRow:
    period_start: date | None  # None: the whole range, no periods
    numerator: int
    denominator: int
    rate: float  # 0 when the denominator is 0


@dataclass(frozen=True)
class TurnaroundRow:
    period_start: date | None
    decided: int
    p50_hours: float | None
    p90_hours: float | None


@dataclass(frozen=True)
class DailyCountRow:
    day: date
    status: str
    count: int


@dataclass(frozen=True)
class BumpCancelRow:
    period_start: date | None  # None: the whole range, no periods
    bumps: int
    cancellations: int


@dataclass(frozen=True)
class Bucket:
    """One calendar period, clipped to the report range, with its bounds in UTC."""

    index: int
    period_start: date | None
    first_day: date
    end_day: date  # exclusive
    utc_from: datetime
    utc_to: datetime


# ---------------------------------------------------------------- calendar (Python, small)

def _check_range(start: object, end: object) -> tuple[date, date]:
    for field, value in (("start", start), ("end", end)):
        if isinstance(value, datetime) or not isinstance(value, date):
            raise ValidationError(field, "must be a date (YYYY-MM-DD)")
    assert isinstance(start, date) and isinstance(end, date)
    if end <= start:
        raise ValidationError("end", "must be after start (the range is [start, end))")
    return start, end


def _check_choice(field: str, value: object, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValidationError(field, f"must be one of: {', '.join(choices)}")
    return str(value)


def period_start_of(day: date, period: Period) -> date:
    if period == "day":
        return day
    if period == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def _next_period(label: date, period: Period) -> date:
    if period == "day":
        return label + timedelta(days=1)
    if period == "week":
        return label + timedelta(days=7)
    return (label.replace(day=28) + timedelta(days=4)).replace(day=1)


def buckets(start: date, end: date, tz: ZoneInfo, period: Period | None) -> list[Bucket]:
    """The calendar periods covering [start, end); one unlabelled bucket when period is None."""
    start, end = _check_range(start, end)
    if period is None:
        return [Bucket(0, None, start, end, local_midnight_utc(start, tz),
                       local_midnight_utc(end, tz))]
    _check_choice("period", period, PERIODS)
    out: list[Bucket] = []
    label = period_start_of(start, period)
    while label < end:
        nxt = _next_period(label, period)
        first, last = max(label, start), min(nxt, end)
        out.append(Bucket(len(out), label, first, last, local_midnight_utc(first, tz),
                          local_midnight_utc(last, tz)))
        if len(out) > MAX_BUCKETS:
            raise ValidationError("period", f"gives more than {MAX_BUCKETS} periods for this "
                                  "range: choose a coarser period or a shorter range")
        label = nxt
    return out


def _bucket_table(items: list[Bucket], lookback: timedelta = timedelta(0)) -> Any:
    """The buckets as a tiny CTE (k, b_from, b_to, scan_from) that bookings join to."""
    selects = [
        select(literal(b.index, Integer).label("k"),
               literal(b.utc_from, UTCDateTime).label("b_from"),
               literal(b.utc_to, UTCDateTime).label("b_to"),
               literal(b.utc_from - lookback, UTCDateTime).label("scan_from"))
        for b in items
    ]
    return (selects[0] if len(selects) == 1 else union_all(*selects)).cte("buckets")


# ---------------------------------------------------------------- dialect helpers

def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _seconds(dialect: str, later: Any, earlier: Any) -> Any:
    """Whole seconds between two timestamps, per row (so both databases sum the same integers)."""
    if dialect == "postgresql":
        return func.round(func.extract("epoch", later - earlier))
    return func.round((func.julianday(later) - func.julianday(earlier)) * 86400.0)


def _least(dialect: str, a: Any, b: Any) -> Any:
    return func.least(a, b) if dialect == "postgresql" else func.min(a, b)


def _greatest(dialect: str, a: Any, b: Any) -> Any:
    return func.greatest(a, b) if dialect == "postgresql" else func.max(a, b)


def _hours(seconds: float | int | None) -> float:
    return round(float(seconds or 0) / 3600.0, 4)


def _rate(num: int, den: int) -> float:
    return round(num / den, 6) if den else 0.0


# ---------------------------------------------------------------- utilization

def _group_column(group_by: GroupBy) -> Any:
    return {"resource": Resource.id, "type": Resource.resource_type,
            "zone": Resource.safety_zone_id}[group_by]


def _group_key(group_by: GroupBy, value: Any) -> str:
    if group_by == "zone" and value is None:
        return NO_ZONE_KEY
    return str(value)


def booked_seconds(session: Session, items: list[Bucket], group_by: GroupBy
                   ) -> dict[tuple[int, str], float]:
    """Approved booking seconds per (bucket, group), clipped to each bucket, summed in SQL."""
    if _dialect(session) == "postgresql":
        stmt = _booked_stmt_postgresql(items, group_by)
        # JIT compiling costs more than this query saves; the per-(bucket, group) hash table
        # needs more than the 4 MB default to stay in memory. Both last to the end of this
        # read-only transaction.
        session.execute(text("SET LOCAL jit = off"))
        session.execute(text("SET LOCAL work_mem = '64MB'"))
    else:
        stmt = _booked_stmt_bucket_join(session, items, group_by)
    keys: dict[Any, str] = {}  # one str() per group, not per row
    out: dict[tuple[int, str], float] = {}
    for k, g, seconds in _rows(session, stmt):
        key = keys.get(g)
        if key is None:
            key = keys[g] = _group_key(group_by, g)
        out[(k, key)] = float(seconds or 0)
    return out


def _booked_stmt_bucket_join(session: Session, items: list[Bucket], group_by: GroupBy) -> Any:
    """Portable form: each bucket scans the bookings that start inside it, or up to the longest
    possible booking before it, through the (status, start_time) index: no bucket-by-booking
    product. The longest possible booking is MAX_DURATION, which the database itself enforces
    (migration 0004; `python -m engine check` reports any row that escaped it)."""
    dialect = _dialect(session)
    bk = _bucket_table(items, MAX_DURATION)
    clipped = _seconds(dialect, _least(dialect, Booking.end_time, bk.c.b_to),
                       _greatest(dialect, Booking.start_time, bk.c.b_from))
    per_resource = (
        select(bk.c.k.label("k"), Booking.resource_id.label("r"), func.sum(clipped).label("s"))
        .select_from(bk)
        .join(Booking, and_(Booking.status == BookingStatus.APPROVED,
                            Booking.start_time >= bk.c.scan_from,
                            overlaps_clause(Booking.start_time, Booking.end_time,
                                            bk.c.b_from, bk.c.b_to)))
        .group_by(bk.c.k, Booking.resource_id)
    ).subquery("per_resource")
    return _per_group(per_resource, group_by)


def _per_group(per_resource: Any, group_by: GroupBy) -> Any:
    """Roll (bucket, resource) sums up to (bucket, group) over active resources. Joining the
    resources to the small sums, not to every booking, saves a lookup per booking."""
    group_col = _group_column(group_by)
    return (select(per_resource.c.k, group_col, func.sum(per_resource.c.s))
            .join(Resource, Resource.id == per_resource.c.r)
            .where(Resource.is_active.is_(True))
            .group_by(per_resource.c.k, group_col))


def _booked_stmt_postgresql(items: list[Bucket], group_by: GroupBy) -> Any:
    """PostgreSQL form: one pass over the bookings, no bucket-by-booking product.

    width_bucket() finds a timestamp's bucket by binary search in the sorted UTC bucket edges
    (computed above from local midnights, so daylight saving is already in them). A booking
    inside one bucket (nearly all) adds its whole length to that bucket with no join; the rest
    (crossing a bucket edge or the range edge) list the buckets they touch with
    generate_series and are clipped to each bucket's bounds.
    """
    edges = [b.utc_from for b in items] + [items[-1].utc_to]
    edge_array = _edges_param(items)
    first = func.width_bucket(Booking.start_time, edge_array) - 1
    last = func.width_bucket(Booking.end_time - literal(timedelta(microseconds=1), Interval),
                             edge_array) - 1
    scope = (Booking.status == BookingStatus.APPROVED,
             overlaps_clause(Booking.start_time, Booking.end_time, edges[0], edges[-1]))
    inside = and_(first == last, first >= 0, first < len(items))
    whole = (select(first.label("k"), Booking.resource_id.label("r"),
                    _seconds("postgresql", Booking.end_time, Booking.start_time).label("s"))
             .where(*scope, inside))
    bk = _bucket_table(items)
    spans = (func.generate_series(func.greatest(first, 0), func.least(last, len(items) - 1))
             .table_valued("k").render_derived(name="spans").lateral())
    clipped = (select(bk.c.k, Booking.resource_id.label("r"),
                      _seconds("postgresql", func.least(Booking.end_time, bk.c.b_to),
                               func.greatest(Booking.start_time, bk.c.b_from)).label("s"))
               .select_from(Booking).join(spans, true()).join(bk, bk.c.k == spans.c.k)
               .where(*scope, not_(inside)))
    parts = union_all(whole, clipped).subquery("parts")
    # Sum per (bucket, resource) first, then join the resources to the (small) sums: a join
    # in the hot path gets a per-row index probe from the planner's low row estimate.
    per_resource = (select(parts.c.k, parts.c.r, func.sum(parts.c.s).label("s"))
                    .group_by(parts.c.k, parts.c.r).subquery("per_resource"))
    return _per_group(per_resource, group_by)


def _days(first: date, end: date):
    d = first
    while d < end:
        yield d
        d += timedelta(days=1)


HoursKey = tuple[time | None, time | None]


@dataclass(frozen=True)
class Bookable:
    """The bookable side, factored: per opening-hours pattern, plus sparse blackout losses."""

    resources: dict[UUID, Resource]
    per_hours: dict[HoursKey, dict[int, float]]  # (opens, closes) -> bucket -> seconds
    lost: dict[tuple[int, UUID], float]  # (bucket, resource) -> blackout seconds

    def seconds(self, index: int, resource: Resource) -> float:
        return (self.per_hours[(resource.opens_at, resource.closes_at)][index]
                - self.lost.get((index, resource.id), 0.0))


def bookable_parts(session: Session, items: list[Bucket], tz: ZoneInfo) -> Bookable:
    """Operating seconds of every active resource per bucket, minus blackouts.

    Computed from the small resources x days set: resources sharing the same hours share one
    calendar pass, and only the (few) blackouts touching the range are read and subtracted.
    """
    resources = {r.id: r for r in session.scalars(
        select(Resource).where(Resource.is_active.is_(True)))}
    utc_from, utc_to = items[0].utc_from, items[-1].utc_to
    per_hours: dict[HoursKey, dict[int, float]] = {}
    for r in resources.values():
        key = (r.opens_at, r.closes_at)
        if key not in per_hours:
            per_hours[key] = {
                b.index: sum((e - s).total_seconds() for s, e in
                             (day_window(d, *key, tz) for d in _days(b.first_day, b.end_day)))
                for b in items
            }
    blackouts: dict[UUID, list[tuple[datetime, datetime]]] = defaultdict(list)
    for rid, s, e in session.execute(
            select(Blackout.resource_id, Blackout.start_time, Blackout.end_time)
            .where(Blackout.resource_id.in_(select(Resource.id).where(Resource.is_active.is_(True))),
                   overlaps_clause(Blackout.start_time, Blackout.end_time, utc_from, utc_to))):
        blackouts[rid].append((max(s, utc_from), min(e, utc_to)))
    day_bucket = {d: b.index for b in items for d in _days(b.first_day, b.end_day)}
    lost: dict[tuple[int, UUID], float] = defaultdict(float)
    for rid, spans in blackouts.items():
        r = resources[rid]
        for s, e in merge_intervals(spans):
            for d in _days(s.astimezone(tz).date() - timedelta(days=1),
                           e.astimezone(tz).date() + timedelta(days=1)):
                if d not in day_bucket:
                    continue
                w_s, w_e = day_window(d, r.opens_at, r.closes_at, tz)
                overlap = (min(e, w_e) - max(s, w_s)).total_seconds()
                if overlap > 0:
                    lost[(day_bucket[d], rid)] += overlap
    return Bookable(resources, per_hours, dict(lost))


def bookable_seconds(session: Session, items: list[Bucket], tz: ZoneInfo
                     ) -> tuple[dict[tuple[int, UUID], float], dict[UUID, Resource]]:
    """Bookable seconds per (bucket, active resource), spelled out."""
    parts = bookable_parts(session, items, tz)
    return ({(b.index, rid): parts.seconds(b.index, r) for rid, r in parts.resources.items()
             for b in items}, parts.resources)


def utilization(session: Session, *, start: date, end: date, tz: ZoneInfo,
                group_by: GroupBy = "resource", period: Period = "week") -> list[UtilizationRow]:
    """Booked ÷ bookable hours per period and group, for every active resource (zeros included)."""
    _check_choice("group_by", group_by, GROUP_BYS)
    items = buckets(start, end, tz, period)
    booked = booked_seconds(session, items, group_by)
    parts = bookable_parts(session, items, tz)
    zone_names = {z.id: z.name for z in session.scalars(select(SafetyZone))}

    def key_and_label(r: Resource) -> tuple[str, str]:
        if group_by == "resource":
            return str(r.id), r.name
        if group_by == "type":
            return r.resource_type, r.resource_type
        if r.safety_zone_id is None:
            return NO_ZONE_KEY, NO_ZONE_LABEL
        return str(r.safety_zone_id), zone_names.get(r.safety_zone_id, str(r.safety_zone_id))

    # Bookable per group = sum over its hours patterns (resource count x pattern seconds),
    # minus the blackout losses of its resources: groups x patterns x buckets, not resources.
    labels: dict[str, str] = {}
    group_of: dict[UUID, str] = {}
    pattern_count: dict[str, dict[HoursKey, int]] = defaultdict(lambda: defaultdict(int))
    for rid, r in parts.resources.items():
        g, labels[g] = key_and_label(r)
        group_of[rid] = g
        pattern_count[g][(r.opens_at, r.closes_at)] += 1
    lost_by_group: dict[tuple[int, str], float] = defaultdict(float)
    for (k, rid), seconds in parts.lost.items():
        lost_by_group[(k, group_of[rid])] += seconds
    ordered = sorted(labels, key=lambda g: (labels[g], g))
    # Groups with the same mix of opening hours share one per-bucket bookable series.
    series: dict[frozenset, list[float]] = {}
    group_series: dict[str, list[float]] = {}
    for g in ordered:
        mix = frozenset(pattern_count[g].items())
        if mix not in series:
            series[mix] = [sum(n * parts.per_hours[hk][b.index] for hk, n in mix) for b in items]
        group_series[g] = series[mix]
    rows = []
    for b in items:
        k = b.index
        for g in ordered:
            bookable_h = _hours(group_series[g][k] - lost_by_group.get((k, g), 0.0))
            booked_h = _hours(booked.get((k, g)))
            rows.append(UtilizationRow(b.period_start, g, labels[g], booked_h, bookable_h,
                                       round(booked_h / bookable_h, 6) if bookable_h > 0 else 0.0))
    return rows


# ---------------------------------------------------------------- rates and counts

def _rows(session: Session, stmt: Any) -> list[Any]:
    """The rows of a statement built at run time (its column types are the database's)."""
    return list(session.execute(stmt))


def _edges_param(items: list[Bucket]) -> Any:
    """The sorted UTC bucket edges as one PostgreSQL timestamptz[] parameter."""
    edges = [b.utc_from for b in items] + [items[-1].utc_to]
    return bindparam("bucket_edges", edges, type_=ARRAY(DateTime(timezone=True)))


def _place(session: Session, items: list[Bucket], ts_col: Any, source: Any
           ) -> tuple[Any, Any, list[Any]]:
    """(bucket number, FROM clause, conditions) that put each row of `source` in the bucket
    holding `ts_col`. PostgreSQL: width_bucket() over the edges, one pass. SQLite: a join to
    the small bucket table."""
    if _dialect(session) == "postgresql":
        k = func.width_bucket(ts_col, _edges_param(items)) - 1
        return k, source, [ts_col >= items[0].utc_from, ts_col < items[-1].utc_to]
    bk = _bucket_table(items)
    return bk.c.k, join(bk, source, and_(ts_col >= bk.c.b_from, ts_col < bk.c.b_to)), []


def _bucketed_counts(session: Session, items: list[Bucket], ts_col: Any, *extra_cols: Any,
                     where: tuple = (), from_: Any = None) -> list[tuple]:
    """COUNT-style aggregates of rows whose `ts_col` falls in each bucket, grouped in SQL."""
    k, frm, conds = _place(session, items, ts_col, from_ if from_ is not None else Booking)
    stmt = select(k, *extra_cols).select_from(frm).where(*conds, *where).group_by(k)
    return list(session.execute(stmt))


def conflict_rate(session: Session, *, start: date, end: date, tz: ZoneInfo,
                  period: Period = "week") -> list[RateRow]:
    """Share of requests (by created_at) that met a hard conflict when they were made."""
    items = buckets(start, end, tz, period)
    got = {k: (int(n or 0), int(d or 0)) for k, n, d in _bucketed_counts(
        session, items, Booking.created_at,
        func.sum(case((Booking.conflict_at_request.is_(True), 1), else_=0)), func.count())}
    return [RateRow(b.period_start, *got.get(b.index, (0, 0)),
                    _rate(*got.get(b.index, (0, 0)))) for b in items]


def _decisions(dialect: str) -> Any:
    """One row per decided booking: when it was requested, first decided, and if approved.

    The audit trail is the source (decided_at is overwritten by a later bump or cancel); a
    booking with no decision entry falls back to its status and decided_at.
    """
    decision_actions = (AuditAction.APPROVED.value, AuditAction.DENIED.value)
    audit = (select(AuditLog.booking_id.label("booking_id"),
                    func.min(AuditLog.timestamp).label("first_at"),
                    func.max(case((AuditLog.action == AuditAction.APPROVED.value, 1), else_=0))
                    .label("approved"))
             .where(AuditLog.booking_id.is_not(None), AuditLog.action.in_(decision_actions))
             .group_by(AuditLog.booking_id).subquery("decided_audit"))
    decided_statuses = (BookingStatus.APPROVED, BookingStatus.DENIED, BookingStatus.BUMPED)
    status_approved = case((Booking.status.in_((BookingStatus.APPROVED, BookingStatus.BUMPED)), 1),
                           else_=0)
    decided_at = func.coalesce(audit.c.first_at, Booking.decided_at)
    return (select(Booking.id.label("id"), Booking.created_at.label("created_at"),
                   decided_at.label("decided_at"),
                   func.coalesce(audit.c.approved, status_approved).label("approved"),
                   _seconds(dialect, decided_at, Booking.created_at).label("seconds"))
            .select_from(Booking).outerjoin(audit, audit.c.booking_id == Booking.id)
            .where(or_(audit.c.booking_id.is_not(None),
                       and_(Booking.status.in_(decided_statuses), Booking.decided_at.is_not(None))))
            .cte("decisions"))


def approval_rate(session: Session, *, start: date, end: date, tz: ZoneInfo,
                  period: Period = "week") -> list[RateRow]:
    """Approved (including later bumped) ÷ decided, by the time of the first decision."""
    items = buckets(start, end, tz, period)
    dec = _decisions(_dialect(session))
    got = {k: (int(n or 0), int(d or 0)) for k, n, d in _bucketed_counts(
        session, items, dec.c.decided_at, func.sum(dec.c.approved), func.count(), from_=dec)}
    return [RateRow(b.period_start, *got.get(b.index, (0, 0)),
                    _rate(*got.get(b.index, (0, 0)))) for b in items]


def _decision_stats(session: Session, items: list[Bucket], *, with_total: bool = False
                    ) -> dict[int | None, tuple[int, int, float | None, float | None]]:
    """Per bucket: decisions, approvals among them, p50 and p90 seconds to the first decision;
    with `with_total` (PostgreSQL only) also the whole range under the key None, from the same
    pass (GROUPING SETS).

    PostgreSQL uses percentile_cont. SQLite has no percentile function, so there the same
    linear interpolation is written with window functions: rank each duration in its bucket,
    then blend the two rows around position p*(n-1).
    """
    dialect = _dialect(session)
    dec = _decisions(dialect)
    k, frm, conds = _place(session, items, dec.c.decided_at, dec)
    if dialect == "postgresql":
        total = func.grouping(k) if with_total else literal(0, Integer)
        stmt = (select(total, k, func.count(), func.sum(dec.c.approved),
                       func.percentile_cont(0.5).within_group(dec.c.seconds),
                       func.percentile_cont(0.9).within_group(dec.c.seconds))
                .select_from(frm).where(*conds)
                .group_by(func.grouping_sets(k, tuple_()) if with_total else k))
        return {None if t else k: (int(n), int(a or 0), p50, p90)
                for t, k, n, a, p50, p90 in _rows(session, stmt)}
    if with_total:
        raise ValueError("with_total is PostgreSQL only")
    ranked = (select(k.label("k"), dec.c.seconds.label("s"), dec.c.approved.label("a"),
                     (func.row_number().over(partition_by=k, order_by=dec.c.seconds)
                      - 1).label("i"),
                     func.count().over(partition_by=k).label("n"))
              .select_from(frm).where(*conds).subquery("ranked"))
    cols = [ranked.c.k, func.max(ranked.c.n), func.sum(ranked.c.a)]
    for p in (0.5, 0.9):
        pos = literal(p, Float) * (ranked.c.n - 1)
        lo = func.cast(pos, Integer)  # floor: pos is never negative
        frac = pos - lo
        weight = case((ranked.c.i == lo, 1 - frac), (ranked.c.i == lo + 1, frac), else_=0)
        cols.append(func.sum(ranked.c.s * weight))
    stmt = select(*cols).group_by(ranked.c.k)
    return {k: (int(n), int(a or 0), p50, p90) for k, n, a, p50, p90 in _rows(session, stmt)}


def _turnaround_rows(items: list[Bucket], got: dict) -> list[TurnaroundRow]:
    rows = []
    for b in items:
        n, _, p50, p90 = got.get(b.index, (0, 0, None, None))
        rows.append(TurnaroundRow(b.period_start, n,
                                  None if p50 is None else _hours(p50),
                                  None if p90 is None else _hours(p90)))
    return rows


def approval_turnaround(session: Session, *, start: date, end: date, tz: ZoneInfo,
                        period: Period | None = None) -> list[TurnaroundRow]:
    """Hours from request to first decision: count, p50 and p90 per period (or overall)."""
    items = buckets(start, end, tz, period)
    return _turnaround_rows(items, _decision_stats(session, items))


def decision_figures(session: Session, *, start: date, end: date, tz: ZoneInfo,
                     period: Period = "week"
                     ) -> tuple[list[RateRow], list[TurnaroundRow], TurnaroundRow]:
    """approval_rate and approval_turnaround per period, and the turnaround over the whole
    range, from one pass over the decisions on PostgreSQL (two on SQLite): at a million
    bookings each pass costs seconds."""
    items = buckets(start, end, tz, period)
    if _dialect(session) == "postgresql":
        got = _decision_stats(session, items, with_total=True)
        overall = _turnaround_rows(buckets(start, end, tz, None), {0: got.pop(None)}
                                   if None in got else {})
    else:
        got = _decision_stats(session, items)
        overall = approval_turnaround(session, start=start, end=end, tz=tz, period=None)
    rates = []
    for b in items:
        n, approved, _, _ = got.get(b.index, (0, 0, None, None))
        rates.append(RateRow(b.period_start, approved, n, _rate(approved, n)))
    return rates, _turnaround_rows(items, got), overall[0]


def bookings_per_day(session: Session, *, start: date, end: date, tz: ZoneInfo
                     ) -> list[DailyCountRow]:
    """Bookings by local start day and current status (days without bookings are left out)."""
    items = buckets(start, end, tz, "day")
    k, frm, conds = _place(session, items, Booking.start_time, Booking)
    stmt = (select(k, Booking.status, func.count()).select_from(frm).where(*conds)
            .group_by(k, Booking.status))
    by_index = {b.index: b.first_day for b in items}  # day buckets: one day each
    rows = [DailyCountRow(by_index[k], getattr(s, "value", s), int(n))
            for k, s, n in _rows(session, stmt)]
    rows.sort(key=lambda r: (r.day, r.status))
    return rows


def bumps_and_cancellations(session: Session, *, start: date, end: date, tz: ZoneInfo,
                            period: Period = "week") -> list[BumpCancelRow]:
    """Bumps and cancellations per period, by when they happened (the audit trail's timestamp)."""
    items = buckets(start, end, tz, period)
    got = {k: (int(b or 0), int(c or 0)) for k, b, c in _bucketed_counts(
        session, items, AuditLog.timestamp,
        func.sum(case((AuditLog.action == AuditAction.BUMPED.value, 1), else_=0)),
        func.sum(case((AuditLog.action == AuditAction.CANCELLED.value, 1), else_=0)),
        where=(AuditLog.booking_id.is_not(None),
               AuditLog.action.in_((AuditAction.BUMPED.value, AuditAction.CANCELLED.value))),
        from_=AuditLog)}
    return [BumpCancelRow(b.period_start, *got.get(b.index, (0, 0))) for b in items]


# ---------------------------------------------------------------- data version

#: How far before the newest audit entry a late commit is still noticed (see data_version).
LATE_COMMIT_WINDOW = timedelta(minutes=10)


def data_version(session: Session) -> tuple[str, int]:
    """A cheap stamp that changes whenever any figure above may change, for caches to key on.

    Every change the figures read (bookings, decisions, resources, zones, blackouts) writes an
    audit entry in its transaction, and the trail is append-only. The stamp is the newest entry's
    time and the number of entries within LATE_COMMIT_WINDOW of it, so an entry stamped earlier
    but committed later (or under a frozen clock) still changes it. Two index look-ups.
    """
    newest = session.scalar(select(func.max(AuditLog.timestamp)))
    if newest is None:
        return "", 0
    recent = session.scalar(select(func.count()).select_from(AuditLog)
                            .where(AuditLog.timestamp >= newest - LATE_COMMIT_WINDOW))
    return newest.isoformat(), int(recent or 0)


__all__ = [
    "Period", "GroupBy", "PERIODS", "GROUP_BYS", "UtilizationRow", "RateRow", "TurnaroundRow",
    "DailyCountRow", "BumpCancelRow", "Bucket", "buckets", "utilization", "conflict_rate",
    "approval_rate", "approval_turnaround", "decision_figures", "bookings_per_day",
    "bumps_and_cancellations",
    "booked_seconds", "bookable_seconds", "bookable_parts", "Bookable",
    "period_start_of", "data_version", "LATE_COMMIT_WINDOW",
]
