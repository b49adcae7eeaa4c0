"""The swap proposal's rules: who proposes, who answers, who withdraws, and when it expires."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from activities.domain import (
    Caller,
    Swap,
    check_answer,
    check_can_propose,
    check_withdraw,
    may_see_swap,
    swap_proposer,
)
from activities.exceptions import SwapClosed, SwapExpired
from guanyinli.errors import Conflict, Forbidden, InvalidInput
from guanyinli.timeutil import TZ

STARTS = datetime(2026, 12, 8, 19, 0, tzinfo=TZ)
BEFORE = STARTS - timedelta(hours=3)
ORGANISER = Caller(volunteer_id=9000, roles=frozenset({"organiser"}))


def volunteer(volunteer_id: int) -> Caller:
    return Caller(volunteer_id=volunteer_id, roles=frozenset({"volunteer"}))


def proposal(status: str = "proposed", proposed_by: int | None = 5) -> Swap:
    return Swap(
        id=1,
        volunteer_a=5,
        shift_a="10",
        volunteer_b=6,
        shift_b="11",
        status=status,
        proposed_by=proposed_by,
        expires_at=STARTS,
    )


def test_either_volunteer_proposes_and_an_organiser_swaps_at_once():
    assert swap_proposer(volunteer(5), 5, 6) == 5
    assert swap_proposer(volunteer(6), 5, 6) == 6
    assert swap_proposer(ORGANISER, 5, 6) is None
    with pytest.raises(Forbidden):
        swap_proposer(volunteer(7), 5, 6)
    with pytest.raises(Forbidden):
        swap_proposer(Caller(), 5, 6)
    with pytest.raises(InvalidInput):
        swap_proposer(volunteer(5), 5, 5)


def test_the_one_who_did_not_propose_answers_or_an_organiser():
    assert proposal().answerer == 6 and proposal(proposed_by=6).answerer == 5
    check_answer(volunteer(6), proposal(), BEFORE)
    check_answer(ORGANISER, proposal(), BEFORE)
    check_answer(volunteer(5), proposal(proposed_by=6), BEFORE)
    for caller in (volunteer(5), volunteer(7), Caller()):
        with pytest.raises(Forbidden):
            check_answer(caller, proposal(), BEFORE)


def test_only_the_proposer_withdraws():
    check_withdraw(volunteer(5), proposal(), BEFORE)
    for caller in (volunteer(6), ORGANISER, volunteer(7)):
        with pytest.raises(Forbidden):
            check_withdraw(caller, proposal(), BEFORE)
    with pytest.raises(Forbidden):  # an organiser's swap was never a proposal
        check_withdraw(volunteer(5), proposal(status="accepted", proposed_by=None), BEFORE)


@pytest.mark.parametrize("status", ["accepted", "declined", "withdrawn", "rejected"])
def test_an_answered_proposal_is_closed(status):
    with pytest.raises(SwapClosed, match=status) as refused:
        check_answer(volunteer(6), proposal(status), BEFORE)
    assert isinstance(refused.value, Conflict)
    with pytest.raises(SwapClosed):
        check_withdraw(volunteer(5), proposal(status), BEFORE)


def test_a_proposal_expires_when_its_earlier_shift_starts():
    assert proposal().status_at(STARTS - timedelta(seconds=1)) == "proposed"
    assert proposal().status_at(STARTS) == "expired"
    assert proposal("declined").status_at(STARTS) == "declined"
    with pytest.raises(SwapExpired, match="expired when its first shift started \\(2026-12-08 19:00\\)") as refused:
        check_answer(volunteer(6), proposal(), STARTS)
    assert "已过期" in refused.value.message_zh
    with pytest.raises(SwapExpired):
        check_withdraw(volunteer(5), proposal(), STARTS + timedelta(hours=1))
    check_can_propose(STARTS, BEFORE)
    check_can_propose(None, BEFORE)
    with pytest.raises(SwapExpired):
        check_can_propose(STARTS, STARTS)


def test_a_swap_is_seen_by_its_two_volunteers_and_organisers():
    assert may_see_swap(volunteer(5), proposal()) and may_see_swap(volunteer(6), proposal())
    assert may_see_swap(ORGANISER, proposal())
    assert not may_see_swap(volunteer(7), proposal()) and not may_see_swap(Caller(), proposal())
