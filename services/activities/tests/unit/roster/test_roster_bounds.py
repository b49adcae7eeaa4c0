"""The solver's lower bound is a true lower bound: on small months solved to optimality by a plain CP-SAT model
(no symmetry breaking, no hints, no parts), the bound a short solve reports never exceeds the optimum."""

from __future__ import annotations

from dataclasses import replace

import pytest
from ortools.sat.python import cp_model

from activities.roster import Options, bounds, cpmodel, scenarios, solve, validate
from activities.roster.index import Index


def small_month(seed: int, grids: int = 2, days: int = 14):
    p = scenarios.guanyinli_month(1, seed=seed, days=days)
    return replace(p, shifts=tuple(s for s in p.shifts if s.grid <= grids))


def optimum(problem) -> int:
    built = cpmodel.build(Index.build(problem), soft=False)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 2
    solver.parameters.max_time_in_seconds = 30
    assert solver.Solve(built.model) == cp_model.OPTIMAL
    return round(solver.ObjectiveValue())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bound_never_exceeds_the_optimum(seed):
    problem = small_month(seed)
    best = optimum(problem)
    result = solve(problem, Options(time_limit=1.0, num_workers=2))
    assert not validate(problem, result.assignments)
    assert result.bound <= best <= result.objective
    # the bound worker proved more than counting does (else this test would not exercise it)
    assert result.bound > bounds.counting_bound(Index.build(problem), soft=False)
    if result.status == "optimal":
        assert result.objective == best


def test_bound_with_one_worker_is_the_counting_bound():
    problem = small_month(0)
    result = solve(problem, Options(time_limit=0.2, num_workers=1))
    assert result.bound <= optimum(problem)
    assert result.bound >= bounds.counting_bound(Index.build(problem), soft=False)
