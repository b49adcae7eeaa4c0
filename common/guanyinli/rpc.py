"""The platform's ``@rpc`` entrypoints.

* ``rpc``: nameko's, with every ``PlatformError`` declared expected: a typed answer to bad input
  is part of the contract, so the service logs it as one line, not as a fault with a traceback
  (see ``guanyinli.logs``).
* ``rpc_request``: the same, and it knows the request it serves. A request whose worker died
  before answering (a killed process, a lost channel) is delivered again with the same AMQP
  correlation id; ``rpc_request`` passes that id to the worker as context data key
  ``rpc_correlation_id``, so a method that creates something can key it on the id and, on the
  redelivery, continue with what the first attempt left instead of creating a second one.

Requests and replies travel as transient messages, and replies without publisher confirms:

* ``RpcProxy`` (service to service), ``ClusterRpcProxy`` and ``ServiceRpcProxy`` (standalone
  callers) are nameko's, publishing requests with ``delivery_mode`` 1. RabbitMQ confirms a
  persistent message on a durable queue (``rpc-<service>``) only once it is written to disk or
  acknowledged by the consumer, which nameko does after the reply: the caller then waited for the
  whole call twice over. A request kept on disk has no one to answer after a broker restart anyway
  (the caller's reply queue is gone with it); the caller gets an error and asks again, and every
  call that changes something is keyed (request_id, correlation id) so asking again is safe.
  Requests are still published with confirms and ``mandatory``, so ``UnknownService`` works.
* the service answers on the caller's reply queue without waiting for a publisher confirm
  before acknowledging the request: a reply lost in a broker restart is lost with the reply
  queue it was going to, confirmed or not.

Plain nameko callers interoperate unchanged (their requests are persistent, so slower).
"""

from __future__ import annotations

import logging

from amqp.exceptions import ConnectionError as AMQPConnectionError
from kombu.exceptions import OperationalError as KombuOperationalError
from nameko import rpc as nameko_rpc
from nameko.amqp.publish import Publisher
from nameko.constants import (
    AMQP_SSL_CONFIG_KEY,
    AMQP_URI_CONFIG_KEY,
    DEFAULT_SERIALIZER,
    LOGIN_METHOD_CONFIG_KEY,
    NON_PERSISTENT,
    SERIALIZER_CONFIG_KEY,
)
from nameko.standalone import rpc as standalone

from guanyinli.errors import PlatformError

log = logging.getLogger(__name__)

# What a publish or an acknowledgement raises when the broker is away (restarting, unreachable).
BROKER_GONE = (OSError, ConnectionError, AMQPConnectionError, KombuOperationalError)

CORRELATION_KEY = "rpc_correlation_id"


class ReplyPublisher(Publisher):
    use_confirms = False
    delivery_mode = NON_PERSISTENT


class Responder(nameko_rpc.Responder):
    publisher_cls = ReplyPublisher


class RpcConsumer(nameko_rpc.RpcConsumer):
    """nameko's, answering through ``Responder`` above (transient reply, no publisher confirm).

    A reply that cannot be published because the broker is away (its publish retries ran out
    during a restart) is logged and dropped instead of escaping: nameko would otherwise kill the
    whole service container, and one broker restart would stop a service for good. The work is
    committed; the caller gets no answer, asks again with the same key, and gets the same result.
    """

    def handle_result(self, message, result, exc_info):
        config = self.container.config
        responder = Responder(
            config[AMQP_URI_CONFIG_KEY],
            nameko_rpc.get_rpc_exchange(config),
            config.get(SERIALIZER_CONFIG_KEY, DEFAULT_SERIALIZER),
            message,
            ssl=config.get(AMQP_SSL_CONFIG_KEY),
            login_method=config.get(LOGIN_METHOD_CONFIG_KEY),
        )
        try:
            result, exc_info = responder.send_response(result, exc_info)
        except BROKER_GONE as exc:
            log.warning(
                "reply to %s not sent, the broker is unreachable (the caller asks again): %s",
                message.properties.get("correlation_id"),
                exc,
            )
        self.queue_consumer.ack_message(message)
        return result, exc_info


class Rpc(nameko_rpc.Rpc):
    rpc_consumer = RpcConsumer()


class RequestRpc(Rpc):
    def unpack_message_headers(self, message):
        context_data = super().unpack_message_headers(message)
        context_data[CORRELATION_KEY] = message.properties.get("correlation_id")
        return context_data


def _decorator(entrypoint: type[Rpc]):
    def decorate(fn=None, **kwargs):
        kwargs.setdefault("expected_exceptions", (PlatformError,))
        if fn is None:
            return entrypoint.decorator(**kwargs)
        return entrypoint.decorator(**kwargs)(fn)

    return decorate


rpc = _decorator(Rpc)
rpc_request = _decorator(RequestRpc)


class RpcProxy(nameko_rpc.RpcProxy):
    """nameko's ``RpcProxy`` dependency, publishing its requests as transient messages."""

    def __init__(self, target_service, **options):
        options.setdefault("delivery_mode", NON_PERSISTENT)
        super().__init__(target_service, **options)


class WrappedRpcProxy(RpcProxy):
    """An ``RpcProxy`` to ``target`` handed to the worker as ``wrapper(proxy, timeout)``.

    The timeout (seconds) comes from the config key ``timeout_key``; subclasses set the three
    class attributes, e.g. a service's typed directory of the volunteers it calls.
    """

    target: str
    wrapper: type
    timeout_key: str
    default_timeout = 10.0

    def __init__(self, **options):
        super().__init__(self.target, **options)

    def get_dependency(self, worker_ctx):
        timeout = float(self.container.config.get(self.timeout_key, self.default_timeout))
        return self.wrapper(super().get_dependency(worker_ctx), timeout)


class _ClusterProxy(standalone.ClusterProxy):
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        if name not in self._proxies:
            self._proxies[name] = nameko_rpc.ServiceProxy(
                self._worker_ctx, name, self._reply_listener, delivery_mode=NON_PERSISTENT
            )
        return self._proxies[name]


class ClusterRpcProxy(standalone.ClusterRpcProxy):
    """nameko's standalone ``ClusterRpcProxy``, publishing its requests as transient messages."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._proxy = _ClusterProxy(self._worker_ctx, self._reply_listener)


class ServiceRpcProxy(standalone.ServiceRpcProxy):
    """nameko's standalone ``ServiceRpcProxy``, publishing its requests as transient messages."""

    def __init__(self, service_name, *args, **kwargs):
        super().__init__(service_name, *args, **kwargs)
        self._proxy = nameko_rpc.ServiceProxy(
            self._worker_ctx, service_name, self._reply_listener, delivery_mode=NON_PERSISTENT
        )


def _install_sturdy_acks() -> None:
    """Acknowledging a message on a connection the broker has just dropped must not stop a service.

    nameko acknowledges a message after its worker is done (RPC requests, events) and on receipt
    (RPC replies). When the broker restarts at that moment the acknowledgement fails with a
    connection error that nameko lets escape from the container's thread, which kills the whole
    service container: one broker restart under load could take a replica down for good. The
    broker delivers an unacknowledged message again once consumers reconnect, and every handler
    here acts once per key, so the failed acknowledgement is logged and dropped.
    """
    from nameko.messaging import QueueConsumer

    if getattr(QueueConsumer, "_guanyinli_sturdy", False):
        return
    for name in ("ack_message", "requeue_message"):
        original = getattr(QueueConsumer, name)

        def sturdy(self, message, _original=original, _name=name):
            try:
                return _original(self, message)
            except BROKER_GONE as exc:
                log.warning("%s on a lost connection skipped (the broker delivers the message again): %s", _name, exc)

        setattr(QueueConsumer, name, sturdy)
    QueueConsumer._guanyinli_sturdy = True


_install_sturdy_acks()
