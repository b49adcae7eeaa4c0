"""A part of a roster (lns.restrict) is priced exactly: its objective moves as the whole roster's cost does."""

import random
import time

from activities.roster import cpmodel, lns, scenarios, validate
from activities.roster import rules as R
from activities.roster.greedy import greedy
from activities.roster.index import Index
from activities.roster.model import Assignment


def cost(ix, chosen):
    return sum(
        R.evaluate(
            ix.problem, [Assignment(ix.shifts[s].id, ix.volunteers[v].id) for v, s in chosen], ix.targets
        ).values()
    )


def test_a_part_moves_the_whole_cost_by_its_own_change():
    ix = Index.build(scenarios.guanyinli_month(1, days=14))
    chosen = greedy(ix)
    rng = random.Random(3)
    for block in lns.grid_blocks(ix, 2, rng)[:3]:
        part, vols, shifts = lns.restrict(ix, block, chosen)
        built = cpmodel.build(part, soft=False)
        vloc = {v: i for i, v in enumerate(vols)}
        sloc = {s: i for i, s in enumerate(shifts)}
        before = cpmodel.set_hint(built, {(vloc[v], sloc[s]) for v, s in chosen if s in block})
        from ortools.sat.python import cp_model

        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        solver.parameters.max_time_in_seconds = 0.5
        assert solver.Solve(built.model) in (cp_model.OPTIMAL, cp_model.FEASIBLE)
        new = {p for p, var in built.x.items() if solver.BooleanValue(var)}
        after = cpmodel.objective_of(built, new)
        whole = {p for p in chosen if p[1] not in block} | {(vols[v], shifts[s]) for v, s in new}
        assert cost(ix, whole) - cost(ix, chosen) == after - before
        chosen = whole


def test_improving_by_grid_blocks_keeps_the_roster_valid_and_never_worse():
    problem = scenarios.guanyinli_month(1, days=7)
    ix = Index.build(problem)
    start = greedy(ix)
    better, objective = lns.improve(ix, False, start, cost(ix, start), time.perf_counter() + 1.5, num_workers=1)
    assert objective == cost(ix, better) <= cost(ix, start)
    assert validate(problem, [Assignment(ix.shifts[s].id, ix.volunteers[v].id) for v, s in better]) == []


def test_large_problems_are_searched_grid_by_grid(monkeypatch):
    from activities.roster import Options, solve
    from activities.roster import solver as S

    monkeypatch.setattr(S, "FULL_MODEL_PAIRS", 0)
    problem = scenarios.guanyinli_month(1, days=7)
    seen = []
    result = solve(problem, Options(time_limit=2, num_workers=1), progress=lambda *a: seen.append(a))
    assert result.status == "feasible" and validate(problem, result.assignments) == []
    assert result.objective == seen[-1][1] == S.cost_of(problem, result.assignments)
