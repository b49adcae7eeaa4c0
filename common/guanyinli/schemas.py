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

from guanyinli.errors import Forbidden, InternalError, InvalidInput, PlatformError, format_validation
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
            try:
                result = fn(self, **arguments)
                return result if response is None else response.dump(result)
            except PlatformError:
                raise
            except Exception as exc:
                log.exception("unexpected error in %s", fn.__name__)
                raise InternalError(f"{fn.__name__} failed: {type(exc).__name__}") from None

        wrapper.__contract__ = Contract(
            name=fn.__name__,
            doc=inspect.cleandoc(fn.__doc__ or ""),
            request=request,
            response=response,
            errors=(*errors, Forbidden) if access is not None and Forbidden not in errors else errors,
            emits=emits,
            access=access,
        )
        return wrapper

    return decorate
