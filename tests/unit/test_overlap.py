"""The half-open overlap predicate, in Python and as SQL, agree on every case."""
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Column, DateTime, MetaData, Table, create_engine, insert, select

from engine.domain.overlap import merge_intervals, overlaps, overlaps_clause, subtract_intervals

T0 = datetime(2030, 1, 1, 10, tzinfo=UTC)


def h(n: float) -> datetime:
    return T0 + timedelta(hours=n)


# (a_start, a_end, b_start, b_end, expected)
CASES = [
    (0, 2, 2, 4, False),   # touching at the end: half-open, no overlap
    (2, 4, 0, 2, False),   # touching at the start
    (0, 2, 1, 3, True),    # partial overlap
    (0, 4, 1, 2, True),    # containment
    (1, 2, 0, 4, True),    # contained
    (0, 2, 0, 2, True),    # identical
    (0, 1, 2, 3, False),   # apart
]


@pytest.mark.parametrize("a0,a1,b0,b1,expected", CASES)
def test_overlap_is_half_open(a0, a1, b0, b1, expected):
    assert overlaps(h(a0), h(a1), h(b0), h(b1)) is expected
    assert overlaps(h(b0), h(b1), h(a0), h(a1)) is expected  # symmetric


@pytest.mark.parametrize("a0,a1,b0,b1,expected", CASES)
def test_sql_predicate_agrees_with_python(a0, a1, b0, b1, expected):
    engine = create_engine("sqlite://")
    md = MetaData()
    t = Table("w", md, Column("s", DateTime), Column("e", DateTime))
    md.create_all(engine)
    naive = lambda d: d.replace(tzinfo=None)  # noqa: E731
    with engine.begin() as conn:
        conn.execute(insert(t).values(s=naive(h(a0)), e=naive(h(a1))))
        hit = conn.execute(select(t).where(overlaps_clause(t.c.s, t.c.e, naive(h(b0)),
                                                           naive(h(b1))))).first()
    assert (hit is not None) is expected


def test_merge_intervals_joins_touching_and_overlapping():
    assert merge_intervals([(h(3), h(4)), (h(0), h(1)), (h(1), h(2)), (h(3.5), h(5))]) == [
        (h(0), h(2)), (h(3), h(5))]


def test_subtract_intervals_leaves_the_free_parts():
    assert subtract_intervals([(h(0), h(10))], [(h(2), h(3)), (h(5), h(6)), (h(9), h(12))]) == [
        (h(0), h(2)), (h(3), h(5)), (h(6), h(9))]
