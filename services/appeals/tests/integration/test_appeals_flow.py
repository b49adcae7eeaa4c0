"""Appeals end to end with the volunteers service and the real broker, on SQLite and PostgreSQL:
intake, routing, accept, hand back, re-routing, closing with hours for the ledger; who sees the
resident; bad input typed and harmless; events sent once through the outbox."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from appeals.exceptions import (
    AppealClosed,
    GridNotFound,
    HandlerIneligible,
    NotHandler,
    NotOfGrid,
    PlaceInvalid,
)
from guanyinli.errors import Forbidden, InvalidInput
from guanyinli.testing import deliver_twice, signed
from guanyinli.timeutil import iso, now

pytestmark = pytest.mark.integration

RESIDENT = {"resident_name": "李桂兰", "resident_phone": "13911112222", "resident_address": "观音里1号院3号楼302"}


def volunteer(volunteers, n, teams=("voluntary_patrol",), grid_id=6, skills=()):
    return volunteers.create_volunteer(
        name=f"志愿者{n}", phone=f"137{n:08d}", teams=list(teams), grid_id=grid_id, skills=list(skills)
    )["id"]


def away_now(volunteers, volunteer_id):
    start = now() - timedelta(hours=1)
    volunteers.set_availability(
        volunteer_id, dated=[{"kind": "off", "start": iso(start), "end": iso(start + timedelta(days=1))}]
    )


@pytest.fixture
def grid6(volunteers):
    """Grid 6: a leader, two members (the second away now), a member of grid 7, an electrician of the
    convenient-service team who holds no grid role."""
    people = {
        "leader": volunteer(volunteers, 1),
        "member": volunteer(volunteers, 2),
        "away": volunteer(volunteers, 3),
        "other_grid": volunteer(volunteers, 4, grid_id=7),
        "electrician": volunteer(volunteers, 5, teams=("convenient_service",), grid_id=None, skills=("electrician",)),
    }
    volunteers.assign_grid_leader(6, people["leader"])
    volunteers.add_grid_member(6, people["member"])
    volunteers.add_grid_member(6, people["away"])
    volunteers.add_grid_member(7, people["other_grid"])
    away_now(volunteers, people["away"])
    return people


def as_volunteer(call, vid):
    return call(signed({"volunteer_id": vid}))


def receive(proxy, **fields):
    data = {"category": "repair", "grid_id": 6, "courtyard": "C01", "description": "楼道水管漏水", **RESIDENT}
    return proxy.receive_appeal(**{**data, **fields})


def test_intake_routing_accept_hand_back_reroute_close(call, rpc, volunteers, grid6, events, tables):
    member = as_volunteer(call, grid6["member"])
    appeal = receive(member, building="3号楼", urgency="urgent")
    # the member away now is passed over; members before the leader
    assert (appeal["status"], appeal["handler_id"]) == ("assigned", grid6["member"])
    assert appeal["resident_phone"] == RESIDENT["resident_phone"]  # the intake person handles it
    assert member.accept_appeal(appeal["id"])["status"] == "accepted"

    back = member.hand_back_appeal(appeal["id"], "要换水管，我不会")
    assert (back["status"], back["handler_id"]) == ("assigned", grid6["leader"])
    assert back["resident_phone"] is None  # no longer theirs
    leader = as_volunteer(call, grid6["leader"])
    leader.accept_appeal(appeal["id"])
    leader.add_appeal_note(appeal["id"], "已联系物业，明天上门")
    closed = leader.close_appeal(appeal["id"], outcome="更换了水管", resident_reply="谢谢", satisfaction=5, hours=2.0)
    assert (closed["status"], closed["satisfaction"], closed["hours"]) == ("closed", 5, 2.0)
    kinds = [n["kind"] for n in rpc.get_appeal(appeal["id"])["notes"]]
    assert kinds == ["received", "assigned", "accepted", "handed_back", "assigned", "accepted", "note", "closed"]

    # each event once, in the outbox and sent; none carries the resident
    events.wait("appeal_closed")
    received = events.settle()
    assert [t for t, _ in received if t.startswith("appeal_")].count("appeal_received") == 1
    assigned = events.of("appeal_assigned")
    assert [(a["why"], a["handler_id"], a["previous_handler_id"]) for a in assigned] == [
        ("routed", grid6["member"], None),
        ("handed_back", grid6["leader"], grid6["member"]),
    ]
    assert len(events.of("appeal_closed")) == 1
    wire = json.dumps([p for _, p in received], ensure_ascii=False)
    assert all(RESIDENT[k] not in wire for k in RESIDENT)
    rows = tables.rows("SELECT event_type, sent_at FROM outbox_events_appeals ORDER BY id")
    assert [r[0] for r in rows] == ["appeal_received", "appeal_assigned", "appeal_assigned", "appeal_closed"]
    assert all(r[1] is not None for r in rows)

    # the volunteers' ledger credits the hours to the handler, once
    for _ in range(100):
        entries = volunteers.get_ledger(grid6["leader"])["entries"]
        if entries:
            break
        events.settle(0.1)
    assert [(e["hours"], e["points"], e["source_key"]) for e in entries] == [(2.0, 20, f"appeal:{appeal['id']}")]


def test_the_load_spreads_and_nobody_available_leaves_it_unrouted(rpc, volunteers, grid6):
    second = volunteer(volunteers, 6)
    volunteers.add_grid_member(6, second)
    handlers = [receive(rpc, category="errand")["handler_id"] for _ in range(3)]
    assert sorted(handlers[:2]) == sorted([grid6["member"], second]) and handlers[2] in handlers[:2]
    for vid in (grid6["member"], second, grid6["leader"], grid6["electrician"]):
        away_now(volunteers, vid)
    stuck = receive(rpc)
    assert (stuck["status"], stuck["handler_id"]) == ("unrouted", None)
    # an organiser gives it to the electrician of the convenient-service team
    given = rpc.reassign_appeal(stuck["id"], grid6["electrician"], reason="电工")
    assert (given["status"], given["handler_id"]) == ("assigned", grid6["electrician"])


def test_a_skilled_helper_takes_what_the_grid_cannot(rpc, volunteers, grid6):
    for vid in (grid6["member"], grid6["leader"]):
        away_now(volunteers, vid)
    assert receive(rpc)["handler_id"] == grid6["electrician"]


def test_the_resident_is_seen_by_the_handler_and_organisers_only(call, rpc, grid6):
    appeal = receive(rpc)
    assert appeal["handler_id"] == grid6["member"]
    handler = as_volunteer(call, grid6["member"]).get_appeal(appeal["id"])
    assert handler["resident_phone"] == RESIDENT["resident_phone"] and handler["notes"]
    assert rpc.get_appeal(appeal["id"])["resident_name"] == RESIDENT["resident_name"]
    grid_leader = call(signed({"roles": ["grid_leader"], "volunteer_id": grid6["leader"], "grid_ids": [6]}))
    others = [
        grid_leader.get_appeal(appeal["id"]),
        *grid_leader.list_appeals(grid_id=6),
        as_volunteer(call, grid6["away"]).get_appeal(appeal["id"]),
        call(signed({"roles": ["viewer"]})).get_appeal(appeal["id"]),
    ]
    for seen in others:
        assert (seen["category"], seen["grid_id"], seen["courtyard"]) == ("repair", 6, "C01")
        assert seen["received_at"] and seen["notes"] == []
        assert [seen[k] for k in ("resident_name", "resident_phone", "resident_address", "description")] == [None] * 4
    with pytest.raises(Forbidden):
        call({}).get_appeal(appeal["id"])


def test_bad_input_is_typed_and_changes_nothing(call, rpc, volunteers, grid6, unchanged):
    appeal = receive(rpc)
    other_grid = as_volunteer(call, grid6["other_grid"])
    away = as_volunteer(call, grid6["away"])
    with unchanged():
        with pytest.raises(GridNotFound):
            receive(rpc, grid_id=99, courtyard=None)
        with pytest.raises(PlaceInvalid):
            receive(rpc, courtyard="C02")  # a courtyard of grid 7
        with pytest.raises(NotOfGrid):
            receive(other_grid)  # a volunteer of another grid
        with pytest.raises(InvalidInput):
            receive(rpc, category="noise")
        with pytest.raises(NotHandler):
            away.accept_appeal(appeal["id"])  # another's appeal
        with pytest.raises(NotHandler):
            away.close_appeal(appeal["id"], outcome="x")
        with pytest.raises(HandlerIneligible):
            rpc.reassign_appeal(appeal["id"], grid6["other_grid"])  # of another grid, no helping team
        with pytest.raises(Forbidden):
            as_volunteer(call, grid6["member"]).reassign_appeal(appeal["id"], grid6["leader"])
    rpc.close_appeal(appeal["id"], outcome="已处理")
    with unchanged():
        with pytest.raises(AppealClosed):
            rpc.close_appeal(appeal["id"], outcome="again")
        with pytest.raises(AppealClosed):
            as_volunteer(call, grid6["member"]).hand_back_appeal(appeal["id"], "late")


def test_a_repeated_request_id_takes_the_appeal_in_once(rpc, grid6, events):
    first = receive(rpc, request_id="phone-0712-1")
    again = receive(rpc, request_id="phone-0712-1")
    assert again["id"] == first["id"]
    events.wait("appeal_received")
    assert len([p for t, p in events.settle() if t == "appeal_received"]) == 1


def test_a_redelivered_request_is_carried_out_once(service_config, grid6, events, tables):
    data = {"category": "errand", "grid_id": 6, "description": "代买药品", **RESIDENT}
    first, again = deliver_twice(service_config, "appeals", "receive_appeal", signed({"roles": ["organiser"]}), **data)
    assert again == first
    assert tables.rows("SELECT COUNT(*) FROM appeals") == [(1,)]
    events.wait("appeal_assigned")
    assert len([t for t, _ in events.settle() if t == "appeal_received"]) == 1
