"""Broker outages as the queue consumer records them, handed to workers once each."""

import logging
from types import SimpleNamespace

import eventlet
import pytest
from nameko.events import event_handler
from nameko.messaging import QueueConsumer
from nameko.standalone.events import event_dispatcher
from nameko.testing.utils import get_extension

from guanyinli.broker import STALL_CONFIG_KEY, Outages


def connected(consumer: QueueConsumer) -> None:
    consumer.on_consume_ready(connection=None, channel=None, consumers=[])


def test_the_first_connection_is_no_outage():
    consumer = QueueConsumer()
    connected(consumer)
    consumer.on_iteration()
    assert Outages(consumer, [0]).span() is None


def test_a_reconnection_reports_when_the_connection_was_last_seen_alive_until_handled(monkeypatch):
    consumer = QueueConsumer()
    clock = SimpleNamespace(now=1_000.0)
    monkeypatch.setattr("guanyinli.broker.time.time", lambda: clock.now)
    connected(consumer)
    clock.now = 1_010.0
    consumer.on_iteration()  # last sign of life before the broker went away
    clock.now = 1_030.0
    connected(consumer)
    handled = [0]

    first = Outages(consumer, handled)
    assert [m.timestamp() for m in first.span()] == [1_010.0, 1_030.0]
    assert Outages(consumer, handled).span() is not None, "not handled yet: the next worker sees it too"
    first.handled()
    assert Outages(consumer, handled).span() is None

    clock.now = 1_040.0
    consumer.on_iteration()
    clock.now = 1_050.0
    connected(consumer)
    clock.now = 1_060.0
    consumer.on_iteration()
    clock.now = 1_070.0
    connected(consumer)
    # both outages not handled yet: from the start of the earlier to the end of the later
    assert [m.timestamp() for m in Outages(consumer, handled).span()] == [1_040.0, 1_070.0]


def watched(container_factory, rabbit_config, name: str, event: str) -> tuple[QueueConsumer, list]:
    """A running service `name` handling `event` from "watch_source" into the returned list, with a stall
    period of 2 s; returns its queue consumer and that list."""
    handled: list = []

    def handle(self, payload):
        handled.append(payload)

    service = type(name, (), {"name": name, event: event_handler("watch_source", event)(handle)})
    container = container_factory(service, {**rabbit_config, STALL_CONFIG_KEY: 2})
    container.start()
    return get_extension(container, QueueConsumer), handled


@pytest.mark.integration
def test_a_queue_consumer_that_stops_turning_connects_again_and_consumes(container_factory, rabbit_config, caplog):
    """The consumer blocks once, as if a broker call never answered; the message sent meanwhile is still
    handled, on a new connection, and the log shows where the consumer was waiting."""
    consumer, handled = watched(container_factory, rabbit_config, "watched", "ping")
    first = consumer.live_connection
    stuck, never = eventlet.Event(), eventlet.Event()
    turn = consumer.on_iteration

    def on_iteration_that_hangs_once():
        if consumer.live_connection is first:
            stuck.send(None)
            never.wait()  # a broker call that never answers
        return turn()

    consumer.on_iteration = on_iteration_that_hangs_once
    try:
        with caplog.at_level(logging.ERROR, logger="guanyinli.broker"):
            stuck.wait()
            event_dispatcher(rabbit_config)("watch_source", "ping", {"n": 1})
            with eventlet.Timeout(20, False):
                while not handled:
                    eventlet.sleep(0.1)
    finally:
        never.send(None)  # without the watchdog the consumer would still wait here
    assert handled == [{"n": 1}]
    assert consumer.live_connection is not first
    stalled = [r.getMessage() for r in caplog.records if "made no progress" in r.getMessage()]
    assert stalled and "on_iteration_that_hangs_once" in stalled[0]


@pytest.mark.integration
def test_a_process_that_stood_still_as_a_whole_is_no_stalled_consumer(container_factory, rabbit_config, caplog):
    """Work that blocks every green thread (the consumer's and the watchdog's) for longer than the stall
    period says nothing about the consumer: its connection is kept."""
    consumer, _ = watched(container_factory, rabbit_config, "watched_busy", "noop")
    first = consumer.live_connection
    with caplog.at_level(logging.ERROR, logger="guanyinli.broker"):
        eventlet.patcher.original("time").sleep(4)  # blocks the hub itself
        eventlet.sleep(2)
    assert consumer.live_connection is first
    assert not [r for r in caplog.records if "made no progress" in r.getMessage()]


@pytest.mark.integration
def test_queues_the_broker_no_longer_delivers_to_are_consumed_again(container_factory, rabbit_config, caplog):
    """The broker forgets the consumer while the client goes on waiting for deliveries (the consumer is
    cancelled without the client's kombu knowing): the event sent meanwhile is still handled."""
    consumer, handled = watched(container_factory, rabbit_config, "watched_forgotten", "pong")
    first = consumer.live_connection
    (kombu_consumer,) = consumer._consumers.values()
    for tag in kombu_consumer._active_tags.values():
        kombu_consumer.channel.basic_cancel(tag, nowait=True)
    with caplog.at_level(logging.ERROR, logger="guanyinli.broker"):
        event_dispatcher(rabbit_config)("watch_source", "pong", {"n": 2})
        with eventlet.Timeout(30, False):
            while not handled:
                eventlet.sleep(0.1)
    assert handled == [{"n": 2}]
    assert consumer.live_connection is not first
    assert [r for r in caplog.records if "has no consumer at the broker" in r.getMessage()]
