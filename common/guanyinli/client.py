"""A lean RPC client for programs outside nameko: the command line, scripts, the community's systems.

    from guanyinli.client import Client

    with Client(context_data={"identity": token}, timeout=30) as rpc:  # token: `guanyinli token`
        rpc.volunteers.get_volunteer(1)
        rpc["activities"].list_activities(kind="patrol")

It speaks nameko's RPC wire format (``nameko-rpc`` topic exchange, routing key
``service.method``, JSON body ``{"args", "kwargs"}``, context data as ``nameko.<key>`` headers,
the reply ``{"result", "error"}`` on the caller's own queue), so it calls any nameko service.
Compared with nameko's standalone ``ClusterRpcProxy`` it keeps one connection and one channel
for the client's life and does nothing per call beyond publishing and reading the reply: about
half the client-side cost, without eventlet (``benchmarks/bench_rpc.py`` measures both).

* Requests are transient and published ``mandatory``: the broker returns a request that no queue
  takes, and the return arrives before any reply could, so a call to a service with no running
  instance raises ``UnknownService`` at once instead of waiting out the timeout. There is no
  publisher confirm to wait for: a transient request the broker loses has no more chance of an
  answer once confirmed (a restart drops the reply queue too), and waiting for the confirm cost
  every call another round trip to the broker. Why transient: see ``guanyinli.rpc``.
* A remote error is raised as the same typed exception the service raised (``guanyinli.errors``
  classes, ``UnknownService``, ``MethodNotFound``...), else as nameko's ``RemoteError``.
* No reply within ``timeout`` seconds raises ``RpcTimeout``; a lost connection raises
  ``BrokerUnavailable`` (an ``Unavailable``) and the next call connects afresh. A call is never sent twice by the
  client: whether to ask again is the caller's choice (calls that change things take a
  ``request_id`` for that).

One client per thread, as with nameko's proxies.
"""

from __future__ import annotations

import time
import uuid
from typing import Any
from urllib.parse import unquote, urlparse

import amqp
import nameko.rpc
from amqp.exceptions import ConnectionError as AMQPConnectionError
from kombu.utils import json
from nameko.constants import NON_PERSISTENT
from nameko.exceptions import RpcTimeout, UnknownService

from guanyinli.config import amqp_uri as default_amqp_uri
from guanyinli.config import broker_uris
from guanyinli.errors import Unavailable  # importing errors registers the typed errors for deserialize

EXCHANGE = "nameko-rpc"
CONTENT_TYPE = "application/json"
_CONNECTION_ERRORS = (OSError, AMQPConnectionError)


class BrokerUnavailable(Unavailable):
    """The broker could not be reached or the connection was lost during a call."""


class Client:
    """Connected on first call; usable as a context manager. ``config`` may be nameko's config dict."""

    def __init__(
        self,
        config: dict | str | None = None,
        context_data: dict | None = None,
        timeout: float | None = None,
        exchange: str | None = None,
    ):
        if isinstance(config, dict):
            uri = config.get("AMQP_URI") or default_amqp_uri()
            exchange = exchange or config.get("rpc_exchange")
        else:
            uri = config or default_amqp_uri()
        self.uri = uri
        self.exchange = exchange or EXCHANGE
        self.timeout = timeout
        self.context_data = dict(context_data or {})
        self._connection: amqp.Connection | None = None
        self._channel = None
        self._reply_queue = ""
        self._replies: dict[str, Any] = {}
        self._returned: set[str] = set()
        self._services: dict[str, ServiceClient] = {}

    # --- the proxy interface --------------------------------------------------------------------

    def __getattr__(self, service: str) -> ServiceClient:
        if service.startswith("_"):
            raise AttributeError(service)
        return self[service]

    def __getitem__(self, service: str) -> ServiceClient:
        if service not in self._services:
            self._services[service] = ServiceClient(self, service)
        return self._services[service]

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def call(self, service: str, method: str, *args, **kwargs) -> Any:
        correlation_id = uuid.uuid4().hex
        self._publish(service, method, correlation_id, {"args": args, "kwargs": kwargs})
        body = self._wait(service, correlation_id)
        if body.get("error"):
            # nameko.rpc's, which guanyinli.errors extends: an unknown subclass arrives as its registered base
            raise nameko.rpc.deserialize(body["error"])
        return body.get("result")

    # --- AMQP -------------------------------------------------------------------------------------

    def _connect(self) -> None:
        """Connect to the first broker of ``AMQP_URI`` that answers (a cluster's nodes in turn)."""
        uris = broker_uris(self.uri)
        for i, uri in enumerate(uris):
            try:
                self._connect_to(uri)
                return
            except _CONNECTION_ERRORS:
                if i == len(uris) - 1:
                    raise

    def _connect_to(self, uri: str) -> None:
        parsed = urlparse(uri)
        vhost = unquote(parsed.path[1:]) if parsed.path not in ("", "/") else "/"
        connection = amqp.Connection(
            host=f"{parsed.hostname or '127.0.0.1'}:{parsed.port or 5672}",
            userid=unquote(parsed.username or "guest"),
            password=unquote(parsed.password or "guest"),
            virtual_host=vhost,
            connect_timeout=10,
        )
        try:
            connection.connect()
            channel = connection.channel()
            channel.events["basic_return"].add(self._on_return)
            channel.exchange_declare(self.exchange, "topic", durable=True, auto_delete=False)
            queue = f"rpc.reply-guanyinli-client-{uuid.uuid4()}"
            channel.queue_declare(queue, exclusive=True, auto_delete=True)
            channel.queue_bind(queue, self.exchange, queue)
            channel.basic_consume(queue, callback=self._on_reply, no_ack=True)
        except BaseException:
            _close_quietly(connection)
            raise
        self._connection, self._channel, self._reply_queue = connection, channel, queue

    def _publish(self, service: str, method: str, correlation_id: str, payload: dict) -> None:
        if self._connection is None:
            try:
                self._connect()
            except _CONNECTION_ERRORS as exc:
                raise BrokerUnavailable(f"cannot reach the broker at {_safe(self.uri)}: {exc}") from None
        headers = {f"nameko.{key}": value for key, value in self.context_data.items() if value is not None}
        headers["nameko.call_id_stack"] = [f"guanyinli_client.{method}.{correlation_id}"]
        message = amqp.Message(
            json.dumps(payload),
            content_type=CONTENT_TYPE,
            content_encoding="utf-8",
            delivery_mode=NON_PERSISTENT,
            reply_to=self._reply_queue,
            correlation_id=correlation_id,
            application_headers=headers,
        )
        try:
            self._channel.basic_publish(
                message, exchange=self.exchange, routing_key=f"{service}.{method}", mandatory=True
            )
        except _CONNECTION_ERRORS as exc:
            self._drop()
            raise BrokerUnavailable(f"{service}.{method}: connection lost while sending: {exc}") from None

    def _wait(self, service: str, correlation_id: str) -> dict:
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        while correlation_id not in self._replies:
            if correlation_id in self._returned:  # no queue took the request
                self._returned.discard(correlation_id)
                raise UnknownService(service)
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                self._drop()  # a reply arriving later must not be read as the answer to another call
                raise RpcTimeout(self.timeout)
            try:
                self._connection.drain_events(timeout=remaining)
            except TimeoutError:
                continue
            except _CONNECTION_ERRORS as exc:
                self._drop()
                raise BrokerUnavailable(f"connection lost while waiting for the reply: {exc}") from None
        return self._replies.pop(correlation_id)

    def _on_reply(self, message: amqp.Message) -> None:
        self._replies[message.properties.get("correlation_id")] = json.loads(message.body)

    def _on_return(self, exc, exchange, routing_key, message) -> None:
        self._returned.add(message.properties.get("correlation_id"))

    def _drop(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        self._replies.clear()
        self._returned.clear()
        if connection is not None:
            _close_quietly(connection)

    def close(self) -> None:
        if self._connection is not None:
            connection, self._connection, self._channel = self._connection, None, None
            try:
                connection.close()
            except _CONNECTION_ERRORS:
                _close_quietly(connection)


class ServiceClient:
    """``client.<service>``: attribute access gives the service's methods."""

    def __init__(self, client: Client, service: str):
        self._client = client
        self._service = service

    def __getattr__(self, method: str):
        if method.startswith("_"):
            raise AttributeError(method)

        def call(*args, **kwargs):
            return self._client.call(self._service, method, *args, **kwargs)

        call.__name__ = method
        call.__qualname__ = f"{self._service}.{method}"
        return call

    def __repr__(self) -> str:
        return f"<guanyinli client for {self._service}>"


def _close_quietly(connection: amqp.Connection) -> None:
    try:
        connection.collect()
    except Exception:  # noqa: BLE001 - the connection is being thrown away
        pass


def _safe(uri: str) -> str:
    parsed = urlparse(uri)
    return f"{parsed.hostname or '127.0.0.1'}:{parsed.port or 5672}{parsed.path or '/'}"
