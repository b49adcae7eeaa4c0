"""``appeals.monthly_report`` end to end with the real broker on SQLite and PostgreSQL: appeals taken in,
handed back, accepted and closed on a set clock, then December's figures per grid and for the community;
who may read which grid; nothing private in the answer."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from nameko.testing.services import replace_dependencies

from appeals.exceptions import NotOfGrid
from appeals.service import AppealsService
from guanyinli.errors import Forbidden, InvalidInput
from guanyinli.testing import SetClock, event_recorder, signed
from guanyinli.timeutil import TZ
from volunteers.service import VolunteersService

pytestmark = pytest.mark.integration

RESIDENT = {"resident_name": "李桂兰", "resident_phone": "13911112222", "resident_address": "观音里1号院3号楼302"}


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TZ)


@pytest.fixture
def clock() -> SetClock:
    return SetClock(at(12, 1, 0))


@pytest.fixture
def container(container_factory, service_config, events, clock):
    container_factory(VolunteersService, service_config).start()
    service = container_factory(AppealsService, service_config)
    replace_dependencies(service, clock=clock)
    service.start()
    container_factory(event_recorder("appeals", events), service_config).start()
    return service


@pytest.fixture
def people(volunteers) -> dict:
    def person(n):
        return volunteers.create_volunteer(name=f"志愿者{n}", phone=f"137{n:08d}", teams=["voluntary_patrol"])["id"]

    found = {"leader": person(1), "member": person(2), "seven": person(3)}
    volunteers.assign_grid_leader(6, found["leader"])
    volunteers.add_grid_member(6, found["member"])
    volunteers.add_grid_member(7, found["seven"])
    return found


class Office:
    """The community office working appeals through on the set clock."""

    def __init__(self, rpc, clock, people):
        self.rpc, self.clock, self.people = rpc, clock, people

    def receive(self, when, grid_id=6, handler="member", **fields) -> int:
        self.clock.at = when
        data = {"category": "repair", "grid_id": grid_id, "description": "楼道水管漏水", **RESIDENT, **fields}
        appeal = self.rpc.receive_appeal(**data)
        self.give(appeal["id"], handler, when)
        return appeal["id"]

    def give(self, appeal_id, handler, when):
        self.clock.at = when
        found = self.rpc.get_appeal(appeal_id)
        if found["handler_id"] != self.people[handler]:
            self.rpc.reassign_appeal(appeal_id, self.people[handler])

    def accept(self, appeal_id, when):
        self.clock.at = when
        self.rpc.accept_appeal(appeal_id)

    def hand_back(self, appeal_id, when, to):
        self.clock.at = when
        self.rpc.hand_back_appeal(appeal_id, "要换水管，我不会")
        self.give(appeal_id, to, when)

    def close(self, appeal_id, when, satisfaction=None):
        self.clock.at = when
        self.rpc.close_appeal(appeal_id, outcome="已修好", satisfaction=satisfaction, hours=1.0)


@pytest.fixture
def december(rpc, clock, people) -> SetClock:
    """October's appeal closed in October; November's left open in grid 7; two in December in grid 6: the
    first accepted in time (10:00, due 11:00), handed back and accepted again by the leader after its
    deadline; the second received at night, accepted at 10:30 the next morning (due 10:00)."""
    office = Office(rpc, clock, people)
    october = office.receive(at(10, 5, 9))
    office.accept(october, at(10, 5, 9, 30))
    office.close(october, at(10, 6, 9), satisfaction=1)

    november = office.receive(at(11, 28, 10), grid_id=7, handler="seven")
    office.accept(november, at(11, 28, 10, 30))

    first = office.receive(at(12, 7, 9))
    office.accept(first, at(12, 7, 10))
    office.hand_back(first, at(12, 7, 10, 30), to="leader")
    office.accept(first, at(12, 7, 12))
    office.close(first, at(12, 9, 9), satisfaction=5)

    night = office.receive(at(12, 7, 23))
    office.accept(night, at(12, 8, 10, 30))
    office.close(night, at(12, 8, 20), satisfaction=3)
    clock.at = at(12, 20, 12)
    return clock


def stage(figures, name):
    return next(s for s in figures["stages"] if s["stage"] == name)


@pytest.mark.usefixtures("december")
def test_decembers_figures_per_grid_and_for_the_community(rpc):
    report = rpc.monthly_report(month="2026-12")
    assert (report["month"], report["grid_ids"], report["now"]) == ("2026-12", None, "2026-12-20T12:00:00+08:00")
    assert [g["grid_id"] for g in report["grids"]] == [6, 7]
    total = report["total"]
    assert (total["received"], total["closed"], total["open_at_end"], total["overdue_now"]) == (2, 2, 1, 1)
    assert total["by_category"] == [{"category": "repair", "received": 2, "normal": 2, "urgent": 0}]
    # the first acceptance counts, not the leader's after the hand-back; the night appeal was late
    assert stage(total, "acknowledge") == {"stage": "acknowledge", "due": 2, "met": 1, "late": 1, "share": 0.5}
    # November's appeal fell due on December 5th, open: late; October's counts nowhere in December
    assert stage(total, "close") == {"stage": "close", "due": 3, "met": 2, "late": 1, "share": 0.6667}
    assert total["hours_to_acknowledge"] == {"count": 2, "median": 6.25, "p90": 10.45}
    assert total["hours_to_close"] == {"count": 2, "median": 34.5, "p90": 45.3}
    assert total["satisfaction"] == {"answers": 2, "mean": 4.0, "share_satisfied": 0.5}
    six, seven = report["grids"]
    assert (six["received"], six["open_at_end"], seven["received"], seven["overdue_now"]) == (2, 0, 0, 1)


@pytest.mark.usefixtures("december")
def test_one_grid_and_an_empty_month(rpc):
    seven = rpc.monthly_report(month="2026-12", grid_id=7)
    assert seven["grid_ids"] == [7] and [g["grid_id"] for g in seven["grids"]] == [7]
    assert (seven["total"]["received"], seven["total"]["overdue_now"]) == (0, 1)
    september = rpc.monthly_report(month="2026-09")
    assert september["grids"] == [] and september["total"]["received"] == 0
    assert all(s["share"] is None for s in september["total"]["stages"])
    october = rpc.monthly_report(month="2026-10")["total"]
    assert (october["received"], october["closed"], october["satisfaction"]["mean"]) == (1, 1, 1.0)


@pytest.mark.usefixtures("december")
def test_viewers_read_it_grid_leaders_their_grid_nothing_private(call, people):
    viewer = call(signed({"roles": ["viewer"]})).monthly_report(month="2026-12")
    assert viewer["total"]["received"] == 2
    leader = call(signed({"roles": ["grid_leader"], "volunteer_id": people["leader"], "grid_ids": [6]}))
    mine = leader.monthly_report(month="2026-12")
    assert mine["grid_ids"] == [6] and [g["grid_id"] for g in mine["grids"]] == [6]
    assert mine["total"]["overdue_now"] == 0  # grid 7's is not theirs
    assert leader.monthly_report(month="2026-12", grid_id=6)["total"]["received"] == 2
    with pytest.raises(NotOfGrid):
        leader.monthly_report(month="2026-12", grid_id=7)
    with pytest.raises(Forbidden):
        call(signed({"volunteer_id": people["member"]})).monthly_report(month="2026-12")
    with pytest.raises(Forbidden):
        call({}).monthly_report(month="2026-12")
    said = json.dumps([viewer, mine], ensure_ascii=False)
    for private in (*RESIDENT.values(), "楼道水管漏水", "已修好"):
        assert private not in said


def test_a_month_not_written_as_one_is_refused(rpc):
    for month in ("2026-13", "2026-1", "December", ""):
        with pytest.raises(InvalidInput):
            rpc.monthly_report(month=month)
    with pytest.raises(InvalidInput):
        rpc.monthly_report(month="2026-12", grid_id=0)
