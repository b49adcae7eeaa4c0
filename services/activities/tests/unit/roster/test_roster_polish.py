"""The warm start's local search: swaps of shifts between two volunteers, where single moves are stuck."""

from roster_cases import problem, shift, vol

from activities.roster import scenarios, validate
from activities.roster.greedy import greedy, polish
from activities.roster.index import Index
from activities.roster.model import Assignment
from activities.roster.solver import cost_of


def as_ids(ix, chosen):
    return {(ix.volunteers[vi].id, ix.shifts[si].id) for vi, si in chosen}


def test_two_volunteers_away_from_home_swap_back():
    # a lives in grid 1, b in grid 2, both may patrol either; each has the other's grid. Moving a single
    # place cannot help (a shift would go short, or one volunteer would carry both): only a swap can.
    p = problem(
        [vol("a", home=1, grids=frozenset({2})), vol("b", home=2, grids=frozenset({1}))],
        [shift("s1", 0, grid=1), shift("s2", 2, grid=2)],
    )
    ix = Index.build(p)
    start = {(ix.vpos["a"], ix.spos["s2"]), (ix.vpos["b"], ix.spos["s1"])}
    assert as_ids(ix, polish(ix, start, 1.0)) == {("a", "s1"), ("b", "s2")}


def test_a_swap_never_breaks_a_hard_rule_and_lowers_the_demo_month():
    p = scenarios.guanyinli_month(1)
    ix = Index.build(p)
    start = greedy(ix)
    better = polish(ix, start, 1.0)

    def roster(chosen):
        return [Assignment(ix.shifts[si].id, ix.volunteers[vi].id) for vi, si in chosen]

    assert validate(p, roster(better)) == []
    assert cost_of(p, roster(better), ix) < cost_of(p, roster(start), ix)
