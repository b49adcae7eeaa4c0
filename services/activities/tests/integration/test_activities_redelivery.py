"""A request the broker delivers again (its acknowledgement lost with the connection) changes nothing
more, and gets its first answer again."""

import uuid

import eventlet
import nameko.rpc
import pytest
from activities_testkit import ORGANISER, at, iso

from guanyinli.client import Client
from guanyinli.db import Database, DatabaseHandle
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


def test_a_request_delivered_again_while_its_first_delivery_runs_gets_the_first_answer(
    organiser, events, services, monkeypatch
):
    """The broker gives the request to a consumer again while the first delivery still works on
    it (its connection lost before the acknowledgement): the first delivery has committed the
    activity but not kept its answer yet. The second fails on the request's row, waits for that
    answer instead of answering RequestRepeated, and answers with it."""
    committed, release, kept = eventlet.Event(), eventlet.Event(), eventlet.Event()
    keep = DatabaseHandle.keep_answer

    def held_keep(handle, answer):  # the first delivery, between its commit and keeping its answer
        if handle._recorded and handle._recorded[1] == "activities.create_activity" and not committed.ready():
            committed.send()
            release.wait()
            keep(handle, answer)
            kept.send()
        else:
            keep(handle, answer)

    looked = []

    def pause(seconds):  # the second delivery found no answer yet: the first one finishes meanwhile
        looked.append(seconds)
        if not release.ready():
            release.send()
        kept.wait()

    monkeypatch.setattr(DatabaseHandle, "keep_answer", held_keep)
    monkeypatch.setattr(Database, "sleep", staticmethod(pause))
    kwargs = {
        "title": "环境整治",
        "kind": "sanitation",
        "room": "3号院",
        "start": iso(at(3, 9)),
        "duration_minutes": 90,
    }
    payload = {"args": [], "kwargs": kwargs}
    correlation_id = uuid.uuid4().hex
    with (
        Client(services, context_data=signed(ORGANISER), timeout=30) as one,
        Client(services, context_data=signed(ORGANISER), timeout=30) as two,
    ):
        one._publish("activities", "create_activity", correlation_id, payload)
        with eventlet.Timeout(30):
            committed.wait()
        two._publish("activities", "create_activity", correlation_id, payload)
        again = answer(two._wait("activities", correlation_id))
        first = answer(one._wait("activities", correlation_id))
    assert first["title"] == "环境整治" and again == first
    assert looked == [0.02]  # it waited once, and got the answer when the first delivery kept it
    assert [a["id"] for a in organiser.list_activities()] == [first["id"]]
    assert [e["activity_id"] for e in events.wait("activity_created")] == [first["id"]]


def answer(body: dict):
    return nameko.rpc.deserialize(body["error"]) if body.get("error") else body.get("result")
