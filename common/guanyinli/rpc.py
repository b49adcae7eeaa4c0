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

from nameko.rpc import Rpc

from guanyinli.errors import PlatformError

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
