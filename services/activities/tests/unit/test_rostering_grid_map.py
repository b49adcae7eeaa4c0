"""GRID_NEIGHBOURS, the service's map of which grids border which (roster option neighbour_grids)."""

import pytest

from activities.roster import Rules, Shift
from activities.rostering import grid_map, problem_from


def test_the_map_reads_both_ways():
    assert grid_map("1:2,6 2:3") == {1: {2, 6}, 2: {1, 3}, 3: {2}, 6: {1}}
    assert grid_map("") == {} and grid_map(None) == {}


@pytest.mark.parametrize("text", ["3:four", "3", "3:", "0:1", "3:16", "a:1"])
def test_a_broken_map_says_which_entry(text):
    with pytest.raises(ValueError, match=f"GRID_NEIGHBOURS: '{text}'"):
        grid_map(text)


def test_the_problem_carries_the_map():
    from datetime import datetime

    shift = Shift("1", 3, datetime(2026, 12, 7, 19), datetime(2026, 12, 7, 21), 2, 3, True, "evening")
    problem = problem_from([shift], [], {}, {}, [], Rules(neighbour_grids=True), grid_map("3:4"))
    assert problem.grid_neighbours == {3: {4}, 4: {3}}
