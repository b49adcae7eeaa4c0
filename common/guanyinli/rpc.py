"""The platform's ``@rpc`` entrypoints.

* ``rpc``: nameko's, with every ``PlatformError`` declared expected: a typed answer to bad input
  is part of the contract, so the service logs it as one line, not as a fault with a traceback
  (see ``guanyinli.logs``).
* ``rpc_request``: the same, and it knows the request it serves. A request whose worker died
  before answering (a killed process, a lost channel) is delivered again with the same AMQP
  correlation id; ``rpc_request`` passes that id to the worker as context data key
  ``rpc_correlation_id``, so a method that creates something can key it on the id and, on the
  redelivery, continue with what the first attempt left instead of creating a second one.
"""

from __future__ import annotations

import logging

from amqp.exceptions import ConnectionError as AMQPConnectionError
from nameko.rpc import ReplyListener, Rpc
from nameko.rpc import RpcProxy as NamekoRpcProxy

from guanyinli.errors import PlatformError

log = logging.getLogger(__name__)

CORRELATION_KEY = "rpc_correlation_id"


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


class SturdyReplyListener(ReplyListener):
    """nameko's reply listener, except that acknowledging a reply on a connection the broker has
    just dropped does not stop the whole service.

    The reply itself has arrived and is handed to the waiting worker; the acknowledgement only
    matters to a reply queue that went with the old connection. nameko's own listener lets the
    connection error escape from a managed thread, which kills the service container: one broker
    restart under load could take a replica down for good.
    """

    def handle_message(self, body, message):
        try:
            self.queue_consumer.ack_message(message)
        except (OSError, ConnectionError, AMQPConnectionError) as exc:
            log.warning("reply received on a lost connection, not acknowledged: %s", exc)
        correlation_id = message.properties.get("correlation_id")
        client_event = self._reply_events.pop(correlation_id, None)
        if client_event is not None:
            client_event.send(body)


class RpcProxy(NamekoRpcProxy):
    """nameko's ``RpcProxy`` with the ``SturdyReplyListener``."""

    rpc_reply_listener = SturdyReplyListener()
