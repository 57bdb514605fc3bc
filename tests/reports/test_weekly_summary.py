"""The weekly summary's headline figures (both databases) and its readable names."""
from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from engine import services
from engine.domain.permissions import Role
from reports.definitions import HeadlineFigure, ReportRequest, readable, weekly_summary_report
from reports.render import format_figure, render_html

UTC = ZoneInfo("UTC")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2030, 1, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def two_weeks(db, make, clock):
    """One range open 08-18 (70 bookable hours a week), check-in required for ranges.

    Previous week (7-13 Jan): p1 Tue 09-11 approved 2 h after the request, checked in;
    p2 Wed 09-10 denied after 4 h.
    This week (14-20 Jan): t1 Tue 09-12 approved after 1 h, released as a no-show;
    t2 Wed 09-13 approved after 3 h, checked in; t3 Thu 09-10 approved after 8 h;
    t4 Fri 09-10 still pending.
    """
    services.set_checkin_rule(db.uow(), make.admin.id, "range", required=True)
    staff, member = make.user(Role.STAFF), make.user()
    r = make.resource(name="Range A", resource_type="range", opens_at=time(8), closes_at=time(18))
    clock.now = at(7, 6)
    p1 = make.booking(r, member, start=at(8, 9), end=at(8, 11))
    p2 = make.booking(r, member, start=at(9, 9), end=at(9, 10))
    clock.now = at(7, 8)
    services.approve_booking(db.uow(), staff.id, p1.id)
    clock.now = at(7, 10)
    services.deny_booking(db.uow(), staff.id, p2.id, reason="range closed")
    clock.now = p1.start_time
    services.check_in(db.uow(), member.id, p1.id)

    clock.now = at(14, 6)
    t1 = make.booking(r, member, start=at(15, 9), end=at(15, 12))
    t2 = make.booking(r, member, start=at(16, 9), end=at(16, 13))
    t3 = make.booking(r, member, start=at(17, 9), end=at(17, 10))
    make.booking(r, member, start=at(18, 9), end=at(18, 10))
    for booking, hours in ((t1, 7), (t2, 9), (t3, 14)):
        clock.now = at(14, hours)
        services.approve_booking(db.uow(), staff.id, booking.id)
    clock.now = at(15, 9, 20)
    assert services.release_no_shows(db).released == [t1.id]
    clock.now = t2.start_time
    services.check_in(db.uow(), member.id, t2.id)
    return r


def test_headline_figures_beside_last_week(db, two_weeks):
    req = ReportRequest(date(2030, 1, 14), date(2030, 1, 21), UTC, "day")
    with db.uow().read() as uow:
        report = weekly_summary_report(uow.session, req)
    assert report.headline == [
        HeadlineFigure("Bookings", "count", 4.0, 2.0),
        HeadlineFigure("Approval rate", "percent", 1.0, 0.5),
        HeadlineFigure("Median turnaround", "hours", 3.0, 3.0),
        # booked hours are approved bookings: the released no-show t1 no longer counts
        HeadlineFigure("Utilization", "percent", round(5 / 70, 6), round(2 / 70, 6)),
        HeadlineFigure("No-shows", "count", 1.0, 0.0),
    ]
    assert [f.change for f in report.headline] == pytest.approx([2.0, 0.5, 0.0, 3 / 70, 1.0],
                                                               abs=1e-6)
    table = report.tables["headline"]
    assert list(table.columns) == ["figure", "unit", "this_period", "previous_period", "change"]
    assert table["this_period"].tolist()[:2] == [4.0, 1.0]
    page = render_html(report)
    top = page[page.index('<section class="headline">'):page.index("</section>")]
    assert "Bookings</div><div class=\"value\">4</div>" in top
    assert "previous 50%, change +50.0 pt" in top and "previous 3.0 h, change 0.0 h" in top
    assert page.index('class="headline"') < page.index("Plotly.newPlot")


def test_headline_is_empty_handed_without_data(db, make):
    req = ReportRequest(date(2030, 1, 14), date(2030, 1, 21), UTC, "day")
    with db.uow().read() as uow:
        report = weekly_summary_report(uow.session, req)
    got = {f.name: (f.current, f.previous, f.change) for f in report.headline}
    assert got["Bookings"] == (0.0, 0.0, 0.0)
    assert got["Approval rate"] == (None, None, None)  # nothing decided: no rate, not 0 %
    assert got["No-shows"] == (None, None, None)
    assert "–" in render_html(report)


def test_readable_names_in_tables_and_charts(db, make):
    make.resource(name="Area 1", resource_type="training_area")
    req = ReportRequest(date(2030, 1, 14), date(2030, 1, 21), UTC, "day")
    with db.uow().read() as uow:
        report = weekly_summary_report(uow.session, req)
    assert report.tables["utilization_by_type_total"]["label"].tolist() == ["Training area"]
    assert report.tables["utilization_by_type_total"]["group_key"].tolist() == ["training_area"]
    page = render_html(report)
    assert "<td>Training area</td>" in page and "Training area" in str(report.figures[2].data[0].x)
    assert "<th>Booked hours</th>" in page and "<th>booked_hours</th>" not in page
    assert "<h2>Utilization by type total</h2>" in page
    names = {t.name for fig in report.figures for t in fig.data}
    assert {"Approved", "Pending", "Median hours (p50)", "Bumps"} <= names
    assert not any("_" in (n or "") for n in names)


@pytest.mark.parametrize("kind, value, change, text", [
    ("count", 1234.0, False, "1,234"), ("percent", 0.715, False, "72%"),
    ("percent", -0.0063, True, "−0.6 pt"), ("hours", 0.5, True, "+0.5 h"),
    ("count", None, False, "–"), ("count", 0.0, True, "0"),
])
def test_format_figure(kind, value, change, text):
    assert format_figure(kind, value, change) == text


def test_readable():
    assert readable("training_area") == "Training area"
    assert readable("p50_hours") == "Median hours (p50)"
