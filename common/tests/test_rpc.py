"""The platform's RPC pieces: typed errors expected, acknowledgements that survive a dropped connection."""

import pytest
from nameko.messaging import QueueConsumer

from guanyinli.errors import NotFound, PlatformError
from guanyinli.rpc import rpc


class Channel:
    connection = object()  # still looks alive: the drop shows only when writing


class DroppedConnection:
    channel = Channel()

    def ack(self):
        raise BrokenPipeError(32, "Broken pipe")

    def requeue(self):
        raise ConnectionResetError(104, "Connection reset by peer")


class Broken:
    channel = Channel()

    def ack(self):
        raise ValueError("not a connection problem")


def test_acknowledging_on_a_dropped_connection_does_not_raise():
    consumer = QueueConsumer()
    consumer.ack_message(DroppedConnection())
    consumer.requeue_message(DroppedConnection())


def test_other_acknowledgement_errors_still_raise():
    with pytest.raises(ValueError):
        QueueConsumer().ack_message(Broken())


def test_platform_errors_are_expected_by_every_rpc_entrypoint():
    class Service:
        @rpc
        def one(self):
            raise NotFound("x")

    (entrypoint,) = Service.one.nameko_entrypoints
    assert entrypoint.expected_exceptions == (PlatformError,)
