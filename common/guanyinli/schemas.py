"""Marshmallow building blocks for the wire contract, and the ``contract`` decorator for RPC methods.

Every RPC argument list is loaded through a schema before the method runs, and every result is
dumped through one, so datetimes cross the wire as ISO 8601 strings with offset and bad input
becomes ``InvalidInput`` naming the field.
"""

from __future__ import annotations

import functools
import inspect
import logging
import re
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import datetime
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from guanyinli import keys
from guanyinli.errors import (
    Forbidden,
    InternalError,
    InvalidInput,
    KeyReused,
    PlatformError,
    format_validation,
)
from guanyinli.identity import Access, Identity
from guanyinli.timeutil import TZ, local

log = logging.getLogger(__name__)

PHONE_RE = re.compile(r"^(\+?86[- ]?)?1[3-9]\d{9}$|^0\d{2,3}-?\d{7,8}$")


class StrictSchema(Schema):
    """Unknown fields are an error, not silently dropped."""

    class Meta:
        unknown = RAISE


class LocalDateTime(fields.AwareDateTime):
    """ISO 8601 with offset on the wire; naive input means Asia/Shanghai; dumped in Asia/Shanghai."""

    def __init__(self, **kwargs):
        super().__init__(format="iso", default_timezone=TZ, **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        if isinstance(value, str):  # already ISO 8601 (documents stored as JSON)
            value = datetime.fromisoformat(value)
        if isinstance(value, datetime):
            value = local(value)
        return super()._serialize(value, attr, obj, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, datetime):
            return local(value)
        return local(super()._deserialize(value, attr, data, **kwargs))


class Phone(fields.String):
    """A mainland mobile number (optionally +86) or a landline with area code."""

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        cleaned = value.replace(" ", "").strip()
        if not PHONE_RE.match(cleaned):
            raise ValidationError(f"not a phone number: {value!r}")
        return cleaned


Id = functools.partial(fields.Integer, strict=True, validate=validate.Range(min=1))
Text = functools.partial(fields.String, validate=validate.Length(min=1, max=200))
# A team's code: the teams are each community's (the volunteers service's ``list_teams``), so a schema
# checks only the form; the service checks the code against the community's teams.
TEAM_CODE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
TeamCode = functools.partial(
    fields.String,
    validate=validate.Regexp(TEAM_CODE, error="a team's code: lowercase letters, digits and _"),
    metadata={"description": "a team of the community (volunteers list_teams), e.g. voluntary_patrol"},
)


def RequestId(**kwargs) -> fields.String:  # noqa: N802 - a field, named as the others
    """The caller's idempotency key of a method that creates something (``contract(key=...)``)."""
    return fields.String(
        validate=validate.Length(min=1, max=100),
        allow_none=True,
        metadata={
            "description": "the caller's idempotency key: the same request_id with the same arguments returns the"
            " first answer, with other arguments KeyReused; keys are the caller's own (guanyinli.keys)"
        },
        **kwargs,
    )


class Page(StrictSchema):
    limit = fields.Integer(strict=True, load_default=50, validate=validate.Range(min=1, max=500))
    offset = fields.Integer(strict=True, load_default=0, validate=validate.Range(min=0))


@dataclass
class Contract:
    """What the contract document says of one RPC method."""

    name: str
    doc: str
    request: type[Schema] | None
    response: Schema | None
    errors: tuple = ()
    emits: tuple = dc_field(default_factory=tuple)
    access: Access | None = None
    key: str | None = None


def load(schema: Schema | type[Schema], data: Any, **kwargs) -> Any:
    """Load through a schema, turning validation errors into ``InvalidInput``."""
    instance = schema() if isinstance(schema, type) else schema
    try:
        return instance.load(data, **kwargs)
    except ValidationError as exc:
        raise InvalidInput(format_validation(exc.messages)) from None


def contract(
    request: type[Schema] | None = None,
    response: Schema | None = None,
    errors: tuple = (),
    emits: tuple = (),
    access: Access | None = None,
    key: str | None = None,
    omit: tuple[str, ...] = (),
    rerun: bool = False,
    keep_answer: bool = True,
):
    """Decorate a service method below ``@rpc``: check the caller, validate arguments, dump the result.

    ``access`` (``guanyinli.identity``) says who may call: a caller (``self.caller``, the
    verified identity) without one of its roles is refused with ``Forbidden`` before anything
    else runs. Every RPC method declares it; what narrows it further (own records, own grid) is
    the method's own check, named in ``access.scope``.

    The request schema's fields are the method's parameter names. The method receives the loaded
    values as keyword arguments (missing optional ones take the schema's ``load_default``).
    Unexpected exceptions become ``InternalError`` with the traceback logged on the service
    side, so a caller never sees a bare ``RemoteError``.

    ``key`` names the argument that is the caller's idempotency key (``request_id``): the same key
    and the same arguments get the first answer, other arguments ``KeyReused``, per caller
    (``guanyinli.keys``; ``omit``: secret arguments left out of the fingerprint; ``rerun``: a
    repeat whose first answer was not kept runs again, for a method whose repeat finds what its
    first run made). The answer of a
    request that wrote something is kept for a redelivery of it (``guanyinli.once``) and for a
    repeat of its key, unless ``keep_answer`` is False (an answer that holds secrets: tokens).
    Both need the service's ``db`` (``guanyinli.db.Database``).
    """

    # One schema instance per method: building a marshmallow schema costs more than loading with it.
    request_schema = request() if isinstance(request, type) else request

    def decorate(fn):
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def wrapper(self, *args, **kwargs):
            if access is not None:
                caller = getattr(self, "caller", None) or Identity()
                if not access.allows(caller):
                    raise Forbidden(access.refusal(caller))
            try:
                bound = signature.bind(self, *args, **kwargs)
            except TypeError as exc:
                raise InvalidInput(f"{fn.__name__}: {exc}") from None
            arguments = dict(bound.arguments)
            arguments.pop("self", None)
            # A None the caller passes for an optional argument means "not given".
            arguments = {
                k: v for k, v in arguments.items() if not (v is None and signature.parameters[k].default is None)
            }
            if request is not None:
                arguments = load(request_schema, arguments)
            db = _database(self)
            claim = None
            if key is not None and db is not None:
                claim = keys.claim_for(caller_scope(self), fn.__name__, key, arguments, omit)
                if claim is not None:
                    done, answer = db.settle_key(claim, rerun)
                    if done:
                        return answer
            try:
                try:
                    result = fn(self, **arguments)
                except keys.KeyTaken:
                    # Another request with this key committed first: its answer, or a refusal; a
                    # ``rerun`` method runs once more and finds what that request made.
                    done, answer = db.settle_key(claim, rerun)
                    if done:
                        return answer
                    if not rerun:
                        raise
                    result = fn(self, **arguments)
                dumped = result if response is None else response.dump(result)
            except PlatformError:
                # A redelivery fails on its first write (RequestRepeated), or is refused earlier by
                # what its first delivery did (PhoneTaken): either way the first answer is the
                # answer, waited for while the first delivery still runs (guanyinli.once).
                done, answer = db.redelivered_answer(wait=keep_answer) if db is not None else (False, None)
                if done:
                    return answer
                if db is not None:
                    db.keep_no_answer()  # failed after its first commit: its redeliveries wait no more
                raise
            except Exception as exc:
                log.exception("unexpected error in %s", fn.__name__)
                if db is not None:
                    db.keep_no_answer()
                raise InternalError(f"{fn.__name__} failed: {type(exc).__name__}") from None
            if db is not None and keep_answer:
                db.keep_answer(dumped)
            return dumped

        wrapper.__contract__ = Contract(
            name=fn.__name__,
            doc=inspect.cleandoc(fn.__doc__ or ""),
            request=request,
            response=response,
            errors=_declared(errors, access, key),
            emits=emits,
            access=access,
            key=key,
        )
        return wrapper

    return decorate


def _declared(errors: tuple, access: Access | None, key: str | None) -> tuple:
    """The method's errors, with those the decorator itself raises (Forbidden; KeyReused for a key)."""
    own = ((Forbidden,) if access is not None else ()) + ((KeyReused,) if key is not None else ())
    return (*errors, *(e for e in own if e not in errors))


def caller_scope(service) -> str:
    caller = getattr(service, "caller", None)
    return caller.scope if isinstance(caller, Identity) else Identity().scope


def _database(service):
    """The worker's ``DatabaseHandle`` (``db``), or None (a unit test's stand-in, a service without one)."""
    from guanyinli.db import DatabaseHandle  # here: the database module is not needed to read schemas

    handle = getattr(service, "db", None)
    return handle if isinstance(handle, DatabaseHandle) else None
