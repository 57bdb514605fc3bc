"""Member pages (AppTest): New booking, My bookings, Calendar — and what they change."""
from __future__ import annotations

from datetime import date, time, timedelta

from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df

from engine import services
from engine.domain.permissions import Role
from engine.services import BookingFilter
from tests.conftest import NOW
from tests.dashboard.helpers import button, by_label, errors, signed_in

TOMORROW = (NOW + timedelta(days=1)).date()  # Tuesday 2030-01-08 (site zone UTC in tests)


def bookings_of(db, user):
    return services.list_bookings(db.uow(), user.id, BookingFilter(requester_id=user.id)).items


def fill_request(at, resource_name: str, day: date, start: time, end: time, purpose: str):
    resource = by_label(at.selectbox, "Resource")
    resource.select(next(o for o in resource.options if o.startswith(resource_name))).run()
    by_label(at.date_input, "Date").set_value(day)
    by_label(at.time_input, "Start").set_value(start)
    by_label(at.time_input, "End").set_value(end)
    by_label(at.text_area, "Purpose").input(purpose)
    return at.run()


def test_member_requests_a_booking_and_it_waits_as_pending(dashboard, make):
    make.resource(name="Range 1", opens_at=time(8), closes_at=time(18))
    member = make.user(Role.USER)
    at = fill_request(signed_in(dashboard, member, "new_booking"), "Range 1", TOMORROW,
                      time(10), time(12), "Zeroing session")
    assert any("is free" in s.value for s in at.success)
    button(at, "Send request").click().run()
    assert not errors(at), errors(at)
    [booking] = bookings_of(dashboard, member)
    assert (booking.status, booking.purpose, booking.resource_name) == (
        "pending", "Zeroing session", "Range 1")
    assert booking.start_time.hour == 10 and booking.end_time.hour == 12
    assert any("Request sent" in s.value for s in at.success)


def test_a_refused_request_shows_the_rule_and_keeps_what_was_typed(dashboard, make):
    make.resource(name="Range 1", opens_at=time(8), closes_at=time(18))
    member = make.user(Role.USER)
    at = fill_request(signed_in(dashboard, member, "new_booking"), "Range 1", TOMORROW,
                      time(16), time(19), "Evening league")
    button(at, "Send request").click().run()
    assert any(e.startswith("Start:") and "open 08:00-18:00" in e for e in errors(at)), errors(at)
    assert by_label(at.text_area, "Purpose").value == "Evening league"
    assert by_label(at.time_input, "End").value == time(19)
    assert bookings_of(dashboard, member) == []


def test_conflicts_and_alternatives_show_before_sending_and_one_can_be_taken(dashboard, make):
    staff = make.user(Role.STAFF)
    r1 = make.resource(name="Range 1", opens_at=time(8), closes_at=time(18))
    start = NOW.replace(day=8, hour=10)
    make.booking(r1, start=start, end=start + timedelta(hours=2), priority=3, approve_by=staff)
    member = make.user(Role.USER)
    at = fill_request(signed_in(dashboard, member, "new_booking"), "Range 1", TOMORROW,
                      time(10), time(12), "Club night")
    assert any("already taken" in w.value for w in at.warning)
    conflict_table = at.dataframe[0].value
    assert list(conflict_table["Priority"]) == [3]
    take = [b for b in at.button if b.label == "Use this"]
    assert take, "alternatives are offered"
    take[0].click().run()
    assert by_label(at.time_input, "Start").value != time(10) or \
        by_label(at.date_input, "Date").value != TOMORROW
    assert any("is free" in s.value for s in at.success)
    button(at, "Send request").click().run()
    [mine] = bookings_of(dashboard, member)
    assert not services.find_conflicts(dashboard.uow(), member.id, mine.resource_id,
                                       mine.start_time, mine.end_time).has_hard


def test_my_bookings_shows_the_denial_reason_and_cancels(dashboard, make):
    staff = make.user(Role.STAFF)
    r1 = make.resource(name="Range 1")
    member = make.user(Role.USER)
    denied = make.booking(r1, member, start=NOW + timedelta(days=2),
                          end=NOW + timedelta(days=2, hours=1))
    services.deny_booking(dashboard.uow(), staff.id, denied.id, "Range closed for the match")
    kept = make.booking(r1, member, start=NOW + timedelta(days=3),
                        end=NOW + timedelta(days=3, hours=1))
    at = signed_in(dashboard, member, "my_bookings")
    at.pills[0].set_value(["pending", "denied"]).run()
    assert any("Range closed for the match" in w.value for w in at.warning)
    assert len(at.dataframe[0].value) == 2
    by_label(at.selectbox, "Booking").set_value(str(kept.id))
    by_label(at.text_input, "Reason (optional)").input("Plans changed")
    button(at, "Cancel booking").click().run()
    assert not errors(at), errors(at)
    assert services.get_booking(dashboard.uow(), member.id, kept.id).status == "cancelled"
    assert services.get_booking(dashboard.uow(), member.id, denied.id).status == "denied"


def test_members_see_only_their_own_bookings(dashboard, make):
    r1 = make.resource(name="Range 1")
    mine, other = make.user(Role.USER), make.user(Role.USER)
    make.booking(r1, other, purpose="Someone else's shoot")
    make.booking(r1, mine, start=NOW + timedelta(days=2), end=NOW + timedelta(days=2, hours=1),
                 purpose="My own shoot")
    at = signed_in(dashboard, mine, "my_bookings")
    assert list(at.dataframe[0].value["Purpose"]) == ["My own shoot"]


def test_calendar_draws_bookings_and_blackouts_but_hides_others_details(dashboard, make):
    r1 = make.resource(name="Range 1")
    mine, other = make.user(Role.USER), make.user(Role.USER)
    make.booking(r1, other, purpose="Private club shoot")
    make.booking(r1, mine, start=NOW + timedelta(days=2), end=NOW + timedelta(days=2, hours=1),
                 purpose="My practice")
    services.create_blackout(dashboard.uow(), make.admin.id, resource_id=r1.id,
                             start_time=NOW + timedelta(days=3),
                             end_time=NOW + timedelta(days=3, hours=4), reason="Butts repair")
    at = signed_in(dashboard, mine, "calendar")
    assert not errors(at), errors(at)
    assert not at.dataframe  # the list is built only once opened
    at.session_state["cal_list"] = True  # what opening "As a list" does
    at.run()
    listing = at.dataframe[0].value
    assert sorted(listing["What"]) == ["Booked", "Butts repair", "My practice"]
    assert sorted(listing["Status"]) == ["blackout", "pending", "pending"]
    assert "Private club shoot" not in set(listing["What"])
    assert at.get("vega_lite_chart")


def test_calendar_day_week_and_month_views_and_filters(dashboard, make):
    zone = make.zone("North Danger Area")
    r1 = make.resource(name="Range 1", safety_zone_id=zone.id)
    bay = make.resource(name="Bay 1", resource_type="bay")
    member = make.user(Role.USER)
    make.booking(r1, member, purpose="Tomorrow")                       # Tue 8 Jan
    make.booking(bay, member, start=NOW + timedelta(days=20),
                 end=NOW + timedelta(days=20, hours=1), purpose="In three weeks")
    at = signed_in(dashboard, member, "calendar")
    at.session_state["cal_list"] = True  # "As a list" open
    at.run()

    def shown():
        return sorted(at.dataframe[0].value["What"]) if at.dataframe else []

    def month_counts():
        """(resource, day, bookings) of the month grid's non-empty cells."""
        [plot] = at.get("vega_lite_chart")  # the grid's cells travel as Arrow
        cells = convert_arrow_bytes_to_pandas_df(plot.proto.data.data)
        return sorted((c.r, c.day, c.n) for c in cells.itertuples() if c.n)

    assert shown() == ["Tomorrow"]
    at.segmented_control[0].set_value("Month").run()
    assert month_counts() == [("Bay 1", "2030-01-27", 1), ("Range 1", "2030-01-08", 1)]
    by_label(at.selectbox, "Resource type").set_value("bay").run()
    assert month_counts() == [("Bay 1", "2030-01-27", 1)]
    by_label(at.selectbox, "Resource type").set_value("Any")
    by_label(at.selectbox, "Safety zone").set_value("North Danger Area").run()
    assert month_counts() == [("Range 1", "2030-01-08", 1)]
    at.segmented_control[0].set_value("Day")
    at.session_state["cal_list"] = True  # the month has no list: open it again
    at.run()
    assert shown() == []  # today (Mon 7 Jan) holds nothing
    by_label(at.date_input, "From").set_value(TOMORROW).run()
    assert shown() == ["Tomorrow"]


def test_my_bookings_shows_the_note_staff_left_when_rescheduling(dashboard, make):
    staff = make.user(Role.STAFF)
    member = make.user(Role.USER)
    b = make.booking(make.resource(name="Range 1"), member, start=NOW + timedelta(days=2),
                     end=NOW + timedelta(days=2, hours=1))
    services.reschedule_booking(dashboard.uow(), staff.id, b.id, start_time=NOW + timedelta(days=3),
                                end_time=NOW + timedelta(days=3, hours=1),
                                reason="Moved a day: the range is resurfaced on Wednesday")
    at = signed_in(dashboard, member, "my_bookings")
    assert any("resurfaced on Wednesday" in i.value for i in at.info)


def test_after_sending_the_form_locks_until_the_member_asks_for_another(dashboard, make):
    make.resource(name="Range 1", opens_at=time(8), closes_at=time(18))
    member = make.user(Role.USER)
    at = fill_request(signed_in(dashboard, member, "new_booking"), "Range 1", TOMORROW,
                      time(10), time(12), "Zeroing session")
    button(at, "Send request").click().run()
    assert not [b for b in at.button if b.label == "Send request"]  # no second send
    assert any("Request sent" in s.value for s in at.success)
    button(at, "Make another request").click().run()
    assert by_label(at.text_area, "Purpose").value == ""
    assert len(bookings_of(dashboard, member)) == 1


def test_a_request_for_a_window_the_member_already_asked_for_warns_and_needs_a_tick(dashboard,
                                                                                   make):
    r1 = make.resource(name="Range 1", opens_at=time(8), closes_at=time(18))
    member = make.user(Role.USER)
    start = NOW.replace(day=8, hour=10)
    make.booking(r1, member, start=start, end=start + timedelta(hours=2))
    at = fill_request(signed_in(dashboard, member, "new_booking"), "Range 1", TOMORROW,
                      time(10), time(12), "Zeroing session")
    assert any("You already have a pending request for Range 1" in w.value for w in at.warning)
    assert button(at, "Send request").disabled
    by_label(at.checkbox, "Send another request for this window anyway").check().run()
    button(at, "Send request").click().run()
    assert len(bookings_of(dashboard, member)) == 2


def test_availability_does_not_say_free_for_a_window_the_request_would_refuse(dashboard, make):
    make.resource(name="Range 1", opens_at=time(8), closes_at=time(18))
    member = make.user(Role.USER)
    at = fill_request(signed_in(dashboard, member, "new_booking"), "Range 1", TOMORROW,
                      time(17), time(19), "Evening league")
    assert not any("is free" in s.value for s in at.success)
    assert any("cannot be requested" in w.value and "08:00-18:00" in w.value for w in at.warning)
    at = fill_request(at, "Range 1", NOW.date() - timedelta(days=1), time(10), time(12),
                      "Yesterday")
    assert not any("is free" in s.value for s in at.success)
    assert any("Start must not be in the past" in w.value for w in at.warning)


def test_member_changes_their_pending_request_with_the_same_checks(dashboard, make):
    staff = make.user(Role.STAFF)
    r1 = make.resource(name="Range 1", opens_at=time(8), closes_at=time(18))
    member = make.user(Role.USER)
    mine = make.booking(r1, member, start=NOW.replace(day=8, hour=10),
                        end=NOW.replace(day=8, hour=12))
    taken = NOW.replace(day=9, hour=14)
    make.booking(r1, start=taken, end=taken + timedelta(hours=2), approve_by=staff)
    at = signed_in(dashboard, member, "my_bookings")
    assert not at.date_input  # the form opens when asked for
    by_label(at.toggle, "Change its window or purpose").set_value(True).run()
    by_label(at.date_input, "Date").set_value(taken.date()).run()
    by_label(at.time_input, "Start").set_value(time(14)).run()
    by_label(at.time_input, "End").set_value(time(16)).run()
    assert any("already taken" in w.value for w in at.warning)
    by_label(at.time_input, "Start").set_value(time(9)).run()
    by_label(at.time_input, "End").set_value(time(11)).run()
    by_label(at.text_area, "Purpose").input("Moved to Wednesday morning")
    button(at, "Save changes").click().run()
    assert not errors(at), errors(at)
    view = services.get_booking(dashboard.uow(), member.id, mine.id)
    assert (view.start_time.day, view.start_time.hour, view.purpose, view.status) == (
        9, 9, "Moved to Wednesday morning", "pending")


def open_linked(db, user, page: str, **params):
    """The page opened from an e-mail's link: signed in, with the link's query parameters."""
    at = signed_in(db, user)
    for name, value in params.items():
        at.query_params[name] = value
    at.switch_page(f"views/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_an_email_link_opens_my_bookings_at_that_booking_first(dashboard, make):
    staff = make.user(Role.STAFF)
    r1, r2 = make.resource(name="Range 1"), make.resource(name="Indoor Bay 2")
    member = make.user(Role.USER)
    make.booking(r1, member, start=NOW + timedelta(days=1), end=NOW + timedelta(days=1, hours=1),
                 purpose="Sooner shoot")
    later = make.booking(r2, member, start=NOW + timedelta(days=5),
                         end=NOW + timedelta(days=5, hours=2), purpose="Later shoot")
    denied = make.booking(r1, member, start=NOW + timedelta(days=2),
                          end=NOW + timedelta(days=2, hours=1), purpose="Refused shoot")
    services.deny_booking(dashboard.uow(), staff.id, denied.id, "Range closed for the match")

    at = open_linked(dashboard, member, "my_bookings", booking=str(later.id))
    assert at.subheader[0].value.startswith("Indoor Bay 2, ")  # above every other section
    assert any("Later shoot" in m.value and f"Reference **{str(later.id)[:8]}**" in m.value
               for m in at.markdown)
    # it is the one chosen in the forms that act on it, though it is not the soonest
    assert by_label(at.selectbox, "Booking").value == str(later.id)
    assert by_label(at.selectbox, "Request").value == str(later.id)

    # a denied booking is hidden by the default filter, but its link still shows it and why
    at = open_linked(dashboard, member, "my_bookings", booking=str(denied.id))
    assert at.subheader[0].value.startswith("Range 1, ")
    assert any("Reason:** Range closed for the match" in m.value for m in at.markdown)


def test_a_link_to_someone_elses_booking_says_so_and_shows_no_details(dashboard, make):
    r1 = make.resource(name="Range 1")
    mine, other = make.user(Role.USER), make.user(Role.USER)
    theirs = make.booking(r1, other, purpose="Someone else's shoot")
    make.booking(r1, mine, start=NOW + timedelta(days=2), end=NOW + timedelta(days=2, hours=1),
                 purpose="My own shoot")
    at = open_linked(dashboard, mine, "my_bookings", booking=str(theirs.id))
    assert any("not one of yours" in w.value for w in at.warning)
    assert not any("Someone else's shoot" in m.value for m in at.markdown)
    assert list(at.dataframe[0].value["Purpose"]) == ["My own shoot"]
