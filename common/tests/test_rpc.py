"""The platform's RPC pieces: typed errors expected, acknowledgements that survive a dropped connection."""

import socket
from types import SimpleNamespace

import pytest
from nameko.messaging import QueueConsumer

from guanyinli.errors import NotFound, PlatformError
from guanyinli.rpc import ReplyPublisher, RpcConsumer, rpc


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


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens there once the socket is closed


def test_a_reply_the_broker_cannot_take_is_logged_and_the_request_still_acknowledged(monkeypatch, caplog):
    """A broker restart while a reply is published must not kill the service container."""
    monkeypatch.setattr(ReplyPublisher, "retry_policy", {"max_retries": 0})
    consumer = RpcConsumer()
    consumer.container = SimpleNamespace(config={"AMQP_URI": f"pyamqp://guest:guest@127.0.0.1:{closed_port()}//"})
    acked = []
    consumer.queue_consumer = SimpleNamespace(ack_message=acked.append)
    message = SimpleNamespace(
        properties={"reply_to": "rpc.reply-caller", "correlation_id": "c-1", "content_type": "application/json"},
        headers={},
    )

    result, exc_info = consumer.handle_result(message, {"id": 7}, None)

    assert (result, exc_info) == ({"id": 7}, None)
    assert acked == [message]
    assert "reply to c-1 not sent" in caplog.text
