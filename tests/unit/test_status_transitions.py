"""The transition table: every (status, action) pair has exactly one expected outcome."""
import pytest

from engine.domain.status import TERMINAL_STATUSES, allowed_actions, next_status
from engine.domain.status import BookingAction as A
from engine.domain.status import BookingStatus as S

EXPECTED = {
    (S.PENDING, A.APPROVE): S.APPROVED,
    (S.PENDING, A.DENY): S.DENIED,
    (S.PENDING, A.CANCEL): S.CANCELLED,
    (S.PENDING, A.RESCHEDULE): S.PENDING,
    (S.APPROVED, A.CANCEL): S.CANCELLED,
    (S.APPROVED, A.RESCHEDULE): S.APPROVED,
    (S.APPROVED, A.BUMP): S.BUMPED,
    (S.APPROVED, A.CHECK_IN): S.APPROVED,
    (S.APPROVED, A.CHECK_OUT): S.APPROVED,
    (S.APPROVED, A.RELEASE_NO_SHOW): S.NO_SHOW,
}


@pytest.mark.parametrize("status", list(S))
@pytest.mark.parametrize("action", list(A))
def test_transition_table(status, action):
    assert next_status(status, action) == EXPECTED.get((status, action))


def test_denied_cancelled_bumped_and_no_show_are_terminal():
    assert TERMINAL_STATUSES == {S.DENIED, S.CANCELLED, S.BUMPED, S.NO_SHOW}
    assert all(allowed_actions(s) == [] for s in TERMINAL_STATUSES)


def test_pending_cannot_be_bumped_and_approved_cannot_be_denied():
    assert next_status("pending", A.BUMP) is None
    assert next_status("approved", A.DENY) is None


def test_only_an_approved_booking_is_checked_in_out_or_released_as_no_show():
    for action in (A.CHECK_IN, A.CHECK_OUT, A.RELEASE_NO_SHOW):
        assert [s for s in S if next_status(s, action) is not None] == [S.APPROVED]
    assert next_status("no_show", A.CHECK_IN) is None
    assert next_status("no_show", A.CANCEL) is None
