"""A match turned into an activity names a team of the community: the volunteers service's list_teams."""

from __future__ import annotations

import pytest

from appeals.dependencies import VolunteerDirectory
from appeals.exceptions import TeamNotFound
from appeals.partners_schemas import TurnMatchIn
from guanyinli.errors import InvalidInput
from guanyinli.schemas import load

TEAMS = [
    {"code": "voluntary_patrol", "name": "Voluntary patrol", "name_zh": "义务巡逻队"},
    {"code": "chess_club", "name": "Chess club", "name_zh": "象棋队"},
]


class Reply:
    def __init__(self, value):
        self.value = value

    def result(self):
        return self.value


class Method:
    def call_async(self, *args):
        return Reply(TEAMS)


class Proxy:
    list_teams = Method()


def test_a_team_of_the_community_passes_and_another_is_named_with_the_teams_it_has():
    directory = VolunteerDirectory(Proxy(), 5)
    directory.check_team("chess_club")
    directory.check_team(None)
    with pytest.raises(TeamNotFound) as refused:
        directory.check_team("sanitation_green")
    assert str(refused.value) == "team: no team 'sanitation_green'; the teams are voluntary_patrol, chess_club"
    assert refused.value.message_zh == (
        "没有队伍「sanitation_green」；社区的队伍是义务巡逻队（voluntary_patrol）、象棋队（chess_club）"
    )


def test_the_schema_checks_only_the_form_of_a_team_code():
    match = {"match_id": 1, "title": "共建", "kind": "cultural", "start": "2026-12-08T19:00", "end": "2026-12-08T21:00"}
    assert load(TurnMatchIn, {**match, "team": "chess_club"})["team"] == "chess_club"
    with pytest.raises(InvalidInput, match="team"):
        load(TurnMatchIn, {**match, "team": "Chess Club"})
