"""The Reports page: the utilization grid (one column per calendar period, labelled by it, and
the groups in name order top to bottom), its Vega-Lite charts, and the cache behind them (keyed
by user, inputs and data version: never stale, never another user's)."""
from __future__ import annotations

import json
from datetime import date, time, timedelta

import pyarrow as pa
import pytest

from dashboard.report_charts import period_label, utilization_grid, utilization_spec
from engine import services
from engine.analytics import NO_ZONE_KEY, NO_ZONE_LABEL, UtilizationRow
from engine.domain.permissions import Role
from engine.errors import PermissionDenied
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


def test_the_heatmap_draws_months_as_categories_in_calendar_order_and_the_first_row_on_top():
    spec = utilization_spec(utilization_grid([row(OCT, "a", "Alpha", 0.4),
                                              row(SEP, "a", "Alpha", 0.5),
                                              row(SEP, "b", "beta", 0.1)], "month", "resource"))
    x, y = spec["encoding"]["x"], spec["encoding"]["y"]
    assert x["type"] == "ordinal" and x["sort"] == ["Sep 2030", "Oct 2030"]
    assert x["axis"]["orient"] == "top" and y["sort"] == ["Alpha", "beta"]
    cells = {(v["group"], v["period"]): v["used"] for v in spec["data"]["values"]}
    assert cells == {("Alpha", "Sep 2030"): 0.5, ("Alpha", "Oct 2030"): 0.4,
                     ("beta", "Sep 2030"): 0.1, ("beta", "Oct 2030"): 0.0}


def charts(at) -> dict[str, tuple[dict, list[dict]]]:
    """Each Vega-Lite chart on the page by its mark ("rect", "line", "bar", "layer"): its spec
    and its data rows (Streamlit sends the values apart from the spec, as Arrow)."""
    out = {}
    for c in at.get("vega_lite_chart"):
        spec = json.loads(c.proto.spec)
        rows = pa.ipc.open_stream(c.proto.data.data).read_all().to_pylist()
        out[spec.get("mark", {}).get("type", "layer")] = (spec, rows)
    return out


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
    spec, cells = charts(at)["rect"]
    assert spec["encoding"]["x"]["sort"] == ["Nov 2029", "Dec 2029", "Jan 2030"]
    assert spec["encoding"]["y"]["sort"] == ["Indoor Bay 1", "Range 2"]
    used = {(c["group"], c["period"]): c["used"] for c in cells}
    assert used[("Indoor Bay 1", "Jan 2030")] > 0
    assert used[("Indoor Bay 1", "Nov 2029")] == used[("Indoor Bay 1", "Dec 2029")] == 0


def decisions(at) -> str:
    return [m for m in at.metric if m.label == "Decisions in range"][0].value


def daily_total(at) -> int:
    return sum(c["count"] for c in charts(at)["bar"][1])


def test_only_the_open_tab_draws_its_chart(dashboard, make):
    staff = make.user(Role.STAFF)
    make.booking(make.resource(), approve_by=staff)
    at = signed_in(dashboard, staff, "reports")
    assert list(charts(at)) == ["rect"]  # utilization first
    at.session_state["rp_tab"] = "Bookings per day"
    at.run()
    assert list(charts(at)) == ["bar"]
    at.session_state["rp_tab"] = "Approval turnaround"
    at.run()
    assert list(charts(at)) == ["layer"]


def test_a_new_booking_or_decision_changes_the_reports_on_the_next_run(dashboard, make):
    staff = make.user(Role.STAFF)
    resource = make.resource()
    make.booking(resource, approve_by=staff)
    at = signed_in(dashboard, staff, "reports")
    at.session_state["rp_tab"] = "Bookings per day"
    at.date_input[1].set_value(NOW.date() + timedelta(days=7)).run()  # tomorrow's booking too
    assert (decisions(at), daily_total(at)) == ("1", 1)
    at.run()  # nothing changed: the same figures (from the cache)
    assert (decisions(at), daily_total(at)) == ("1", 1)
    start, end = make.window(2)
    b = make.booking(resource, start=start, end=end)  # same frozen clock: same audit time
    at.run()
    assert (decisions(at), daily_total(at)) == ("1", 2)
    services.approve_booking(dashboard.uow(), staff.id, b.id)
    at.run()
    assert (decisions(at), daily_total(at)) == ("2", 2)


def test_a_resource_change_changes_the_utilization_rows_on_the_next_run(dashboard, make):
    staff, admin = make.user(Role.STAFF), make.user(Role.ADMIN)
    make.resource(name="Range 1")
    gone = make.resource(name="Range 2")
    at = signed_in(dashboard, staff, "reports")
    assert charts(at)["rect"][0]["encoding"]["y"]["sort"] == ["Range 1", "Range 2"]
    services.set_resource_active(dashboard.uow(), admin.id, gone.id, False)
    at.run()
    assert charts(at)["rect"][0]["encoding"]["y"]["sort"] == ["Range 1"]


def test_report_figures_and_their_version_stay_staff_only(dashboard, make):
    member = make.user(Role.USER)
    with pytest.raises(PermissionDenied):
        services.report_version(dashboard.uow(), member.id)
    with pytest.raises(PermissionDenied):
        services.report_figures(dashboard.uow(), member.id, start=date(2030, 1, 1),
                                end=date(2030, 2, 1))
