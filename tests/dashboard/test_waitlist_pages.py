"""Waitlist pages (AppTest): joining from New booking when the window is taken, and taking
an offer on My waitlist."""
from __future__ import annotations

from datetime import time, timedelta

from engine import services
from engine.domain.permissions import Role
from tests.conftest import NOW
from tests.dashboard.helpers import button, errors, signed_in
from tests.dashboard.test_member_pages import TOMORROW, fill_request


def test_member_joins_the_waitlist_when_the_window_is_taken_then_accepts_the_offer(
        dashboard, make):
    staff = make.user(Role.STAFF)
    r1 = make.resource(name="Range 1", opens_at=time(8), closes_at=time(18))
    start = NOW.replace(day=8, hour=10)
    holder = make.booking(r1, start=start, end=start + timedelta(hours=2), approve_by=staff)
    member = make.user(Role.USER)
    at = fill_request(signed_in(dashboard, member, "new_booking"), "Range 1", TOMORROW,
                      time(10), time(12), "Club night")
    button(at, "Join the waitlist for this window").click().run()
    assert not errors(at), errors(at)
    assert any("On the waitlist for Range 1" in s.value for s in at.success)
    [entry] = services.list_waitlist(dashboard.uow(), member.id)
    assert (entry.status, entry.purpose) == ("waiting", "Club night")

    services.cancel_booking(dashboard.uow(), staff.id, holder.id)
    at = signed_in(dashboard, member, "my_waitlist")
    assert at.dataframe[0].value["Status"][0] == "offered"
    button(at, "Accept").click().run()
    assert not errors(at), errors(at)
    [entry] = services.list_waitlist(dashboard.uow(), member.id)
    assert entry.status == "accepted"
    assert services.get_booking(dashboard.uow(), member.id, entry.booking_id).status == "pending"


def test_a_free_window_offers_no_waitlist_and_a_member_can_leave(dashboard, make):
    staff = make.user(Role.STAFF)
    r1 = make.resource(name="Range 1", opens_at=time(8), closes_at=time(18))
    member = make.user(Role.USER)
    at = fill_request(signed_in(dashboard, member, "new_booking"), "Range 1", TOMORROW,
                      time(10), time(12), "Club night")
    assert not [b for b in at.button if b.label == "Join the waitlist for this window"]
    start = NOW.replace(day=8, hour=14)
    make.booking(r1, start=start, end=start + timedelta(hours=1), approve_by=staff)
    services.join_waitlist(dashboard.uow(), member.id, resource_id=r1.id, start_time=start,
                           end_time=start + timedelta(hours=1), purpose="Late slot")
    at = signed_in(dashboard, member, "my_waitlist")
    button(at, "Leave the waitlist").click().run()
    assert not errors(at), errors(at)
    assert [e.status for e in services.list_waitlist(dashboard.uow(), member.id)] == ["left"]


def test_an_offer_emails_link_opens_my_waitlist_with_that_offer_first(dashboard, make):
    from tests.dashboard.test_member_pages import open_linked

    staff = make.user(Role.STAFF)
    r1 = make.resource(name="Range 1", opens_at=time(8), closes_at=time(18))
    r2 = make.resource(name="Range 2", opens_at=time(8), closes_at=time(18))
    member = make.user(Role.USER)
    early, late = NOW.replace(day=8, hour=9), NOW.replace(day=9, hour=14)
    make.booking(r1, start=early, end=early + timedelta(hours=1), approve_by=staff)
    holder = make.booking(r2, start=late, end=late + timedelta(hours=1), approve_by=staff)
    services.join_waitlist(dashboard.uow(), member.id, resource_id=r1.id, start_time=early,
                           end_time=early + timedelta(hours=1), purpose="Early slot")
    services.join_waitlist(dashboard.uow(), member.id, resource_id=r2.id, start_time=late,
                           end_time=late + timedelta(hours=1), purpose="Late slot")
    services.cancel_booking(dashboard.uow(), staff.id, holder.id)  # offers the later window
    offered = next(e for e in services.list_waitlist(dashboard.uow(), member.id)
                   if e.status == "offered")
    at = open_linked(dashboard, member, "my_waitlist", entry=str(offered.id))
    assert list(at.dataframe[0].value["Resource"]) == ["Range 2", "Range 1"]
    assert "From your e-mail" in [c.value for c in at.caption]
    cards = [m.value for m in at.markdown if m.value.startswith("**Range")]
    assert cards[0].startswith("**Range 2**") and "offered to you" in cards[0]
    button(at, "Accept").click().run()
    assert not errors(at), errors(at)
    assert {e.resource_name: e.status for e in services.list_waitlist(
        dashboard.uow(), member.id)} == {"Range 2": "accepted", "Range 1": "waiting"}



def _racing(monkeypatch, name: str, meanwhile) -> None:
    """The entry changes after the page read it and before the member's click is carried out
    (another tab, staff, the expiry job): the real service then meets the new status."""
    real = getattr(services, name)

    def late(*args, **kwargs):
        meanwhile()
        return real(*args, **kwargs)
    monkeypatch.setattr(services, name, late)


def _member_waiting_behind_a_booking(dashboard, make):
    """Staff, a member waiting for Range 1's 14:00 hour, the approved booking holding it and
    the member's waitlist entry."""
    staff = make.user(Role.STAFF)
    r1 = make.resource(name="Range 1", opens_at=time(8), closes_at=time(18))
    member = make.user(Role.USER)
    start = NOW.replace(day=8, hour=14)
    holder = make.booking(r1, start=start, end=start + timedelta(hours=1), approve_by=staff)
    entry = services.join_waitlist(dashboard.uow(), member.id, resource_id=r1.id,
                                   start_time=start, end_time=start + timedelta(hours=1),
                                   purpose="Late slot")
    return staff, member, holder, entry


def test_accepting_an_offer_declined_meanwhile_shows_why_and_changes_nothing(
        dashboard, make, monkeypatch):
    staff, member, holder, entry = _member_waiting_behind_a_booking(dashboard, make)
    services.cancel_booking(dashboard.uow(), staff.id, holder.id)  # offers it
    at = signed_in(dashboard, member, "my_waitlist")
    _racing(monkeypatch, "accept_offer",
            lambda: services.decline_offer(dashboard.uow(), member.id, entry.id))
    button(at, "Accept").click().run()
    assert errors(at) == [f"waitlist entry {str(entry.id)[:8]} is declined: it cannot be "
                          "accepted now (it is no longer on the waitlist)"]
    assert not at.success and not at.toast
    assert [e.status for e in services.list_waitlist(dashboard.uow(), member.id)] == ["declined"]


def test_leaving_an_entry_offered_meanwhile_says_to_accept_or_decline_it(
        dashboard, make, monkeypatch):
    staff, member, holder, entry = _member_waiting_behind_a_booking(dashboard, make)
    at = signed_in(dashboard, member, "my_waitlist")
    _racing(monkeypatch, "leave_waitlist",
            lambda: services.cancel_booking(dashboard.uow(), staff.id, holder.id))  # offers it
    button(at, "Leave the waitlist").click().run()
    assert errors(at) == [f"waitlist entry {str(entry.id)[:8]} is offered: it cannot be left "
                          "now (it holds an offer: accept or decline it)"]
    assert not at.success and not at.toast
    assert [e.status for e in services.list_waitlist(dashboard.uow(), member.id)] == ["offered"]
