"""Time limits of appeals end to end, on SQLite and PostgreSQL with the real broker: the escalation
timer fires each step of the ladder once as ``appeal_escalated`` (handler at 3/4 of a stage's limit,
grid leader at the limit, community office at 1.5 times it), accepting or visiting stops a stage's
ladder, two replicas fire each step once, and a restart fires what piled up, each once. The
service's clock is the test's (moved, never slept through); the timer runs every 50 ms."""

from __future__ import annotations

import collections
from datetime import datetime, timedelta

import pytest
from nameko.testing.services import replace_dependencies

from appeals.exceptions import NotHandler
from appeals.service import AppealsService
from appeals.time_limits import LimitsConfigError
from guanyinli.testing import event_recorder, signed
from guanyinli.timeutil import TZ
from volunteers.service import VolunteersService

pytestmark = pytest.mark.integration

RESIDENT = {"resident_name": "李桂兰", "resident_phone": "13911112222", "resident_address": "观音里1号院3号楼302"}
# A Monday, 09:00 community time: a normal repair is to be accepted within 2 daytime hours (11:00), so
# its handler hears at 10:30, the grid leader at 11:00 and the community office at 12:00.
T0 = datetime(2030, 3, 4, 9, 0, tzinfo=TZ)
ACK_BY = T0 + timedelta(hours=2)
TICKS = 0.6  # seconds: a dozen ticks of the timer, to see that nothing more comes


class MovedClock:
    """The appeals service's clock (``guanyinli.clock.Clock``), moved by the test."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    now = __call__

    def set(self, moment: datetime) -> None:
        self.at = moment


@pytest.fixture
def clock() -> MovedClock:
    return MovedClock(T0)


@pytest.fixture
def service_config(service_config):
    return {**service_config, "APPEALS": {"ESCALATION_INTERVAL": 0.05}}


@pytest.fixture
def start_appeals(container_factory, service_config, clock):
    """``start_appeals()``: one more replica of the appeals service on the test clock."""

    def start(config=None):
        container = container_factory(AppealsService, config or service_config)
        replace_dependencies(container, clock=clock)
        container.start()
        return container

    return start


@pytest.fixture
def container(container_factory, service_config, events, start_appeals):
    container_factory(VolunteersService, service_config).start()
    container_factory(event_recorder("appeals", events), service_config).start()
    return start_appeals()


@pytest.fixture
def grid6(volunteers):
    people = {}
    for n, role in enumerate(("leader", "member"), start=1):
        people[role] = volunteers.create_volunteer(
            name=f"志愿者{n}", phone=f"137{n:08d}", teams=["voluntary_patrol"], grid_id=6
        )["id"]
    volunteers.assign_grid_leader(6, people["leader"])
    volunteers.add_grid_member(6, people["member"])
    return people


def receive(proxy, **fields):
    data = {"category": "repair", "grid_id": 6, "courtyard": "C01", "description": "楼道水管漏水", **RESIDENT}
    return proxy.receive_appeal(**{**data, **fields})


def steps(events) -> list[tuple]:
    """(appeal, stage, level, recipient) of every distinct escalation event received, in order."""
    seen = {}
    for event in events.of("appeal_escalated"):
        seen.setdefault(event["event_id"], (event["appeal_id"], event["stage"], event["level"], event["recipient_id"]))
    return list(seen.values())


def fired_once(events, tables, expected: int) -> list[tuple]:
    """Wait for ``expected`` distinct steps, see no more come, and check each step was fired once:
    one event id per step (a resent event keeps its id), one row and one outbox event each."""
    events.wait("appeal_escalated", expected)
    events.settle(TICKS)
    found = steps(events)
    by_step = collections.Counter((a, s, lv) for a, s, lv, _ in found)
    assert len(found) == expected and set(by_step.values()) == {1}, found
    assert tables.rows("SELECT COUNT(*) FROM appeal_escalations") == [(expected,)]
    outbox = "SELECT COUNT(*) FROM outbox_events_appeals WHERE event_type = 'appeal_escalated'"
    assert tables.rows(outbox) == [(expected,)]
    return found


def test_the_ladder_fires_each_step_once_and_accepting_stops_it(call, rpc, grid6, clock, events, tables):
    appeal = receive(rpc)
    assert appeal["handler_id"] == grid6["member"]
    assert datetime.fromisoformat(appeal["acknowledge_by"]) == ACK_BY
    assert datetime.fromisoformat(appeal["visit_by"]) == T0 + timedelta(hours=24)
    assert datetime.fromisoformat(appeal["close_by"]) == T0 + timedelta(days=7)
    assert appeal["escalations"] == []

    clock.set(T0 + timedelta(hours=1, minutes=29))  # just short of 3/4 of the limit
    events.settle(TICKS)
    assert events.of("appeal_escalated") == []

    clock.set(T0 + timedelta(hours=1, minutes=31))
    assert fired_once(events, tables, 1) == [(appeal["id"], "acknowledge", "handler", grid6["member"])]
    (event,) = events.of("appeal_escalated")[:1]
    assert (event["category"], event["urgency"], event["grid_id"], event["courtyard"]) == ("repair", "normal", 6, "C01")
    assert datetime.fromisoformat(event["deadline"]) == ACK_BY
    assert not set(RESIDENT) & set(event) and "description" not in event

    clock.set(ACK_BY + timedelta(minutes=1))  # the limit broken: the grid leader
    assert fired_once(events, tables, 2)[1] == (appeal["id"], "acknowledge", "grid_leader", grid6["leader"])

    call(signed({"volunteer_id": grid6["member"]})).accept_appeal(appeal["id"])
    clock.set(T0 + timedelta(hours=3, minutes=30))  # past 1.5 times the limit: accepted, nobody is told
    fired_once(events, tables, 2)
    shown = rpc.get_appeal(appeal["id"])
    assert [(e["stage"], e["level"], e["recipient_id"]) for e in shown["escalations"]] == [
        ("acknowledge", "handler", grid6["member"]),
        ("acknowledge", "grid_leader", grid6["leader"]),
    ]
    # the visit stage runs on: its handler step at 3/4 of 24 hours
    clock.set(T0 + timedelta(hours=18, minutes=1))
    assert fired_once(events, tables, 3)[2] == (appeal["id"], "visit", "handler", grid6["member"])


def test_a_visit_acknowledges_and_stops_both_ladders(call, rpc, grid6, clock, events, tables):
    appeal = receive(rpc)
    member = call(signed({"volunteer_id": grid6["member"]}))
    with pytest.raises(NotHandler):
        call(signed({"volunteer_id": grid6["leader"]})).mark_appeal_visited(appeal["id"])
    clock.set(T0 + timedelta(minutes=40))
    visited = member.mark_appeal_visited(appeal["id"], note="水管接口松动，已约维修")
    assert visited["status"] == "accepted" and visited["visited_at"] == visited["accepted_at"]
    assert [n["kind"] for n in visited["notes"]] == ["received", "assigned", "accepted", "visited"]
    assert visited["notes"][-1]["text"] == "水管接口松动，已约维修"

    clock.set(T0 + timedelta(days=1, hours=12))  # past both limits: accepted and visited in time
    events.settle(TICKS)
    assert events.of("appeal_escalated") == []
    clock.set(T0 + timedelta(days=5, hours=6, minutes=1))  # 3/4 of 7 days: the close ladder is still open
    assert fired_once(events, tables, 1) == [(appeal["id"], "close", "handler", grid6["member"])]
    member.close_appeal(appeal["id"], outcome="已修好")
    clock.set(T0 + timedelta(days=20))
    fired_once(events, tables, 1)
    assert tables.rows(f"SELECT next_check_at FROM appeals WHERE id = {appeal['id']}") == [(None,)]


def test_two_replicas_fire_each_step_once(rpc, grid6, clock, events, tables, start_appeals):
    start_appeals()  # a second replica beside the first, on the same config and database
    ids = [receive(rpc)["id"] for _ in range(5)]
    clock.set(T0 + timedelta(hours=3, minutes=1))  # every step of the acknowledgement due at once
    found = fired_once(events, tables, 15)
    assert sorted((a, s, lv) for a, s, lv, _ in found) == sorted(
        (a, "acknowledge", level) for a in ids for level in ("handler", "grid_leader", "community_office")
    )
    assert {r for *_, level, r in found if level == "community_office"} == {None}


def test_a_restart_fires_what_piled_up_each_once(rpc, grid6, clock, events, tables, container, start_appeals):
    appeal = receive(rpc)
    container.stop()
    clock.set(T0 + timedelta(hours=3, minutes=1))  # all three steps came due while no replica ran
    events.settle(TICKS)
    assert events.of("appeal_escalated") == []
    start_appeals()
    found = fired_once(events, tables, 3)
    assert [(s, lv, r) for _, s, lv, r in found] == [
        ("acknowledge", "handler", grid6["member"]),
        ("acknowledge", "grid_leader", grid6["leader"]),
        ("acknowledge", "community_office", None),
    ]
    assert found[0][0] == appeal["id"]


def test_configured_limits_set_the_deadlines_and_a_bad_one_stops_the_start(
    rpc, grid6, container, container_factory, service_config, start_appeals
):
    container.stop()
    limits = {"repair": {"acknowledge_hours": 4, "urgent": {"visit_hours": 6}}}
    start_appeals({**service_config, "APPEALS": {**service_config["APPEALS"], "TIME_LIMITS": limits}})
    appeal = receive(rpc, urgency="urgent")
    assert datetime.fromisoformat(appeal["acknowledge_by"]) == T0 + timedelta(hours=4)
    assert datetime.fromisoformat(appeal["visit_by"]) == T0 + timedelta(hours=6)

    bad = {**service_config, "APPEALS": {"TIME_LIMITS": {"repair": {"acknowledge_hours": -1}, "noise": {}}}}
    with pytest.raises(LimitsConfigError, match=r"repair.acknowledge_hours: must be more than 0.*noise: unknown"):
        container_factory(AppealsService, bad).start()
