"""The platform's ``@rpc`` entrypoints.

* ``rpc``: nameko's, with every ``PlatformError`` declared expected: a typed answer to bad input
  is part of the contract, so the service logs it as one line, not as a fault with a traceback
  (see ``guanyinli.logs``).
* A request whose worker did not get its acknowledgement to the broker (a killed process, a lost
  connection) is delivered again with the same AMQP correlation id, which ``rpc`` passes to the
  worker as context data key ``rpc_correlation_id``: the service's database records it with the
  worker's first write, so the second delivery changes nothing (``guanyinli.once``).
* ``rpc_request``: the same, except that the method keys its work on the id itself and, on the
  redelivery, continues with what the first attempt left instead of being refused
  (``build_roster``: a roster is solved in steps).

Requests and replies travel as transient messages, and replies without publisher confirms:

* ``RpcProxy`` (service to service), ``ClusterRpcProxy`` and ``ServiceRpcProxy`` (standalone
  callers) are nameko's, publishing requests with ``delivery_mode`` 1. RabbitMQ confirms a
  persistent message on a durable queue (``rpc-<service>``) only once it is written to disk or
  acknowledged by the consumer, which nameko does after the reply: the caller then waited for the
  whole call twice over. A request kept on disk has no one to answer after a broker restart anyway
  (the caller's reply queue is gone with it); the caller gets an error and asks again. Asking
  again is a new request with a new correlation id: it is safe where the call takes a key of the
  caller's (``request_id`` of every method that creates something, ``source_key`` of
  add_ledger_entry; ``guanyinli.keys``), while the correlation id keeps only a redelivery to one
  effect (and answers it with the first answer).
  Requests are still published with confirms and ``mandatory``, so ``UnknownService`` works.
* the service answers on the caller's reply queue without waiting for a publisher confirm
  before acknowledging the request: a reply lost in a broker restart is lost with the reply
  queue it was going to, confirmed or not. Replies go out on one connection per service
  container (``ReplyChannel``), kept open, instead of nameko's per-reply publisher, which takes a
  pooled connection and builds a producer for every reply: on the read path that was a quarter
  of the service's CPU time per call (``benchmarks/bench_rpc.py`` prints it).

Plain nameko callers interoperate unchanged (their requests are persistent, so slower).
"""

from __future__ import annotations

import inspect
import logging
import sys
import threading
from collections.abc import Callable

import amqp
import kombu
import kombu.serialization
from amqp.exceptions import ConnectionError as AMQPConnectionError
from kombu.exceptions import OperationalError as KombuOperationalError
from nameko import rpc as nameko_rpc
from nameko.constants import (
    AMQP_SSL_CONFIG_KEY,
    AMQP_URI_CONFIG_KEY,
    LOGIN_METHOD_CONFIG_KEY,
    NON_PERSISTENT,
)
from nameko.events import EventDispatcher as NamekoEventDispatcher
from nameko.events import EventHandler as NamekoEventHandler
from nameko.exceptions import IncorrectSignature, UnserializableValueError
from nameko.standalone import rpc as standalone

from guanyinli import broker, diagnostics, identity, tenancy  # noqa: F401 - broker: every service's consumer gets its watchdog
from guanyinli.errors import PlatformError

log = logging.getLogger(__name__)

# What a publish or an acknowledgement raises when the broker is away (restarting, unreachable).
BROKER_GONE = (OSError, ConnectionError, AMQPConnectionError, KombuOperationalError)

CORRELATION_KEY = "rpc_correlation_id"
# Worker data a service sets to make its calls for a person it has authenticated itself.
ON_BEHALF_KEY = "identity_on_behalf"


class ReplyChannel:
    """One AMQP connection per service container for its RPC replies: transient, no confirms.

    Workers publish through it one at a time (a green lock: a reply's frames must not interleave
    with another's). Before each publish py-amqp reads what the broker has sent without waiting,
    so a connection the broker has closed (a restart, a forced close) fails the publish instead
    of swallowing the reply; a publish that fails on a lost connection is tried once more on a
    fresh connection.
    """

    def __init__(self, config: dict):
        self.config = config
        self.exchange = nameko_rpc.get_rpc_exchange(config)
        self._lock = threading.Lock()  # green once eventlet has patched threading
        self._connection: kombu.Connection | None = None
        self._channel = None

    def publish(self, body: bytes, content_type: str, content_encoding: str, routing_key: str, correlation_id):
        message_properties = {
            "content_type": content_type,
            "content_encoding": content_encoding,
            "delivery_mode": NON_PERSISTENT,
            "correlation_id": correlation_id,
        }
        with self._lock:
            for attempt in (1, 2):
                try:
                    channel = self._open()
                    channel.basic_publish(amqp.Message(body, **message_properties), self.exchange.name, routing_key)
                    return
                except BROKER_GONE:
                    self.close()
                    if attempt == 2:
                        raise

    def _open(self):
        if self._connection is not None:
            return self._channel
        connection = kombu.Connection(
            self.config[AMQP_URI_CONFIG_KEY],
            ssl=self.config.get(AMQP_SSL_CONFIG_KEY),
            login_method=self.config.get(LOGIN_METHOD_CONFIG_KEY),
        )
        try:
            # every node of a cluster URI (``a;b;c``) once, in order, without waiting between them;
            # ``connect()`` would try two at most
            connection.ensure_connection(max_retries=max(1, len(connection.alt) - 1), reraise_as_library_errors=False)
            channel = connection.default_channel
            channel.exchange_declare(self.exchange.name, self.exchange.type, durable=True, auto_delete=False)
        except BaseException:
            connection.release()
            raise
        self._connection, self._channel = connection, channel
        return channel

    def close(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None:
            try:
                connection.release()
            except Exception:  # noqa: BLE001 - the connection is being thrown away
                pass


class RpcConsumer(nameko_rpc.RpcConsumer):
    """nameko's, answering through ``ReplyChannel`` (transient reply, no publisher confirm).

    The reply is built as nameko's ``Responder`` builds it: ``{"result", "error"}`` in the
    request's own serializer, an unserializable result answered as ``UnserializableValueError``.
    A reply that cannot be published because the broker is away (the retry on a fresh
    connection failed too) is logged and dropped instead of escaping: nameko would otherwise kill
    the whole service container, and one broker restart would stop a service for good. The work is
    committed; the caller gets no answer, asks again with the same key, and gets the same result.
    """

    def setup(self):
        super().setup()
        self.replies = ReplyChannel(self.container.config)

    def handle_result(self, message, result, exc_info):
        error = None if exc_info is None else nameko_rpc.serialize(exc_info[1])
        serializer = kombu.serialization.registry.type_to_name[message.properties["content_type"]]
        try:
            encoded = kombu.serialization.dumps({"result": result, "error": error}, serializer)
        except Exception:  # noqa: BLE001 - as nameko's Responder: the caller gets a typed error
            exc_info = sys.exc_info()
            error, result = nameko_rpc.serialize(UnserializableValueError(result)), None
            encoded = kombu.serialization.dumps({"result": None, "error": error}, serializer)
        content_type, content_encoding, body = encoded
        correlation_id = message.properties.get("correlation_id")
        try:
            self.replies.publish(body, content_type, content_encoding, message.properties["reply_to"], correlation_id)
        except BROKER_GONE as exc:
            log.warning(
                "reply to %s not sent, the broker is unreachable (the caller asks again): %s", correlation_id, exc
            )
        self.queue_consumer.ack_message(message)
        return result, exc_info

    def stop(self):
        super().stop()
        self.replies.close()

    def kill(self):
        self.replies.close()


class Rpc(nameko_rpc.Rpc):
    """Every request's AMQP correlation id is in the worker's context data (``CORRELATION_KEY``);
    ``once``: the service's database records it with the worker's first write (``guanyinli.once``)."""

    rpc_consumer = RpcConsumer()
    once = True
    _signature: inspect.Signature | None = None

    def unpack_message_headers(self, message):
        context_data = super().unpack_message_headers(message)
        context_data[CORRELATION_KEY] = message.properties.get("correlation_id")
        return context_data

    def check_signature(self, args, kwargs):
        """nameko's check, with the method's signature read once instead of on every call."""
        if self._signature is None:
            method = getattr(self.container.service_cls, self.method_name)
            self._signature = inspect.signature(method, follow_wrapped=False)
        try:
            self._signature.bind(None, *args, **kwargs)
        except TypeError as exc:
            raise IncorrectSignature(str(exc)) from None


class RequestRpc(Rpc):
    """The method keys its work on the request itself and continues what a first delivery left."""

    once = False


def _decorator(entrypoint: type[Rpc]):
    def decorate(fn=None, **kwargs):
        kwargs.setdefault("expected_exceptions", (PlatformError,))
        if fn is None:
            return entrypoint.decorator(**kwargs)
        return entrypoint.decorator(**kwargs)(fn)

    return decorate


rpc = _decorator(Rpc)
rpc_request = _decorator(RequestRpc)


class AsService:
    """A worker context whose outgoing context data carries the service's own identity.

    A service calls others and emits events on its own account (role ``system``), never
    forwarding the token of whoever called it: what it asks for is its own decision, made after
    its own checks of that caller.
    """

    def __init__(self, worker_ctx, token: Callable[[], str | None]):
        self._worker_ctx = worker_ctx
        self._token = token  # read only when a call or an event goes out, not for every worker

    def _identity(self) -> str | None:
        # A page acting for its signed-in person (the organiser web page) names that person's token.
        return self._worker_ctx.data.get(ON_BEHALF_KEY) or self._token()

    def __getattr__(self, name):
        return getattr(self._worker_ctx, name)

    @property
    def context_data(self) -> dict:
        data = {
            k: v
            for k, v in self._worker_ctx.context_data.items()
            if k not in (identity.CONTEXT_KEY, CORRELATION_KEY, ON_BEHALF_KEY, "user")
        }
        token = self._identity()
        if token:
            data[identity.CONTEXT_KEY] = token
        return data


def as_service(worker_ctx) -> AsService:
    """Outgoing calls and events on the service's own account, for the community the worker acts
    for (``guanyinli.tenancy.community_of``)."""
    container = worker_ctx.container
    return AsService(
        worker_ctx,
        lambda: identity.service_token(container.service_name, container.config, tenancy.community_of(worker_ctx)),
    )


class RpcProxy(nameko_rpc.RpcProxy):
    """nameko's ``RpcProxy`` dependency: transient requests, made on the service's own account."""

    def __init__(self, target_service, **options):
        options.setdefault("delivery_mode", NON_PERSISTENT)
        super().__init__(target_service, **options)

    def get_dependency(self, worker_ctx):
        return nameko_rpc.ServiceProxy(
            as_service(worker_ctx), self.target_service, self.rpc_reply_listener, **self.options
        )


class EventDispatcher(NamekoEventDispatcher):
    """nameko's ``EventDispatcher``; events carry the emitting service's own identity token, so a
    handler can tell the service's events from anyone else's (``guanyinli.rpc.event_handler``)."""

    def get_message_headers(self, worker_ctx):
        return super().get_message_headers(as_service(worker_ctx))

    def get_dependency(self, worker_ctx):
        """nameko's dispatch, with the headers made when an event goes out rather than for every
        worker (most workers dispatch nothing)."""

        def dispatch(event_type, event_data):
            self.publisher.publish(
                event_data,
                exchange=self.exchange,
                routing_key=event_type,
                extra_headers=self.get_message_headers(worker_ctx),
            )

        return dispatch


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


class EventHandler(NamekoEventHandler):
    """nameko's event handler, for events signed by the service they say they come from.

    An event whose identity token is not ``service:<source>`` (nor a ``system`` token of the
    operator's ``tools`` key, for replaying events by hand) is acknowledged and dropped with a
    warning: a forged ``activities.signup_confirmed`` must not make notifications write to anyone.
    The broker's own permissions (docs/DEPLOY.md) refuse such a publish first; this holds even
    where they are not set up.
    """

    def handle_message(self, body, message):
        context_data = self.unpack_message_headers(message)
        sender = identity.identity_from_context(context_data, identity.verifier_for(self.container.config))
        genuine = sender.subject == f"service:{self.source_service}" or (sender.issuer == "tools" and sender.is_system)
        if not genuine:
            log.warning(
                "event %s.%s dropped: not signed by service:%s (sender %s)",
                self.source_service,
                self.event_type,
                self.source_service,
                sender.subject or "anonymous",
            )
            self.queue_consumer.ack_message(message)
            return
        super().handle_message(body, message)


event_handler = EventHandler.decorator


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
diagnostics.install()  # every service imports this module: `kill -USR1` logs its green threads' stacks
