"""Calendar page (AppTest and the chart module): what a click or a drag on the chart opens,
that the Vega-Lite specs the page sends are valid, and the month's counts from SQL."""
from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta

import altair as alt
import pytest
from streamlit.proto.WidgetStates_pb2 import WidgetStates

from dashboard import calendar_chart as chart
from dashboard import calendar_picks as picks
from engine import services
from engine.domain.permissions import Role
from engine.errors import ValidationError
from tests.conftest import NOW
from tests.dashboard.helpers import button, errors, signed_in

TUE = date(2030, 1, 8)  # NOW is Monday 7 January 2030, 06:00 UTC (site zone UTC in tests)
ROWS = [("Range 1", "r1"), ("Range 2", "r2"), ("Range 3", "r3")]  # top row first (y = 0, 1, 2)


def drag(x0, x1, y0: float, y1: float, click: dict | None = None) -> dict:
    """The selection Streamlit reports for a window dragged on the chart (row numbers on y)."""
    return {"selection": {"drag": {"s": [x0, x1], "y0": [y0, y1]},
                          "pick": [click] if click else []}}


def clicked(**point) -> dict:
    return {"selection": {"pick": [point], "drag": {}}}


def at_time(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute))


def epoch_ms(t: datetime) -> int:
    return int((t - datetime(1970, 1, 1)) / timedelta(milliseconds=1))


def test_a_drag_along_a_row_books_that_resource_for_the_window_rounded_out_to_15_minutes():
    pick = picks.read_event(drag(epoch_ms(at_time(TUE, 9, 7)), epoch_ms(at_time(TUE, 11, 52)),
                                 0.8, 1.2), ROWS)
    assert pick == picks.Book("r2", at_time(TUE, 9), at_time(TUE, 12))


def test_a_drag_drawn_right_to_left_or_as_iso_strings_reads_the_same():
    pick = picks.read_event(drag("2030-01-08T14:00:00.000Z", "2030-01-08T13:10:00.000Z",
                                 2.3, 1.7), ROWS)
    assert pick == picks.Book("r3", at_time(TUE, 13), at_time(TUE, 14))


def test_a_drag_wins_over_the_click_that_ends_it():
    event = drag(epoch_ms(at_time(TUE, 9)), epoch_ms(at_time(TUE, 10)), -0.2, 0.2,
                 click={"k": "booking", "id": "b-1"})
    assert picks.read_event(event, ROWS) == picks.Book("r1", at_time(TUE, 9), at_time(TUE, 10))


def test_a_drag_past_midnight_is_cut_at_23_45_and_the_note_says_where_it_ended():
    late = picks.read_event(drag(epoch_ms(at_time(TUE, 22)),
                                 epoch_ms(at_time(TUE + timedelta(days=1), 2)), 0.9, 1.1), ROWS)
    assert isinstance(late, picks.Book)
    assert (late.resource_id, late.start, late.end) == ("r2", at_time(TUE, 22),
                                                        at_time(TUE, 23, 45))
    assert "Wed 09 Jan 02:00" in late.note and "23:45" in late.note
    tiny = picks.read_event(drag(epoch_ms(at_time(TUE, 10, 1)), epoch_ms(at_time(TUE, 10, 2)),
                                 0.9, 1.1), ROWS)
    assert tiny == picks.Book("r2", at_time(TUE, 10), at_time(TUE, 10, 15))


def test_a_drag_over_several_rows_is_refused_with_a_message_naming_them():
    pick = picks.read_event(drag(epoch_ms(at_time(TUE, 9)), epoch_ms(at_time(TUE, 11)),
                                 -0.1, 1.2), ROWS)
    assert isinstance(pick, picks.Refuse)
    assert "2 rows (Range 1, Range 2)" in pick.message and "one resource's row" in pick.message


def test_a_drag_that_wobbles_into_the_next_row_books_the_row_whose_middle_it_crossed():
    pick = picks.read_event(drag(epoch_ms(at_time(TUE, 9)), epoch_ms(at_time(TUE, 11)),
                                 0.9, 1.6), ROWS)
    assert pick == picks.Book("r2", at_time(TUE, 9), at_time(TUE, 11))


def test_a_drag_outside_every_row_opens_nothing():
    assert picks.read_event(drag(0, 3_600_000, 2.6, 3.4), ROWS) is None


def test_clicks_mean_a_slot_to_book_a_bar_to_open_or_a_month_day_to_show():
    slot = picks.read_event(clicked(k="slot", id="r2", s=epoch_ms(at_time(TUE, 15))), ROWS)
    assert slot == picks.Book("r2", at_time(TUE, 15), at_time(TUE, 17))
    late = picks.read_event(clicked(k="slot", id="r2", s=epoch_ms(at_time(TUE, 23))), ROWS)
    assert late == picks.Book("r2", at_time(TUE, 23), at_time(TUE, 23, 45))  # cut, no note
    assert picks.read_event(clicked(k="booking", id="b-1"), ROWS) == picks.Open("b-1")
    assert picks.read_event(clicked(day="2030-01-20"), ROWS) == picks.GoToDay(date(2030, 1, 20))
    assert picks.read_event(clicked(k="blackout", id=""), ROWS) is None
    assert picks.read_event(None, ROWS) is None


def test_the_specs_the_page_sends_are_valid_vega_lite_with_a_now_line_and_sql_month_counts(
        dashboard, make):
    r1, r2 = make.resource(name="Range 1"), make.resource(name="Range 2")
    make.booking(r1, start=NOW + timedelta(hours=4), end=NOW + timedelta(hours=6))
    make.booking(r2, start=NOW + timedelta(days=1, hours=12), end=NOW + timedelta(days=2))
    services.create_blackout(dashboard.uow(), make.admin.id, resource_id=r2.id,
                             start_time=NOW + timedelta(days=3),
                             end_time=NOW + timedelta(days=3, hours=4), reason="Butts repair")
    lo, day0 = datetime(2030, 1, 7), NOW.replace(hour=0)
    cal = services.calendar_view(dashboard.uow(), make.admin.id, window_start=day0,
                                 window_end=day0 + timedelta(days=7))
    rows = chart.entries(cal)
    week = chart.timeline(cal, rows, "Week", lo, lo + timedelta(days=7), at_time(lo.date(), 6, 3))
    alt.LayerChart.from_dict(week)  # raises on a spec Vega-Lite would reject
    bars = [v for v in week["layer"][0]["data"]["values"] if v["k"] != "slot"]
    assert sorted((v["c"], v["y"]) for v in bars) == [("blackout", 1), ("pending", 0),
                                                      ("pending", 1)]
    now = week["layer"][1]["data"]["values"][0]["t"]
    assert now == epoch_ms(datetime(2030, 1, 7, 6, 0))  # now, floored to 5 minutes
    bounds = [day0 + timedelta(days=i) for i in range(32)]
    month = services.calendar_view(dashboard.uow(), make.admin.id, window_start=day0,
                                   window_end=bounds[-1], day_bounds=bounds)
    assert month.bars == []  # counted, not fetched
    spec = chart.month_grid(month, lo, lo + timedelta(days=31))
    alt.LayerChart.from_dict(spec)
    cells = {(v["r"], v["day"]): v["n"] for v in spec["data"]["values"]}
    # Range 2 counts on two days (Tue 18:00 to Wed 06:00); its blackout is not counted.
    assert [[cells[(r, f"2030-01-{d:02}")] for r in ("Range 1", "Range 2")]
            for d in (7, 8, 9, 10)] == [[1, 0], [0, 1], [0, 1], [0, 0]]


def test_month_day_bounds_outside_the_window_are_refused_naming_the_field(dashboard, make):
    make.resource(name="Range 1")
    day0 = NOW.replace(hour=0)
    with pytest.raises(ValidationError) as err:
        services.calendar_view(dashboard.uow(), make.admin.id, window_start=day0,
                               window_end=day0 + timedelta(days=2),
                               day_bounds=[day0, day0 + timedelta(days=3)])
    assert err.value.field == "day_bounds"


def choose_on_chart(at, event: dict):
    """Run the page as if the browser reported this selection on the calendar chart."""
    [plot] = at.get("vega_lite_chart")
    states = WidgetStates()
    states.CopyFrom(at._tree.get_widget_states())
    state = states.widgets.add()
    state.id = plot.proto.id
    state.string_value = json.dumps(event)
    return at._run(states)


def test_dragging_along_a_row_opens_the_booking_form_prefilled_without_a_mouse_mode(dashboard,
                                                                                    make):
    make.resource(name="Range 1")
    r2 = make.resource(name="Range 2")
    at = signed_in(dashboard, make.user(Role.USER), "calendar")
    assert not at.get("button_group") or all(
        "Drag" not in str(b.proto) for b in at.get("button_group"))  # no mouse-mode switch
    [plot] = at.get("vega_lite_chart")
    assert sorted(plot.proto.selection_mode) == ["drag", "pick"]  # both, always
    # Range 2 is the second row (y = 1).
    choose_on_chart(at, drag(epoch_ms(at_time(TUE, 10, 5)), epoch_ms(at_time(TUE, 12, 40)),
                             0.8, 1.2))
    assert not errors(at), errors(at)
    assert at.title[0].value == "New booking"
    state = at.session_state
    assert (state["nb_resource"], state["nb_date"], state["nb_start"], state["nb_end"]) == (
        str(r2.id), TUE, time(10), time(12, 45))
    assert any("Range 2 is free" in s.value for s in at.success), [s.value for s in at.success]
    assert not at.warning


def test_a_drag_past_midnight_opens_the_form_cut_at_23_45_with_a_note(dashboard, make):
    r1 = make.resource(name="Range 1")
    at = signed_in(dashboard, make.user(Role.USER), "calendar")
    choose_on_chart(at, drag(epoch_ms(at_time(TUE, 21)),
                             epoch_ms(at_time(TUE + timedelta(days=1), 3)), -0.2, 0.2))
    assert at.title[0].value == "New booking"
    assert (at.session_state["nb_resource"], at.session_state["nb_end"]) == (str(r1.id),
                                                                             time(23, 45))
    assert any("ran to Wed 09 Jan 03:00" in w.value for w in at.warning), at.warning


def test_a_drag_over_two_rows_stays_on_the_calendar_and_says_why(dashboard, make):
    make.resource(name="Range 1")
    make.resource(name="Range 2")
    at = signed_in(dashboard, make.user(Role.USER), "calendar")
    choose_on_chart(at, drag(epoch_ms(at_time(TUE, 10)), epoch_ms(at_time(TUE, 12)), -0.2, 1.3))
    assert at.title[0].value == "Calendar"
    assert any("drag along one resource's row" in w.value for w in at.warning), at.warning


def test_clicking_a_bar_opens_the_booking_and_close_forgets_the_click(dashboard, make):
    staff = make.user(Role.STAFF)
    b = make.booking(make.resource(name="Range 1"), purpose="Club night")
    at = signed_in(dashboard, staff, "calendar")
    choose_on_chart(at, clicked(k="booking", id=str(b.id), s=0))
    assert not errors(at), errors(at)
    assert any("Club night" in m.value for m in at.markdown)
    assert button(at, "Decide in the approval queue")
    button(at, "Close").click().run()
    assert not any("Club night" in m.value for m in at.markdown)


def test_clicking_a_month_day_shows_that_day(dashboard, make):
    make.resource(name="Range 1")
    at = signed_in(dashboard, make.user(Role.USER), "calendar")
    at.segmented_control[0].set_value("Month").run()
    choose_on_chart(at, clicked(day="2030-01-20"))
    assert not errors(at), errors(at)
    assert at.segmented_control[0].value == "Day"
    assert at.date_input[0].value == date(2030, 1, 20)
