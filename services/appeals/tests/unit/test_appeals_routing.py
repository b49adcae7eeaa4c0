"""Routing and who sees what: the pure rules of appeals (``appeals.domain``)."""

from __future__ import annotations

from appeals import domain
from appeals.domain import GRID_LEADER, GRID_MEMBER, HELPER, Candidate
from guanyinli.identity import Identity

GRID = {"id": 3, "leader": {"id": 1}, "members": [{"id": 1}, {"id": 2}, {"id": 3}], "courtyards": [{"code": "C05"}]}


def ids(found):
    return sorted((c.volunteer_id, c.kind) for c in found)


def test_candidates_are_the_grids_available_people_then_helpers_outside_it():
    found = domain.candidates(GRID, available_ids=[1, 3, 9], helper_ids=[3, 7])
    assert ids(found) == [(1, GRID_LEADER), (3, GRID_MEMBER), (7, HELPER)]


def test_unavailable_grid_people_are_no_candidates():
    assert domain.candidates(GRID, available_ids=[], helper_ids=[]) == []


def test_members_go_before_the_leader_and_both_before_helpers():
    found = [Candidate(7, HELPER), Candidate(1, GRID_LEADER), Candidate(3, GRID_MEMBER)]
    assert domain.choose_handler(found, {}) == Candidate(3, GRID_MEMBER)
    assert domain.choose_handler(found[:2], {}) == Candidate(1, GRID_LEADER)


def test_the_load_spreads_to_the_fewest_open_appeals_then_the_lower_id():
    found = [Candidate(2, GRID_MEMBER), Candidate(3, GRID_MEMBER), Candidate(4, GRID_MEMBER)]
    assert domain.choose_handler(found, {2: 2, 3: 1, 4: 1}).volunteer_id == 3
    assert domain.choose_handler(found, {2: 0, 3: 1}).volunteer_id == 2


def test_the_load_does_not_outrank_the_grid():
    found = [Candidate(2, GRID_MEMBER), Candidate(7, HELPER)]
    assert domain.choose_handler(found, {2: 10, 7: 0}).volunteer_id == 2


def test_who_handed_it_back_is_not_chosen_again_and_nobody_left_is_none():
    found = [Candidate(2, GRID_MEMBER), Candidate(3, GRID_MEMBER)]
    assert domain.choose_handler(found, {}, excluded={2}).volunteer_id == 3
    assert domain.choose_handler(found, {}, excluded={2, 3}) is None
    assert domain.choose_handler([], {}) is None


def test_every_category_has_a_helping_team():
    assert set(domain.HELPERS) == set(domain.CATEGORIES)


def test_may_handle_the_grids_people_or_the_categorys_team_with_its_skill():
    person = {"active": True, "grid_roles": [{"grid_id": 3, "role": "member"}], "teams": [], "skills": []}
    electrician = {"active": True, "grid_roles": [], "teams": ["convenient_service"], "skills": ["electrician"]}
    runner = {"active": True, "grid_roles": [], "teams": ["convenient_service"], "skills": []}
    assert domain.may_handle(person, 3, "repair")
    assert not domain.may_handle(person, 4, "repair")  # a volunteer of another grid
    assert domain.may_handle(electrician, 4, "repair")
    assert not domain.may_handle(runner, 4, "repair")
    assert domain.may_handle(runner, 4, "errand")
    assert not domain.may_handle(dict(person, active=False), 3, "errand")


def caller(roles, vid=None):
    return Identity(subject=f"volunteer:{vid}" if vid else "account:x", roles=frozenset(roles), volunteer_id=vid)


APPEAL = {
    "id": 1,
    "handler_id": 5,
    "category": "repair",
    "grid_id": 3,
    "resident_name": "李阿姨",
    "resident_phone": "13800000000",
    "resident_address": "3号楼 302",
    "description": "水管漏水",
    "outcome": None,
    "resident_reply": None,
    "notes": [{"kind": "received"}],
}


def test_the_resident_is_shown_to_the_handler_and_organisers_only():
    for who in (caller({"organiser"}), caller({"system"}), caller({"volunteer"}, 5)):
        assert domain.shown(who, APPEAL) == APPEAL
    for who in (caller({"volunteer"}, 6), caller({"grid_leader"}, 7), caller({"viewer"})):
        seen = domain.shown(who, APPEAL)
        assert {seen[k] for k in domain.PRIVATE_FIELDS} == {None}
        assert seen["notes"] == [] and seen["category"] == "repair" and seen["grid_id"] == 3
