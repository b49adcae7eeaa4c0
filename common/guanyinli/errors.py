"""Errors every service raises over RPC, registered so that callers get the same typed exception.

A caller that imports this module (or a service's own ``exceptions`` module) receives these
classes from ``ClusterRpcProxy`` calls instead of a bare ``RemoteError``.
"""

from __future__ import annotations

from nameko.exceptions import deserialize_to_instance as remote_error


class PlatformError(Exception):
    """Base of all typed errors of the platform. ``str(error)`` is the message for people;
    ``message_zh`` the same in Chinese where the service gives one (None otherwise). Both travel as the
    exception's arguments, so a caller gets them back over RPC."""

    def __init__(self, message: str = "", message_zh: str | None = None):
        super().__init__(*((message,) if message_zh is None else (message, message_zh)))

    @property
    def message_zh(self) -> str | None:
        return self.args[1] if len(self.args) > 1 else None

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


@remote_error
class InvalidInput(PlatformError):
    """The request does not match its schema: the message names each field and what is wrong."""


@remote_error
class NotFound(PlatformError):
    """An id that does not exist (or that the caller may not know of)."""


@remote_error
class CommunityNotFound(NotFound):
    """A community this installation does not serve, or one whose storage is not made yet
    (``guanyinli.tenancy``)."""


@remote_error
class Conflict(PlatformError):
    """The request is well formed but contradicts the current state (a clash, a second leader)."""


@remote_error
class RequestRepeated(Conflict):
    """A request carried out already whose answer was not kept (see ``guanyinli.once`` and
    ``guanyinli.keys``): nothing more was done. A redelivered request or a repeated key normally
    gets the first answer again; this is the rare case where it was too large to keep, or the first
    request is still under way."""


@remote_error
class KeyReused(Conflict):
    """An idempotency key (``request_id``) the caller already used for a request with other
    arguments (see ``guanyinli.keys``): nothing was done, and nothing of the earlier request is told."""


@remote_error
class Forbidden(PlatformError):
    """The caller's identity in the context data does not allow this."""


@remote_error
class Unavailable(PlatformError):
    """A dependency (another service, the database) did not answer in time; try again."""


@remote_error
class InternalError(PlatformError):
    """An unexpected fault; it was logged with its traceback on the service side."""


def number_ranges(numbers) -> str:
    """[1, 2, 3, 5, 7, 8] -> "1-3,5,7-8"."""
    runs: list[list[int]] = []
    for n in sorted(set(numbers)):
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


def no_grid(wanted, known) -> str:
    """What is wrong with grid ids the community does not have, naming those it has (the volunteers
    service's ``list_grids``): "no grid 17; the grids are 1-16"."""
    missing = sorted(set(wanted))
    return (
        f"no grid{'s' if len(missing) > 1 else ''} {', '.join(map(str, missing))}; the grids are {number_ranges(known)}"
    )


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


def _install_base_fallback() -> None:
    """Let a caller that knows only these base classes still get a typed error.

    nameko turns a remote exception back into its class only when the caller has imported the
    module that registered it (``VolunteerNotFound`` lives in ``volunteers.exceptions``). The
    reply therefore also lists the exception's base classes, and a caller that does not know the
    exact class gets the nearest registered base (``NotFound``) with the same message.
    """
    import nameko.rpc
    from nameko import exceptions as nameko_exceptions

    if getattr(nameko.rpc, "_guanyinli_bases", False):
        return
    serialize, deserialize = nameko_exceptions.serialize, nameko_exceptions.deserialize

    def serialize_with_bases(exc):
        data = serialize(exc)
        data["exc_bases"] = [
            nameko_exceptions.get_module_path(cls) for cls in type(exc).__mro__[1:] if issubclass(cls, BaseException)
        ]
        return data

    def deserialize_with_bases(data):
        if data.get("exc_path") not in nameko_exceptions.registry:
            for base in data.get("exc_bases") or ():
                if base in nameko_exceptions.registry and base != "builtins.Exception":
                    return nameko_exceptions.registry[base](*data.get("exc_args", ()))
        return deserialize(data)

    nameko.rpc.serialize = serialize_with_bases
    nameko.rpc.deserialize = deserialize_with_bases
    nameko.rpc._guanyinli_bases = True


_install_base_fallback()


def no_team(wanted: str, teams) -> tuple[str, str]:
    """What is wrong with a team code the community does not have, naming the teams it has (the
    volunteers service's ``list_teams``: dicts with code, name_zh), in English and in Chinese."""
    codes = ", ".join(t["code"] for t in teams)
    names = "、".join(f"{t.get('name_zh') or t['code']}（{t['code']}）" for t in teams)
    return f"no team {wanted!r}; the teams are {codes}", f"没有队伍「{wanted}」；社区的队伍是{names}"
