"""One tiny test per rule: given a couple of shifts and volunteers, this rule alone forbids it or costs N."""

from datetime import datetime

import pytest
from roster_cases import costs, problem, roster, shift, vol

from activities.roster import Options, check_capacity, solve, validate
from activities.roster.rules import DEFAULT_WEIGHTS as W

HARD = Options(time_limit=2, num_workers=1, coverage="hard")
SOFT = Options(time_limit=2, num_workers=1, coverage="soft")


def rules_broken(p, r):
    return sorted({v.rule for v in validate(p, r)})


# hard rules: the validator flags the roster, the solver cannot produce it


def test_rest_between_an_evening_and_the_next_morning():
    p = problem([vol("a")], [shift("eve", 5), shift("morn", 6, "morning")], min_rest_hours=12)
    assert rules_broken(p, roster(("eve", "a"), ("morn", "a"))) == ["rest"]
    assert solve(p, HARD).status == "infeasible"
    result = solve(p, SOFT)
    assert len(result.assignments) == 1 and result.report.costs["uncovered_place"] == W["uncovered_place"]


def test_rest_allows_shifts_far_enough_apart():
    p = problem([vol("a")], [shift("eve", 5), shift("morn", 6, "morning")], min_rest_hours=11)
    assert validate(p, roster(("eve", "a"), ("morn", "a"))) == []
    assert solve(p, HARD).status == "optimal"


def test_weekly_cap():
    p = problem([vol("a", max_per_week=1)], [shift("mon", 0), shift("thu", 3)])
    (broken,) = validate(p, roster(("mon", "a"), ("thu", "a")))
    assert (broken.rule, broken.message) == (
        "weekly_cap",
        "志愿者a (a): 2 shifts in the week of Monday 30 November, cap 1",
    )
    assert solve(p, HARD).status == "infeasible"


def test_weekly_cap_counts_each_week_on_its_own():
    p = problem([vol("a", max_per_week=1)], [shift("sun", 6), shift("mon", 7)], close_hours=0)
    assert validate(p, roster(("sun", "a"), ("mon", "a"))) == []
    assert solve(p, HARD).status == "optimal"


def test_cap_over_the_period():
    p = problem([vol("a", max_shifts=1)], [shift("mon", 0), shift("mon2", 7)])
    assert rules_broken(p, roster(("mon", "a"), ("mon2", "a"))) == ["period_cap"]
    assert solve(p, HARD).status == "infeasible"


def test_one_place_at_a_time():
    p = problem([vol("a", grids=frozenset({2}))], [shift("g1", 0, grid=1), shift("g2", 0, grid=2)])
    assert rules_broken(p, roster(("g1", "a"), ("g2", "a"))) == ["rest"]
    assert solve(p, HARD).status == "infeasible"


def test_minimum_patrollers():
    p = problem([vol("a")], [shift("s", 0, need=2, most=3)])
    assert rules_broken(p, roster(("s", "a"))) == ["coverage"]
    assert check_capacity(p) == ["grid 1, Monday 30 November evening: needs 2 patrollers, 1 available"]


def test_maximum_patrollers():
    p = problem([vol("a"), vol("b")], [shift("s", 0, need=1, most=1)])
    assert rules_broken(p, roster(("s", "a"), ("s", "b"))) == ["coverage"]
    assert len(solve(p, HARD).assignments) == 1


def test_leader_needed():
    p = problem([vol("a"), vol("b")], [shift("s", 0, need=2, most=2, leader=True)])
    assert rules_broken(p, roster(("s", "a"), ("s", "b"))) == ["leader"]
    assert check_capacity(p) == [
        "grid 1, Monday 30 November evening: needs 2 patrollers, 2 available, no leader available"
    ]
    result = solve(p, HARD)
    assert result.status == "infeasible" and result.problems


def test_only_the_patrol_team():
    p = problem([vol("a", patrol=False)], [shift("s", 0)])
    assert rules_broken(p, roster(("s", "a"))) == ["qualification"]
    assert solve(p, SOFT).assignments == ()


def test_only_grids_they_patrol():
    p = problem([vol("a", home=1)], [shift("s", 0, grid=2)], neighbours={1: frozenset({2})})
    assert rules_broken(p, roster(("s", "a"))) == ["grid"]
    assert solve(p, SOFT).assignments == ()


def test_neighbouring_grids_when_allowed():
    p = problem([vol("a", home=1)], [shift("s", 0, grid=2)], neighbours={1: frozenset({2})}, neighbour_grids=True)
    assert validate(p, roster(("s", "a"))) == []
    assert len(solve(p, HARD).assignments) == 1


def test_weekly_availability():
    p = problem([vol("a", availability=frozenset({(1, "evening")}))], [shift("mon", 0)])
    assert rules_broken(p, roster(("mon", "a"))) == ["availability"]
    assert solve(p, SOFT).assignments == ()


def test_absence():
    away = ((datetime(2026, 11, 30), datetime(2026, 12, 1)),)
    p = problem([vol("a", unavailable=away)], [shift("mon", 0)])
    assert rules_broken(p, roster(("mon", "a"))) == ["availability"]
    assert solve(p, SOFT).assignments == ()


def test_other_duties():
    duty = ((datetime(2026, 11, 30, 20), datetime(2026, 11, 30, 22)),)
    p = problem([vol("a", duties=duty)], [shift("mon", 0)])
    assert rules_broken(p, roster(("mon", "a"))) == ["duty"]
    assert solve(p, SOFT).assignments == ()


def test_pinned_assignments_are_kept():
    p = problem([vol("a", home=2, grids=frozenset({1})), vol("b")], [shift("s", 0)], pinned=roster(("s", "a")))
    assert rules_broken(p, roster(("s", "b"))) == ["pinned"]
    result = solve(p, HARD)
    assert [a.volunteer_id for a in result.assignments] == ["a"]  # although b lives in grid 1


# soft rules: exactly their weight, and the solver avoids them when it can


def test_away_from_home_costs_its_weight():
    p = problem([vol("a", home=2, grids=frozenset({1}))], [shift("s", 0)])
    assert costs(p, roster(("s", "a"))) == {"away_from_home": W["away_from_home"]}


def test_away_from_home_prefers_the_home_volunteer():
    p = problem([vol("a", home=2, grids=frozenset({1}), target=1), vol("b", target=1)], [shift("s", 0)])
    result = solve(p, HARD)
    assert [a.volunteer_id for a in result.assignments] == ["b"]


def test_not_preferred_day():
    p = problem([vol("a", preferred_days=frozenset({0}), target=1)], [shift("mon", 0, need=0), shift("wed", 2, need=0)])
    assert costs(p, roster(("mon", "a"))) == {}
    assert costs(p, roster(("wed", "a"))) == {"not_preferred": W["not_preferred"]}


def test_not_preferred_time():
    p = problem([vol("a", preferred_kinds=frozenset({"evening"}))], [shift("sat", 5, "morning", need=0)])
    assert costs(p, roster(("sat", "a"))) == {"not_preferred": W["not_preferred"], "fair_load": W["fair_load"]}


def test_fair_load_against_own_target():
    p = problem([vol("a", target=1)], [shift("mon", 0, need=0), shift("wed", 2, need=0)])
    assert costs(p, roster(("mon", "a"))) == {}
    assert costs(p, roster(("mon", "a"), ("wed", "a"))) == {"fair_load": W["fair_load"]}


def test_role_spread_among_patrollers():
    p = problem([vol("a", target=1), vol("b", target=1)], [shift("mon", 0), shift("wed", 2)])
    assert costs(p, roster(("mon", "a"), ("wed", "b"))) == {}
    assert costs(p, roster(("mon", "a"), ("wed", "a"))) == {
        "fair_load": 2 * W["fair_load"],
        "role_spread": 2 * W["role_spread"],
    }


def test_role_spread_compares_within_a_role_only():
    p = problem([vol("a", target=2, leader=True), vol("b", target=0)], [shift("mon", 0), shift("wed", 2)])
    assert costs(p, roster(("mon", "a"), ("wed", "a"))) == {}


def test_leaders_carry_more_by_their_derived_targets():
    vols = [vol("l", leader=True), vol("p")]
    shifts = [shift(f"s{d}", d, need=1, most=2, leader=True) for d in (0, 2, 4)]
    from activities.roster.index import Index

    targets = Index.build(problem(vols, shifts)).targets
    assert targets == {"l": 3, "p": 0}


def test_partner_apart():
    p = problem(
        [vol("a", partners=frozenset({"b"}), target=1), vol("b", target=1)],
        [shift("mon", 0, need=1, most=2), shift("wed", 2, need=0, most=2)],
    )
    assert costs(p, roster(("mon", "a"), ("mon", "b"))) == {}
    assert costs(p, roster(("mon", "a"), ("wed", "b"))) == {"partner_apart": 2 * W["partner_apart"]}


def test_weekend_streak():
    shifts = [shift(f"sat{w}", 5 + 7 * w, need=0) for w in range(3)]
    p = problem([vol("a", target=2)], shifts, max_weekends_in_row=1, close_hours=0)
    assert costs(p, roster(("sat0", "a"), ("sat2", "a"))) == {}
    assert costs(p, roster(("sat0", "a"), ("sat1", "a"))) == {"weekend_streak": W["weekend_streak"]}


def test_close_shifts():
    p = problem([vol("a", target=2)], [shift("mon", 0, need=0), shift("tue", 1, need=0), shift("wed", 2, need=0)])
    assert costs(p, roster(("mon", "a"), ("wed", "a"))) == {}
    assert costs(p, roster(("mon", "a"), ("tue", "a"))) == {"close_shifts": W["close_shifts"]}


def test_uncovered_place_in_soft_mode():
    p = problem([vol("a")], [shift("s", 0, need=2, most=2, leader=True)])
    assert costs(p, roster(("s", "a"))) == {
        "uncovered_place": W["uncovered_place"],
        "missing_leader": W["missing_leader"],
    }


@pytest.mark.parametrize("name", sorted(W))
def test_every_weight_is_a_positive_integer(name):
    assert isinstance(W[name], int) and W[name] > 0
