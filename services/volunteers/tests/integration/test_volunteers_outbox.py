"""The volunteers service's events go through its outbox: stored with the change, sent after the
commit, and sent by the relay when that dispatch failed."""

import time

import pytest
from sqlalchemy import select
from volunteers_testkit import patrol_volunteer

from guanyinli import outbox
from volunteers.models import OUTBOX

pytestmark = pytest.mark.integration

FAST_RELAY = {"INTERVAL": 1, "BACKOFF_BASE": 0.2}


def outbox_rows(tables) -> list[dict]:
    with tables.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(OUTBOX.table).order_by(OUTBOX.table.c.id)).mappings()]


def wait_until(check, timeout: float = 20.0, message: str = ""):
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, message
        time.sleep(0.05)
    return found


def test_events_are_stored_with_the_change_and_marked_sent(rpc, events, tables):
    volunteer = rpc.create_volunteer(**patrol_volunteer(1))
    [created] = events.wait("volunteer_created")
    rows = wait_until(lambda: [r for r in outbox_rows(tables) if r["sent_at"] is not None], message="marked sent")
    assert [(r["event_type"], r["payload"]["event_id"], r["attempts"]) for r in rows] == [
        ("volunteer_created", created["event_id"], 0)
    ]
    assert created["volunteer_id"] == volunteer["id"]


@pytest.mark.service_config(OUTBOX=FAST_RELAY)
@pytest.mark.parametrize(
    ("failure", "counted"),
    [(ConnectionResetError("connection reset by peer"), 0), (RuntimeError("message refused"), 1)],
    ids=["connection-lost", "message-refused"],
)
def test_a_deactivation_whose_dispatch_fails_after_the_commit_is_delivered_once_by_the_relay(
    rpc, events, tables, monkeypatch, failure, counted
):
    """The dispatcher raises once, right after the commit: the broker connection lost (counted on
    no row) or this one message refused (one failed try, then its backoff). Either way the relay
    sends ``volunteer_deactivated`` later, once, with the event id stored with the change."""
    volunteer = rpc.create_volunteer(**patrol_volunteer(1))
    events.wait("volunteer_created")
    failed = []
    publish = outbox.publish

    def publish_failing_once(dispatch, event_type, payload):
        if event_type == "volunteer_deactivated" and not failed:
            failed.append(payload["event_id"])
            raise failure
        return publish(dispatch, event_type, payload)

    monkeypatch.setattr(outbox, "publish", publish_failing_once)
    answer = rpc.deactivate_volunteer(volunteer_id=volunteer["id"], reason="搬走了")
    assert answer["active"] is False
    [event] = events.wait("volunteer_deactivated", timeout=20)
    assert failed == [event["event_id"]]
    assert (event["volunteer_id"], event["reason"]) == (volunteer["id"], "搬走了")
    [row] = wait_until(
        lambda: [r for r in outbox_rows(tables) if r["event_type"] == "volunteer_deactivated" and r["sent_at"]],
        message="the deactivation marked sent",
    )
    assert (row["attempts"], row["dead_at"]) == (counted, None)
    # An event dispatched after the row was marked sent arrives after any copy sent before it.
    rpc.create_volunteer(**patrol_volunteer(2))
    events.wait("volunteer_created", count=2)
    assert [e["event_id"] for e in events.of("volunteer_deactivated")] == [event["event_id"]]


def test_a_ledger_entry_given_twice_under_one_key_is_stored_and_announced_once(rpc, events, tables):
    volunteer = rpc.create_volunteer(**patrol_volunteer(1))
    entry = rpc.add_ledger_entry(
        volunteer_id=volunteer["id"], hours=2.0, reason="巡逻", source="activities", source_key="attendance:7"
    )
    [added] = events.wait("ledger_entry_added")
    assert added["entry_id"] == entry["id"]
    again = rpc.add_ledger_entry(
        volunteer_id=volunteer["id"], hours=2.0, reason="巡逻", source="activities", source_key="attendance:7"
    )
    assert again["id"] == entry["id"]
    assert [r["event_type"] for r in outbox_rows(tables)].count("ledger_entry_added") == 1
