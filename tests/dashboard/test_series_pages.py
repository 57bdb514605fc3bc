"""Recurring bookings in the dashboard (AppTest): the series form with its preview and the
skip-conflicts choice, the staff queue's series row and actions, cancelling from My bookings,
and the series marker on All bookings and the calendar."""
from __future__ import annotations

from datetime import UTC, time, timedelta

from engine import services
from engine.domain.permissions import Role
from engine.services import BookingFilter
from tests.conftest import NOW
from tests.dashboard.helpers import button, by_label, errors, signed_in

TOMORROW = (NOW + timedelta(days=1)).date()  # Tuesday 2030-01-08 (site zone UTC in tests)


def at_hour(day, hour):
    from datetime import datetime

    return datetime.combine(day, time(hour), UTC)


def series_of(db, user):
    rows = services.list_bookings(db.uow(), user.id, BookingFilter(requester_id=user.id),
                                  page_size=100).items
    return {b.series_id for b in rows} - {None}, rows


def fill_series(at, resource, count=6, purpose="Tuesday practice night"):
    by_label(at.selectbox, "Resource").set_value(str(resource.id)).run()
    by_label(at.date_input, "First date").set_value(TOMORROW)
    by_label(at.time_input, "Start").set_value(time(18))
    by_label(at.time_input, "End").set_value(time(20))
    by_label(at.number_input, "Number of dates").set_value(count)
    by_label(at.text_area, "Purpose").input(purpose)
    return at.run()


def test_member_previews_a_weekly_series_skips_the_taken_date_and_sends_it(dashboard, make):
    staff = make.user(Role.STAFF)
    r = make.resource(name="Range 1")
    taken_day = TOMORROW + timedelta(weeks=2)
    make.booking(r, start=at_hour(taken_day, 17), end=at_hour(taken_day, 19), approve_by=staff)
    member = make.user()
    at = fill_series(signed_in(dashboard, member, "new_series"), r)
    assert not errors(at), errors(at)
    preview = at.dataframe[0].value
    assert len(preview) == 6
    assert list(preview["Availability"].str.startswith("taken")) == [
        False, False, True, False, False, False]
    choice = by_label(at.radio, "1 date(s) are taken")
    choice.set_value("Skip the conflicting dates").run()
    button(at, "Send series request").click().run()
    assert not errors(at), errors(at)
    ids, rows = series_of(dashboard, member)
    assert len(ids) == 1 and len(rows) == 5
    assert {b.status for b in rows} == {"pending"}
    assert taken_day not in {b.start_time.date() for b in rows}
    assert {(b.start_time.hour, b.end_time.hour) for b in rows} == {(18, 20)}


def test_a_bad_rule_shows_the_field_and_sends_nothing(dashboard, make):
    r = make.resource(name="Range 1")
    member = make.user()
    at = fill_series(signed_in(dashboard, member, "new_series"), r)
    by_label(at.radio, "Ends").set_value("On a date").run()
    by_label(at.date_input, "Last date").set_value(TOMORROW - timedelta(days=3)).run()
    assert errors(at) == ["Last date must be on or after the first window's date"]
    assert series_of(dashboard, member) == (set(), [])


def make_series(db, member, resource, count=6, weeks_offset=0):
    start = at_hour(TOMORROW + timedelta(weeks=weeks_offset), 18)
    return services.request_series(db.uow(), member.id, resource_id=resource.id,
                                   start_time=start, end_time=start + timedelta(hours=2),
                                   rule={"frequency": "weekly", "count": count},
                                   purpose="Tuesday practice night")


def test_staff_see_a_series_as_one_row_and_approve_its_conflict_free_part(dashboard, make):
    staff = make.user(Role.STAFF)
    r = make.resource(name="Range 1")
    blocked = TOMORROW + timedelta(weeks=1)
    make.booking(r, start=at_hour(blocked, 19), end=at_hour(blocked, 21), approve_by=staff)
    single = make.booking(make.resource(name="Range 2"))
    series = make_series(dashboard, make.user(), r)
    at = signed_in(dashboard, staff, "approval_queue")
    assert not errors(at), errors(at)
    row = at.dataframe[0].value
    assert len(row) == 1
    assert (row["Occurrences"][0], row["Pending"][0], row["Conflicting"][0]) == (6, 6, 1)
    singles = at.dataframe[2].value  # after the series' own occurrence table
    assert list(singles["Ref"]) == [str(single.id)[:8]]
    button(at, "Approve all 5 conflict-free occurrences").click().run()
    assert not errors(at), errors(at)
    after = services.get_series(dashboard.uow(), staff.id, series.id)
    assert after.count("approved") == 5 and after.count("pending") == 1
    assert any("Approved 5 occurrence(s)" in s.value for s in at.success)


def test_staff_deny_a_whole_series_with_one_reason(dashboard, make):
    staff = make.user(Role.STAFF)
    series = make_series(dashboard, make.user(), make.resource(name="Range 1"), count=3)
    at = signed_in(dashboard, staff, "approval_queue")
    assert [i.value for i in at.info] == [
        "No single requests waiting: only the recurring series above."]
    assert not [s.value for s in at.success if "Nothing waiting" in s.value]
    by_label(at.text_input, "Reason for denying the whole series (the requester sees it)"
             ).input("Range closed for works").run()
    button(at, "Deny every pending occurrence").click().run()
    assert not errors(at), errors(at)
    after = services.get_series(dashboard.uow(), staff.id, series.id)
    assert after.count("denied") == 3
    assert {o.decision_reason for o in after.occurrences} == {"Range closed for works"}


def test_member_cancels_this_and_following_from_my_bookings(dashboard, make):
    member = make.user()
    series = make_series(dashboard, member, make.resource(name="Range 1"), count=4)
    at = signed_in(dashboard, member, "my_bookings")
    listing = at.dataframe[0].value
    assert set(listing["Series"]) == {"↻ series"}
    third = series.occurrences[2]
    by_label(at.selectbox, "Cancel").set_value(str(third.id)).run()
    button(at, "Cancel these dates").click().run()
    assert not errors(at), errors(at)
    after = services.get_series(dashboard.uow(), member.id, series.id)
    assert [o.status for o in after.occurrences] == ["pending", "pending", "cancelled",
                                                     "cancelled"]


def test_all_bookings_and_calendar_mark_series_occurrences(dashboard, make):
    staff = make.user(Role.STAFF)
    r = make.resource(name="Range 1")
    make_series(dashboard, make.user(), r, count=2)
    make.booking(r, start=at_hour(TOMORROW, 9), end=at_hour(TOMORROW, 10))
    at = signed_in(dashboard, staff, "all_bookings")
    table = at.dataframe[0].value
    assert sorted(table["Series"]) == ["", "↻ series", "↻ series"]
    at = signed_in(dashboard, staff, "calendar")
    assert not errors(at), errors(at)
    at.session_state["cal_list"] = True  # open "As a list" (built only when opened)
    at.run()
    listing = at.dataframe[0].value
    marks = dict(zip(listing["Start"], listing["Series"], strict=True))
    assert marks["Tue 08 Jan 18:00"] == "↻ series" and marks["Tue 08 Jan 09:00"] == ""
