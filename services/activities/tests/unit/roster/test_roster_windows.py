"""Load windows (roster/windows.py): with each role's window fixed the objective is linear; the linear program
bounds every roster of the window, the integer model's optimum is CP-SAT's, and every roster the walk over
windows gives keeps every rule by the format's independent checker."""

from __future__ import annotations

import math
import time
from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from roster_cases import optimum

from activities.roster import Options, formatcheck, generate, scenarios, solve, solver, windows
from activities.roster import fileformat as F
from activities.roster.greedy import greedy
from activities.roster.index import Index
from activities.roster.lns import roster_cost

SMALL = "m30-l40"
FAR = 60.0  # a deadline no small month comes near: the walk ends when no window can beat its roster


def month(name: str = SMALL) -> tuple[dict, Index]:
    data = generate.month(generate.BY_NAME[name])
    return data, Index.build(F.read(data).problem)


def as_roster(ix: Index, chosen: set[tuple[int, int]]) -> dict:
    return {"assignments": [{"shift": ix.shifts[si].id, "volunteer": ix.volunteers[vi].id} for vi, si in chosen]}


def test_only_a_linear_objective_with_coverage_required_is_decided_by_windows():
    _, ix = month()
    assert windows.applies(ix, soft=False)
    assert not windows.applies(ix, soft=True)  # places may stay open: their price is not a window's
    service = Index.build(scenarios.guanyinli_month(1))  # targets, weekend streaks, close shifts...
    assert not windows.applies(service, soft=False)
    flat = replace(ix.problem, rules=replace(ix.problem.rules, weights={**ix.problem.rules.weights, "role_spread": 0}))
    assert not windows.applies(Index.build(flat), soft=False)  # no spread: nothing to decide


def test_a_window_is_each_roles_highest_and_lowest_load():
    _, ix = month()
    leader = next(vi for vi, v in enumerate(ix.volunteers) if v.leader and len(ix.eligible[vi]) >= 2)
    assert windows.window_of(ix, set()) == (("leader", 0, 0), ("patroller", 0, 0))
    two = {(leader, si) for si in ix.eligible[leader][:2]}
    assert windows.window_of(ix, two) == (("leader", 2, 0), ("patroller", 0, 0))
    assert windows.spread_cost(ix, windows.window_of(ix, two)) == 200  # fairness weight 100


def test_neighbours_come_narrower_first_then_moved_then_traded_and_are_never_inverted():
    w = (("leader", 3, 1), ("patroller", 1, 1))
    assert windows.neighbours(w) == [
        w,
        (("leader", 2, 1), ("patroller", 1, 1)),
        (("leader", 3, 2), ("patroller", 1, 1)),
        (("leader", 2, 0), ("patroller", 1, 1)),
        (("leader", 4, 2), ("patroller", 1, 1)),
        (("leader", 3, 1), ("patroller", 0, 0)),
        (("leader", 3, 1), ("patroller", 2, 2)),
        # a role one wider, the other one narrower (the patrollers' cannot be narrower: the leaders' is)
        (("leader", 2, 1), ("patroller", 2, 1)),
        (("leader", 3, 2), ("patroller", 2, 1)),
        (("leader", 2, 1), ("patroller", 1, 0)),
        (("leader", 3, 2), ("patroller", 1, 0)),
    ]


def test_the_linear_program_bounds_the_window_and_the_integer_model_meets_cp_sat():
    _, ix = month()
    start = greedy(ix)
    window = windows.window_of(ix, start)
    lp, mip = windows.WindowModel(ix, "GLOP"), windows.WindowModel(ix, "SCIP")
    relaxed, _ = lp.solve(window, FAR)
    least, roster = mip.solve(window, FAR)
    assert lp.proven and mip.proven and roster is not None
    assert relaxed <= least <= roster_cost(ix, start) - windows.spread_cost(ix, window)
    assert windows.spread_cost(ix, window) + round(least) == optimum(ix, window)
    assert windows.window_of(ix, roster)[0][1] <= window[0][1]  # the roster keeps to the window


def test_a_window_no_roster_fits_has_no_price():
    _, ix = month()
    lp = windows.WindowModel(ix, "GLOP")
    # every leader on at least 20 shifts of a 72-shift month where a week allows two
    value, roster = lp.solve((("leader", 30, 20), ("patroller", 8, 0)), FAR)
    assert value is None and roster is None and not lp.proven


def test_rounding_falls_back_when_the_values_kept_leave_no_roster():
    _, ix = month()
    window = windows.window_of(ix, greedy(ix))
    mip = windows.WindowModel(ix, "SCIP")
    nothing = dict.fromkeys(mip.x, 0.0)  # kept as they are, no shift is covered
    roster = mip.round(window, nothing, deadline=_in(FAR))
    checked = formatcheck.check(generate.month(generate.BY_NAME[SMALL]), as_roster(ix, roster))
    assert checked.ok
    # and the bounds it changed are back: the model still finds its optimum
    least, again = mip.solve(window, FAR)
    assert again is not None and round(least) == round(mip.solve(window, FAR)[0])
    assert all(var.lb() == (1.0 if p in ix.pinned else 0.0) and var.ub() == 1.0 for p, var in mip.x.items())


def test_the_walk_reaches_the_proven_optimum_of_a_small_month():
    data, ix = month()
    start = greedy(ix)
    chosen, cost, priced = windows.descend(ix, start, roster_cost(ix, start), _in(FAR), lambda p: roster_cost(ix, p))
    checked = formatcheck.check(data, as_roster(ix, chosen))
    assert checked.ok and checked.objective == cost and priced >= 1
    # the proof: a roster below `cost` lies in some window whose spreads alone cost less, and no such window's
    # linear program leaves room for one (bottoms above a member's capacity hold nobody)
    lp = windows.WindowModel(ix, "GLOP")
    weight = windows.spread_cost(ix, (("leader", 1, 0),))
    lowest = {
        role: min(c for vi, c in enumerate(ix.capacity) if (ix.volunteers[vi].leader) == (role == "leader"))
        for role in ("leader", "patroller")
    }
    below = []
    for lead in range(cost // weight + 1):
        for pat in range(cost // weight - lead + 1):
            for low_l in range(lowest["leader"] + 1):
                for low_p in range(lowest["patroller"] + 1):
                    window = (("leader", low_l + lead, low_l), ("patroller", low_p + pat, low_p))
                    value, _ = lp.solve(window, FAR)
                    if value is not None and windows.spread_cost(ix, window) + value < cost - windows.WHOLE:
                        below.append(window)
    assert below == [] and cost == 300


def test_spreads_bound_every_roster_and_prove_the_small_months_optimum():
    _, ix = month()
    lp = windows.WindowModel(ix, "GLOP")
    greedy_cost = roster_cost(ix, greedy(ix))  # 534
    assert 0 < windows.lower_bound(ix, lp, greedy_cost, _in(FAR)) <= 300  # the proven optimum above
    assert windows.lower_bound(ix, lp, 300, _in(FAR)) == 300  # nothing below it: 300 is optimal
    assert windows.lower_bound(ix, lp, 300, _in(0.0)) is None  # no time: no bound, not a wrong one
    # spreads no roster has: every leader on the same number of shifts, every other volunteer too
    assert lp.least_with_spreads({"leader": 0, "patroller": 0}, FAR) == math.inf


def test_a_roster_proven_optimal_by_the_windows_ends_the_search_early(monkeypatch):
    data = generate.month(generate.BY_NAME[SMALL])

    def no_cp_sat(*args, **kwargs):
        raise AssertionError("CP-SAT's model was built after the windows had proved the roster optimal")

    monkeypatch.setattr(solver.cpmodel, "build", no_cp_sat)
    result = solve(F.read(data).problem, Options(time_limit=solver.LONG_LIMIT, num_workers=1))
    assert result.status == "optimal" and result.objective == result.bound == 300


def test_no_time_no_walk():
    _, ix = month()
    start = greedy(ix)
    cost = roster_cost(ix, start)
    assert windows.descend(ix, start, cost, _in(0.1), lambda p: roster_cost(ix, p)) == (start, cost, 0)


months = st.builds(
    generate.MonthSpec,
    name=st.just("windows"),
    seed=st.integers(0, 10_000),
    volunteers=st.integers(30, 60),
    grids=st.integers(2, 5),
    days=st.integers(3, 10),
    leader_share=st.sampled_from([0.2, 0.3, 0.5]),
    density=st.sampled_from([0.3, 0.5, 0.8]),
    home_cover=st.sampled_from([0.0, 0.5, 1.0]),
    reach=st.sampled_from([0, 1, generate.ALL]),
    crew=st.sampled_from([((2, 3, 1),), generate.MIXED_CREWS]),
    leaders=st.sampled_from([((1, 1),), generate.MIXED_LEADERS]),
    own_caps=st.sampled_from([0.0, 0.3]),
    min_rest_hours=st.sampled_from([12, 24]),
)


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(months)
def test_every_roster_of_the_walk_keeps_the_rules_and_never_costs_more(spec):
    data = generate.month(spec)
    ix = Index.build(F.read(data).problem)
    start = greedy(ix)  # it may leave places open: the walk's rosters cover every one, or it keeps the start
    cost = roster_cost(ix, start)
    seen = []
    chosen, found, _ = windows.descend(ix, start, cost, _in(FAR), lambda p: roster_cost(ix, p), seen.append)
    assert found <= cost and seen == sorted(seen, reverse=True)
    if chosen != start:
        checked = formatcheck.check(data, as_roster(ix, chosen))
        assert checked.ok, checked.violations[:3]
        assert checked.objective == found == seen[-1]


def test_the_solver_walks_the_windows_only_with_time_to_build_their_model():
    _, ix = month("m120-l35-overlap")
    start = greedy(ix)
    cost = roster_cost(ix, start)
    watch = solver.Watch(time.perf_counter(), 0, None, 0.0)
    chosen, found = solver.by_windows(ix, False, start, cost, _in(FAR), watch, time_limit=FAR)
    assert found < cost and watch.best == found == roster_cost(ix, chosen)
    build = solver.WINDOW_BUILD * sum(map(len, ix.eligible))  # 5,000 pairs: 0.15 s
    assert solver.by_windows(ix, False, start, cost, _in(windows.MIN_SECONDS + build / 2), watch, FAR) == (start, cost)
    assert solver.by_windows(ix, True, start, cost, _in(FAR), watch, FAR) == (start, cost)


def _in(seconds: float) -> float:
    return time.perf_counter() + seconds
