"""Teams and grid neighbours are each community's, as its structure in the volunteers service says: an
activity may belong to a team its community has (and no other: TeamNotFound naming the teams), and a
roster's neighbouring grids come from the community's structure file (GRID_NEIGHBOURS of the config is
the default community's alone).

Runs the real activities and volunteers services on both databases over the real broker, the second
community's structure from a file of the test (``COMMUNITIES_DIR``) with a team guanyinli does not have.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
from activities_testkit import ORGANISER, at, iso

from activities.exceptions import TeamNotFound
from activities.service import ActivitiesService
from conftest import REAL_VOLUNTEERS
from guanyinli.errors import InvalidInput
from guanyinli.rpc import ServiceRpcProxy
from guanyinli.testing import SECOND_COMMUNITY, signed

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(REAL_VOLUNTEERS is None, reason="each community's teams are the real volunteers service's"),
]

THERE = SECOND_COMMUNITY
SHIPPED = Path(__file__).resolve().parents[4] / "config" / "communities" / f"{THERE}.json"
CHESS = {"code": "chess_club", "name": "Chess club", "name_zh": "象棋队", "description": "chess in the courtyards"}


@pytest.fixture
def tenants(container_factory, two_communities, tmp_path):
    """activities and volunteers serving guanyinli and wutaishan, wutaishan with a chess club and grid 1
    bordering grid 2."""
    from volunteers.service import VolunteersService

    structure = json.loads(SHIPPED.read_text(encoding="utf-8"))
    structure["teams"].append(CHESS)
    structure["grids"][0]["neighbours"] = [2]
    (tmp_path / f"{THERE}.json").write_text(json.dumps(structure, ensure_ascii=False), encoding="utf-8")
    config = {**two_communities, "COMMUNITIES_DIR": str(tmp_path), "VOLUNTEERS_RPC_TIMEOUT": 5}
    for cls in (ActivitiesService, VolunteersService):
        container_factory(cls, config).start()
    return config


@pytest.fixture
def organisers(tenants):
    """An organiser's proxy of activities in guanyinli and in wutaishan."""
    with contextlib.ExitStack() as stack:
        yield {
            community: stack.enter_context(
                ServiceRpcProxy("activities", tenants, context_data=signed({**ORGANISER, **scope}), timeout=30)
            )
            for community, scope in (("guanyinli", {}), (THERE, {"community": THERE}))
        }


def chess_evening(organiser, **changes) -> dict:
    return organiser.create_activity(
        **{
            "title": "院里下象棋",
            "kind": "cultural",
            "team": "chess_club",
            "room": "活动室",
            "start": iso(at(1, 19)),
            "duration_minutes": 90,
            **changes,
        }
    )


def test_an_activity_of_a_team_its_community_has_and_not_of_one_it_has_not(organisers):
    there, here = organisers[THERE], organisers["guanyinli"]
    activity = chess_evening(there)
    assert activity["team"] == "chess_club"
    assert [a["id"] for a in there.list_activities(team="chess_club")] == [activity["id"]]
    patrol = there.create_activity(title="夜巡", kind="patrol", grid_id=1, start=iso(at(1, 20)), duration_minutes=60)
    assert patrol["team"] == "voluntary_patrol"  # the kind's usual team, which wutaishan has

    with pytest.raises(TeamNotFound) as refused:
        chess_evening(here)
    assert str(refused.value) == (
        "team: no team 'chess_club'; the teams are convenient_service, sanitation_green, voluntary_patrol"
    )
    assert refused.value.message_zh.startswith("没有队伍「chess_club」；社区的队伍是便民服务队（convenient_service）")
    lecture = chess_evening(here, team=None, kind="lecture", capacity=30)
    with pytest.raises(TeamNotFound, match="the teams are convenient_service"):
        here.update_activity(activity_id=lecture["id"], changes={"team": "chess_club"})
    assert here.list_activities(team="chess_club") == []  # a filter by a team it has not finds nothing
    with pytest.raises(InvalidInput, match="team"):
        here.list_activities(team="Chess Club")  # not a team's code at all


def test_neighbouring_grids_are_the_communitys_own_map(organisers):
    """wutaishan's structure maps grid 1 next to grid 2: a roster may use it (here it finds no patrol to
    roster); guanyinli has no map (no GRID_NEIGHBOURS in this config), so it is refused in plain words."""
    window = {"start": iso(at(7, 0)), "end": iso(at(14, 0))}
    with pytest.raises(InvalidInput, match="^start, end: no patrol of grid 1"):
        organisers[THERE].build_roster(**window, grids=[1], options={"neighbour_grids": True})
    with pytest.raises(InvalidInput, match="GRID_NEIGHBOURS"):
        organisers["guanyinli"].build_roster(**window, grids=[1], options={"neighbour_grids": True})
