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
from nameko.rpc import Rpc, RpcProxy  # noqa: F401 - RpcProxy: services import it from here, with the patch below

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
            except (OSError, ConnectionError, AMQPConnectionError) as exc:
                log.warning("%s on a lost connection skipped (the broker delivers the message again): %s", _name, exc)

        setattr(QueueConsumer, name, sturdy)
    QueueConsumer._guanyinli_sturdy = True


_install_sturdy_acks()
