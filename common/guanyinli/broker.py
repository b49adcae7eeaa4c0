"""Broker outages as a service sees them, for the event outbox.

A RabbitMQ node that is stopping confirms messages to classic queues it is closing down, and those
messages are gone after the restart (its channel treats a queue that shut down cleanly as having
handled what it held). A publisher confirm received in the moments before the broker went away
therefore proves nothing. The service's queue consumer notices every lost connection; ``BrokerWatch``
tells a worker when the outages it has not handled yet began and ended, so the outbox can send
again what it marked sent just before and during them (handlers act once per ``event_id``, so a
second copy is harmless).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from nameko.extensions import DependencyProvider
from nameko.messaging import QueueConsumer


def _install_outage_tracking() -> None:
    """Each queue consumer records when it last saw its connection alive and, on every reconnection,
    the outage as (last seen alive, connected again)."""
    if getattr(QueueConsumer, "_guanyinli_outages", False):
        return
    on_iteration, on_consume_ready = QueueConsumer.on_iteration, QueueConsumer.on_consume_ready

    def iteration(self):
        self.alive_at = time.time()  # drain_events returns at least every second while connected
        return on_iteration(self)

    def consume_ready(self, connection, channel, consumers, **kwargs):
        if getattr(self, "connected_once", False):
            now = time.time()
            self.outages = [*getattr(self, "outages", []), (getattr(self, "alive_at", now), now)]
        self.connected_once = True
        self.alive_at = time.time()
        return on_consume_ready(self, connection, channel, consumers, **kwargs)

    QueueConsumer.on_iteration = iteration
    QueueConsumer.on_consume_ready = consume_ready
    QueueConsumer._guanyinli_outages = True


_install_outage_tracking()


def _utc(moment: float) -> datetime:
    return datetime.fromtimestamp(moment, UTC)


class Outages:
    """What a worker gets: the span of the outages not yet handled, and a way to say they were."""

    def __init__(self, consumer: QueueConsumer, handled: list[int]):
        self._consumer, self._handled = consumer, handled
        self._seen = handled[0]

    def span(self) -> tuple[datetime, datetime] | None:
        """(UTC) From when the connection was last seen alive before the earliest outage not yet
        handled, to when it was back after the latest; None when there is none."""
        outages = getattr(self._consumer, "outages", [])
        new = outages[self._handled[0] :]
        self._seen = len(outages)
        if not new:
            return None
        return _utc(min(lost for lost, _ in new)), _utc(max(back for _, back in new))

    def handled(self) -> None:
        """The outages ``span`` reported are dealt with."""
        self._handled[0] = max(self._handled[0], self._seen)


class BrokerWatch(DependencyProvider):
    """The container's broker outages (through its shared queue consumer)."""

    queue_consumer = QueueConsumer()

    def setup(self):
        self._handled = [0]  # how many of the consumer's outages were dealt with, for every worker

    def get_dependency(self, worker_ctx):
        return Outages(self.queue_consumer, self._handled)
