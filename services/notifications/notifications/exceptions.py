"""Errors of the notifications service, registered so that RPC callers get the typed class back."""

from __future__ import annotations

from nameko.exceptions import deserialize_to_instance as remote_error

from guanyinli.errors import Conflict, InvalidInput, NotFound, Unavailable


@remote_error
class ChannelUnavailable(InvalidInput):
    """A volunteer chose a channel this deployment cannot deliver through (not configured)."""


@remote_error
class SmsUnavailable(Unavailable):
    """A text message could not be sent now (the SMS provider failed, or SMS is off here): try
    again later."""


__all__ = ["ChannelUnavailable", "Conflict", "InvalidInput", "NotFound", "SmsUnavailable"]
