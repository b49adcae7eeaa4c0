"""The platform's RPC pieces: typed errors expected, acknowledgements that survive a dropped connection."""

import select
import socket
import time
import uuid
from types import SimpleNamespace

import kombu
import pytest
from nameko.exceptions import IncorrectSignature
from nameko.messaging import QueueConsumer

from guanyinli.errors import NotFound, PlatformError
from guanyinli.rpc import ReplyChannel, RpcConsumer, rpc


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


def test_a_reply_the_broker_cannot_take_is_logged_and_the_request_still_acknowledged(caplog):
    """A broker restart while a reply is published must not kill the service container."""
    consumer = RpcConsumer()
    consumer.replies = ReplyChannel({"AMQP_URI": f"pyamqp://guest:guest@127.0.0.1:{closed_port()}//"})
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


@pytest.fixture
def caller(rabbit_config):
    """A caller's reply queue on the RPC exchange, as nameko's proxies bind theirs."""
    with kombu.Connection(rabbit_config["AMQP_URI"]) as connection:
        channel = connection.channel()
        queue = f"rpc.reply-test-{uuid.uuid4()}"
        channel.exchange_declare("nameko-rpc", "topic", durable=True, auto_delete=False)
        channel.queue_declare(queue, exclusive=True, auto_delete=True)
        channel.queue_bind(queue, "nameko-rpc", queue)

        def receive(timeout=10):
            deadline = time.monotonic() + timeout
            while (message := channel.basic_get(queue, no_ack=True)) is None:
                assert time.monotonic() < deadline, "no reply arrived"
                time.sleep(0.05)
            return message

        yield SimpleNamespace(queue=queue, receive=receive)


@pytest.mark.integration
def test_replies_are_transient_and_reach_the_callers_queue(rabbit_config, caller):
    replies = ReplyChannel(rabbit_config)
    try:
        for n in (1, 2):
            replies.publish(b'{"result": %d, "error": null}' % n, "application/json", "utf-8", caller.queue, f"c-{n}")
            message = caller.receive()
            assert message.body == f'{{"result": {n}, "error": null}}'
            assert message.properties["correlation_id"] == f"c-{n}"
            assert message.properties["delivery_mode"] == 1
            assert message.properties["content_type"] == "application/json"
    finally:
        replies.close()


@pytest.mark.integration
def test_replies_go_out_through_the_first_node_of_a_cluster_that_answers(rabbit_config, caller):
    """AMQP_URI with the nodes of a cluster: two that refuse are skipped at once."""
    down = ";".join(f"pyamqp://guest:guest@127.0.0.1:{closed_port()}//" for _ in range(2))
    replies = ReplyChannel({**rabbit_config, "AMQP_URI": f"{down};{rabbit_config['AMQP_URI']}"})
    try:
        began = time.monotonic()
        replies.publish(b'{"result": 1, "error": null}', "application/json", "utf-8", caller.queue, "c-1")
        assert caller.receive().properties["correlation_id"] == "c-1"
        assert time.monotonic() - began < 2  # no back-off between the nodes
    finally:
        replies.close()


@pytest.mark.integration
def test_a_reply_after_the_broker_closed_the_connection_goes_out_on_a_new_one(rabbit_config, rabbit_manager, caller):
    """Written into a socket the broker has closed, a reply would be lost without an error."""
    replies = ReplyChannel(rabbit_config)
    try:
        replies.publish(b"{}", "application/json", "utf-8", caller.queue, "before")
        assert caller.receive().properties["correlation_id"] == "before"
        port = replies._connection.connection.sock.getsockname()[1]
        deadline = time.monotonic() + 20  # the management API lists connections a few seconds late
        while not (ours := [c for c in rabbit_manager.get_connections() if c.get("peer_port") == port]):
            assert time.monotonic() < deadline, "the broker lists no reply connection"
            time.sleep(0.5)
        rabbit_manager.delete_connection(ours[0]["name"])
        sock = replies._connection.connection.sock
        while not select.select([sock], [], [], 0)[0]:
            assert time.monotonic() < deadline, "the broker did not close the reply connection"
            time.sleep(0.05)

        replies.publish(b"{}", "application/json", "utf-8", caller.queue, "after")

        assert caller.receive().properties["correlation_id"] == "after"
        assert replies._connection.connection.sock.getsockname()[1] != port
    finally:
        replies.close()


def test_a_call_that_does_not_fit_the_signature_is_refused():
    class Service:
        @rpc
        def one(self, a, b=2):
            return a + b

    (entrypoint,) = Service.one.nameko_entrypoints
    entrypoint.container = SimpleNamespace(service_cls=Service)
    entrypoint.method_name = "one"
    entrypoint.check_signature((1,), {"b": 3})
    entrypoint.check_signature((), {"a": 1})
    for args, kwargs in (((), {}), ((1, 2, 3), {}), ((1,), {"c": 1})):
        with pytest.raises(IncorrectSignature):
            entrypoint.check_signature(args, kwargs)
