"""The Reports page's utilization grid: one column per calendar period, labelled by it, and the
groups in name order top to bottom."""
from __future__ import annotations

import json
from datetime import date, time, timedelta

from dashboard.report_charts import period_label, utilization_figure, utilization_grid
from engine.analytics import NO_ZONE_KEY, NO_ZONE_LABEL, UtilizationRow
from engine.domain.permissions import Role
from tests.conftest import NOW
from tests.dashboard.helpers import signed_in

SEP, OCT, NOV = date(2030, 9, 1), date(2030, 10, 1), date(2030, 11, 1)


def row(month: date, key: str, label: str, used: float) -> UtilizationRow:
    return UtilizationRow(month, key, label, used * 10, 10.0, used)


def test_month_columns_are_the_months_in_order_and_cells_sit_under_their_month():
    rows = [row(OCT, "b", "Range 2", 0.2), row(SEP, "a", "range 1", 0.5),
            row(NOV, "a", "range 1", 0.7), row(SEP, "b", "Range 2", 0.1),
            row(OCT, "a", "range 1", 0.6)]  # out of order, Range 2 missing in November
    grid = utilization_grid(rows, "month", "resource")
    assert grid.starts == [SEP, OCT, NOV]
    assert grid.x == ["Sep 2030", "Oct 2030", "Nov 2030"]
    assert grid.y == ["range 1", "Range 2"]  # by name, ignoring case
    assert grid.z == [[0.5, 0.6, 0.7], [0.1, 0.2, 0.0]]
    assert grid.hours[1][2] == (0.0, 0.0)


def test_types_read_as_words_and_no_safety_zone_comes_last():
    types = utilization_grid([row(SEP, "training_area", "training_area", 0.1),
                              row(SEP, "bay", "bay", 0.2)], "month", "type")
    assert types.y == ["Bay", "Training area"]
    zones = utilization_grid([row(SEP, NO_ZONE_KEY, NO_ZONE_LABEL, 0.1),
                              row(SEP, "z2", "West", 0.2), row(SEP, "z1", "East", 0.3)],
                             "month", "zone")
    assert zones.y == ["East", "West", NO_ZONE_LABEL]


def test_week_and_day_columns_are_named_by_their_first_day():
    assert period_label(date(2030, 1, 7), "week") == "w/c 07 Jan"
    assert period_label(date(2030, 1, 7), "day") == "Mon 07 Jan"


def test_the_heatmap_draws_months_as_categories_and_the_first_row_on_top():
    fig = utilization_figure(utilization_grid([row(SEP, "a", "Alpha", 0.5),
                                               row(OCT, "a", "Alpha", 0.4)], "month", "resource"))
    assert fig.layout.xaxis.type == "category" and fig.layout.yaxis.autorange == "reversed"
    assert list(fig.data[0].x) == ["Sep 2030", "Oct 2030"]


def test_reports_page_month_view_draws_one_labelled_column_per_month(dashboard, make):
    manager, staff = make.user(Role.MANAGER), make.user(Role.STAFF)
    for name in ("Range 2", "Indoor Bay 1"):
        r = make.resource(name=name, opens_at=time(8), closes_at=time(18))
        start = NOW.replace(hour=9) + timedelta(days=1)
        make.booking(r, start=start, end=start + timedelta(hours=2), approve_by=staff)
    at = signed_in(dashboard, manager, "reports")
    at.date_input[0].set_value(date(2029, 11, 15))
    at.date_input[1].set_value(date(2030, 2, 1))
    at.segmented_control[0].set_value("month")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    heat = next(c for c in charts if c["data"][0]["type"] == "heatmap")["data"][0]
    assert heat["x"] == ["Nov 2029", "Dec 2029", "Jan 2030"]
    assert heat["y"] == ["Indoor Bay 1", "Range 2"]
    assert heat["z"][0][2] > 0 and heat["z"][0][:2] == [0, 0]
