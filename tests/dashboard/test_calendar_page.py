"""Calendar page (AppTest and the chart module): what a click or a drag on the chart opens,
and that the figures the page sends are valid plotly."""
from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta

import plotly.graph_objects as go
from streamlit.proto.PlotlyChart_pb2 import PlotlyChart
from streamlit.proto.WidgetStates_pb2 import WidgetStates

from dashboard import calendar_chart as chart
from dashboard import calendar_picks as picks
from engine import services
from engine.domain.permissions import Role
from tests.conftest import NOW
from tests.dashboard.helpers import button, errors, signed_in

TUE = date(2030, 1, 8)  # NOW is Monday 7 January 2030, 06:00 UTC (site zone UTC in tests)
ROWS = [("Range 2", "r2"), ("Range 1", "r1")]  # bottom row first, as the y axis numbers them


def box(x0: str, x1: str, y0: float, y1: float) -> dict:
    """The selection Streamlit reports for a box dragged on a date x axis / category y axis."""
    return {"selection": {"points": [], "point_indices": [], "lasso": [],
                          "box": [{"xref": "x", "yref": "y", "x": [x0, x1], "y": [y0, y1]}]}}


def points(*customdata) -> dict:
    return {"selection": {"points": [{"customdata": c} for c in customdata],
                          "point_indices": list(range(len(customdata))), "box": [],
                          "lasso": []}}


def at_time(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute))


def test_a_box_across_a_row_books_that_resource_for_the_window_rounded_out_to_15_minutes():
    pick = picks.read_event(box("2030-01-08 09:07:12.5", "2030-01-08 11:52", 0.7, 1.3), ROWS)
    assert pick == picks.Book("r1", at_time(TUE, 9), at_time(TUE, 12))


def test_a_box_drawn_right_to_left_or_off_the_row_centre_picks_the_row_under_its_middle():
    pick = picks.read_event(box("2030-01-08 14:00", "2030-01-08 13:10", -0.4, 0.2), ROWS)
    assert pick == picks.Book("r2", at_time(TUE, 13), at_time(TUE, 14))


def test_a_box_past_midnight_stops_at_the_forms_last_end_time_and_a_tiny_one_is_15_minutes():
    late = picks.read_event(box("2030-01-08 22:00", "2030-01-09 02:00", 0.9, 1.1), ROWS)
    assert late == picks.Book("r1", at_time(TUE, 22), at_time(TUE, 23, 45))
    tiny = picks.read_event(box("2030-01-08 10:01", "2030-01-08 10:02", 0.9, 1.1), ROWS)
    assert tiny == picks.Book("r1", at_time(TUE, 10), at_time(TUE, 10, 15))


def test_a_box_outside_every_row_opens_nothing_even_over_points():
    event = box("2030-01-08 09:00", "2030-01-08 10:00", 1.6, 2.4)
    event["selection"]["points"] = [{"customdata": ["slot", "r1", "2030-01-08T09:00:00"]}]
    assert picks.read_event(event, ROWS) is None


def test_a_box_in_epoch_milliseconds_reads_the_same_as_a_date_string():
    ms = (at_time(TUE, 9) - datetime(1970, 1, 1)) / timedelta(milliseconds=1)
    pick = picks.read_event(box(ms, ms + 3_600_000, 1, 1), ROWS)
    assert pick == picks.Book("r1", at_time(TUE, 9), at_time(TUE, 10))


def test_clicks_mean_a_slot_to_book_a_bar_to_open_or_a_month_day_to_show():
    slot = picks.read_event(points(["slot", "r2", "2030-01-08T15:00:00"]), ROWS)
    assert slot == picks.Book("r2", at_time(TUE, 15), at_time(TUE, 17))
    assert picks.read_event(points(["booking", "b-1", "ref"]), ROWS) == picks.Open("b-1")
    assert picks.read_event(points(["day", "2030-01-20"]), ROWS) == picks.GoToDay(
        date(2030, 1, 20))
    assert picks.read_event(points(["blackout", "", ""]), ROWS) is None
    assert picks.read_event(None, ROWS) is None


def test_the_figures_the_page_sends_are_valid_plotly(dashboard, make):
    """The page skips plotly's validation for speed; here the same specs are validated."""
    r1, r2 = make.resource(name="Range 1"), make.resource(name="Range 2")
    make.booking(r1, start=NOW + timedelta(hours=4), end=NOW + timedelta(hours=6))
    make.booking(r2, start=NOW + timedelta(days=1, hours=12), end=NOW + timedelta(days=2))
    services.create_blackout(dashboard.uow(), make.admin.id, resource_id=r2.id,
                             start_time=NOW + timedelta(days=3),
                             end_time=NOW + timedelta(days=3, hours=4), reason="Butts repair")
    lo = datetime(2030, 1, 7)
    cal = services.calendar_view(dashboard.uow(), make.admin.id,
                                 window_start=NOW.replace(hour=0),
                                 window_end=NOW.replace(hour=0) + timedelta(days=31))
    rows = chart.entries(cal)
    week = go.Figure(chart.timeline(cal, rows, "Week", lo, lo + timedelta(days=7),
                                    at_time(lo.date(), 6, 3)))
    assert [t.name for t in week.data] == ["free slot", "pending", "blackout"]
    assert week.layout.shapes[0].x0 == datetime(2030, 1, 7, 6, 0)  # now, floored to 5 min
    month = go.Figure(chart.month_grid(cal, rows, lo, lo + timedelta(days=31)))
    grid = month.data[0]  # a day a row, a resource a column
    assert list(grid.x) == ["Range 1", "Range 2"] and grid.y[0] == "Mon 07 Jan"
    assert [list(day) for day in grid.z[:4]] == [[1, 0], [0, 1], [0, 1], [0, 0]]
    # Range 2: two days (Tue 18:00 to Wed 06:00); its blackout is not counted.


def choose_on_chart(at, event: dict):
    """Run the page as if the browser reported this selection on the calendar chart."""
    [plot] = at.get("plotly_chart")
    states = WidgetStates()
    states.CopyFrom(at._tree.get_widget_states())
    state = states.widgets.add()
    state.id = plot.proto.id
    state.string_value = json.dumps(event)
    return at._run(states)


def test_dragging_across_a_row_opens_the_booking_form_prefilled_with_that_window(dashboard,
                                                                                 make):
    make.resource(name="Range 1")
    r2 = make.resource(name="Range 2")
    at = signed_in(dashboard, make.user(Role.USER), "calendar")
    [plot] = at.get("plotly_chart")
    assert list(plot.proto.selection_mode) == [PlotlyChart.SelectionMode.POINTS]  # clicks
    at.segmented_control(key="cal_mouse").set_value("Drag a window").run()
    [plot] = at.get("plotly_chart")
    assert list(plot.proto.selection_mode) == [PlotlyChart.SelectionMode.BOX]  # drags
    # Range 2 is the bottom row (y = 0).
    choose_on_chart(at, box("2030-01-08 10:05", "2030-01-08 12:40", -0.3, 0.3))
    assert not errors(at), errors(at)
    assert at.title[0].value == "New booking"
    state = at.session_state
    assert (state["nb_resource"], state["nb_date"], state["nb_start"], state["nb_end"]) == (
        str(r2.id), TUE, time(10), time(12, 45))
    assert any("Range 2 is free" in s.value for s in at.success), [s.value for s in at.success]


def test_clicking_a_bar_opens_the_booking_and_close_forgets_the_click(dashboard, make):
    staff = make.user(Role.STAFF)
    b = make.booking(make.resource(name="Range 1"), purpose="Club night")
    at = signed_in(dashboard, staff, "calendar")
    choose_on_chart(at, points(["booking", str(b.id), "ref"]))
    assert not errors(at), errors(at)
    assert any("Club night" in m.value for m in at.markdown)
    assert button(at, "Decide in the approval queue")
    button(at, "Close").click().run()
    assert not any("Club night" in m.value for m in at.markdown)


def test_clicking_a_month_day_shows_that_day(dashboard, make):
    make.resource(name="Range 1")
    at = signed_in(dashboard, make.user(Role.USER), "calendar")
    at.segmented_control[0].set_value("Month").run()
    choose_on_chart(at, points(["day", "2030-01-20"]))
    assert not errors(at), errors(at)
    assert at.segmented_control[0].value == "Day"
    assert at.date_input[0].value == date(2030, 1, 20)
