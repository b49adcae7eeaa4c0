"""Listing occurrences within bounds: rows near now or by organisers, at most one occurrence a day,
and a rule stored before that check answered InvalidInput. The service's clock is set by the test."""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta

import pytest
import standin_volunteers
from activities_testkit import ORGANISER, as_volunteer
from nameko.testing.services import replace_dependencies
from sqlalchemy import create_engine, text

from activities.domain import MATERIALISE_AHEAD
from activities.service import ActivitiesService
from guanyinli.errors import Forbidden, InvalidInput
from guanyinli.rpc import ServiceRpcProxy
from guanyinli.testing import signed
from guanyinli.timeutil import TZ

pytestmark = pytest.mark.integration

NOW = datetime(2030, 3, 4, 10, 0, tzinfo=TZ)  # a Monday; the service's clock, whatever today is
SUB_DAILY = "FREQ=DAILY;BYHOUR=" + ",".join(map(str, range(24))) + ";BYMINUTE=" + ",".join(map(str, range(60)))


class FakeClock:
    def __init__(self, moment: datetime):
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


@pytest.fixture
def call(container_factory, service_config):
    """``call(user)``: an RPC proxy to activities (its clock at NOW) with that caller (None: anonymous), beside
    the stand-in volunteers service."""
    container = container_factory(ActivitiesService, service_config)
    replace_dependencies(container, clock=FakeClock(NOW))
    container.start()
    # the community's grids, which an activity's grid and a grid's feed are checked against
    container_factory(standin_volunteers.StandInVolunteersService, service_config).start()
    stack = contextlib.ExitStack()

    def open_proxy(user=ORGANISER):
        context = signed(user) if user is not None else {}
        return stack.enter_context(ServiceRpcProxy("activities", service_config, context_data=context, timeout=30))

    yield open_proxy
    stack.close()


@pytest.fixture
def rows(service_config):
    """``rows(activity_id)``: how many occurrence rows the activity has in the database."""
    engine = create_engine(service_config["DB_URIS"]["activities"])

    def count(activity_id: int) -> int:
        with engine.connect() as conn:
            query = text("SELECT count(*) FROM occurrences WHERE activity_id = :a")
            return conn.execute(query, {"a": activity_id}).scalar()

    yield count
    engine.dispose()


def iso(dt: datetime) -> str:
    return dt.isoformat()


def weekly_school(organiser) -> dict:
    return organiser.create_activity(
        title="林宏汉周末爱心学堂",
        kind="tutoring",
        room="社区活动中心 201",
        start=iso(NOW.replace(hour=9) + timedelta(days=5)),  # Saturday 9 March 2030
        duration_minutes=120,
        rrule="FREQ=WEEKLY;BYDAY=SA",
    )


def test_a_far_listing_by_a_volunteer_or_anyone_writes_no_rows(call, rows):
    school = weekly_school(call())
    far = NOW + timedelta(days=300)
    with pytest.raises(Forbidden):  # listings are for signed-in callers
        call(None).list_occurrences(start=iso(far), end=iso(far + timedelta(days=28)))
    for user in ({"roles": ["grid_leader"], "volunteer_id": 6, "grid_ids": [3]}, as_volunteer(5)):
        listed = call(user).list_occurrences(start=iso(far), end=iso(far + timedelta(days=28)))
        assert len(listed) == 4 and {o["id"] for o in listed} == {None}
        assert all(o["activity_id"] == school["id"] and o["status"] == "scheduled" for o in listed)
        (tutor,) = listed[0]["roles"]
        assert (tutor["name"], tutor["capacity"], tutor["confirmed"], tutor["volunteer_ids"]) == ("tutor", 1, 0, [])
    assert rows(school["id"]) == 0

    # Near now a volunteer's listing gives ids to sign up with; one straddling the reach, only up to it.
    near = call(as_volunteer(5)).list_occurrences(start=iso(NOW), end=iso(NOW + timedelta(days=28)))
    assert len(near) == 4 and None not in {o["id"] for o in near}
    assert rows(school["id"]) == 4
    edge = NOW + MATERIALISE_AHEAD
    across = call(as_volunteer(5)).list_occurrences(
        start=iso(edge - timedelta(days=14)), end=iso(edge + timedelta(days=14))
    )
    assert [o["id"] is None for o in across] == [False, False, True, True]
    assert rows(school["id"]) == 6


def test_an_organisers_far_listing_writes_rows_that_volunteers_then_see(call, rows):
    organiser = call()
    school = weekly_school(organiser)
    far = NOW + timedelta(days=300)
    window = {"start": iso(far), "end": iso(far + timedelta(days=28))}
    stored = organiser.list_occurrences(**window)
    assert len(stored) == 4 and None not in {o["id"] for o in stored}
    assert rows(school["id"]) == 4
    assert [o["id"] for o in call(as_volunteer(5)).list_occurrences(**window)] == [o["id"] for o in stored]
    # A moved occurrence is listed where it moved to, not computed again at its rule's place.
    moved = organiser.update_occurrence(stored[0]["id"], start=iso(far - timedelta(days=30)))
    again = call(as_volunteer(6)).list_occurrences(**window)
    assert moved["id"] not in {o["id"] for o in again} and len(again) == 3


def test_a_listing_far_from_today_is_refused_for_everyone(call):
    weekly_school(call())
    for user in (as_volunteer(5), ORGANISER):
        with pytest.raises(InvalidInput, match="a listing lies within"):
            call(user).list_occurrences(start="2300-01-01T00:00:00+08:00", end="2300-02-01T00:00:00+08:00")
    with pytest.raises(InvalidInput, match="at most 400 days"):
        call().list_occurrences(start=iso(NOW), end=iso(NOW + timedelta(days=401)))


@pytest.mark.parametrize("rule", [SUB_DAILY, "FREQ=HOURLY", "FREQ=WEEKLY;BYHOUR=9", "FREQ=DAILY;INTERVAL=0"])
def test_a_rule_of_more_than_one_occurrence_a_day_is_refused_naming_rrule(call, rule):
    organiser = call()
    with pytest.raises(InvalidInput, match="rrule"):
        organiser.create_activity(
            title="清扫", kind="sanitation", courtyard="一号院", start=iso(NOW), duration_minutes=60, rrule=rule
        )
    school = weekly_school(organiser)
    with pytest.raises(InvalidInput, match="rrule"):
        organiser.update_activity(school["id"], {"rrule": rule})


@pytest.mark.parametrize(
    "stored, message",
    [(SUB_DAILY, "more than one occurrence a day: BYHOUR has 24 values"), ("FREQ=DAILY;INTERVAL=0", "INTERVAL")],
)
def test_a_rule_stored_before_the_check_is_invalid_input_when_listed(
    call, service_config, web_session, stored, message
):
    organiser = call()
    school = weekly_school(organiser)
    patrol = organiser.create_activity(
        title="夜间巡逻",
        kind="patrol",
        grid_id=7,
        start=iso(NOW + timedelta(hours=9)),
        duration_minutes=120,
        rrule="FREQ=DAILY",
    )
    engine = create_engine(service_config["DB_URIS"]["activities"])
    with engine.begin() as conn:
        conn.execute(text("UPDATE activities SET rrule = :r WHERE id = :a"), {"r": stored, "a": patrol["id"]})
    engine.dispose()
    window = {"start": iso(NOW), "end": iso(NOW + timedelta(days=7))}
    for user in (as_volunteer(5), ORGANISER):
        with pytest.raises(InvalidInput, match=f"activity {patrol['id']}: rrule .*{message}"):
            call(user).list_occurrences(activity_id=patrol["id"], **window)
        # The other activities stay listed.
        assert {o["activity_id"] for o in call(user).list_occurrences(**window)} == {school["id"]}
    # The grid's feed answers and leaves the activity out (a calendar would expand its rule as stored).
    feed = web_session.get("/feeds/grids/7.ics", timeout=30)
    assert feed.status_code == 200 and "RRULE" not in feed.text
    with pytest.raises(InvalidInput, match="rrule"):
        organiser.update_activity(patrol["id"], {"start": iso(NOW + timedelta(hours=10))})
    fixed = organiser.update_activity(patrol["id"], {"rrule": "FREQ=DAILY"})
    assert fixed["rrule"] == "FREQ=DAILY"
    assert len(organiser.list_occurrences(activity_id=patrol["id"], **window)) == 7
    assert "RRULE:FREQ=DAILY" in web_session.get("/feeds/grids/7.ics", timeout=30).text
