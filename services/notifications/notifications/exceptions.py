"""Errors of the notifications service, registered so that RPC callers get the typed class back."""

from __future__ import annotations

from nameko.exceptions import deserialize_to_instance as remote_error

from guanyinli.errors import Conflict, InvalidInput, NotFound


@remote_error
class ChannelUnavailable(InvalidInput):
    """A volunteer chose a channel this deployment cannot deliver through (not configured)."""


__all__ = ["ChannelUnavailable", "Conflict", "InvalidInput", "NotFound"]
