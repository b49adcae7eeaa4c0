"""Events go through the outbox: marked sent after dispatch, and sent by the relay when dispatch did not happen."""

import time
from datetime import timedelta

import pytest
from activities_testkit import at, iso
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from activities import outbox
from activities.models import OutboxEvent
from guanyinli.db import make_engine
from guanyinli.timeutil import now, to_db

pytestmark = pytest.mark.integration


def test_events_are_marked_sent_and_the_relay_sends_what_was_left(organiser, events, services):
    created = organiser.create_activity(
        title="便民服务", kind="convenience", room="服务站", start=iso(at(2, 9)), duration_minutes=60
    )
    assert events.wait("activity_created")[0]["activity_id"] == created["id"]
    engine = make_engine(services["DB_URIS"]["activities"])
    with Session(engine) as session, session.begin():
        rows = list(session.scalars(select(OutboxEvent)))
        assert [(r.event_type, r.sent_at is not None) for r in rows] == [("activity_created", True)]
        assert rows[0].payload["event_id"] == events.of("activity_created")[0]["event_id"]
        # As if the process died between the commit and the dispatch:
        wire = outbox.add(
            session,
            "activity_updated",
            {"activity_id": created["id"], "title": "便民服务", "kind": "convenience", "team": None, "sequence": 1},
        )
        session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.sent_at.is_(None))
            .values(created_at=to_db(now() - timedelta(minutes=1)))
        )
    relayed = events.wait("activity_updated", timeout=15)
    assert [e["event_id"] for e in relayed] == [wire["event_id"]]
    # The relay marks the row sent just after the dispatch the recorder has already seen.
    deadline = time.monotonic() + 10
    while True:
        with Session(engine) as session:
            unsent = session.scalar(select(OutboxEvent).where(OutboxEvent.sent_at.is_(None)))
        if unsent is None or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert unsent is None
    engine.dispose()


def _consumer_connection(rabbit_manager, vhost: str, queue: str, timeout: float = 30.0) -> str:
    """The name of the connection the broker lists as consuming ``queue`` (its management API
    lists consumers some seconds late)."""
    deadline = time.monotonic() + timeout
    while True:
        for consumer in rabbit_manager._get("consumers", vhost):
            if consumer["queue"]["name"] == queue:
                return consumer["channel_details"]["connection_name"]
        assert time.monotonic() < deadline, f"the broker lists no consumer of {queue}"
        time.sleep(0.5)


def test_events_marked_sent_just_before_the_broker_connection_dropped_go_out_again(
    organiser, events, services, rabbit_manager, rabbit_config
):
    """A stopping broker may confirm a message and lose it (see guanyinli.broker): after a lost
    connection the relay sends once more what it marked sent just before, with the same event_id.

    The activities service's connection is found first, so that it is dropped within the moments
    the relay looks back over (``RESEND_MARGIN``), however late the broker lists it."""
    connection = _consumer_connection(rabbit_manager, rabbit_config["vhost"], "rpc-activities")
    created = organiser.create_activity(
        title="环境整治", kind="sanitation", room="3号院", start=iso(at(3, 9)), duration_minutes=90
    )
    (first,) = events.wait("activity_created")
    assert first["activity_id"] == created["id"]
    rabbit_manager.delete_connection(connection)
    again = events.wait("activity_created", count=2, timeout=30)
    assert [e["event_id"] for e in again] == [first["event_id"], first["event_id"]], again
