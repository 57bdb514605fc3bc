"""The calendar SEQUENCE and the opt-out look-up share one query (issue 13): each e-mail with
an invitation carries a larger sequence than the one before, and an opt-out of one kind still
leaves the other kinds' e-mails."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engine.domain.permissions import Role
from engine.models import NotificationPreference, OutboxMessage
from engine.notifications import NotificationEvent as E
from engine.services import bookings as svc


def _messages(db, kind):
    with db.uow().read() as uow:
        return list(uow.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)))


def test_sequence_grows_with_each_change_and_opt_out_is_per_kind(db, make):
    staff, member = make.user(Role.STAFF), make.user()
    with db.uow() as uow:  # member switched reschedule e-mails off, nothing else
        uow.session.add(NotificationPreference(user_id=member.id, kind=E.RESCHEDULED.value,
                                               enabled=False, updated_at=uow.now))
        uow.commit()
    b = make.booking(make.resource(), member)
    svc.approve_booking(db.uow(), staff.id, b.id)
    start = b.start_time + timedelta(days=1)
    svc.reschedule_booking(db.uow(), staff.id, b.id, start_time=start,
                           end_time=start + timedelta(hours=2))
    svc.cancel_booking(db.uow(), member.id, b.id)
    [approved] = _messages(db, E.APPROVED.value)
    [cancelled] = _messages(db, E.CANCELLED.value)
    assert _messages(db, E.RESCHEDULED.value) == []  # opted out
    # created, approved -> 2; rescheduled -> 3; cancelled -> 4 audit entries
    assert approved.context["ical_sequence"] == 2
    assert cancelled.context["ical_sequence"] == 4
    assert approved.recipient_user_id == cancelled.recipient_user_id == member.id
