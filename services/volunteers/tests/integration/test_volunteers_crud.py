"""Volunteers over RPC: create, get, update, deactivate, list; events; rejected input writes nothing."""

import pytest
from sqlalchemy import text
from volunteers_testkit import patrol_volunteer

from guanyinli.errors import Conflict, InvalidInput, KeyReused, NotFound
from guanyinli.testing import deliver_twice, signed
from volunteers.exceptions import PhoneTaken, VolunteerNotFound

pytestmark = pytest.mark.integration


def test_create_volunteer_with_a_request_id_and_redelivered_makes_one_volunteer(rpc, service_config, tables):
    first = rpc.create_volunteer(**patrol_volunteer(1), request_id="import-1")
    assert rpc.create_volunteer(**patrol_volunteer(1), request_id="import-1") == first
    with pytest.raises(KeyReused):
        rpc.create_volunteer(**patrol_volunteer(2), request_id="import-1")
    answers = deliver_twice(
        service_config, "volunteers", "create_volunteer", signed({"roles": ["organiser"]}), **patrol_volunteer(3)
    )
    assert answers[0] == answers[1] and answers[0]["name"] == "志愿者3"
    assert tables.count("volunteers") == 2


def test_create_and_get(rpc, events, tables):
    created = rpc.create_volunteer(
        name="陈秀英",
        phone="+86 138 1234 5678",
        email="chen@example.org",
        teams=["voluntary_patrol", "convenient_service", "voluntary_patrol"],
        grid_id=7,
        alliance="in_service_party_members",
        skills=["tutoring:math", "patrol_leader"],
    )
    assert created["phone"] == "13812345678"
    assert created["teams"] == ["convenient_service", "voluntary_patrol"]
    assert created["skills"] == ["patrol_leader", "tutoring:math"]
    assert created["active"] is True and created["language"] == "zh" and created["grid_roles"] == []
    assert created["created_at"].endswith("+08:00")
    fetched = rpc.get_volunteer(created["id"])
    assert fetched == created
    (event,) = events.wait("volunteer_created")
    assert event["volunteer_id"] == created["id"] and event["name"] == "陈秀英" and event["grid_id"] == 7
    assert event["teams"] == ["convenient_service", "voluntary_patrol"] and event["event_id"]
    assert tables.count("volunteer_teams") == 2


def test_get_volunteer_sees_every_change_however_it_was_made(rpc, tables):
    """get_volunteer answers from a cache on SQLite: a write through the service, and one made by
    another process (a second replica, a repair by hand), must both show at once."""
    v = rpc.create_volunteer(**patrol_volunteer(1))
    assert [rpc.get_volunteer(v["id"])["grid_id"] for _ in range(3)] == [v["grid_id"]] * 3
    rpc.update_volunteer(v["id"], grid_id=9)
    assert rpc.get_volunteer(v["id"])["grid_id"] == 9
    with tables.engine.begin() as conn:
        conn.execute(text("UPDATE volunteers SET name = '王芳' WHERE id = :id"), {"id": v["id"]})
    assert rpc.get_volunteer(v["id"])["name"] == "王芳"
    with tables.engine.begin() as conn:
        conn.execute(text("DELETE FROM volunteer_skills WHERE volunteer_id = :id"), {"id": v["id"]})
    assert rpc.get_volunteer(v["id"])["skills"] == []


def test_update_changes_only_given_fields_and_says_which(rpc, events):
    v = rpc.create_volunteer(**patrol_volunteer(1))
    updated = rpc.update_volunteer(v["id"], grid_id=8, skills=["first_aid", "patrol_leader"], name=v["name"])
    assert updated["grid_id"] == 8 and updated["skills"] == ["first_aid", "patrol_leader"]
    assert updated["email"] == v["email"] and updated["teams"] == v["teams"]
    (event,) = events.wait("volunteer_updated")
    assert event["changed"] == ["grid_id", "skills"]
    # no change, no event
    assert rpc.update_volunteer(v["id"], grid_id=8)["grid_id"] == 8
    assert [t for t, _ in events.settle()] == ["volunteer_created", "volunteer_updated"]
    # emptying optional fields
    cleared = rpc.update_volunteer(v["id"], clear=["email", "alliance"], teams=[])
    assert (cleared["email"], cleared["alliance"], cleared["teams"]) == (None, None, [])
    assert events.wait("volunteer_updated", 2)[1]["changed"] == ["alliance", "email", "teams"]
    with pytest.raises(InvalidInput, match="clear: grid_id both given and cleared"):
        rpc.update_volunteer(v["id"], grid_id=9, clear=["grid_id"])
    with pytest.raises(InvalidInput, match=r"clear\.0"):
        rpc.update_volunteer(v["id"], clear=["name"])


def test_deactivate_once(rpc, events):
    v = rpc.create_volunteer(**patrol_volunteer(1))
    gone = rpc.deactivate_volunteer(v["id"], reason="moved away")
    assert gone["active"] is False and gone["deactivated_at"]
    assert rpc.get_volunteer(v["id"])["active"] is False
    assert rpc.deactivate_volunteer(v["id"])["active"] is False
    (event,) = events.wait("volunteer_deactivated")
    assert event == {**event, "volunteer_id": v["id"], "reason": "moved away"}
    assert len([t for t, _ in events.settle() if t == "volunteer_deactivated"]) == 1


def test_list_filters_and_pages(rpc):
    rpc.create_volunteer(**patrol_volunteer(1, skills=["patrol_leader"]))
    rpc.create_volunteer(**patrol_volunteer(2, grid_id=7, skills=["tutoring:math"]))
    rpc.create_volunteer(**patrol_volunteer(3, teams=["sanitation_green"], skills=["tutoring:english"]))
    v4 = rpc.create_volunteer(**patrol_volunteer(4, skills=["patrol_leader"]))
    rpc.deactivate_volunteer(v4["id"])

    def names(**filters):
        page = rpc.list_volunteers(**filters)
        return [v["name"] for v in page["items"]], page["total"]

    assert names() == (["志愿者1", "志愿者2", "志愿者3", "志愿者4"], 4)
    assert names(team="voluntary_patrol", active=True) == (["志愿者1", "志愿者2"], 2)
    assert names(grid_id=7) == (["志愿者2"], 1)
    assert names(skill="patrol_leader") == (["志愿者1", "志愿者4"], 2)
    assert names(skill="tutoring") == (["志愿者2", "志愿者3"], 2)
    assert names(skill="tutoring:math") == (["志愿者2"], 1)
    assert names(active=False) == (["志愿者4"], 1)
    page = rpc.list_volunteers(limit=2, offset=1)
    assert [v["name"] for v in page["items"]] == ["志愿者2", "志愿者3"]
    assert (page["total"], page["limit"], page["offset"]) == (4, 2, 1)
    with pytest.raises(InvalidInput, match="limit"):
        rpc.list_volunteers(limit=0)
    with pytest.raises(InvalidInput, match="team"):
        rpc.list_volunteers(team="chess")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": "王伟"}, "argument: 'phone'"),
        ({"phone": "13900000001"}, "argument: 'name'"),
        ({"name": "王伟", "phone": "12345"}, "phone: not a phone number"),
        ({"name": "王伟", "phone": 13900000001}, "phone: Not a valid string"),
        ({"name": "王伟", "phone": "13900000001", "email": "wang.at.example"}, "email"),
        ({"name": "王伟", "phone": "13900000001", "grid_id": "6"}, "grid_id: Not a valid integer"),
        ({"name": "王伟", "phone": "13900000001", "grid_id": 16}, "grid_id: no grid 16"),
        ({"name": "王伟", "phone": "13900000001", "teams": ["patrol"]}, "teams.0"),
        ({"name": "王伟", "phone": "13900000001", "teams": "voluntary_patrol"}, "teams: Not a valid list"),
        ({"name": "王伟", "phone": "13900000001", "alliance": "friends"}, "alliance"),
        ({"name": "王伟", "phone": "13900000001", "skills": ["First Aid"]}, "skills.0"),
        ({"name": "", "phone": "13900000001"}, "name"),
    ],
)
def test_create_rejects_bad_input_naming_the_field(rpc, events, unchanged, kwargs, field):
    with unchanged():
        with pytest.raises(InvalidInput) as error:
            rpc.create_volunteer(**kwargs)
    assert field in str(error.value)
    assert events.settle(0.1) == []


def test_unknown_fields_and_extra_arguments_are_rejected(rpc, unchanged):
    with unchanged():
        with pytest.raises(InvalidInput, match="nickname"):
            rpc.create_volunteer(name="王伟", phone="13900000001", nickname="小王")
        with pytest.raises(InvalidInput):
            rpc.get_volunteer(1, 2)
        with pytest.raises(InvalidInput, match="volunteer_id"):
            rpc.get_volunteer("1")
        with pytest.raises(InvalidInput, match="volunteer_id"):
            rpc.get_volunteer()


def test_duplicate_phone_and_unknown_ids(rpc, events, unchanged):
    a = rpc.create_volunteer(**patrol_volunteer(1))
    b = rpc.create_volunteer(**patrol_volunteer(2))
    events.wait("volunteer_created", 2)
    with unchanged():
        with pytest.raises(PhoneTaken, match=rf"^phone: 13900000001 already belongs to volunteer {a['id']}"):
            rpc.create_volunteer(**patrol_volunteer(1, name="另一个人"))
        with pytest.raises(Conflict, match="phone"):
            rpc.update_volunteer(b["id"], phone=a["phone"], grid_id=9)
        with pytest.raises(PhoneTaken, match="phone"):  # the same number spelt another way
            rpc.create_volunteer(**patrol_volunteer(3, phone="+86-139 0000 0001"))
        with pytest.raises(VolunteerNotFound, match="volunteer_id: no volunteer 999"):
            rpc.get_volunteer(999)
        with pytest.raises(NotFound, match="volunteer_id"):
            rpc.update_volunteer(999, name="谁")
        with pytest.raises(NotFound, match="volunteer_id"):
            rpc.deactivate_volunteer(999)
        with pytest.raises(InvalidInput, match="email"):
            rpc.update_volunteer(b["id"], email="not-an-email", grid_id=9)
    assert len(events.settle(0.1)) == 2
