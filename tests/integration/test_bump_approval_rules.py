"""Bumping in a request's favour approves it, so it keeps approve_booking's rules: only the
resource's named approvers, and two sign-offs where the policy asks for two. A bump that
would approve on one sign-off is refused (the first approver signs off with Approve or Force
override; a second approver may then bump in its favour, which is the second sign-off).
A blackout's displacement only cancels, so it needs no approver, but it is an admin's act."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine import services as s
from engine.domain.permissions import Role
from engine.errors import PermissionDenied, ValidationError
from engine.models import AuditLog, Booking, BookingSignOff
from engine.services import policies
from engine.services.displace import bump_together


def counts(db):
    with db.uow().read() as uow:
        return tuple(uow.session.scalar(select(func.count()).select_from(m))
                     for m in (Booking, AuditLog, BookingSignOff))


def status(db, actor, booking):
    return s.get_booking(db.uow(), actor.id, booking.id).status


def bump_in_favour(db, how, actor, victim, winner):
    if how == "bump_booking":
        return s.bump_booking(db.uow(), actor.id, victim.id, reason="Qualification shoot",
                              in_favour_of=winner.id)
    return bump_together(db.uow(), actor.id, [victim.id], reason="Qualification shoot",
                         in_favour_of=winner.id)


@pytest.fixture
def setting(db, make):
    """A resource with an approved priority-1 booking and a priority-5 request for the same
    window; two staff members."""
    r = make.resource()
    first, second = make.user(Role.STAFF), make.user(Role.STAFF)
    start, end = make.window(24, 2)
    victim = make.booking(r, start=start, end=end, priority=1, approve_by=first)
    winner = make.booking(r, start=start, end=end, priority=5)
    return {"r": r, "first": first, "second": second, "victim": victim, "winner": winner}


HOWS = ["bump_booking", "bump_together"]


@pytest.mark.parametrize("how", HOWS)
def test_bumping_in_favour_needs_a_named_approver_of_the_favoured_resource(db, make, setting,
                                                                           how):
    named = make.user(Role.STAFF)
    policies.set_approvers(db.uow(), make.admin.id, [named.id], resource_id=setting["r"].id)
    before = counts(db)
    with pytest.raises(PermissionDenied, match="named approvers"):
        bump_in_favour(db, how, setting["first"], setting["victim"], setting["winner"])
    assert counts(db) == before
    assert (status(db, named, setting["victim"]), status(db, named, setting["winner"])) == (
        "approved", "pending")
    bump_in_favour(db, how, named, setting["victim"], setting["winner"])
    assert (status(db, named, setting["victim"]), status(db, named, setting["winner"])) == (
        "bumped", "approved")


def two_person_setting(db, make, setting):
    policies.set_policy(db.uow(), make.admin.id, resource_id=setting["r"].id,
                        approval_mode="two_person")
    return setting


@pytest.mark.parametrize("how", HOWS)
def test_bumping_in_favour_of_a_two_person_request_without_a_sign_off_is_refused(db, make,
                                                                                 setting, how):
    two_person_setting(db, make, setting)
    before = counts(db)
    with pytest.raises(ValidationError) as err:
        bump_in_favour(db, how, setting["first"], setting["victim"], setting["winner"])
    assert err.value.field == "in_favour_of" and "needs two approvers" in err.value.message
    assert counts(db) == before  # nothing bumped, no sign-off, no audit entry
    assert (status(db, setting["first"], setting["victim"]),
            status(db, setting["first"], setting["winner"])) == ("approved", "pending")


@pytest.mark.parametrize("how", HOWS)
def test_bumping_in_favour_after_a_first_sign_off_is_the_second_sign_off(db, make, setting,
                                                                         how):
    two_person_setting(db, make, setting)
    # The first approver signs off over the booking in the way (force override: no bump yet).
    assert s.approve_booking(db.uow(), setting["first"].id, setting["winner"].id,
                             force_override=True).status == "pending"
    assert status(db, setting["first"], setting["victim"]) == "approved"
    bump_in_favour(db, how, setting["second"], setting["victim"], setting["winner"])
    assert (status(db, setting["second"], setting["victim"]),
            status(db, setting["second"], setting["winner"])) == ("bumped", "approved")
    with db.uow().read() as uow:
        signers = set(uow.session.scalars(select(BookingSignOff.signer_id).where(
            BookingSignOff.booking_id == setting["winner"].id)).all())
        approved = uow.session.scalar(select(AuditLog).where(
            AuditLog.booking_id == setting["winner"].id, AuditLog.action == "approved"))
    assert signers == {setting["first"].id, setting["second"].id}
    assert json.loads(approved.details)["sign_offs"] == 2


@pytest.mark.parametrize("how", HOWS)
def test_the_first_signer_cannot_also_bump_in_favour(db, make, setting, how):
    two_person_setting(db, make, setting)
    s.approve_booking(db.uow(), setting["first"].id, setting["winner"].id, force_override=True)
    before = counts(db)
    with pytest.raises(ValidationError) as err:
        bump_in_favour(db, how, setting["first"], setting["victim"], setting["winner"])
    assert err.value.field == "in_favour_of" and "second, different approver" in err.value.message
    assert counts(db) == before


def test_blackout_displacement_is_an_admins_act(db, make, setting):
    """Staff may bump, but closing a resource (and displacing its bookings) is resource
    management: refused, nothing bumped."""
    before = counts(db)
    with pytest.raises(PermissionDenied):
        s.create_blackout(db.uow(), setting["first"].id, resource_id=setting["r"].id,
                          start_time=setting["victim"].start_time,
                          end_time=setting["victim"].end_time, reason="Range flooded",
                          bump_conflicting=True)
    assert counts(db) == before


def test_blackout_displacement_cancels_without_approval_rules(db, make, setting):
    """Named approvers and two sign-offs govern approving, not cancelling: an admin who is not
    a named approver displaces the approved booking, and nothing gets approved."""
    named = make.user(Role.STAFF)
    policies.set_approvers(db.uow(), make.admin.id, [named.id], resource_id=setting["r"].id)
    policies.set_policy(db.uow(), make.admin.id, resource_id=setting["r"].id,
                        approval_mode="two_person")
    victim = setting["victim"]
    s.create_blackout(db.uow(), make.admin.id, resource_id=setting["r"].id,
                      start_time=victim.start_time - timedelta(minutes=30),
                      end_time=victim.end_time, reason="Range flooded", bump_conflicting=True)
    assert (status(db, named, victim), status(db, named, setting["winner"])) == (
        "bumped", "pending")
    with db.uow().read() as uow:
        approvals = uow.session.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.action == "approved"))
    assert approvals == 1  # the victim's own approval, from the fixture
