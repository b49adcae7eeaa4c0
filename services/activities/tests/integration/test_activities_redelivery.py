"""A request the broker delivers again (its acknowledgement lost with the connection) changes nothing
more, and gets its first answer again."""

import pytest
from activities_testkit import ORGANISER, at, iso

from guanyinli.errors import NotFound
from guanyinli.testing import deliver_twice, signed

pytestmark = pytest.mark.integration


def test_a_redelivered_create_activity_makes_no_second_activity_and_gets_its_answer(organiser, events, services):
    first, again = deliver_twice(
        services,
        "activities",
        "create_activity",
        context_data=signed(ORGANISER),
        title="环境整治",
        kind="sanitation",
        room="3号院",
        start=iso(at(3, 9)),
        duration_minutes=90,
    )
    assert first["title"] == "环境整治"
    assert again == first
    assert [a["id"] for a in organiser.list_activities()] == [first["id"]]
    assert [e["activity_id"] for e in events.wait("activity_created")] == [first["id"]]


def test_a_redelivered_request_that_changed_nothing_is_answered_again(organiser, services):
    """A read, or a refusal, wrote nothing: its second delivery is simply carried out again."""
    created = organiser.create_activity(
        title="便民服务", kind="convenience", room="服务站", start=iso(at(2, 9)), duration_minutes=60
    )
    read = deliver_twice(services, "activities", "get_activity", signed(ORGANISER), activity_id=created["id"])
    assert read == [created, created]
    refused = deliver_twice(services, "activities", "cancel_activity", signed(ORGANISER), activity_id=404)
    assert [type(answer) for answer in refused] == [NotFound, NotFound]
    assert organiser.get_activity(created["id"])["status"] == "active"
