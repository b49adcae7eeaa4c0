"""Broker outages as a service sees them, for the event outbox.

A RabbitMQ node that is stopping confirms messages to classic queues it is closing down, and those
messages are gone after the restart (its channel treats a queue that shut down cleanly as having
handled what it held). A publisher confirm received in the moments before the broker went away
therefore proves nothing. The service's queue consumer notices every lost connection; ``Outages``
tells a worker (through ``guanyinli.outbox.Relay``) when the outages it has not handled yet began
and ended, so the outbox can send again what it marked sent just before and during them (handlers
act once per ``event_id``, so a second copy is harmless).

Every service's queue consumer also has a watchdog (``_install_stall_watchdog``): a consumer that has
made no progress for ``QUEUE_CONSUMER_STALL_SECONDS`` (no loop turn, no connection attempt) is made to
drop its connection and connect again, and the green threads' stacks are logged.
"""

from __future__ import annotations

import logging
import socket
import time
from datetime import UTC, datetime
from functools import partial

import amqp
import eventlet
from nameko.messaging import QueueConsumer

from guanyinli import diagnostics

log = logging.getLogger(__name__)

STALL_CONFIG_KEY = "QUEUE_CONSUMER_STALL_SECONDS"
STALL_SECONDS = 30.0  # well above a loop turn (1 s) and a connection set-up on a slow broker


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


class ConsumerStalled(ConnectionError):
    """Thrown into a queue consumer that has stopped making progress: kombu's consumer loop treats it as
    a lost connection, closes it and connects again (the broker delivers unacknowledged messages again)."""


def _stall_seconds(consumer: QueueConsumer) -> float:
    container = getattr(consumer, "container", None)  # None: not bound to a container (yet)
    return float(container.config.get(STALL_CONFIG_KEY, STALL_SECONDS) if container else STALL_SECONDS)


def _progress(consumer: QueueConsumer, grace: float = 0.0) -> None:
    consumer.progress_due = time.monotonic() + grace + _stall_seconds(consumer)


def _watch(consumer: QueueConsumer) -> None:
    """Seen while the broker restarted twice in a few seconds: a service's consumer connected again
    after the first restart and then consumed nothing more, its queues filling, while the rest of the
    service ran on; the broker counted no consumer on any of its queues. So the watchdog checks two
    things: that the consumer makes progress, and, three times per stall period, that the broker
    counts a consumer on each of its queues (two checks in a row without one, on the same connection,
    and the connection is made again)."""
    check_at, strikes = time.monotonic() + _stall_seconds(consumer) / 3, 0
    while not consumer.should_stop:
        step = min(1.0, _stall_seconds(consumer) / 4)
        slept = time.monotonic()
        eventlet.sleep(step)
        if time.monotonic() - slept > step + 1.0:  # the whole process stood still (the hub was blocked),
            _progress(consumer)  # not the consumer alone: give it a fresh period
            continue
        thread = consumer._gt
        if thread is None or thread.dead or consumer.should_stop:
            continue
        late = time.monotonic() - getattr(consumer, "progress_due", float("inf"))
        if late > 0:
            _restart(consumer, f"made no progress for {_stall_seconds(consumer) + late:.0f} s")
            strikes = 0
            continue
        if time.monotonic() < check_at:
            continue
        check_at = time.monotonic() + _stall_seconds(consumer) / 3
        consuming = getattr(consumer, "ready_connection", None)
        idle = _unconsumed(consumer) if consuming is not None and consuming is consumer.live_connection else []
        strikes = strikes + 1 if idle and consumer.live_connection is consuming else 0
        if strikes >= 2:
            _restart(consumer, f"has no consumer at the broker on {', '.join(idle)}")
            strikes = 0


def _restart(consumer: QueueConsumer, why: str) -> None:
    log.error(
        "queue consumer %s: its connection is dropped and made again; green threads:\n%s",
        why,
        diagnostics.green_stacks(),
    )
    _progress(consumer)
    _shut(getattr(consumer, "live_connection", None))  # so closing it cannot wait on the broker either
    eventlet.greenthread.kill(consumer._gt, ConsumerStalled(f"queue consumer {why}"))


def _unconsumed(consumer: QueueConsumer) -> list[str]:
    """The consumer's queues on which the broker counts no consumer at all, asked on a connection of
    its own; an empty list when the broker cannot be asked (that is no evidence either way)."""
    names = sorted({q.name for c in list(consumer._consumers.values()) for q in c.queues})
    if not names:
        return []
    idle = []
    try:
        # nameko's own connection settings for this consumer (TLS, login method, transport options)
        with eventlet.Timeout(10), consumer.connection as connection:
            channel = connection.channel()
            for name in names:
                try:
                    if channel.queue_declare(name, passive=True).consumer_count == 0:
                        idle.append(name)
                except amqp.exceptions.NotFound:  # gone (an expired reply queue): nobody consumes it
                    idle.append(name)
                    channel = connection.channel()
                except amqp.exceptions.ChannelError:  # cannot tell for this one
                    channel = connection.channel()
    except (Exception, eventlet.Timeout) as exc:  # noqa: BLE001 - a failed check is no evidence
        log.debug("consumer check skipped: %s", exc)
        return []
    return idle


def _shut(connection) -> None:
    """Shut the socket of a kombu connection down: a read or write waiting on it fails at once."""
    try:
        sock = connection.connection.sock
        sock.shutdown(socket.SHUT_RDWR)
    except (AttributeError, OSError):  # no connection yet, or its socket is already gone
        pass


def _install_stall_watchdog() -> None:
    """Progress is a loop turn, a connection attempt (plus the wait before the next one) or consumers
    set up; the watchdog runs as a managed thread of the container, so it ends with it."""
    if getattr(QueueConsumer, "_guanyinli_watchdog", False):
        return
    start, on_iteration = QueueConsumer.start, QueueConsumer.on_iteration
    on_connection_error, get_consumers = QueueConsumer.on_connection_error, QueueConsumer.get_consumers
    create_connection, on_consume_ready = QueueConsumer.create_connection, QueueConsumer.on_consume_ready

    def started(self):
        _progress(self)
        if getattr(self, "_watchdog", None) is None:
            self._watchdog = self.container.spawn_managed_thread(
                partial(_watch, self), identifier="queue consumer watchdog"
            )
        return start(self)

    def iteration(self):
        _progress(self)
        return on_iteration(self)

    def connection_error(self, exc, interval):
        _progress(self, grace=interval)
        return on_connection_error(self, exc, interval)

    def consumers(self, consumer_cls, channel):
        _progress(self)
        return get_consumers(self, consumer_cls, channel)

    def connection(self):
        self.live_connection = create_connection(self)
        return self.live_connection

    def consume_ready(self, connection, channel, consumers, **kwargs):
        self.ready_connection = getattr(self, "live_connection", None)
        return on_consume_ready(self, connection, channel, consumers, **kwargs)

    QueueConsumer.start = started
    QueueConsumer.create_connection = connection
    QueueConsumer.on_consume_ready = consume_ready
    QueueConsumer.on_iteration = iteration
    QueueConsumer.on_connection_error = connection_error
    QueueConsumer.get_consumers = consumers
    QueueConsumer._guanyinli_watchdog = True


_install_stall_watchdog()


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
