"""The waitlist table: every (status, next status) pair has exactly one expected answer, and a
refused step reads as a conflict with the entry's status (a 409), never as bad input."""
import uuid

import pytest

from engine.domain.status import LIVE_WAITLIST_STATUSES, waitlist_step_allowed
from engine.domain.status import WaitlistStatus as W
from engine.errors import StateConflict, ValidationError, WaitlistTransition

ALLOWED = {
    (W.WAITING, W.OFFERED),
    (W.WAITING, W.LEFT),
    (W.OFFERED, W.ACCEPTED),
    (W.OFFERED, W.DECLINED),
    (W.OFFERED, W.EXPIRED),
}

ENDED = [W.ACCEPTED, W.DECLINED, W.EXPIRED, W.LEFT]


@pytest.mark.parametrize("current", list(W))
@pytest.mark.parametrize("target", list(W))
def test_waitlist_transition_table(current, target):
    assert waitlist_step_allowed(current, target) is ((current, target) in ALLOWED)
    assert waitlist_step_allowed(current.value, target.value) is ((current, target) in ALLOWED)


@pytest.mark.parametrize("target", [W.ACCEPTED, W.DECLINED, W.EXPIRED])
def test_only_an_offer_is_accepted_declined_or_expired(target):
    assert [s for s in W if waitlist_step_allowed(s, target)] == [W.OFFERED]


@pytest.mark.parametrize("target", [W.OFFERED, W.LEFT])
def test_only_a_waiting_entry_is_offered_or_left(target):
    assert [s for s in W if waitlist_step_allowed(s, target)] == [W.WAITING]


@pytest.mark.parametrize("ended", ENDED)
def test_accepted_declined_expired_and_left_entries_take_no_further_step(ended):
    assert not any(waitlist_step_allowed(ended, target) for target in W)
    assert ended not in LIVE_WAITLIST_STATUSES


def test_waiting_and_offered_are_the_live_statuses():
    assert set(LIVE_WAITLIST_STATUSES) == {W.WAITING, W.OFFERED}


@pytest.mark.parametrize(("current", "target", "why"), [
    (W.WAITING, W.ACCEPTED, "no offer has been made on it yet"),
    (W.WAITING, W.DECLINED, "no offer has been made on it yet"),
    (W.OFFERED, W.LEFT, "it holds an offer: accept or decline it"),
    *((ended, W.ACCEPTED, "it is no longer on the waitlist") for ended in ENDED),
])
def test_a_refused_waitlist_step_is_a_state_conflict_saying_why(current, target, why):
    assert not waitlist_step_allowed(current, target)
    entry_id = uuid.UUID("12345678-0000-4000-8000-000000000000")
    exc = WaitlistTransition(entry_id, current.value, target.value)
    assert isinstance(exc, StateConflict) and not isinstance(exc, ValidationError)
    assert exc.message == (f"waitlist entry 12345678 is {current.value}: "
                           f"it cannot be {target.value} now ({why})")
