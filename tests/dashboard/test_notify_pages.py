"""Account page: e-mail choices and calendar subscriptions; admin Outbox page: retry failed mail."""
from __future__ import annotations

from sqlalchemy import update

from engine.domain.permissions import Role
from engine.models import OutboxMessage
from engine.services import feeds, notifications
from tests.dashboard.helpers import button, by_label, errors, signed_in


def test_member_switches_reminders_off_on_the_account_page(dashboard, make):
    member = make.user()
    at = signed_in(dashboard, member, "account")
    labels = [c.label for c in at.checkbox]
    assert "Daily digest of pending requests" not in labels  # staff only
    by_label(at.checkbox, "Reminder before my booking starts").uncheck()
    button(at, "Save e-mail choices").click().run()
    assert not errors(at)
    prefs = {p.kind: p.enabled for p in notifications.get_preferences(dashboard.uow(), member.id)}
    assert prefs["reminder"] is False and prefs["booking_approved"] is True


def test_subscription_url_is_shown_once_then_revoked(dashboard, make):
    member = make.user()
    at = signed_in(dashboard, member, "account")
    button(at, "Create subscription URL").click().run()
    [code] = [c.value for c in at.code]
    assert "/api/v1/calendar/" in code and code.endswith(".ics")
    [feed] = feeds.list_feeds(dashboard.uow(), member.id)
    token = code.rsplit("/", 1)[1].removesuffix(".ics")
    assert feeds.calendar_feed(dashboard.uow(), token).body.startswith(b"BEGIN:VCALENDAR")
    at.run()
    assert not at.code  # shown only once
    button(at, "Revoke").click().run()
    assert feeds.list_feeds(dashboard.uow(), member.id) == []


def test_staff_can_subscribe_to_a_zone(dashboard, make):
    zone = make.zone("East")
    staff = make.user(Role.STAFF)
    at = signed_in(dashboard, staff, "account")
    at.selectbox(key="feed-target").select("Safety zone: East").run()
    button(at, "Create subscription URL").click().run()
    [feed] = feeds.list_feeds(dashboard.uow(), staff.id)
    assert (feed.scope, feed.target_id) == ("zone", zone.id)


def test_admin_retries_a_failed_message_named_in_words_and_short_references(dashboard, make):
    member = make.user(email="gone@test.example")
    booking = make.booking(make.resource(), member, approve_by=make.admin)
    with dashboard.uow() as uow:
        uow.session.execute(update(OutboxMessage).where(OutboxMessage.kind == "booking_approved")
                            .values(status="failed", attempts=8,
                                    last_error="SMTPRecipientsRefused: 550"))
        uow.commit()
    at = signed_in(dashboard, make.admin, "admin_outbox")
    assert not errors(at)
    frame = at.dataframe[0].value
    assert list(frame["To"]) == ["gone@test.example"] and "550" in frame["Last error"][0]
    assert list(frame["E-mail"]) == ["Booking approved"]
    assert list(frame["Booking"]) == [str(booking.id)[:8]]
    at.multiselect(key="outbox-retry").select(at.multiselect(key="outbox-retry").options[0]).run()
    button(at, "Retry selected").click().run()
    assert not errors(at)
    page = notifications.list_outbox(dashboard.uow(), make.admin.id, status="pending")
    assert [m.recipient_email for m in page.items if m.kind == "booking_approved"] == [
        "gone@test.example"]


def test_members_cannot_open_the_outbox(dashboard, make):
    import pytest

    from engine.errors import PermissionDenied
    with pytest.raises(PermissionDenied):
        notifications.list_outbox(dashboard.uow(), make.user().id)
