"""The greedy warm start never puts more patrollers on a shift than it takes (it is returned as is in soft mode)."""

import dataclasses
from collections import Counter

from activities.roster import Options, scenarios, solve, validate
from activities.roster.greedy import greedy
from activities.roster.index import Index


def full_month_of_pairs():
    problem = scenarios.guanyinli_month(scale=1)
    shifts = tuple(dataclasses.replace(s, min_patrollers=2, max_patrollers=2) for s in problem.shifts)
    return dataclasses.replace(problem, shifts=shifts)


def test_greedy_respects_the_maximum_per_shift():
    ix = Index.build(full_month_of_pairs())
    crews = Counter(si for _, si in greedy(ix))
    assert all(n <= ix.shifts[si].max_patrollers for si, n in crews.items())


def test_soft_coverage_rosters_pass_the_validator():
    problem = full_month_of_pairs()
    result = solve(problem, Options(time_limit=1, coverage="soft"))
    assert validate(problem, result.assignments, coverage=False) == []
