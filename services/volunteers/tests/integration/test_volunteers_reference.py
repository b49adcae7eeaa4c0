"""Reference data over RPC: health, teams, alliances, grids, courtyards; grid leaders and members; lookup."""

import pytest
from volunteers_testkit import patrol_volunteer

from guanyinli.errors import Conflict, Forbidden, InvalidInput, NotFound
from guanyinli.rpc import ServiceRpcProxy
from guanyinli.testing import signed
from volunteers import structure
from volunteers.exceptions import GridLeaderTaken, GridNotFound, VolunteerInactive, VolunteerNotFound

pytestmark = pytest.mark.integration


def test_health(rpc):
    assert rpc.health() == {"service": "volunteers", "status": "ok", "database": "ok", "volunteers": 0}


def test_teams_and_alliances_with_counts(rpc):
    rpc.create_volunteer(**patrol_volunteer(1, teams=["voluntary_patrol", "sanitation_green"]))
    teams = rpc.list_teams()
    assert [t["code"] for t in teams] == ["convenient_service", "sanitation_green", "voluntary_patrol"]
    assert [t["name_zh"] for t in teams] == ["便民服务队", "清洁卫生护绿队", "义务巡逻队"]
    assert {t["code"]: t["members"] for t in teams} == {
        "convenient_service": 0,
        "sanitation_green": 1,
        "voluntary_patrol": 1,
    }
    alliances = rpc.list_alliances()
    assert len(alliances) == 6
    assert {a["code"]: a["volunteers"] for a in alliances}["community_party_members"] == 1


def test_grids_and_courtyards(rpc):
    grids = rpc.list_grids()
    assert [g["code"] for g in grids] == [g.code for g in structure.GRIDS]
    assert len(grids) == 15  # Guanyinli's own data
    assert [g["kind"] for g in grids].count("exclusive") == 5
    assert all(g["leader"] is None and g["member_count"] == 0 for g in grids)
    courtyards = rpc.list_courtyards()
    assert len(courtyards) == 15
    assert sum(c["kind"] == "courtyard" for c in courtyards) == 12
    assert sum(c["self_managed"] for c in courtyards) == 7
    assert {c["grid_id"] for c in courtyards} <= set(structure.grid_ids())
    assert [c["code"] for c in rpc.list_courtyards(grid_id=6)] == ["C01", "C11"]
    grid = rpc.get_grid(6)
    assert grid["code"] == "G06" and grid["kind"] == "comprehensive"
    assert [c["code"] for c in grid["courtyards"]] == ["C01", "C11"]
    with pytest.raises(GridNotFound, match=r"^grid_id: no grid 16; the grids are 1-15$"):
        rpc.get_grid(16)
    with pytest.raises(NotFound, match="grid_id"):
        rpc.list_courtyards(grid_id=99)
    with pytest.raises(InvalidInput, match="grid_id"):
        rpc.get_grid("six")


def test_a_sixteenth_grid_in_the_data(sixteenth_grid, rpc):
    grids = rpc.list_grids()
    assert [g["id"] for g in grids] == list(range(1, 17))
    assert grids[-1]["name"] == "观音里第十六综合网格" and grids[-1]["courtyards"] == []
    assert rpc.get_grid(16)["code"] == "G16"
    assert rpc.list_courtyards(grid_id=16) == [] and rpc.list_green_spaces(grid_id=16) == []
    assert rpc.lookup(grid_ids=[16])["grid_leaders"] == []
    with pytest.raises(GridNotFound, match=r"^grid_id: no grid 17; the grids are 1-16$"):
        rpc.get_grid(17)
    # stored as well: no grid numbers fixed in the tables either
    leader = rpc.create_volunteer(**patrol_volunteer(16, grid_id=16))
    assert rpc.get_volunteer(leader["id"])["grid_id"] == 16
    assert rpc.assign_grid_leader(grid_id=16, volunteer_id=leader["id"])["leader"]["id"] == leader["id"]


def test_green_spaces(rpc):
    spaces = rpc.list_green_spaces()
    assert len(spaces) >= 10 and all(s["code"].startswith("GS") and s["name"] for s in spaces)
    assert {s["grid_id"] for s in spaces} <= set(structure.grid_ids())
    assert [s["code"] for s in rpc.list_green_spaces(grid_id=4)] == ["GS03", "GS04"]
    with pytest.raises(NotFound, match="grid_id"):
        rpc.list_green_spaces(grid_id=99)


def test_grid_leader_and_members(rpc, events, unchanged):
    a = rpc.create_volunteer(**patrol_volunteer(1))
    b = rpc.create_volunteer(**patrol_volunteer(2))
    c = rpc.create_volunteer(**patrol_volunteer(3))
    grid = rpc.assign_grid_leader(grid_id=6, volunteer_id=a["id"])
    assert grid["leader"]["id"] == a["id"]
    rpc.add_grid_member(6, b["id"])
    grid = rpc.add_grid_member(6, c["id"])
    assert [m["id"] for m in grid["members"]] == [b["id"], c["id"]] and grid["member_count"] == 2
    assert rpc.get_volunteer(a["id"])["grid_roles"] == [{"grid_id": 6, "role": "leader"}]
    assert len(events.wait("volunteer_updated", 3)) == 3
    assert events.of("volunteer_updated")[0]["changed"] == ["grid_roles"]

    # a second leader for the same grid, whoever it is, is refused and nothing changes
    with unchanged():
        with pytest.raises(GridLeaderTaken, match=r"^grid_id: grid G06 already has a leader, 志愿者1"):
            rpc.assign_grid_leader(6, b["id"])
        with pytest.raises(Conflict):
            rpc.assign_grid_leader(6, c["id"])
        with pytest.raises(VolunteerNotFound, match="volunteer_id"):
            rpc.add_grid_member(6, 999)
        with pytest.raises(GridNotFound, match="grid_id"):
            rpc.assign_grid_leader(0 + 17, a["id"])
        # assigning the same leader again, or the leader as member, changes nothing
        assert rpc.assign_grid_leader(6, a["id"])["leader"]["id"] == a["id"]
        assert rpc.add_grid_member(6, a["id"])["leader"]["id"] == a["id"]

    # after the leader steps down, a member is promoted
    rpc.remove_grid_role(6, a["id"])
    grid = rpc.assign_grid_leader(6, b["id"])
    assert grid["leader"]["id"] == b["id"] and [m["id"] for m in grid["members"]] == [c["id"]]
    summary = rpc.list_grids()[5]
    assert summary["leader"]["name"] == "志愿者2" and summary["member_count"] == 1

    # a deactivated volunteer cannot take a role, and loses the ones they had
    rpc.deactivate_volunteer(b["id"])
    assert rpc.get_grid(6)["leader"] is None
    with pytest.raises(VolunteerInactive, match="volunteer_id"):
        rpc.add_grid_member(7, b["id"])


def test_concurrent_leaders_for_one_grid_only_one_wins(rpc, service_config, tables):
    import eventlet

    ids = [rpc.create_volunteer(**patrol_volunteer(n))["id"] for n in range(1, 7)]

    def claim(volunteer_id):
        with ServiceRpcProxy(
            "volunteers", service_config, context_data=signed({"roles": ["organiser"]}), timeout=30
        ) as proxy:
            try:
                proxy.assign_grid_leader(9, volunteer_id)
                return "leader"
            except GridLeaderTaken:
                return "refused"

    outcomes = list(eventlet.GreenPool(6).imap(claim, ids))
    assert sorted(outcomes) == ["leader"] + ["refused"] * 5
    winner = ids[outcomes.index("leader")]
    assert rpc.get_grid(9)["leader"]["id"] == winner
    assert tables.count("grid_roles") == 1


def test_lookup_gives_names_without_contacts_grid_leaders_with_phones_and_ledger_entries(rpc, service_config):
    a = rpc.create_volunteer(**patrol_volunteer(1))
    b = rpc.create_volunteer(**patrol_volunteer(2))
    leader = rpc.create_volunteer(**patrol_volunteer(3, name="网格长 李强", phone="13800000003"))
    rpc.assign_grid_leader(6, leader["id"])
    rpc.add_ledger_entry(a["id"], hours=2, reason="夜巡", source="activities", source_key="attendance:41")
    rpc.add_ledger_entry(b["id"], hours=1, reason="清扫", source="manual")

    found = rpc.lookup(volunteer_ids=[b["id"], a["id"], 999], grid_ids=[6, 7], source_keys=["attendance:41", "x:1"])
    assert found == {
        "volunteers": [{"id": a["id"], "name": "志愿者1"}, {"id": b["id"], "name": "志愿者2"}],
        "grid_leaders": [{"grid_id": 6, "id": leader["id"], "name": "网格长 李强", "phone": "13800000003"}],
        "entries": [{"source_key": "attendance:41", "volunteer_id": a["id"], "hours": 2.0, "points": 20}],
    }
    assert rpc.lookup() == {"volunteers": [], "grid_leaders": [], "entries": []}
    with pytest.raises(InvalidInput, match="grid_ids"):
        rpc.lookup(grid_ids=[16])
    # Leaders' phones are for services and organisers: a volunteer gets them only where a service passes them on.
    with ServiceRpcProxy("volunteers", service_config, context_data=signed({"volunteer_id": a["id"]})) as own:
        with pytest.raises(Forbidden):
            own.lookup(grid_ids=[6])
