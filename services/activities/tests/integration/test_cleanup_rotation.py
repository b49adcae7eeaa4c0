"""The clean-up rotation planned with the real volunteers service: places, fairness, and a second plan adding nothing."""

from datetime import date, timedelta
from types import SimpleNamespace

import pytest
import test_activities_with_volunteers

from activities import cleanups
from activities.cleanup_rotation import demo
from guanyinli.errors import Forbidden, InvalidInput
from guanyinli.rpc import ServiceRpcProxy
from guanyinli.testing import signed
from guanyinli.timeutil import TZ, now

pytestmark = pytest.mark.integration
volunteers_service = pytest.importorskip("volunteers.service")
structure = pytest.importorskip("volunteers.structure")

SESSION_DAYS = sorted({session.weekday for session in cleanups.SESSIONS})
MORNINGS = [{"weekday": d, "start": "07:00", "end": "12:00"} for d in SESSION_DAYS]
TEAM = 20
both = test_activities_with_volunteers.both  # the fixture: activities and the real volunteers service, as organisers


def sanitation_team(volunteers, size: int = TEAM) -> list[dict]:
    team = []
    for n in range(size):
        person = volunteers.create_volunteer(
            name=f"清洁队员{n}", phone=f"1390000{n:04d}", teams=["sanitation_green"], grid_id=6 + n % 10
        )
        volunteers.set_availability(volunteer_id=person["id"], weekly=MORNINGS)
        team.append(person)
    return team


def test_plan_covers_the_rotation_fairly_and_a_second_plan_adds_nothing(both, service_config):
    activities, volunteers = both
    team = sanitation_team(volunteers)
    monday = now().astimezone(TZ).date() + timedelta(days=7 - now().astimezone(TZ).weekday())
    first = activities.plan_cleanups(start=monday.isoformat(), weeks=2)

    own = {c.name for c in structure.COURTYARDS if c.self_managed}
    rotating = {c.name for c in structure.COURTYARDS if not c.self_managed}
    green = {g.name for g in structure.GREEN_SPACES}
    places = [row["place"] for row in first["rows"]]
    assert not own & set(places)
    assert {o["name"] for o in first["own_rota"]} == own and len(own) == 7
    assert all(places.count(name) == 2 for name in rotating)  # every week
    assert all(places.count(name) == 1 for name in green)  # every other week
    assert first["created"] == len(places) == 2 * len(rotating) + len(green)
    assert all(date.fromisoformat(r["start"][:10]).weekday() in SESSION_DAYS for r in first["rows"])

    assert first["short"] == [] and all(len(r["volunteers"]) == r["needed"] for r in first["rows"])
    counts = [c["count"] for c in first["counts"]]
    assert len(counts) == TEAM and max(counts) - min(counts) <= 1
    assert first["signed_up"] == sum(counts)
    assert {c["name"] for c in first["counts"]} == {p["name"] for p in team}

    again = activities.plan_cleanups(start=(monday + timedelta(days=2)).isoformat(), weeks=2)
    assert (again["created"], again["signed_up"]) == (0, 0)
    assert again["rows"] == first["rows"] and again["counts"] == first["counts"]

    shown = activities.cleanup_rotation(start=first["start"], end=first["end"])
    assert shown["rows"] == first["rows"]
    assert not any(p["phone"] in repr(answer) for p in team for answer in (first, shown))  # names only
    with pytest.raises(InvalidInput, match="end"):
        activities.cleanup_rotation(start=first["end"], end=first["start"])
    occurrences = activities.list_occurrences(start=first["start"], end=first["end"], kind="sanitation")
    assert len(occurrences) == len(places)
    duties = activities.list_duties(volunteer_id=team[0]["id"], start=first["start"], end=first["end"])
    assert len(duties) == next(c["count"] for c in first["counts"] if c["volunteer_id"] == team[0]["id"])

    past = activities.plan_cleanups(start=(monday - timedelta(days=14)).isoformat(), weeks=1)
    assert (past["created"], past["signed_up"], past["rows"]) == (0, 0, [])  # last week: nothing made

    member = {"volunteer_id": team[0]["id"], "roles": ["volunteer"], "name": team[0]["name"]}
    with ServiceRpcProxy("activities", service_config, context_data=signed(member), timeout=30) as theirs:
        with pytest.raises(Forbidden):
            theirs.plan_cleanups(start=monday.isoformat(), weeks=1)


def test_demo_plans_four_weeks_once(both):
    activities, volunteers = both
    sanitation_team(volunteers)
    monday = now().astimezone(TZ).date() + timedelta(days=7 - now().astimezone(TZ).weekday())
    first = demo(SimpleNamespace(activities=activities), monday)
    assert "clean-up rotation of 4 weeks" in first and "(0 new)" not in first and "7 self-managed" in first
    assert "(0 new), 0 sign-ups made" in demo(SimpleNamespace(activities=activities), monday)
