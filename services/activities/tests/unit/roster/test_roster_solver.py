"""The solver on the demo months: complete rosters that pass the validator, and plain words when it cannot."""

from datetime import datetime

import pytest
from roster_cases import problem, shift, vol

from activities.roster import Options, check_capacity, cost_of, explain, scenarios, solve, validate

QUICK = Options(time_limit=2, num_workers=1)


@pytest.fixture(scope="module")
def month():
    return scenarios.guanyinli_month(1)


@pytest.fixture(scope="module")
def tight():
    return scenarios.tight_month()


@pytest.fixture(scope="module")
def month_result(month):
    seen = []
    result = solve(month, QUICK, progress=lambda *args: seen.append(args))
    return result, seen


def test_the_demo_month_has_the_guanyinli_size(month):
    assert len(month.volunteers) == 300
    assert 100 < sum(v.patrol for v in month.volunteers) < 300
    assert len({s.grid for s in month.shifts}) == 15
    assert len(month.shifts) == 15 * 28 + 15 * 8
    assert scenarios.guanyinli_month(1) == month  # deterministic


def test_the_demo_month_rosters_completely(month, month_result):
    result, _ = month_result
    assert result.status in ("optimal", "feasible")
    assert validate(month, result.assignments) == []
    assert result.gaps == () and check_capacity(month) == []
    assert all(row["missing"] == 0 for row in result.report.coverage.values())


def test_objective_is_the_cost_of_the_roster(month, month_result):
    result, _ = month_result
    assert result.objective == cost_of(month, result.assignments) == sum(result.report.costs.values())
    assert 0 <= result.bound <= result.objective
    assert result.gap == pytest.approx((result.objective - result.bound) / result.objective)


def test_leaders_carry_more_than_patrollers(month_result):
    result, _ = month_result
    assert result.report.load["leader"]["mean"] > result.report.load["patroller"]["mean"]


def test_progress_reports_improving_rosters(month_result):
    result, seen = month_result
    assert seen and seen[0][0] == 0  # the warm start comes first
    objectives = [s[1] for s in seen]
    assert objectives == sorted(objectives, reverse=True)
    assert objectives[-1] == result.objective
    for _solutions, objective, bound, gap, elapsed in seen:
        assert bound <= objective and 0 <= gap <= 1 and elapsed >= 0


def test_the_tight_month_says_what_cannot_be_covered(tight):
    problems = check_capacity(tight)
    assert "grid 7, Saturday 5 December evening: needs 2 patrollers, 1 available, no leader available" in problems
    why = explain(tight)
    assert any(g.shift_id == "g07-20261205-evening" and g.leader_missing for g in why.gaps)
    kinds = {s.kind: s for s in why.suggestions}
    assert kinds["neighbour_grids"].fixes > 0
    assert "accept_under_coverage" in kinds


def test_the_tight_month_gets_the_best_roster_with_gaps_marked(tight):
    result = solve(tight, QUICK)
    assert result.status == "feasible_with_gaps"
    assert validate(tight, result.assignments, coverage=False) == []
    short = {v.shift_id for v in validate(tight, result.assignments) if v.rule in ("coverage", "leader")}
    assert short <= {g.shift_id for g in result.gaps}
    evening = next(g for g in result.gaps if g.shift_id == "g07-20261205-evening")
    assert "no leader available" in evening.reason
    assert evening.reason_zh == "7号网格，12月5日（周六）晚间巡逻：需要2名巡逻队员，可用1名，没有可用的队长"
    assert result.suggestions and all(s.description_zh for s in result.suggestions)
    assert len(result.problems_zh) == len(result.problems) and all(result.problems_zh)


def test_reasons_in_chinese_use_the_grid_names_given():
    from dataclasses import replace

    from activities.roster import wording

    p = problem([vol("a", leader=True)], [shift("fri", 4, leader=True)])
    p = replace(p, grid_names={1: "G01"}, grid_names_zh={1: "商住楼甲栋专属网格"})
    assert wording.shift(p, p.shifts[0]).startswith("商住楼甲栋专属网格，")
    assert p.grid_name(1) == "G01"  # the English messages keep their own
    assert wording.grid(replace(p, grid_names_zh={}), 3) == "3号网格"


def test_hard_coverage_refuses_with_reasons(tight):
    result = solve(tight, Options(time_limit=1, num_workers=1, coverage="hard"))
    assert result.status == "infeasible" and result.assignments == ()
    assert result.problems and result.suggestions


def test_rules_that_only_clash_together_are_still_explained():
    # every count fits (a can take one of the three, b and c Monday's), yet only a can take Tuesday and Wednesday
    monday_only = frozenset({"mon"})
    p = problem(
        [vol("a"), vol("b", shifts=monday_only), vol("c", shifts=monday_only)],
        [shift("mon", 0), shift("tue", 1), shift("wed", 2)],
        max_per_week=1,
    )
    assert check_capacity(p) == []
    result = solve(p, Options(time_limit=1, num_workers=1, coverage="hard"))
    assert result.status == "infeasible"
    assert result.problems and result.gaps[0].reason


def test_runs_in_a_native_thread_pool(month):
    """As the service runs it: in eventlet's tpool, under monkey-patching, the grid-by-grid search and the
    bound search on threads of their own."""
    from eventlet import tpool

    small = scenarios.guanyinli_month(1, days=7)
    result = tpool.execute(solve, small, Options(time_limit=2, num_workers=2))
    assert result.status in ("optimal", "feasible") and validate(small, result.assignments) == []
    assert 0 < result.bound <= result.objective


def test_pinned_assignment_is_kept_in_the_month(month):
    from dataclasses import replace

    from activities.roster import Assignment

    s = next(s for s in month.shifts if s.grid == 3 and s.start >= datetime(2026, 12, 10))
    v = next(v for v in month.volunteers if v.patrol and v.home_grid == 3 and v.leader)
    pinned = replace(month, pinned=(Assignment(s.id, v.id),))
    if check_capacity(pinned):
        pytest.skip("that leader is not available then")
    result = solve(pinned, Options(time_limit=1, num_workers=1))
    assert Assignment(s.id, v.id) in result.assignments and validate(pinned, result.assignments) == []


def test_our_lower_bound_is_below_the_roster_found(month, month_result):
    from activities.roster import lower_bound
    from activities.roster.bounds import counting_bound
    from activities.roster.index import Index

    result, _ = month_result
    bound = lower_bound(month, 1.0)
    assert counting_bound(Index.build(month), soft=False) <= bound <= result.objective


def test_a_pin_the_rules_forbid_is_left_out_and_named():
    """A confirmed sign-up in another grid's patrol (home grids only): the roster leaves it out, says so in
    plain words and lists it in unkept_pins; everything else it keeps passes the validator."""
    from dataclasses import replace

    from activities.roster import Assignment

    week = scenarios.home_only(scenarios.guanyinli_month(1, days=7))
    v = next(v for v in week.volunteers if v.patrol and v.home_grid == 1)
    inside = next(s for s in week.shifts if s.grid == 1 and (s.start.weekday(), s.kind) in v.availability)
    outside = next(s for s in week.shifts if s.grid == 5)
    allowed, forbidden = Assignment(inside.id, v.id), Assignment(outside.id, v.id)
    problem = replace(week, pinned=(allowed, forbidden))
    result = solve(problem, Options(time_limit=2, num_workers=1))
    assert result.unkept_pins == (forbidden,)
    assert allowed in result.assignments and forbidden not in result.assignments
    assert any(v.name in p and "not available or not allowed" in p for p in result.problems)
    assert [x.rule for x in validate(problem, result.assignments, coverage=False)] == ["pinned"]
    assert validate(replace(problem, pinned=(allowed,)), result.assignments) == []


def test_the_load_report_counts_the_rosters_own_people():
    """A roster of grid 1: grid 2's patrollers, who may not patrol there, are not counted at 0 shifts."""
    people = [vol("a", leader=True), vol("b"), vol("c", home=2, leader=True), vol("d", home=2)]
    shifts = [shift(f"s{d}", d, need=2, most=2, leader=True) for d in range(2)]
    result = solve(problem(people, shifts), QUICK)
    assert {p.volunteer_id for p in result.report.volunteers} == {"a", "b"}
    assert result.report.load["leader"] == {
        "volunteers": 1,
        "min": 2,
        "max": 2,
        "spread": 0,
        "mean": 2.0,
        "min_over_target": 0,
        "max_over_target": 0,
    }
