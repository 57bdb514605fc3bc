"""Staff pages (AppTest): approval queue decisions, all bookings, audit log, reports."""
from __future__ import annotations

from datetime import timedelta

from engine import services
from engine.domain.permissions import Role
from tests.conftest import NOW
from tests.dashboard.helpers import button, by_label, errors, signed_in


def status(db, staff, booking) -> str:
    return services.get_booking(db.uow(), staff.id, booking.id).status


def window(days: int, hours: int = 2, at_hour: int = 10):
    start = (NOW + timedelta(days=days)).replace(hour=at_hour)
    return start, start + timedelta(hours=hours)


def queue_for(db, staff, booking, tab: str = "Approve"):
    """The queue with `booking` chosen and the action tab `tab` open (only it is drawn)."""
    at = signed_in(db, staff, "approval_queue")
    by_label(at.selectbox, "Request to decide").set_value(str(booking.id))
    at.session_state["aq_action"] = tab
    return at.run()


def test_queue_lists_pending_soonest_first_with_conflicts_and_priorities(dashboard, make):
    staff = make.user(Role.STAFF)
    r1 = make.resource(name="Range 1")
    s, e = window(2)
    make.booking(r1, start=s, end=e, priority=4, approve_by=staff)
    later = make.booking(r1, start=window(3)[0], end=window(3)[1], purpose="Later one")
    sooner = make.booking(r1, start=s, end=e, priority=1, purpose="Sooner one")
    at = signed_in(dashboard, staff, "approval_queue")
    table = at.dataframe[0].value
    assert list(table["Purpose"]) == ["Sooner one", "Later one"]
    assert "p4" in table["Conflicts"][0] and table["Conflicts"][1] == "clear"
    by_label(at.selectbox, "Request to decide").set_value(str(sooner.id)).run()
    assert list(at.dataframe[1].value["Priority"]) == [4]  # the conflict, with its priority
    assert later.id != sooner.id


def test_approve_from_the_queue(dashboard, make):
    staff = make.user(Role.STAFF)
    b = make.booking(make.resource())
    at = queue_for(dashboard, staff, b)
    button(at, "Approve").click().run()
    assert not errors(at), errors(at)
    assert status(dashboard, staff, b) == "approved"
    assert any("Approved" in s.value for s in at.success)


def test_approval_over_a_conflict_is_refused_with_the_conflict_listed(dashboard, make):
    staff = make.user(Role.STAFF)
    r1 = make.resource(name="Range 1")
    s, e = window(2)
    make.booking(r1, start=s, end=e, approve_by=staff)
    b = make.booking(r1, start=s, end=e)
    at = queue_for(dashboard, staff, b)
    button(at, "Approve").click().run()
    assert any("conflicts with existing bookings" in m for m in errors(at))
    assert status(dashboard, staff, b) == "pending"


def test_deny_needs_a_reason_then_records_it(dashboard, make):
    staff = make.user(Role.STAFF)
    b = make.booking(make.resource())
    at = queue_for(dashboard, staff, b, "Deny")
    button(at, "Deny").click().run()
    assert any("Reason must" in m for m in errors(at)), errors(at)
    assert status(dashboard, staff, b) == "pending"
    by_label(at.text_input, "Reason (the requester sees it)").input("Range officer unavailable")
    button(at, "Deny").click().run()
    view = services.get_booking(dashboard.uow(), staff.id, b.id)
    assert (view.status, view.decision_reason) == ("denied", "Range officer unavailable")


def test_reschedule_from_the_queue(dashboard, make):
    staff = make.user(Role.STAFF)
    b = make.booking(make.resource(), start=window(2)[0], end=window(2)[1])
    at = queue_for(dashboard, staff, b, "Reschedule")
    new_day = (NOW + timedelta(days=4)).date()
    by_label(at.date_input, "Date").set_value(new_day)
    button(at, "Reschedule").click().run()
    assert not errors(at), errors(at)
    view = services.get_booking(dashboard.uow(), staff.id, b.id)
    assert view.start_time.date() == new_day and view.status == "pending"


def outranked_in_the_queue(dashboard, make, tab: str):
    """A priority-1 approved booking in the way of a priority-5 request, the request open in
    the queue of a staff member on action tab `tab`: (staff, victim, winner, app)."""
    staff = make.user(Role.STAFF)
    r1 = make.resource()
    s, e = window(2)
    victim = make.booking(r1, start=s, end=e, priority=1, approve_by=staff)
    winner = make.booking(r1, start=s, end=e, priority=5)
    return staff, victim, winner, queue_for(dashboard, staff, winner, tab)


def confirm_bump(at, label: str) -> None:
    """Give the bumped requesters a reason, tick the confirmation, press the bump button."""
    by_label(at.text_input, "Reason (its requester sees it)").input("Police qualification")
    at.checkbox[0].check().run()
    button(at, label).click().run()


def test_bump_needs_confirmation_then_swaps_the_bookings(dashboard, make):
    staff, victim, winner, at = outranked_in_the_queue(dashboard, make, "Bump")
    assert button(at, "Bump and approve").disabled
    confirm_bump(at, "Bump and approve")
    assert not errors(at), errors(at)
    assert status(dashboard, staff, victim) == "bumped"
    assert status(dashboard, staff, winner) == "approved"


def test_force_override_needs_confirmation_and_bumps_lower_priority(dashboard, make):
    staff, victim, winner, at = outranked_in_the_queue(dashboard, make, "Force override")
    assert button(at, "Force override").disabled
    by_label(at.checkbox, "I confirm the force override").check().run()
    button(at, "Force override").click().run()
    assert not errors(at), errors(at)
    assert status(dashboard, staff, winner) == "approved"
    assert status(dashboard, staff, victim) == "bumped"


def test_approve_every_conflict_free_request_in_one_step(dashboard, make):
    staff = make.user(Role.STAFF)
    r1, r2 = make.resource(), make.resource()
    s, e = window(2)
    make.booking(r1, start=s, end=e, approve_by=staff)
    blocked = make.booking(r1, start=s, end=e)
    a = make.booking(r2, start=s, end=e)
    rival = make.booking(r2, start=s + timedelta(hours=1), end=e + timedelta(hours=1))
    c = make.booking(r2, start=window(3)[0], end=window(3)[1])
    at = signed_in(dashboard, staff, "approval_queue")
    [clear_all] = [b for b in at.button if b.label.startswith("Approve all")]
    assert "3 conflict-free" in clear_all.label
    clear_all.click().run()
    # Nothing happens yet: the page lists what will be approved and asks first.
    assert status(dashboard, staff, a) == "pending"
    listed = at.dataframe[1].value
    assert len(listed) == 3 and {"When", "Resource", "Requested by"} <= set(listed.columns)
    button(at, "Approve these 3").click().run()
    assert status(dashboard, staff, a) == "approved"
    assert status(dashboard, staff, c) == "approved"
    assert status(dashboard, staff, rival) == "pending"  # met the request approved before it
    assert status(dashboard, staff, blocked) == "pending"
    assert any("Approved 2" in s.value for s in at.success)


def test_all_bookings_filters_and_paginates(dashboard, make):
    staff = make.user(Role.STAFF)
    r1, r2 = make.resource(name="Range 1"), make.resource(name="Bay 9", resource_type="bay")
    for day in range(1, 4):
        make.booking(r1, start=window(day)[0], end=window(day)[1])
    make.booking(r2, start=window(1)[0], end=window(1)[1], approve_by=staff)
    at = signed_in(dashboard, staff, "all_bookings")
    assert len(at.dataframe[0].value) == 4
    by_label(at.selectbox, "Resource type").set_value("bay").run()
    assert list(at.dataframe[0].value["Resource"]) == ["Bay 9"]
    by_label(at.selectbox, "Resource type").set_value("Any").run()
    at.pills[0].set_value(["pending"]).run()
    assert len(at.dataframe[0].value) == 3
    assert at.download_button and "3 rows" in at.download_button[0].label


def test_audit_log_filters_by_booking_and_shows_previous_state(dashboard, make, clock):
    staff = make.user(Role.STAFF, name="Robin Officer")
    b = make.booking(make.resource(name="Indoor Bay 1"))
    clock.advance(minutes=5)
    services.deny_booking(dashboard.uow(), staff.id, b.id, "No range officer")
    at = signed_in(dashboard, staff, "audit_log")
    by_label(at.text_input, "Booking reference").input(str(b.id)[:8]).run()  # the short ref
    table = at.dataframe[0].value
    assert list(table["Action"]) == ["Denied", "Created"]
    assert all("Indoor Bay 1" in about for about in table["About"])
    change = at.dataframe[1].value  # the newest entry, as a before/after list
    rows = {r.Field: (r.Before, r.After) for r in change.itertuples()}
    assert rows["Status"] == ("pending", "denied")
    assert rows["Reason"][1] == "No range officer"
    shown = " ".join(str(v) for frame in at.dataframe for v in frame.value.to_numpy().ravel())
    assert str(b.id) not in shown and str(staff.id) not in shown  # no raw ids anywhere
    by_label(at.text_input, "Booking reference").input("not-an-id").run()
    assert any("Booking must be a booking reference" in m for m in errors(at)), errors(at)


def test_audit_log_names_roles_as_the_app_does(dashboard, make, clock):
    admin = make.user(Role.ADMIN)
    staff = make.user(Role.STAFF, name="Robin Officer")
    clock.advance(minutes=5)  # the role change is the newest entry, shown first
    services.change_role(dashboard.uow(), admin.id, staff.id, "user")
    at = signed_in(dashboard, admin, "audit_log")
    rows = {r.Field: (r.Before, r.After) for r in at.dataframe[1].value.itertuples()}
    assert rows["Role"] == ("Staff", "Member")


def test_reports_page_draws_the_engine_figures(dashboard, make):
    staff = make.user(Role.STAFF)
    b = make.booking(make.resource())
    services.approve_booking(dashboard.uow(), staff.id, b.id)
    at = signed_in(dashboard, staff, "reports")
    assert not errors(at), errors(at)
    assert len(at.get("vega_lite_chart")) == 1  # only the open tab's chart is drawn
    for label in ("Conflict and approval rates", "Approval turnaround", "Bookings per day"):
        at.session_state["rp_tab"] = label
        at.run()
        assert not errors(at), errors(at)
        assert len(at.get("vega_lite_chart")) == 1, label
    assert {m.label for m in at.metric} >= {"Decisions in range", "Median turnaround"}
    decided = [m for m in at.metric if m.label == "Decisions in range"][0]
    assert decided.value == "1"


def tab_named(at, label: str):
    [tab] = [t for t in at.tabs if t.label == label]
    return tab


def test_only_the_open_action_tab_is_drawn_and_choosing_another_draws_it(dashboard, make):
    staff = make.user(Role.STAFF)
    b = make.booking(make.resource(name="Range 1"))
    at = queue_for(dashboard, staff, b)
    assert [t.label for t in at.tabs] == ["Approve", "Deny", "Reschedule", "Bump",
                                          "Force override"]
    assert button(at, "Approve") and not at.date_input and not at.text_input
    at.session_state["aq_action"] = "Reschedule"
    at.run()
    assert by_label(at.date_input, "Date").value == b.start_time.date()
    assert [b.label for b in tab_named(at, "Approve").button] == []


def test_approve_all_can_be_cancelled_without_approving_anything(dashboard, make):
    staff = make.user(Role.STAFF)
    a = make.booking(make.resource())
    at = signed_in(dashboard, staff, "approval_queue")
    [clear_all] = [b for b in at.button if b.label.startswith("Approve all")]
    clear_all.click().run()
    button(at, "Cancel").click().run()
    assert status(dashboard, staff, a) == "pending"
    assert [b for b in at.button if b.label.startswith("Approve all")]


def test_after_an_action_the_page_stays_on_its_tab_with_the_message_there(dashboard, make):
    staff = make.user(Role.STAFF)
    b = make.booking(make.resource(name="Indoor Bay 1"))
    other = make.booking(make.resource(), start=window(3)[0], end=window(3)[1])
    at = queue_for(dashboard, staff, b)
    at.session_state["aq_action"] = "Deny"
    at.run()
    button(at, "Deny").click().run()  # no reason: the error shows in the Deny tab
    assert at.session_state["aq_action"] == "Deny"
    assert any("reason" in e.value.lower() for e in tab_named(at, "Deny").error)
    assert not tab_named(at, "Approve").error
    by_label(at.text_input, "Reason (the requester sees it)").input("No range officer")
    button(at, "Deny").click().run()
    assert status(dashboard, staff, b) == "denied"
    assert at.session_state["aq_action"] == "Deny"  # the rerun kept the tab
    [message] = [s.value for s in tab_named(at, "Deny").success]
    assert "Denied" in message and "Indoor Bay 1" in message
    assert str(b.id) not in message
    assert status(dashboard, staff, other) == "pending"


def test_reschedule_shows_the_conflicts_of_the_new_window_before_saving(dashboard, make):
    staff = make.user(Role.STAFF)
    r1 = make.resource(name="Range 1")
    taken_start, taken_end = window(4)
    make.booking(r1, start=taken_start, end=taken_end, approve_by=staff)
    b = make.booking(r1, start=window(2)[0], end=window(2)[1])
    at = queue_for(dashboard, staff, b, "Reschedule")
    by_label(at.date_input, "Date").set_value(taken_start.date()).run()
    tab = tab_named(at, "Reschedule")
    assert any("is taken on Range 1" in w.value for w in tab.warning)
    assert button(at, "Reschedule").disabled
    assert status(dashboard, staff, b) == "pending"
    view = services.get_booking(dashboard.uow(), staff.id, b.id)
    assert view.start_time == window(2)[0]
    by_label(at.checkbox, "Move it into the taken window anyway").check().run()
    button(at, "Reschedule").click().run()
    view = services.get_booking(dashboard.uow(), staff.id, b.id)
    assert view.start_time.date() == taken_start.date() and view.status == "pending"


def test_bump_shows_every_booking_in_the_way_and_displaces_them_together(dashboard, make):
    staff = make.user(Role.STAFF)
    r1 = make.resource()
    s, e = window(2, hours=4)
    first = make.booking(r1, start=s, end=s + timedelta(hours=2), priority=1, approve_by=staff)
    second = make.booking(r1, start=s + timedelta(hours=2), end=e, priority=2, approve_by=staff)
    winner = make.booking(r1, start=s, end=e, priority=5)
    at = queue_for(dashboard, staff, winner, "Bump")
    assert len(tab_named(at, "Bump").dataframe[0].value) == 2
    confirm_bump(at, "Bump all 2 and approve")
    assert not errors(at), errors(at)
    assert status(dashboard, staff, first) == "bumped"
    assert status(dashboard, staff, second) == "bumped"
    assert status(dashboard, staff, winner) == "approved"


def test_bump_points_elsewhere_when_a_booking_in_the_way_outranks_the_request(dashboard, make):
    staff = make.user(Role.STAFF)
    r1 = make.resource()
    s, e = window(2)
    make.booking(r1, start=s, end=e, priority=7, approve_by=staff)
    winner = make.booking(r1, start=s, end=e, priority=5)
    at = queue_for(dashboard, staff, winner, "Bump")
    assert any("cannot clear" in i.value for i in tab_named(at, "Bump").info)
    assert not [b for b in at.button if b.label.startswith("Bump")]


def test_bookings_tables_show_short_references_and_the_csv_carries_iso_8601_times(dashboard,
                                                                                    make):
    import pandas as pd

    from dashboard import ui

    staff = make.user(Role.STAFF)
    b = make.booking(make.resource(name="Range 1"), start=window(2)[0], end=window(2)[1])
    at = signed_in(dashboard, staff, "all_bookings")
    table = at.dataframe[0].value
    assert list(table["Ref"]) == [str(b.id)[:8]]
    assert str(b.id) not in " ".join(str(v) for v in table.to_numpy().ravel())
    view = services.get_booking(dashboard.uow(), staff.id, b.id)
    csv = ui.bookings_frame([view], for_csv=True)
    parsed = pd.to_datetime(csv["Start (ISO 8601)"], format="ISO8601")
    assert parsed[0] == pd.Timestamp(view.start_time)
    assert csv["Start (ISO 8601)"][0] == view.start_time.isoformat(timespec="minutes")


def test_a_new_request_emails_link_opens_the_queue_at_that_request(dashboard, make):
    from tests.dashboard.test_member_pages import open_linked

    staff = make.user(Role.STAFF)
    r1 = make.resource(name="Range 1")
    make.booking(r1, start=NOW + timedelta(days=1), end=NOW + timedelta(days=1, hours=1))
    later = make.booking(make.resource(name="Range 2"), start=NOW + timedelta(days=3),
                         end=NOW + timedelta(days=3, hours=1))
    at = open_linked(dashboard, staff, "approval_queue", booking=str(later.id))
    assert by_label(at.selectbox, "Request to decide").value == str(later.id)
