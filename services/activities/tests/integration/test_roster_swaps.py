"""Swaps need consent: a volunteer proposes, the other volunteer (or an organiser) accepts or declines.

Runs the real activities and volunteers services on both databases over the real broker, on a
published one-week roster of grid 1 (three leaders, five others, two per evening patrol).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

import eventlet
import pytest
from activities_testkit import as_volunteer
from test_rostering import evening_patrols, patrol_team, window

from activities.exceptions import SwapClosed, SwapExpired, SwapRejected
from conftest import REAL_VOLUNTEERS
from guanyinli.errors import Conflict, Forbidden, KeyReused

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(REAL_VOLUNTEERS is None, reason="rosters read the patrol team from the real volunteers service"),
]


class Published:
    """A published roster and who holds which shift in it."""

    def __init__(self, call, organiser):
        self.team = patrol_team(call, grid=1, leaders=3, others=5)
        self.leaders = set(self.team[:3])
        evening_patrols(organiser, grid=1, days=7)
        draft = organiser.build_roster(**window(), grids=[1], options={"time_limit": 5})
        self.roster = organiser.publish_roster(roster_id=draft["id"])
        self.id = self.roster["id"]
        self.starts = {s["shift_id"]: datetime.fromisoformat(s["start"]) for s in self.roster["shifts"]}
        self.crews = defaultdict(set)
        for a in self.roster["assignments"]:
            self.crews[a["shift_id"]].add(a["volunteer_id"])

    def swappable(self, exclude: tuple = ()) -> list[tuple[str, int, str, int]]:
        """(shift a, volunteer a, shift b, volunteer b): two non-leaders of different shifts, free to swap."""
        return [
            (s, v, t, w)
            for s in sorted(self.crews)
            for v in sorted(self.crews[s] - self.leaders)
            for t in sorted(self.crews)
            if t != s
            for w in sorted(self.crews[t] - self.leaders)
            if v not in self.crews[t] and w not in self.crews[s] and (s, v, t, w) not in exclude
        ]


def pairs(roster: dict) -> set[tuple[str, int]]:
    return {(a["shift_id"], a["volunteer_id"]) for a in roster["assignments"]}


def confirmed(organiser, volunteer_id: int) -> set[str]:
    duties = organiser.list_duties(volunteer_id=volunteer_id, **window())
    return {str(d["occurrence_id"]) for d in duties if d["status"] == "confirmed"}


def propose(call, shift_a, volunteer_a, shift_b, volunteer_b, roster_id) -> dict:
    return call(as_volunteer(volunteer_a)).request_swap(
        roster_id=roster_id, volunteer_a=volunteer_a, shift_a=shift_a, volunteer_b=volunteer_b, shift_b=shift_b
    )


def test_a_proposal_changes_nothing_until_the_other_volunteer_accepts(call, organiser, events):
    roster = Published(call, organiser)
    s, v, t, w = roster.swappable()[0]
    third = next(x for x in roster.team if x not in (v, w))

    proposal = propose(call, s, v, t, w, roster.id)
    assert (proposal["status"], proposal["proposed_by"], proposal["volunteer_b"]) == ("proposed", v, w)
    with pytest.raises(Conflict, match=f"swap {proposal['swap_id']} already proposes this swap"):
        propose(call, t, w, s, v, roster.id)  # the same swap, from the other side
    assert proposal["expires_at"] == min(roster.starts[s], roster.starts[t]).isoformat()
    announced = events.wait_for("swap_proposed", lambda e: e["swap_id"] == proposal["swap_id"])
    assert announced["volunteer_ids"] == [v, w] and [x["shift_id"] for x in announced["shifts"]] == [s, t]
    assert announced["proposed_by"] == v and announced["by_organiser"] is False
    assert pairs(organiser.get_roster(roster_id=roster.id)) == pairs(roster.roster)
    assert s in confirmed(organiser, v) and t in confirmed(organiser, w)

    for refused in (call(as_volunteer(third)), call(as_volunteer(v))):  # a stranger, or the proposer himself
        with pytest.raises(Forbidden):
            refused.accept_swap(swap_id=proposal["swap_id"])
    with pytest.raises(Forbidden):
        call(as_volunteer(third)).list_swaps(volunteer_id=v)
    assert call(as_volunteer(third)).list_swaps() == []
    (listed,) = call(as_volunteer(w)).list_swaps(status="proposed")
    assert listed["swap_id"] == proposal["swap_id"]
    viewer = call({"roles": ["viewer"], "name": "查看者"})
    assert [x["swap_id"] for x in viewer.list_swaps(volunteer_id=v)] == [proposal["swap_id"]]  # as the contract says
    with pytest.raises(Forbidden):
        viewer.accept_swap(swap_id=proposal["swap_id"])

    accepted = call(as_volunteer(w)).accept_swap(swap_id=proposal["swap_id"])
    assert accepted["status"] == "accepted" and accepted["decided_at"] is not None
    done = events.wait_for("swap_accepted", lambda e: e["swap_id"] == proposal["swap_id"])
    assert done["volunteer_ids"] == [v, w] and done["proposed_by"] == v
    after = pairs(organiser.get_roster(roster_id=roster.id))
    assert after == (pairs(roster.roster) - {(s, v), (t, w)}) | {(t, v), (s, w)}
    assert t in confirmed(organiser, v) and s not in confirmed(organiser, v)
    assert s in confirmed(organiser, w) and t not in confirmed(organiser, w)
    with pytest.raises(SwapClosed):
        call(as_volunteer(w)).accept_swap(swap_id=proposal["swap_id"])
    assert [x["status"] for x in organiser.list_swaps(roster_id=roster.id)] == ["accepted"]


def test_a_proposal_that_breaks_a_rule_is_refused_at_once(call, organiser, events):
    roster = Published(call, organiser)
    s, v, t, w = next(
        (s, v, t, w)
        for s in sorted(roster.crews)
        for v in roster.crews[s]
        if roster.crews[s] & roster.leaders == {v}
        for t in sorted(roster.crews)
        if t != s
        for w in roster.crews[t] - roster.leaders
        if v not in roster.crews[t] and w not in roster.crews[s]
    )
    with pytest.raises(SwapRejected, match="leader"):
        propose(call, s, v, t, w, roster.id)
    (kept,) = organiser.list_swaps(status="rejected")
    assert kept["proposed_by"] == v and "leader" in kept["reason"]
    assert events.of("swap_proposed") == []


def test_decline_and_withdraw(call, organiser, events):
    roster = Published(call, organiser)
    first, second = roster.swappable()[:2]
    s, v, t, w = first
    declined = propose(call, s, v, t, w, roster.id)
    with pytest.raises(Forbidden):  # declining is for the one asked, not the proposer
        call(as_volunteer(v)).decline_swap(swap_id=declined["swap_id"])
    answer = call(as_volunteer(w)).decline_swap(swap_id=declined["swap_id"], reason="那天要加班")
    assert (answer["status"], answer["reason"]) == ("declined", "那天要加班")
    event = events.wait_for("swap_declined", lambda e: e["swap_id"] == declined["swap_id"])
    assert event["reason"] == "那天要加班" and event["by_organiser"] is False

    s, v, t, w = second
    withdrawn = propose(call, s, v, t, w, roster.id)
    with pytest.raises(Forbidden):  # only the proposer withdraws
        call(as_volunteer(w)).withdraw_swap(swap_id=withdrawn["swap_id"])
    assert call(as_volunteer(v)).withdraw_swap(swap_id=withdrawn["swap_id"])["status"] == "withdrawn"
    events.wait_for("swap_withdrawn", lambda e: e["swap_id"] == withdrawn["swap_id"])
    with pytest.raises(SwapClosed):
        call(as_volunteer(w)).accept_swap(swap_id=withdrawn["swap_id"])
    assert pairs(organiser.get_roster(roster_id=roster.id)) == pairs(roster.roster)
    statuses = {x["swap_id"]: x["status"] for x in organiser.list_swaps(roster_id=roster.id)}
    assert statuses == {declined["swap_id"]: "declined", withdrawn["swap_id"]: "withdrawn"}
    assert events.of("swap_accepted") == []


def test_a_proposal_expires_when_its_first_shift_starts(call, organiser, clock):
    roster = Published(call, organiser)
    s, v, t, w = roster.swappable()[0]
    proposal = propose(call, s, v, t, w, roster.id)
    clock.set(min(roster.starts[s], roster.starts[t]))
    with pytest.raises(SwapExpired, match="expired"):
        call(as_volunteer(w)).accept_swap(swap_id=proposal["swap_id"])
    with pytest.raises(SwapExpired):
        organiser.accept_swap(swap_id=proposal["swap_id"])
    (listed,) = organiser.list_swaps(status="expired")
    assert listed["swap_id"] == proposal["swap_id"] and organiser.list_swaps(status="proposed") == []
    with pytest.raises(SwapExpired):  # nor can a new one be proposed for a shift that has started
        propose(call, s, v, t, w, roster.id)
    assert pairs(organiser.get_roster(roster_id=roster.id)) == pairs(roster.roster)


def test_an_organiser_swaps_at_once_and_both_volunteers_hear_of_it(call, organiser, events):
    roster = Published(call, organiser)
    s, v, t, w = roster.swappable()[0]
    swap = organiser.request_swap(roster_id=roster.id, volunteer_a=v, shift_a=s, volunteer_b=w, shift_b=t)
    assert (swap["status"], swap["proposed_by"]) == ("accepted", None)
    event = events.wait_for("swap_accepted", lambda e: e["swap_id"] == swap["swap_id"])
    assert event["volunteer_ids"] == [v, w] and event["by_organiser"] is True and event["proposed_by"] is None
    assert t in confirmed(organiser, v) and s in confirmed(organiser, w)
    assert events.of("swap_proposed") == []


def test_an_organiser_accepts_or_declines_a_proposal(call, organiser, events):
    roster = Published(call, organiser)
    first = roster.swappable()[0]
    second = next(x for x in roster.swappable() if not {x[0], x[2]} & {first[0], first[2]})
    one = propose(call, *first, roster.id)
    other = propose(call, *second, roster.id)
    assert organiser.accept_swap(swap_id=one["swap_id"])["decided_by"] == "网格长 王芳"
    assert events.wait_for("swap_accepted", lambda e: e["swap_id"] == one["swap_id"])["by_organiser"] is True
    assert organiser.decline_swap(swap_id=other["swap_id"])["status"] == "declined"
    assert events.wait_for("swap_declined", lambda e: e["swap_id"] == other["swap_id"])["by_organiser"] is True


def test_two_accepts_touching_the_same_shift_do_not_both_apply(call, organiser, events):
    roster = Published(call, organiser)
    s, v, t, w = roster.swappable()[0]
    u, x = next((u, x) for (a, b, u, x) in roster.swappable() if (a, b) == (s, v) and u != t and x != w)
    one = propose(call, s, v, t, w, roster.id)
    two = propose(call, s, v, u, x, roster.id)

    def accept(volunteer_id, swap_id):
        try:
            return call(as_volunteer(volunteer_id)).accept_swap(swap_id=swap_id)
        except Conflict as exc:  # SwapRejected (checked after the other applied) or the version guard
            return exc

    answers = [eventlet.spawn(accept, w, one["swap_id"]), eventlet.spawn(accept, x, two["swap_id"])]
    results = [a.wait() for a in answers]
    won = [r for r in results if isinstance(r, dict)]
    assert len(won) == 1 and len([r for r in results if isinstance(r, Conflict)]) == 1, results
    after = pairs(organiser.get_roster(roster_id=roster.id))
    assert (s, v) not in after and [(t, v) in after, (u, v) in after].count(True) == 1
    assert len(after) == len(pairs(roster.roster))
    assert len(events.wait("swap_accepted")) == 1


def test_a_proposal_asked_again_with_its_request_id_is_the_same_proposal(call, organiser, events):
    roster = Published(call, organiser)
    s, v, t, w = roster.swappable()[0]
    proposer = call(as_volunteer(v))
    arguments = dict(roster_id=roster.id, volunteer_a=v, shift_a=s, volunteer_b=w, shift_b=t)
    proposal = proposer.request_swap(**arguments, request_id="swap-1")
    assert proposer.request_swap(**arguments, request_id="swap-1") == proposal
    third = next(x for x in roster.team if x not in (v, w))
    with pytest.raises(KeyReused):  # refused before anything else is looked at
        proposer.request_swap(**{**arguments, "volunteer_b": third}, request_id="swap-1")
    assert [x["swap_id"] for x in organiser.list_swaps(roster_id=roster.id)] == [proposal["swap_id"]]


def test_swap_options_are_the_volunteers_own_and_each_can_be_proposed(call, organiser, events):
    roster = Published(call, organiser)
    s, v, _, _ = roster.swappable()[0]
    third = next(x for x in roster.team if x not in roster.crews[s])
    options = call(as_volunteer(v)).swap_options(volunteer_id=v, occurrence_id=int(s))
    assert options and all(o["shift_a"] == s and o["roster_id"] == roster.id for o in options)
    assert all(v not in roster.crews[o["shift_b"]] and o["volunteer_b"] in roster.crews[o["shift_b"]] for o in options)
    assert not {"phone", "email", "name"} & set(options[0])  # shifts and ids only
    with pytest.raises(Forbidden):
        call(as_volunteer(third)).swap_options(volunteer_id=v, occurrence_id=int(s))
    first = options[0]
    proposal = propose(call, s, v, first["shift_b"], first["volunteer_b"], roster.id)
    assert proposal["status"] == "proposed"
