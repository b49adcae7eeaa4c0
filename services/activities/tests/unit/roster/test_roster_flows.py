"""Whole-roster moves by min-cost flow (flows.py) and the blocks of the search (lns.time_blocks,
lns.extreme_blocks): tiny hand-made months, each showing one thing."""

from __future__ import annotations

import random
import time
from collections import Counter

from roster_cases import problem, shift, vol

from activities.roster import flows, lns, validate
from activities.roster.index import Index
from activities.roster.lns import roster_cost
from activities.roster.model import Assignment

ONLY_SPREAD_AND_HOME = {
    "fair_load": 0,
    "not_preferred": 0,
    "partner_apart": 0,
    "weekend_streak": 0,
    "close_shifts": 0,
    "role_spread": 100,
    "away_from_home": 1,
}


def everywhere(vid: str, home: int, leader: bool = False):
    """A volunteer who may patrol grids 1 and 2, with no target of their own (the format's volunteers)."""
    return vol(vid, home, leader, grids=frozenset({1, 2}), target=0)


def pairs_of(ix: Index, *named: tuple[str, str]) -> set[tuple[int, int]]:
    return {(ix.vpos[v], ix.spos[s]) for s, v in named}


def loads(ix: Index, chosen) -> dict[str, int]:
    count = Counter(ix.volunteers[vi].id for vi, _ in chosen)
    return {v.id: count[v.id] for v in ix.volunteers}


def test_regrid_sends_each_volunteer_to_their_home_grid_at_the_same_time():
    p = problem(
        [everywhere("a", 1), everywhere("b", 2)],
        [shift("g1", 0, grid=1), shift("g2", 0, grid=2)],
        weights=ONLY_SPREAD_AND_HOME,
    )
    ix = Index.build(p)
    crossed = pairs_of(ix, ("g1", "b"), ("g2", "a"))  # both away from home
    assert roster_cost(ix, crossed) == 2
    home = flows.regrid(ix, crossed)
    assert home == pairs_of(ix, ("g1", "a"), ("g2", "b"))
    assert roster_cost(ix, home) == 0


def test_regrid_keeps_the_leader_a_shift_needs_even_away_from_home():
    leader_shift = shift("g1", 0, grid=1, leader=True)
    p = problem(
        [everywhere("lead", 2, leader=True), everywhere("b", 1)],
        [leader_shift, shift("g2", 0, grid=2)],
        weights=ONLY_SPREAD_AND_HOME,
    )
    ix = Index.build(p)
    chosen = pairs_of(ix, ("g1", "lead"), ("g2", "b"))
    kept = flows.regrid(ix, chosen)
    # sending both home would leave grid 1 without its leader
    assert kept == chosen
    assert validate(p, [Assignment(ix.shifts[si].id, ix.volunteers[vi].id) for vi, si in kept]) == []


def test_level_out_hands_a_place_from_the_top_to_the_bottom():
    # four evenings of one grid, one patroller each: "busy" has three, "idle" one; both can take any
    p = problem(
        [everywhere("busy", 1), everywhere("idle", 1)],
        [shift(f"d{d}", d) for d in range(4)],
        weights=ONLY_SPREAD_AND_HOME,
        max_per_week=4,
        min_rest_hours=0,
    )
    ix = Index.build(p)
    chosen = pairs_of(ix, ("d0", "busy"), ("d1", "busy"), ("d2", "busy"), ("d3", "idle"))
    before = roster_cost(ix, chosen)
    levelled, cost = flows.level_out(ix, chosen, time.perf_counter() + 5, lambda c: roster_cost(ix, c))
    assert before == 200 and cost == 0
    assert loads(ix, levelled) == {"busy": 2, "idle": 2}


def test_level_out_raises_the_bottom_with_a_free_place():
    # two places of at most two patrollers: "a" works both, "b" none; b can join either, within its maximum
    p = problem(
        [everywhere("a", 1), everywhere("b", 1)],
        [shift("d0", 0, most=2), shift("d1", 1, most=2)],
        weights=ONLY_SPREAD_AND_HOME,
        min_rest_hours=0,
    )
    ix = Index.build(p)
    chosen = pairs_of(ix, ("d0", "a"), ("d1", "a"))
    levelled, cost = flows.level_out(ix, chosen, time.perf_counter() + 5, lambda c: roster_cost(ix, c))
    assert cost < roster_cost(ix, chosen)
    assert loads(ix, levelled)["b"] >= 1


def test_level_out_never_breaks_a_rule_nor_returns_a_worse_roster():
    # b cannot take d1 (not available): the only transfer that would level the loads is refused
    p = problem(
        [everywhere("a", 1), vol("b", 1, grids=frozenset({1, 2}), target=0, shifts=frozenset({"d0"}))],
        [shift("d0", 0), shift("d1", 1)],
        weights=ONLY_SPREAD_AND_HOME,
        min_rest_hours=0,
    )
    ix = Index.build(p)
    chosen = pairs_of(ix, ("d0", "a"), ("d1", "a"))
    levelled, cost = flows.level_out(ix, chosen, time.perf_counter() + 5, lambda c: roster_cost(ix, c))
    assert cost <= roster_cost(ix, chosen)
    assert validate(p, [Assignment(ix.shifts[si].id, ix.volunteers[vi].id) for vi, si in levelled]) == []
    assert loads(ix, levelled) == {"a": 1, "b": 1}


def test_time_blocks_cover_every_shift_in_pieces_of_at_most_the_block_size(monkeypatch):
    monkeypatch.setattr(lns, "MAX_BLOCK_SHIFTS", 5)
    p = problem(
        [everywhere("a", 1)],
        [shift(f"g{g}d{d}", d, grid=g) for g in (1, 2) for d in range(7)],
    )
    ix = Index.build(p)
    blocks = lns.time_blocks(ix, 2, random.Random(3))
    assert all(0 < len(b) <= 5 for b in blocks)
    assert set().union(*blocks) == set(range(len(ix.shifts)))
    for b in blocks:  # a block holds at most two consecutive days
        days = sorted({ix.shifts[si].start.date() for si in b})
        assert (days[-1] - days[0]).days <= 1


def test_extreme_blocks_hold_every_shift_of_the_volunteers_at_the_top():
    p = problem(
        [everywhere("busy", 1), everywhere("also", 1), everywhere("idle", 1)],
        [shift(f"d{d}", d) for d in range(5)],
        weights=ONLY_SPREAD_AND_HOME,
    )
    ix = Index.build(p)
    chosen = pairs_of(ix, ("d0", "busy"), ("d1", "busy"), ("d2", "also"), ("d3", "also"), ("d4", "idle"))
    blocks = lns.extreme_blocks(ix, chosen, random.Random(1))
    top = {ix.spos[s] for s in ("d0", "d1", "d2", "d3")}
    assert any(top <= b for b in blocks)
