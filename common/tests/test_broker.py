"""Broker outages as the queue consumer records them, handed to workers once each."""

from types import SimpleNamespace

from nameko.messaging import QueueConsumer

from guanyinli.broker import Outages


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
