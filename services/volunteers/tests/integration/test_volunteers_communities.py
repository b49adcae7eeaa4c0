"""Two communities in one installation: each organiser sees and changes only their own community's
volunteers (``guanyinli.tenancy``), on both databases."""

from __future__ import annotations

import time

import pytest
from nameko.standalone.events import event_dispatcher
from nameko.testing.services import entrypoint_waiter
from volunteers_testkit import local

from guanyinli.errors import CommunityNotFound, InvalidInput, NotFound
from guanyinli.events import make_payload
from guanyinli.identity import CONTEXT_KEY, CallerIdentity, service_token
from guanyinli.rpc import ServiceRpcProxy, event_handler
from guanyinli.testing import SECOND_COMMUNITY, signed
from guanyinli.timeutil import parse_iso
from volunteers import structure
from volunteers.exceptions import GridNotFound
from volunteers.service import VolunteersService
from volunteers.structure import Structures

pytestmark = pytest.mark.integration

HERE = signed({"roles": ["organiser"], "name": "王芳"})
THERE = signed({"roles": ["organiser"], "name": "李红", "community": SECOND_COMMUNITY})


@pytest.fixture
def service(container_factory, two_communities):
    container = container_factory(VolunteersService, two_communities)
    container.start()
    return two_communities


def test_each_community_sees_only_its_own_volunteers(service):
    with ServiceRpcProxy("volunteers", service, context_data=HERE) as here:
        mine = here.create_volunteer(name="张三", phone="13800000001", teams=["voluntary_patrol"], grid_id=5)
    with ServiceRpcProxy("volunteers", service, context_data=THERE) as there:
        theirs = there.create_volunteer(name="赵六", phone="13900000009", teams=["voluntary_patrol"], grid_id=5)
        assert theirs["id"] == mine["id"] == 1, "ids are each community's own"
        assert [v["name"] for v in there.list_volunteers()["items"]] == ["赵六"]
        assert there.get_volunteer(1)["phone"] == "13900000009"
        with pytest.raises(NotFound):
            there.get_volunteer(2)
    with ServiceRpcProxy("volunteers", service, context_data=HERE) as here:
        assert [v["name"] for v in here.list_volunteers()["items"]] == ["张三"]
        assert here.get_volunteer(1)["phone"] == "13800000001"


def test_a_community_the_installation_does_not_serve_is_refused(service):
    elsewhere = signed({"roles": ["organiser"], "community": "nowhere"})
    with ServiceRpcProxy("volunteers", service, context_data=elsewhere) as rpc:
        with pytest.raises(CommunityNotFound):
            rpc.list_volunteers()


# --- each community's organisation (volunteers.structure) ------------------------------------------


def test_each_community_has_its_own_grids_teams_and_courtyards(service):
    with ServiceRpcProxy("volunteers", service, context_data=THERE) as there:
        grids = there.list_grids()
        teams = there.list_teams()
        courtyards = there.list_courtyards()
        greens = there.list_green_spaces()
        alliances = there.list_alliances()
        assert [g["id"] for g in grids] == list(range(1, 9))
        assert grids[2]["name"] == "五台山第一综合网格" and grids[2]["courtyards"] == ["C01", "C02"]
        assert there.get_grid(3)["courtyards"][0]["name"] == "五台山1号院"
        assert [c["name"] for c in there.list_courtyards(grid_id=4)] == ["永庆巷小区"]
    with ServiceRpcProxy("volunteers", service, context_data=HERE) as here:
        assert [g["code"] for g in here.list_grids()] == [g.code for g in structure.GRIDS]
        assert len(here.list_courtyards()) == len(structure.COURTYARDS) == 15
        assert len(here.list_alliances()) == 6
    wutaishan = Structures(service).of(SECOND_COMMUNITY)
    assert [t["code"] for t in teams] == list(wutaishan.team_codes)
    assert [c["code"] for c in courtyards] == [c.code for c in wutaishan.courtyards]
    assert [g["name"] for g in greens] == [g.name for g in wutaishan.green_spaces]
    assert [a["code"] for a in alliances] == list(wutaishan.alliance_codes) and len(alliances) == 4


def test_a_grid_of_one_community_is_refused_in_the_other(service):
    with ServiceRpcProxy("volunteers", service, context_data=HERE) as here:
        mine = here.create_volunteer(name="张三", phone="13800000001", teams=["voluntary_patrol"], grid_id=12)
        assert mine["grid_id"] == 12 and here.get_grid(12)["code"] == "G12"
        assert here.assign_grid_leader(grid_id=12, volunteer_id=mine["id"])["leader"]["id"] == mine["id"]
    with ServiceRpcProxy("volunteers", service, context_data=THERE) as there:
        with pytest.raises(InvalidInput, match=r"^grid_id: no grid 12; the grids are 1-8$"):
            there.create_volunteer(name="赵六", phone="13900000009", grid_id=12)
        theirs = there.create_volunteer(name="赵六", phone="13900000009", grid_id=8)
        with pytest.raises(GridNotFound, match=r"^grid_id: no grid 12; the grids are 1-8$"):
            there.get_grid(12)
        with pytest.raises(GridNotFound, match="the grids are 1-8"):
            there.assign_grid_leader(grid_id=12, volunteer_id=theirs["id"])
        with pytest.raises(GridNotFound, match="the grids are 1-8"):
            there.list_courtyards(grid_id=9)
        with pytest.raises(InvalidInput, match="the grids are 1-8"):
            there.list_volunteers(grid_id=12)
        with pytest.raises(InvalidInput, match="alliance: Must be one of"):
            there.update_volunteer(volunteer_id=theirs["id"], alliance="non_profits")
        assert (
            there.update_volunteer(volunteer_id=theirs["id"], alliance="resident_units")["alliance"] == "resident_units"
        )
    with ServiceRpcProxy("volunteers", service, context_data=HERE) as here:
        assert here.update_volunteer(volunteer_id=mine["id"], alliance="non_profits")["alliance"] == "non_profits"


HEARD: list[tuple[str, str | None]] = []


class Listener:
    """Hears the volunteers service's events, with the community of the token they came with."""

    name = "volunteers_community_listener"
    caller = CallerIdentity()

    @event_handler("volunteers", "volunteer_created")
    def on_volunteer_created(self, payload):
        HEARD.append((payload["name"], self.caller.community))


def test_events_carry_the_community_they_are_of(service, container_factory):
    HEARD.clear()
    container_factory(Listener, service).start()
    with ServiceRpcProxy("volunteers", service, context_data=THERE) as there:
        there.create_volunteer(name="赵六", phone="13900000009", grid_id=8)
    with ServiceRpcProxy("volunteers", service, context_data=HERE) as here:
        here.create_volunteer(name="张三", phone="13800000001", grid_id=12)
    deadline = time.monotonic() + 10
    while len(HEARD) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert dict(HEARD) == {"赵六": SECOND_COMMUNITY, "张三": None}


def test_attendance_is_credited_in_the_community_the_event_is_of(container_factory, two_communities):
    """An event handler works in the storage of the community its event came from: the same
    volunteer id in two communities, one attendance event, one credited."""
    config = two_communities
    container = container_factory(VolunteersService, config)
    container.start()
    with ServiceRpcProxy("volunteers", config, context_data=HERE) as here:
        here.create_volunteer(name="张三", phone="13800000001")
    with ServiceRpcProxy("volunteers", config, context_data=THERE) as there:
        there.create_volunteer(name="赵六", phone="13900000009")
    token = service_token("activities", config, SECOND_COMMUNITY)
    dispatch = event_dispatcher(config, headers={f"nameko.{CONTEXT_KEY}": token})
    payload = make_payload(
        "attendance_recorded",
        {
            "occurrence_id": 10,
            "activity_id": 3,
            "title": "五台山夜间巡逻",
            "kind": "patrol",
            "start": parse_iso(local("2026-03-07", "19:00")),
            "end": parse_iso(local("2026-03-07", "21:00")),
            "place": "五台山1号院",
            "signup_id": 701,
            "volunteer_id": 1,
            "team": "voluntary_patrol",
            "role": "patroller",
            "status": "attended",
            "hours": 2.0,
            "weekend": False,
            "late_notice": False,
        },
    )
    with entrypoint_waiter(container, "on_attendance_recorded", timeout=10):
        dispatch("activities", "attendance_recorded", payload)
    with ServiceRpcProxy("volunteers", config, context_data=THERE) as there:
        assert [e["source_key"] for e in there.get_ledger(1)["entries"]] == ["attendance:701"]
    with ServiceRpcProxy("volunteers", config, context_data=HERE) as here:
        assert here.get_ledger(1)["entries"] == []
