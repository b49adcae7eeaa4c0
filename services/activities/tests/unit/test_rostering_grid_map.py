"""The grids of a roster: GRID_NEIGHBOURS, the service's map of which grids border which (roster option
neighbour_grids), and the grids a window names, which are the volunteers service's."""

import pytest

from activities import schemas
from activities.exceptions import GridNotFound
from activities.roster import Rules, Shift
from activities.rostering import grid_map, problem_from, window_grids
from guanyinli.errors import InvalidInput
from guanyinli.schemas import load


def test_the_map_reads_both_ways():
    assert grid_map("1:2,6 2:3") == {1: {2, 6}, 2: {1, 3}, 3: {2}, 6: {1}}
    assert grid_map("") == {} and grid_map(None) == {}


@pytest.mark.parametrize("text", ["3:four", "3", "3:", "0:1", "3:-1", "a:1"])
def test_a_broken_map_says_which_entry(text):
    with pytest.raises(ValueError, match=f"GRID_NEIGHBOURS: '{text}'"):
        grid_map(text)


def test_a_sixteenth_grid_has_neighbours_too():
    """The map names grids by id; which grids there are is the volunteers service's, not the map's."""
    assert grid_map("15:16") == {15: {16}, 16: {15}}


def test_the_problem_carries_the_map():
    from datetime import datetime

    shift = Shift("1", 3, datetime(2026, 12, 7, 19), datetime(2026, 12, 7, 21), 2, 3, True, "evening")
    problem = problem_from([shift], [], {}, {}, [], Rules(neighbour_grids=True), grid_map("3:4"))
    assert problem.grid_neighbours == {3: {4}, 4: {3}}


def test_a_window_names_grids_of_the_community():
    """Which grids there are is the volunteers service's answer (``known``), whatever their number."""
    known = range(1, 17)
    assert window_grids(None, known) == list(known)
    assert window_grids([16, 3, 3], known) == [3, 16]
    with pytest.raises(GridNotFound, match=r"^grids: no grids 17, 40; the grids are 1-16$") as refused:
        window_grids([40, 1, 17], known)
    assert refused.value.message_zh == "没有17号网格、40号网格；社区的网格是1-16"
    window = {"start": "2026-12-07T00:00", "end": "2026-12-14T00:00"}
    assert load(schemas.RosterWindowIn, {**window, "grids": [16]})["grids"] == [16]
    with pytest.raises(InvalidInput, match="grids.0"):
        load(schemas.RosterWindowIn, {**window, "grids": [0]})


def test_the_grid_cache_keeps_each_communitys_grids_apart():
    """The volunteers service's grids are each community's: the cache of one container answers
    wutaishan's worker with wutaishan's list, never with what guanyinli's worker was told."""
    from activities.dependencies import StructureCache, VolunteerDirectory

    answers = {"guanyinli": [{"id": g} for g in range(1, 16)], "wutaishan": [{"id": 1}, {"id": 2}]}
    community = ["guanyinli"]

    class Proxy:
        calls = 0

        def list_grids(self):
            Proxy.calls += 1
            return answers[community[0]]

    directory = VolunteerDirectory(Proxy(), 5, StructureCache(seconds=60), community=lambda: community[0])
    assert directory.grid_ids() == frozenset(range(1, 16))
    community[0] = "wutaishan"
    assert directory.grid_ids() == frozenset({1, 2})
    community[0] = "guanyinli"
    assert directory.grid_ids() == frozenset(range(1, 16)) and Proxy.calls == 2  # each kept a minute


def test_the_cache_keeps_each_communitys_teams_and_neighbours_apart_and_a_minute():
    """Teams and grids are kept apart in the one cache, each community's own; neighbours come both ways."""
    from activities.dependencies import StructureCache, VolunteerDirectory

    grids = {
        "guanyinli": [{"id": 1}, {"id": 2}],
        "wutaishan": [{"id": 1, "neighbours": [2]}, {"id": 2, "neighbours": []}, {"id": 3, "neighbours": [2]}],
    }
    teams = {
        "guanyinli": [{"code": "voluntary_patrol", "name": "Voluntary patrol", "name_zh": "义务巡逻队"}],
        "wutaishan": [{"code": "chess_club", "name": "Chess club", "name_zh": "象棋队", "members": 3}],
    }
    community, now, calls = ["guanyinli"], [0.0], []

    class Proxy:
        def list_grids(self):
            calls.append(("grids", community[0]))
            return grids[community[0]]

        def list_teams(self):
            calls.append(("teams", community[0]))
            return teams[community[0]]

    cache = StructureCache(seconds=60, clock=lambda: now[0])
    directory = VolunteerDirectory(Proxy(), 5, cache, community=lambda: community[0])
    assert list(directory.teams()) == ["voluntary_patrol"] and directory.grid_neighbours() == {}
    community[0] = "wutaishan"
    assert directory.teams() == {"chess_club": {"code": "chess_club", "name": "Chess club", "name_zh": "象棋队"}}
    assert directory.grid_neighbours() == {1: frozenset({2}), 2: frozenset({1, 3}), 3: frozenset({2})}
    assert directory.grid_ids() == frozenset({1, 2, 3})
    assert len(calls) == 4  # one call of each part for each community
    now[0] = 61.0
    directory.teams()
    assert calls[-1] == ("teams", "wutaishan") and len(calls) == 5  # kept a minute, then asked again
