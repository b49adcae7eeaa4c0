"""Events go through the outbox: marked sent after dispatch, sent by the relay when dispatch did not
happen, each row on its own."""

import logging
import time
from datetime import timedelta

import pytest
from activities_testkit import at, iso
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from activities.models import OUTBOX
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
        rows = list(session.execute(select(OUTBOX.table)))
        assert [(r.event_type, r.sent_at is not None) for r in rows] == [("activity_created", True)]
        assert rows[0].payload["event_id"] == events.of("activity_created")[0]["event_id"]
        # As if the process died between the commit and the dispatch:
        wire = OUTBOX.add(
            session,
            "activity_updated",
            {"activity_id": created["id"], "title": "便民服务", "kind": "convenience", "team": None, "sequence": 1},
        )
        session.execute(
            update(OUTBOX.table)
            .where(OUTBOX.table.c.sent_at.is_(None))
            .values(created_at=to_db(now() - timedelta(minutes=1)))
        )
    relayed = events.wait("activity_updated", timeout=15)
    assert [e["event_id"] for e in relayed] == [wire["event_id"]]
    # The relay marks the row sent just after the dispatch the recorder has already seen.
    deadline = time.monotonic() + 10
    while True:
        with Session(engine) as session:
            unsent = session.execute(select(OUTBOX.table).where(OUTBOX.table.c.sent_at.is_(None))).first()
        if unsent is None or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert unsent is None
    engine.dispose()


def _consumer_connection(rabbit_manager, vhost: str, queue: str, timeout: float = 30.0) -> str:
    """The name of the connection the broker lists as consuming ``queue`` (its management API
    lists consumers some seconds late,
    and their channel details later still)."""
    deadline = time.monotonic() + timeout
    while True:
        for consumer in rabbit_manager._get("consumers", vhost):
            details = consumer.get("channel_details")
            # Until the broker has the channel's details it lists them as an empty list.
            if consumer["queue"]["name"] == queue and isinstance(details, dict) and details.get("connection_name"):
                return details["connection_name"]
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


def _aged(session, event_type: str, payload: dict) -> dict:
    """An event queued a minute ago whose dispatch after the commit never happened (the relay's to send)."""
    wire = OUTBOX.add(session, event_type, payload)
    OUTBOX.pending(session)
    session.execute(
        update(OUTBOX.table)
        .where(OUTBOX.table.c.sent_at.is_(None), OUTBOX.table.c.attempts == 0)
        .values(created_at=to_db(now() - timedelta(minutes=1)))
    )
    return wire


def _row(engine, row_id: int) -> dict:
    with engine.connect() as conn:
        return dict(conn.execute(select(OUTBOX.table).where(OUTBOX.table.c.id == row_id)).mappings().one())


def _wait_row(engine, row_id: int, check, timeout: float = 20.0) -> dict:
    deadline = time.monotonic() + timeout
    while not check(found := _row(engine, row_id)):
        assert time.monotonic() < deadline, found
        time.sleep(0.05)
    return found


@pytest.mark.service_config(OUTBOX={"MAX_ATTEMPTS": 3, "BACKOFF_BASE": 0.2, "INTERVAL": 1})
def test_a_poisoned_row_holds_up_no_later_event_and_is_dead_after_its_tries(services, events, caplog):
    """A row its schema refuses is tried on its own: the events after it go out in order, it is
    dead after MAX_ATTEMPTS failed tries, logged once, and never tried again."""
    caplog.set_level(logging.INFO, logger="guanyinli.outbox")
    engine = make_engine(services["DB_URIS"]["activities"])
    update_of = {"title": "便民服务", "kind": "convenience", "team": None, "sequence": 1}
    with Session(engine) as session, session.begin():
        poisoned = session.execute(
            insert(OUTBOX.table).values(
                event_type="activity_updated",
                payload={"event_id": "poisoned", "activity_id": 1},  # no title, kind, sequence
                created_at=to_db(now() - timedelta(minutes=2)),
            )
        ).inserted_primary_key[0]
        first = _aged(session, "activity_updated", {**update_of, "activity_id": 1})
        second = _aged(session, "activity_updated", {**update_of, "activity_id": 2})
    relayed = events.wait("activity_updated", count=2, timeout=20)
    assert [e["event_id"] for e in relayed] == [first["event_id"], second["event_id"]]

    dead = _wait_row(engine, poisoned, lambda r: r["dead_at"] is not None)
    assert (dead["attempts"], dead["sent_at"]) == (3, None)
    assert dead["last_error"].startswith("InvalidInput: ") and "便民服务" not in dead["last_error"]
    # The relay runs on: a later event goes out, the dead row is not tried again.
    with Session(engine) as session, session.begin():
        third = _aged(session, "activity_updated", {**update_of, "activity_id": 3})
    events.wait("activity_updated", count=3, timeout=20)
    assert events.of("activity_updated")[-1]["event_id"] == third["event_id"]
    assert _row(engine, poisoned)["attempts"] == 3
    deaths = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING and "dead" in r.getMessage()]
    assert deaths == [
        f"outbox_events: event activity_updated (row {poisoned}) is dead after 3 failed tries and is no longer sent"
    ]
    engine.dispose()
