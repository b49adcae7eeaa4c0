"""Separate grids joined by the role spread (spread.py): the priced grids' bound holds and their rosters combine."""

import time
from dataclasses import replace

import pytest
from roster_cases import optimum

from activities.roster import Options, lns, scenarios, solve, spread, validate
from activities.roster import rules as R
from activities.roster.index import Index
from activities.roster.model import Assignment
from activities.roster.scenarios import home_only


def four_grids(seed):
    """Three days of grids 1-4, everyone in their home grid: small enough for the whole model to close."""
    p = home_only(scenarios.guanyinli_month(1, seed=seed, days=3))
    return replace(
        p,
        shifts=tuple(s for s in p.shifts if s.grid <= 4),
        volunteers=tuple(v for v in p.volunteers if v.home_grid <= 4),
    )


def test_grids_are_separate_only_when_nobody_may_patrol_next_door():
    month = scenarios.guanyinli_month(1, days=7)
    assert not spread.separate(Index.build(month))  # half the patrollers may also patrol a neighbouring grid
    assert spread.separate(Index.build(home_only(month)))
    assert not spread.separate(Index.build(replace(home_only(month), rules=replace(month.rules, neighbour_grids=True))))


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_priced_grids_find_the_optimum_and_prove_a_bound_below_it(seed):
    problem = four_grids(seed)
    ix = Index.build(problem)
    best = optimum(ix, workers=2)
    # thirty rounds of grid solves that each close (30 s is only a guard): the same rounds on a busy machine
    priced = spread.price_grids(ix, False, time.perf_counter() + 300, seconds=30, rounds=30)
    assert priced.bound <= best == priced.cost == lns.roster_cost(ix, priced.chosen)
    assert priced.rounds > 1
    assert validate(problem, [Assignment(ix.shifts[s].id, ix.volunteers[v].id) for v, s in priced.chosen]) == []


def test_pricing_the_spread_proves_more_than_the_grids_own_bounds():
    problem = home_only(scenarios.guanyinli_month(1, days=7))
    result = solve(problem, Options(time_limit=20, num_workers=2))
    assert result.status == "optimal" and result.bound == result.objective  # ended on its proof
    assert result.wall_time < 10
    # the grids alone, their role spread left out, cannot prove this: the prices carry the spread's cost
    assert result.report.costs["role_spread"] > 0
    assert validate(problem, result.assignments) == []


def candidate(cost, top, bottom, pairs):
    return spread.Candidate(cost, {"patroller": top}, {"patroller": bottom}, frozenset(pairs))


def grid(key, *candidates):
    return spread.Grid(key, None, [], [], set(), {"patroller"}, list(candidates))


def test_combine_takes_the_rosters_that_fit_one_band_not_each_grid_cheapest():
    a = grid(1, candidate(10, 2, 0, {(0, 0)}), candidate(12, 1, 0, {(0, 1)}))
    b = grid(2, candidate(5, 1, 0, {(1, 2)}), candidate(20, 0, 0, {(1, 3)}))
    # cheapest each: 15 + spread 2 x 10; a's second with b's first: 17 + 10
    assert spread.combine([a, b], {}, 10) == (27, {(0, 1), (1, 2)})
    assert spread.combine([a, b], {}, 1) == (17, {(0, 0), (1, 2)})  # a cheap spread: each grid's cheapest
    # volunteers no shift is open to sit 3 below their target: every band reaches down to -3
    assert spread.combine([a, b], {"patroller": (-3, -3)}, 10) == (57, {(0, 1), (1, 2)})


def test_prices_round_to_whole_numbers_with_the_same_sum():
    whole = spread._whole({1: 333.4, 2: 333.3, 3: 333.3}, 1000)
    assert sum(whole.values()) == 1000 and all(abs(whole[k] - 333.33) < 1 for k in whole)
    assert spread._whole({1: 0.0, 2: 1000.0}, 1000) == {1: 0, 2: 1000}


def test_prices_move_back_onto_the_simplex():
    assert spread._project([2.0, 3.0, 5.0], 10) == [2.0, 3.0, 5.0]  # already there
    moved = spread._project([12.0, 3.0, -4.0], 10)
    assert moved == pytest.approx([9.5, 0.5, 0.0])
    assert min(spread._project([-1.0, -2.0], 10)) >= 0 and sum(spread._project([-1.0, -2.0], 10)) == pytest.approx(10)


def test_a_grid_its_own_volunteers_cannot_cover_leaves_no_priced_roster():
    problem = home_only(scenarios.guanyinli_month(1, days=7))
    gone = sorted(v.id for v in problem.volunteers if v.patrol and v.leader and v.home_grid == 3)[:3]
    problem = replace(problem, volunteers=tuple(v for v in problem.volunteers if v.id not in gone))
    assert spread.price_grids(Index.build(problem), False, time.perf_counter() + 5) is None
    # with shortages allowed, the priced roster marks grid 3's nights without a leader
    ix = Index.build(problem)
    priced = spread.price_grids(ix, True, time.perf_counter() + 300, seconds=30, rounds=1)  # a guard, not a race
    costs = R.evaluate(
        problem, [Assignment(ix.shifts[s].id, ix.volunteers[v].id) for v, s in priced.chosen], ix.targets
    )
    assert costs["missing_leader"] > 0 and priced.cost == sum(costs.values())


def test_no_priced_roster_when_the_deadline_comes_before_any_grid_has_one():
    ix = Index.build(home_only(scenarios.guanyinli_month(1, days=7)))
    assert spread.price_grids(ix, False, time.perf_counter() - 1) is None
