"""Errors every service raises over RPC, registered so that callers get the same typed exception.

A caller that imports this module (or a service's own ``exceptions`` module) receives these
classes from ``ClusterRpcProxy`` calls instead of a bare ``RemoteError``.
"""

from __future__ import annotations

from nameko.exceptions import deserialize_to_instance as remote_error


class PlatformError(Exception):
    """Base of all typed errors of the platform. ``str(error)`` is the message for people."""


@remote_error
class InvalidInput(PlatformError):
    """The request does not match its schema: the message names each field and what is wrong."""


@remote_error
class NotFound(PlatformError):
    """An id that does not exist (or that the caller may not know of)."""


@remote_error
class Conflict(PlatformError):
    """The request is well formed but contradicts the current state (a clash, a second leader)."""


@remote_error
class Forbidden(PlatformError):
    """The caller's identity in the context data does not allow this."""


@remote_error
class Unavailable(PlatformError):
    """A dependency (another service, the database) did not answer in time; try again."""


@remote_error
class InternalError(PlatformError):
    """An unexpected fault; it was logged with its traceback on the service side."""


def format_validation(messages) -> str:
    """Flatten marshmallow's nested messages into 'field: message; other.field: message'."""
    parts: list[str] = []

    def walk(prefix: str, value) -> None:
        if isinstance(value, dict):
            for key, sub in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), sub)
        elif isinstance(value, (list, tuple)):
            if all(isinstance(v, str) for v in value):
                parts.append(f"{prefix or 'input'}: {' '.join(value)}")
            else:
                for sub in value:
                    walk(prefix, sub)
        else:
            parts.append(f"{prefix or 'input'}: {value}")

    walk("", messages)
    return "; ".join(parts)
