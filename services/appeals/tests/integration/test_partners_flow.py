"""The two-way service list end to end with the volunteers and activities services and the real
broker, on SQLite and PostgreSQL: partners, offers and needs; community needs derived from unrouted
appeals and activities short of people; matches proposed, agreed, declined, and one turned into a
joint activity exactly once; contacts hidden from volunteers; bad input typed and harmless."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from activities.service import ActivitiesService
from appeals.exceptions import (
    AllianceUnknown,
    GridNotFound,
    MatchAlreadyTurned,
    MatchStateInvalid,
    NeedDerived,
    PartnerInactive,
    PartnerNotFound,
    TeamNotFound,
)
from appeals.service import AppealsService
from guanyinli.errors import Forbidden, InvalidInput
from guanyinli.testing import event_recorder, signed
from guanyinli.timeutil import iso, local, now
from volunteers.service import VolunteersService

pytestmark = pytest.mark.integration

ORGANISER = signed({"roles": ["organiser"], "name": "社区办 王芳"})


@pytest.fixture
def db_urls(test_databases, db_backend) -> dict[str, str]:
    urls = {}
    for service in ("volunteers", "activities", "appeals"):
        urls[service] = test_databases.url(db_backend, service)
        test_databases.empty(db_backend, service)
    return urls


@pytest.fixture
def container(container_factory, service_config, events):
    container_factory(VolunteersService, service_config).start()
    container_factory(ActivitiesService, service_config).start()
    service = container_factory(AppealsService, service_config)
    service.start()
    container_factory(event_recorder("appeals", events), service_config).start()
    return service


@pytest.fixture
def activities(call):
    return call(ORGANISER, "activities")


def tomorrow_at(hour: int):
    day = local(now()).date() + timedelta(days=1)
    return local(now()).replace(
        year=day.year, month=day.month, day=day.day, hour=hour, minute=0, second=0, microsecond=0
    )


@pytest.fixture
def partners(rpc):
    """A hospital (unit in the area) with electricians' hours and a hall; a non-profit that needs a hall."""
    hospital = rpc.add_partner(
        name="鼓楼医院", alliance="resident_units", kind="unit", contact_person="张主任", contact_phone="13900001111"
    )
    ngo = rpc.add_partner(
        name="益心社工", alliance="non_profits", kind="non_profit", contact_person="李", contact_phone="13900002222"
    )
    electric = rpc.add_offer(
        partner_id=hospital["id"], kind="skill", what="后勤电工 electricians", words=["electrician"], quantity=6
    )
    hall = rpc.add_offer(
        partner_id=hospital["id"], kind="venue", what="多功能厅 hall", words=["会议室", "hall"], quantity=2, grid_id=6
    )
    hall_need = rpc.add_need(partner_id=ngo["id"], kind="venue", what="讲座场地", words=["hall"], quantity=1, grid_id=6)
    return {"hospital": hospital, "ngo": ngo, "electric": electric, "hall": hall, "hall_need": hall_need}


def test_partners_offers_needs_and_who_sees_contacts(rpc, call, partners):
    listed = rpc.list_partners()
    assert [p["name"] for p in listed] == ["益心社工", "鼓楼医院"]  # non_profits before resident_units
    hospital = next(p for p in listed if p["name"] == "鼓楼医院")
    assert hospital["contact_phone"] == "13900001111"
    assert [o["what"] for o in hospital["offers"]] == ["后勤电工 electricians", "多功能厅 hall"]
    assert rpc.list_partners(alliance="non_profits")[0]["needs"][0]["what"] == "讲座场地"

    volunteer = call(signed({"volunteer_id": 5}))
    seen = volunteer.get_partner(partners["hospital"]["id"])
    assert (seen["contact_person"], seen["contact_phone"]) == (None, None)
    assert all(p["contact_phone"] is None for p in volunteer.list_partners())
    with pytest.raises(Forbidden):
        volunteer.add_partner(name="x", alliance="non_profits", kind="other")
    with pytest.raises(Forbidden):
        volunteer.propose_matches()


def test_bad_input_is_typed_and_changes_nothing(rpc, partners, unchanged):
    with unchanged():
        with pytest.raises(AllianceUnknown):
            rpc.add_partner(name="某单位", alliance="friends", kind="unit")
        with pytest.raises(InvalidInput):
            rpc.add_partner(name="", alliance="non_profits", kind="unit")
        with pytest.raises(InvalidInput):
            rpc.add_partner(name="x", alliance="non_profits", kind="unit", contact_phone="not a phone")
        with pytest.raises(InvalidInput):
            rpc.add_offer(partner_id=partners["hospital"]["id"], kind="money", what="x", quantity=1)
        with pytest.raises(InvalidInput):
            rpc.add_offer(partner_id=partners["hospital"]["id"], kind="goods", what="x", quantity=-1)
        with pytest.raises(InvalidInput):
            rpc.add_offer(
                partner_id=partners["hospital"]["id"], kind="goods", what="x", quantity=1,
                available_from="2026-12-10", available_until="2026-12-01",
            )  # fmt: skip
        with pytest.raises(InvalidInput):
            rpc.add_offer(partner_id=partners["hospital"]["id"], kind="goods", what="x", quantity="1; DROP TABLE")
        with pytest.raises(PartnerNotFound):
            rpc.add_offer(partner_id=999, kind="goods", what="米", quantity=1)
        with pytest.raises(GridNotFound):
            rpc.add_need(kind="venue", what="场地", quantity=1, grid_id=99)
        with pytest.raises(InvalidInput):
            rpc.update_partner(partners["ngo"]["id"], {"unknown": 1})
        with pytest.raises(InvalidInput):
            rpc.list_matches(status="maybe")
    rpc.update_partner(partners["ngo"]["id"], {"active": False})
    with pytest.raises(PartnerInactive):
        rpc.add_need(partner_id=partners["ngo"]["id"], kind="goods", what="米", quantity=1)


def test_community_needs_derived_matched_and_turned_into_one_activity(rpc, call, activities, partners, tables):
    # a repair appeal nobody can take (grid 6 has nobody) and a patrol two short
    appeal = rpc.receive_appeal(
        category="repair", grid_id=6, description="楼道灯坏了", resident_name="李桂兰", resident_phone="13911112222"
    )
    assert appeal["status"] == "unrouted"
    patrol = activities.create_activity(
        title="夜间巡逻", kind="patrol", start=iso(tomorrow_at(19)), duration_minutes=120, grid_id=6,
        roles=[{"name": "patroller", "needed": 2}],
    )  # fmt: skip

    refreshed = rpc.refresh_community_needs()
    assert (refreshed["opened"], refreshed["closed"]) == (2, 0)
    by_source = {n["source"]: n for n in refreshed["open_needs"]}
    assert by_source["appeals"]["source_ref"] == "repair"
    assert set(by_source["appeals"]["words"]) == {"electrician", "plumbing"}
    assert "楼道灯" not in by_source["appeals"]["what"] and "李桂兰" not in by_source["appeals"]["what"]
    assert by_source["activity"]["source_ref"].startswith("occurrence:")
    assert by_source["activity"]["quantity"] == 4.0  # two people, two hours
    again = rpc.refresh_community_needs()
    assert (again["opened"], again["updated"], again["closed"]) == (0, 0, 0)
    with pytest.raises(NeedDerived):
        rpc.update_need(by_source["appeals"]["id"], {"what": "别的"})

    proposed = rpc.propose_matches()
    pairs = {(m["offer"]["id"], m["need"]["id"]): m for m in proposed}
    electric, hall = partners["electric"]["id"], partners["hall"]["id"]
    assert (electric, by_source["appeals"]["id"]) in pairs  # the hospital's electricians for the repairs
    assert (hall, partners["hall_need"]["id"]) in pairs
    # the electricians' six hours are never promised beyond six
    assert sum(m["quantity"] for m in proposed if m["offer"]["id"] == electric) <= 6
    assert rpc.propose_matches() == []  # nothing new the second time

    venue = pairs[(hall, partners["hall_need"]["id"])]
    agreed = rpc.agree_match(venue["id"])
    assert agreed["status"] == "agreed"
    start = tomorrow_at(14)
    args = dict(
        match_id=venue["id"], title="党建联建 讲座", kind="lecture", start=iso(start),
        end=iso(start + timedelta(hours=2)), place="多功能厅", capacity=80,
    )  # fmt: skip
    with pytest.raises(TeamNotFound, match="^team: no team 'chess_club'; the teams are convenient_service"):
        rpc.turn_match_into_activity(**args, team="chess_club")  # a team the community has not: nothing made
    turned = rpc.turn_match_into_activity(**args, request_id="turn-1")
    assert turned["status"] == "turned_into_activity" and turned["activity_id"]
    assert rpc.turn_match_into_activity(**args, request_id="turn-1") == turned  # the same request: the first answer
    with pytest.raises(MatchAlreadyTurned):
        rpc.turn_match_into_activity(**args)
    with pytest.raises(MatchAlreadyTurned):
        rpc.turn_match_into_activity(**(args | {"title": "另一个"}))
    with pytest.raises(MatchAlreadyTurned):
        rpc.decline_match(venue["id"])
    made = [a for a in activities.list_activities() if a["title"] == "党建联建 讲座"]
    assert [a["id"] for a in made] == [turned["activity_id"]]
    assert made[0]["room"] == "多功能厅" and "鼓楼医院" in made[0]["description"]

    other = pairs[(electric, by_source["appeals"]["id"])]
    assert rpc.decline_match(other["id"], reason="医院没空")["status"] == "declined"
    with pytest.raises(MatchStateInvalid):
        rpc.agree_match(other["id"])
    assert [m["id"] for m in rpc.list_matches(status="turned_into_activity")] == [venue["id"]]

    # the patrol filled: its need closes on the next refresh
    volunteers = call(ORGANISER, "volunteers")
    occurrence = activities.list_occurrences(start=iso(tomorrow_at(0)), end=iso(tomorrow_at(23)), kind="patrol")[0]
    for n in (1, 2):
        vid = volunteers.create_volunteer(name=f"巡逻员{n}", phone=f"1370000000{n}", teams=["voluntary_patrol"])["id"]
        activities.sign_up(occurrence["id"], vid)
    assert rpc.refresh_community_needs()["closed"] == 1
    assert patrol["id"] != turned["activity_id"]
    assert date.fromisoformat(rpc.list_needs(source="activity", status="closed")[0]["by_when"]) == start.date()


def test_two_turns_at_once_make_one_activity(rpc, activities, partners):
    (match,) = [m for m in rpc.propose_matches() if m["offer"]["id"] == partners["hall"]["id"]]
    start = tomorrow_at(10)
    args = dict(
        match_id=match["id"], title="联建 读书会", kind="cultural", start=iso(start),
        end=iso(start + timedelta(hours=1)), place="多功能厅",
    )  # fmt: skip
    pending = [rpc.turn_match_into_activity.call_async(**args) for _ in range(2)]
    answers, refused = [], []
    for reply in pending:
        try:
            answers.append(reply.result())
        except MatchAlreadyTurned as exc:
            refused.append(exc)
    assert answers, refused
    assert len({a["activity_id"] for a in answers}) == 1
    made = [a for a in activities.list_activities() if a["title"] == "联建 读书会"]
    assert [a["id"] for a in made] == [answers[0]["activity_id"]]
    assert rpc.list_matches(status="turned_into_activity")[0]["activity_id"] == answers[0]["activity_id"]
