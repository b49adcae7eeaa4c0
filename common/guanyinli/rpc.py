"""An ``@rpc`` entrypoint that knows the request it serves, so a redelivered request can be recognised.

A request whose worker died before answering (a killed process, a lost channel) is delivered
again with the same AMQP correlation id. ``rpc_request`` passes that id to the worker as context
data key ``rpc_correlation_id``; a method that creates something keys it on the id and, on the
redelivery, continues with what the first attempt left instead of creating a second one.
"""

from __future__ import annotations

from nameko.rpc import Rpc

CORRELATION_KEY = "rpc_correlation_id"


class RequestRpc(Rpc):
    def unpack_message_headers(self, message):
        context_data = super().unpack_message_headers(message)
        context_data[CORRELATION_KEY] = message.properties.get("correlation_id")
        return context_data


rpc_request = RequestRpc.decorator
