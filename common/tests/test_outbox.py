"""The event outbox: each row is tried on its own, with backoff, and dead after its last try."""

import logging
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest
from nameko.containers import ServiceContainer
from sqlalchemy import MetaData, insert, select, update
from sqlalchemy.orm import sessionmaker

from guanyinli import outbox
from guanyinli.db import DatabaseHandle, make_engine
from guanyinli.timeutil import TZ, from_db, now, to_db

T0 = datetime(2026, 12, 6, 9, 0, tzinfo=TZ)
POLICY = outbox.Policy(max_attempts=3, backoff_base=5.0, backoff_max=12.0, interval=5.0)


# --- the rule ----------------------------------------------------------------------------------


def test_backoff_doubles_after_each_failed_try_up_to_the_cap():
    assert [outbox.backoff(n, POLICY).total_seconds() for n in (1, 2, 3, 4, 60)] == [5.0, 10.0, 12.0, 12.0, 12.0]


def test_a_failed_try_is_tried_again_after_the_backoff_until_the_last_one_which_is_dead():
    first = outbox.after_failure(0, T0, POLICY)
    assert first == outbox.AfterFailure(attempts=1, dead=False, next_try_at=T0 + timedelta(seconds=5))
    second = outbox.after_failure(1, T0, POLICY)
    assert second == outbox.AfterFailure(attempts=2, dead=False, next_try_at=T0 + timedelta(seconds=10))
    assert outbox.after_failure(2, T0, POLICY) == outbox.AfterFailure(attempts=3, dead=True, next_try_at=None)


def test_one_allowed_try_is_dead_at_its_first_failure():
    assert outbox.after_failure(0, T0, outbox.Policy(max_attempts=1)).dead


def test_settings_come_from_the_config_then_the_environment_then_defaults(monkeypatch):
    monkeypatch.setenv("OUTBOX_BACKOFF_MAX", "90")
    policy = outbox.Policy.from_config({"OUTBOX": {"MAX_ATTEMPTS": "4", "INTERVAL": ""}})
    assert policy == outbox.Policy(max_attempts=4, backoff_base=5.0, backoff_max=90.0, interval=5.0)
    assert outbox.Policy.from_config({}).max_attempts == 10


def test_the_recorded_error_is_its_type_and_a_short_first_line():
    assert outbox.describe(ValueError("bad field\nsecond line")) == "ValueError: bad field"
    assert outbox.describe(KeyError()) == "KeyError"
    assert len(outbox.describe(RuntimeError("x" * 1000))) == outbox.ERROR_LENGTH


# --- sending, against a database ---------------------------------------------------------------


class Broker:
    """A dispatcher that records what it sent and fails as told."""

    def __init__(self):
        self.sent: list[tuple[str, dict]] = []
        self.refuse: set[str] = set()  # event ids it will not take
        self.down = False

    def __call__(self, event_type, payload):
        if self.down:
            raise ConnectionRefusedError("connection refused")
        if payload["event_id"] in self.refuse:
            raise RuntimeError("message refused")
        self.sent.append((event_type, payload))

    def ids(self) -> list[int]:
        return [p["volunteer_id"] for _, p in self.sent]


class Clock:
    def __init__(self):
        self.at = now() + timedelta(minutes=1)  # rows added from now on are due (older than the interval)

    def __call__(self):
        return self.at


@pytest.fixture
def box(url):
    metadata = MetaData()
    box = outbox.Outbox("outbox_test", metadata)
    engine = make_engine(url)
    metadata.create_all(engine)
    box.db = DatabaseHandle(sessionmaker(bind=engine, expire_on_commit=False), engine)
    box.clock = Clock()
    box.sender = outbox.Sender(box, POLICY, SimpleNamespace(span=lambda: None), clock=box.clock)
    yield box
    engine.dispose()


def add(box, *volunteer_ids) -> list[outbox.Row]:
    with box.db.get_session() as session:
        for vid in volunteer_ids:
            box.add(session, "availability_changed", {"volunteer_id": vid})
        return box.pending(session)


def poison(box) -> int:
    """A row whose payload its schema refuses (no volunteer_id)."""
    with box.db.get_session() as session:
        result = session.execute(
            insert(box.table).values(
                event_type="availability_changed", payload={"event_id": "e-poison"}, created_at=to_db(now())
            )
        )
        return result.inserted_primary_key[0]


def row(box, row_id: int) -> dict:
    with box.db.get_session() as session:
        return dict(session.execute(select(box.table).where(box.table.c.id == row_id)).mappings().one())


def test_a_row_that_fails_is_counted_and_the_rows_after_it_go_out_in_order(box):
    broker = Broker()
    rows = add(box, 1, 2, 3)
    broker.refuse.add(rows[1].payload["event_id"])
    assert box.sender.send(box.db, broker, rows) == 2
    assert broker.ids() == [1, 3]
    failed = row(box, rows[1].id)
    assert (failed["attempts"], failed["last_error"], failed["dead_at"]) == (1, "RuntimeError: message refused", None)
    assert from_db(failed["next_try_at"]) == box.clock.at + timedelta(seconds=5)
    assert [row(box, r.id)["sent_at"] is not None for r in rows] == [True, False, True]


def test_a_poisoned_row_waits_its_backoff_while_later_rows_go_then_is_dead_after_the_last_try(box, caplog):
    broker = Broker()
    bad = poison(box)
    add(box, 1)
    caplog.set_level(logging.INFO, logger="guanyinli.outbox")
    assert box.sender.run(box.db, broker) == 1
    assert broker.ids() == [1]
    assert row(box, bad)["attempts"] == 1 and row(box, bad)["last_error"].startswith("InvalidInput")

    add(box, 2)
    box.clock.at += timedelta(seconds=4)  # before its next try: only the new row goes
    box.sender.run(box.db, broker)
    assert broker.ids() == [1, 2] and row(box, bad)["attempts"] == 1

    for _ in range(3):
        box.clock.at += timedelta(seconds=12)
        box.sender.run(box.db, broker)
    dead = row(box, bad)
    assert (dead["attempts"], dead["sent_at"]) == (3, None)
    assert from_db(dead["dead_at"]) == box.clock.at - timedelta(seconds=12)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        f"outbox_test: event availability_changed (row {bad}) is dead after 3 failed tries and is no longer sent"
    ]
    assert all("e-poison" not in r.getMessage() for r in caplog.records)


def test_an_unreachable_broker_stops_the_batch_and_counts_against_no_row(box):
    broker = Broker()
    rows = add(box, 1, 2)
    broker.down = True
    assert box.sender.send(box.db, broker, rows) == 0
    assert [(row(box, r.id)["attempts"], row(box, r.id)["next_try_at"]) for r in rows] == [(0, None), (0, None)]
    broker.down = False
    assert box.sender.run(box.db, broker) == 2
    assert broker.ids() == [1, 2]


def test_a_try_another_replica_counted_meanwhile_is_not_counted_twice(box):
    [first] = add(box, 1)
    with box.db.get_session() as session:
        session.execute(update(box.table).values(attempts=1))  # counted elsewhere since it was read
        after = outbox.after_failure(first.attempts, box.clock.at, POLICY)
        assert not box.record_failure(session, first, "RuntimeError", after, box.clock.at)
    assert row(box, first.id)["attempts"] == 1


# --- the nameko side ---------------------------------------------------------------------------


def test_a_service_gets_its_relay_and_timer_settings_from_the_config():
    box = outbox.Outbox("outbox_wired", MetaData())

    class Outboxed:
        name = "outboxed"
        relay = outbox.Relay(box)

        @outbox.relay_timer
        def relay_outbox(self):
            self.relay.run(None, None)

    config = {"AMQP_URI": "memory://", "OUTBOX": {"INTERVAL": "2", "MAX_ATTEMPTS": 4}}
    container = ServiceContainer(Outboxed, config)
    container.extensions.all.setup()
    [timer] = container.entrypoints
    assert timer.interval == 2.0
    [relay] = container.dependencies
    sender = relay.get_dependency(SimpleNamespace())
    assert (sender.outbox, sender.policy.max_attempts) == (box, 4)
    assert sender.outages.span() is None
