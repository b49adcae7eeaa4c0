"""Availability over RPC: set/get, overlap rejection, check_availability, available_volunteers, windows, spans."""

import pytest
from volunteers_testkit import EVENINGS, WEEKEND_MORNINGS, local, patrol_volunteer

from guanyinli.errors import Forbidden, InvalidInput, NotFound
from guanyinli.rpc import ServiceRpcProxy
from guanyinli.testing import signed
from volunteers.exceptions import AvailabilityOverlap

pytestmark = pytest.mark.integration

# 2026-03-02 is a Monday.
TRIP = {"kind": "off", "start": local("2026-03-04", "00:00"), "end": local("2026-03-06", "00:00"), "note": "探亲"}
EXTRA = {"kind": "extra", "start": local("2026-03-03", "14:00"), "end": local("2026-03-03", "17:00")}


def test_set_and_get_availability(rpc, events):
    v = rpc.create_volunteer(**patrol_volunteer(1))
    stored = rpc.set_availability(v["id"], weekly=EVENINGS + WEEKEND_MORNINGS, dated=[TRIP, EXTRA])
    assert stored == rpc.get_availability(v["id"])
    assert stored["weekly"][0] == {"weekday": 0, "start": "18:30", "end": "21:30"}
    assert [d["kind"] for d in stored["dated"]] == ["extra", "off"]
    assert stored["dated"][1] == {**TRIP, "start": "2026-03-04T00:00:00+08:00", "end": "2026-03-06T00:00:00+08:00"}
    (event,) = events.wait("availability_changed")
    assert event["volunteer_id"] == v["id"]
    # replacing with nothing clears it
    assert rpc.set_availability(v["id"])["weekly"] == []


def test_overlapping_or_bad_windows_are_rejected_and_nothing_changes(rpc, events, unchanged):
    v = rpc.create_volunteer(**patrol_volunteer(1))
    rpc.set_availability(v["id"], weekly=EVENINGS)
    events.wait("availability_changed")
    with unchanged():
        with pytest.raises(AvailabilityOverlap, match=r"^weekly\.5: Monday 20:00-22:00 overlaps weekly\.0"):
            rpc.set_availability(v["id"], weekly=EVENINGS + [{"weekday": 0, "start": "20:00", "end": "22:00"}])
        with pytest.raises(InvalidInput, match=r"dated\.1"):
            rpc.set_availability(
                v["id"],
                weekly=EVENINGS,
                dated=[TRIP, {**EXTRA, "start": local("2026-03-05", "10:00"), "end": local("2026-03-05", "12:00")}],
            )
        with pytest.raises(InvalidInput, match=r"weekly\.0\.end: must be after start"):
            rpc.set_availability(v["id"], weekly=[{"weekday": 0, "start": "21:00", "end": "19:00"}])
        with pytest.raises(InvalidInput, match=r"weekly\.0\.weekday"):
            rpc.set_availability(v["id"], weekly=[{"weekday": 7, "start": "19:00", "end": "21:00"}])
        with pytest.raises(InvalidInput, match=r"weekly\.0\.start: not a time"):
            rpc.set_availability(v["id"], weekly=[{"weekday": 1, "start": "7pm", "end": "21:00"}])
        with pytest.raises(InvalidInput, match=r"dated\.0\.kind"):
            rpc.set_availability(v["id"], dated=[{**TRIP, "kind": "holiday"}])
        with pytest.raises(InvalidInput, match=r"dated\.0\.start"):
            rpc.set_availability(v["id"], dated=[{**TRIP, "start": "next tuesday"}])
        with pytest.raises(NotFound, match="volunteer_id"):
            rpc.set_availability(999, weekly=EVENINGS)
        with pytest.raises(NotFound, match="volunteer_id"):
            rpc.get_availability(999)
    assert len(events.of("availability_changed")) == 1


def test_check_availability(rpc):
    v = rpc.create_volunteer(**patrol_volunteer(1))
    rpc.set_availability(v["id"], weekly=EVENINGS + WEEKEND_MORNINGS, dated=[TRIP, EXTRA])

    def check(day, start, end):
        return rpc.check_availability(v["id"], local(day, start), local(day, end))

    assert check("2026-03-02", "19:00", "21:00") == {"available": True, "reason": None}
    assert check("2026-03-07", "08:00", "10:00") == {"available": True, "reason": None}
    assert check("2026-03-03", "14:30", "16:30") == {"available": True, "reason": None}  # extra
    off = check("2026-03-04", "19:00", "21:00")
    assert off["available"] is False and off["reason"].startswith("time off") and "探亲" in off["reason"]
    assert check("2026-03-02", "17:00", "19:00") == {
        "available": False,
        "reason": "outside the volunteer's availability",
    }
    # the same moment in UTC
    assert rpc.check_availability(v["id"], "2026-03-02T11:00:00+00:00", "2026-03-02T13:00:00Z")["available"] is True
    rpc.deactivate_volunteer(v["id"])
    assert check("2026-03-02", "19:00", "21:00") == {"available": False, "reason": "volunteer is deactivated"}
    newcomer = rpc.create_volunteer(**patrol_volunteer(2))  # no availability declared yet
    assert rpc.check_availability(newcomer["id"], local("2026-03-03", "14:00"), local("2026-03-03", "16:00")) == {
        "available": True,
        "reason": None,
    }
    rpc.set_availability(newcomer["id"], dated=[TRIP])
    assert (
        rpc.check_availability(newcomer["id"], local("2026-03-04", "14:00"), local("2026-03-04", "16:00"))["available"]
        is False
    )
    with pytest.raises(NotFound, match="volunteer_id"):
        rpc.check_availability(999, local("2026-03-02", "19:00"), local("2026-03-02", "21:00"))
    with pytest.raises(InvalidInput, match="end: must be after start"):
        rpc.check_availability(v["id"], local("2026-03-02", "21:00"), local("2026-03-02", "19:00"))
    with pytest.raises(InvalidInput, match="start"):
        rpc.check_availability(v["id"], 20260302, local("2026-03-02", "19:00"))


def test_available_volunteers_and_windows(rpc):
    evening = rpc.create_volunteer(**patrol_volunteer(1, skills=["patrol_leader"]))
    morning = rpc.create_volunteer(**patrol_volunteer(2, grid_id=7))
    cleaner = rpc.create_volunteer(**patrol_volunteer(3, teams=["sanitation_green"]))
    away = rpc.create_volunteer(**patrol_volunteer(4))
    idle = rpc.create_volunteer(**patrol_volunteer(5))
    gone = rpc.create_volunteer(**patrol_volunteer(6))
    rpc.set_availability(evening["id"], weekly=EVENINGS)
    rpc.set_availability(morning["id"], weekly=WEEKEND_MORNINGS, dated=[EXTRA])
    rpc.set_availability(cleaner["id"], weekly=EVENINGS)
    rpc.set_availability(away["id"], weekly=EVENINGS, dated=[TRIP])
    rpc.set_availability(gone["id"], weekly=EVENINGS)
    rpc.deactivate_volunteer(gone["id"])

    def ids(day, start, end, **filters):
        return [v["id"] for v in rpc.available_volunteers(local(day, start), local(day, end), **filters)]

    # idle has declared nothing, so is available whenever not on time off
    assert ids("2026-03-02", "19:00", "21:00") == [evening["id"], cleaner["id"], away["id"], idle["id"]]
    assert ids("2026-03-04", "19:00", "21:00") == [evening["id"], cleaner["id"], idle["id"]]
    assert ids("2026-03-04", "19:00", "21:00", team="voluntary_patrol") == [evening["id"], idle["id"]]
    assert ids("2026-03-02", "19:00", "21:00", skill="patrol_leader") == [evening["id"]]
    assert ids("2026-03-07", "08:00", "10:00", grid=7) == [morning["id"]]
    assert ids("2026-03-07", "08:00", "10:00", grid=6) == [idle["id"]]
    with pytest.raises(InvalidInput, match="grid"):
        rpc.available_volunteers(local("2026-03-07", "08:00"), local("2026-03-07", "10:00"), grid=99)

    week = rpc.availability_windows(local("2026-03-02", "00:00"), local("2026-03-09", "00:00"))
    by_id = {w["volunteer_id"]: w["windows"] for w in week}
    assert set(by_id) == {evening["id"], morning["id"], cleaner["id"], away["id"], idle["id"]}
    assert len(by_id[evening["id"]]) == 5 and by_id[idle["id"]] == []
    assert by_id[evening["id"]][0] == {"start": "2026-03-02T18:30:00+08:00", "end": "2026-03-02T21:30:00+08:00"}
    assert [w["start"][:10] for w in by_id[away["id"]]] == ["2026-03-02", "2026-03-03", "2026-03-06"]
    assert by_id[morning["id"]] == [
        {"start": "2026-03-03T14:00:00+08:00", "end": "2026-03-03T17:00:00+08:00"},
        {"start": "2026-03-07T07:30:00+08:00", "end": "2026-03-07T11:00:00+08:00"},
        {"start": "2026-03-08T07:30:00+08:00", "end": "2026-03-08T11:00:00+08:00"},
    ]
    patrol = rpc.availability_windows(
        local("2026-03-02", "00:00"),
        local("2026-03-03", "00:00"),
        team="voluntary_patrol",
        volunteer_ids=[evening["id"], cleaner["id"]],
    )
    assert [w["volunteer_id"] for w in patrol] == [evening["id"]]
    with pytest.raises(InvalidInput, match="end: at most 100 days"):
        rpc.availability_windows(local("2026-03-02", "00:00"), local("2026-07-02", "00:00"))
    with pytest.raises(InvalidInput, match="volunteer_ids.0"):
        rpc.availability_windows(local("2026-03-02", "00:00"), local("2026-03-03", "00:00"), volunteer_ids=["a"])


def test_availability_spans_answer_as_check_availability_does_for_a_whole_window(rpc, service_config):
    v = rpc.create_volunteer(**patrol_volunteer(1))
    newcomer = rpc.create_volunteer(**patrol_volunteer(2))
    rpc.set_availability(v["id"], weekly=EVENINGS, dated=[TRIP, EXTRA])
    rpc.set_availability(newcomer["id"], dated=[TRIP])
    week = (local("2026-03-02", "00:00"), local("2026-03-09", "00:00"))

    spans = rpc.availability_spans(v["id"], *week)
    assert spans["volunteer_id"] == v["id"] and spans["active"] is True
    assert [(w["start"], w["end"]) for w in spans["windows"]] == [
        ("2026-03-02T18:30:00+08:00", "2026-03-02T21:30:00+08:00"),
        ("2026-03-03T14:00:00+08:00", "2026-03-03T17:00:00+08:00"),
        ("2026-03-03T18:30:00+08:00", "2026-03-03T21:30:00+08:00"),
        ("2026-03-06T18:30:00+08:00", "2026-03-06T21:30:00+08:00"),
    ]
    # Nothing declared weekly: all of the window but the trip, as check_availability answers.
    assert rpc.availability_spans(newcomer["id"], *week)["windows"] == [
        {"start": "2026-03-02T00:00:00+08:00", "end": "2026-03-04T00:00:00+08:00"},
        {"start": "2026-03-06T00:00:00+08:00", "end": "2026-03-09T00:00:00+08:00"},
    ]
    rpc.deactivate_volunteer(v["id"])
    assert rpc.availability_spans(v["id"], *week) == {"volunteer_id": v["id"], "active": False, "windows": []}

    with ServiceRpcProxy("volunteers", service_config, context_data=signed({"volunteer_id": newcomer["id"]})) as own:
        assert own.availability_spans(newcomer["id"], *week)["active"] is True
        with pytest.raises(Forbidden):
            own.availability_spans(v["id"], *week)
    with pytest.raises(NotFound, match="volunteer_id"):
        rpc.availability_spans(999, *week)
    with pytest.raises(InvalidInput, match="end: at most 100 days"):
        rpc.availability_spans(v["id"], local("2026-03-02", "00:00"), local("2026-07-02", "00:00"))
