"""Hypothesis strategies for bad RPC input, derived from each method's `@contract` request schema.

A request starts from plausible values for every field (so that the one thing wrong with it is
what the service has to notice), then gets one to three mutations: a field of the wrong type, a
value out of range, a required field left out, an unknown field added, text with NUL bytes or of
absurd length, or positional arguments instead of keywords.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass

from hypothesis import strategies as st
from marshmallow import Schema, fields, validate
from nameko.exceptions import BadRequest, RemoteError

from guanyinli.errors import InternalError, PlatformError

SERVICES = ("volunteers", "activities", "notifications", "organiser", "appeals")
IMPORT_ERRORS: dict[str, str] = {}


@dataclass
class Method:
    service: str
    name: str
    request: type[Schema] | None
    params: list[str]
    has_contract: bool = True

    @property
    def id(self) -> str:
        return f"{self.service}.{self.name}"


def service_class(service: str):
    module = importlib.import_module(f"{service}.service")
    for _, obj in inspect.getmembers(module, inspect.isclass):
        if getattr(obj, "name", None) == service and obj.__module__ == module.__name__:
            return obj
    raise LookupError(f"no nameko service class named {service!r} in {module.__name__}")


def is_rpc(fn) -> bool:
    from nameko.rpc import Rpc

    return any(isinstance(e, Rpc) for e in getattr(fn, "nameko_entrypoints", ()))


def discover(services=SERVICES) -> list[Method]:
    """Every @rpc method of every service, with its contract's request schema when it has one."""
    methods = []
    for service in services:
        try:
            cls = service_class(service)
        except Exception as exc:  # reported by test_methods_were_discovered, not a collection error
            IMPORT_ERRORS[service] = f"{type(exc).__name__}: {exc}"
            continue
        for name, fn in inspect.getmembers(cls, callable):
            if not is_rpc(fn):
                continue
            contract = getattr(fn, "__contract__", None)
            params = [p for p in inspect.signature(inspect.unwrap(fn)).parameters if p != "self"]
            methods.append(Method(service, name, getattr(contract, "request", None), params, contract is not None))
    return methods


def register_typed_errors() -> None:
    """Importing each service's exceptions registers its typed errors for deserialisation."""
    for service in SERVICES:
        try:
            importlib.import_module(f"{service}.exceptions")
        except ImportError:
            pass


def classify(exc: BaseException) -> str:
    """'typed' (a registered platform or nameko request error), 'internal', or 'untyped'."""
    if isinstance(exc, InternalError):
        return "internal"
    if isinstance(exc, (PlatformError, BadRequest)):
        return "typed"
    if isinstance(exc, RemoteError):
        return "untyped"
    return "client"  # timeouts and connection errors: the call got no answer


# --- values --------------------------------------------------------------------------------

JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)
NASTY_TEXT = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "张三\x00",
        "x" * 100_000,
        "'; DROP TABLE volunteers; --",
        "\U0001f600" * 50,
        "../../etc/passwd",
        "<script>alert(1)</script>",
        "1e309",
        "NaN",
        "null",
    ]
)
NASTY_NUMBERS = st.sampled_from([0, -1, -(2**31), 2**31, 2**63, 2**64 + 1, 10**30, 1.5, float("inf"), float("nan")])
NASTY_DATES = st.sampled_from(
    [
        "",
        "not a date",
        "2026-02-30T10:00:00+08:00",
        "2026-13-01",
        "0000-01-01T00:00:00",
        "9999-12-31T23:59:59+14:00",
        "2026-12-05T25:61:00",
        "2026-12-05T09:00:00+99:00",
        "1970-01-01T00:00:00Z",
        1733360400,
    ]
)


def _validators(field: fields.Field) -> list:
    validators = list(getattr(field, "validators", []) or [])
    validator = getattr(field, "validate", None)
    if callable(validator) and validator not in validators:
        validators.append(validator)
    return validators


def valid_value(field: fields.Field, depth: int = 0):
    """A plausible valid value for a field (not guaranteed: validators may be opaque)."""
    for v in _validators(field):
        if isinstance(v, validate.OneOf):
            return st.sampled_from(list(v.choices))
    rng = next((v for v in _validators(field) if isinstance(v, validate.Range)), None)
    if isinstance(field, fields.Boolean):
        return st.booleans()
    if isinstance(field, fields.Integer):
        lo = rng.min if rng is not None and rng.min is not None else 1
        hi = rng.max if rng is not None and rng.max is not None else lo + 5
        return st.integers(min_value=lo, max_value=min(hi, lo + 5))
    if isinstance(field, fields.Number):
        return st.floats(min_value=0.5, max_value=8, allow_nan=False)
    if isinstance(field, fields.Email):
        return st.sampled_from(["li.ming@example.org", "wang.fang@example.com"])
    if type(field).__name__ == "Phone":
        return st.sampled_from(["13800138000", "025-84451234"])
    if isinstance(field, (fields.DateTime, fields.AwareDateTime, fields.NaiveDateTime)):
        return st.sampled_from(["2026-12-05T09:00:00+08:00", "2026-12-06T14:30:00+08:00", "2026-12-12T19:00:00+08:00"])
    if isinstance(field, fields.Date):
        return st.sampled_from(["2026-12-05", "2026-12-12"])
    if isinstance(field, fields.Time):
        return st.sampled_from(["09:00", "19:30:00"])
    if isinstance(field, fields.UUID):
        return st.uuids().map(str)
    if isinstance(field, fields.Url):
        return st.just("http://127.0.0.1:9/hook")
    if isinstance(field, fields.String):
        return st.sampled_from(["张三", "观音里社区", "first_aid", "Patrol"])
    if isinstance(field, fields.List):
        if depth > 2:
            return st.just([])
        return st.lists(valid_value(field.inner, depth + 1), max_size=2)
    if isinstance(field, fields.Nested):
        if depth > 2:
            return st.just({})
        schema = field.schema
        return valid_dict(type(schema) if isinstance(schema, Schema) else schema, depth + 1)
    if isinstance(field, fields.Dict):
        return st.just({})
    return st.just("x")


def invalid_value(field: fields.Field):
    """Something that field should refuse (or at least survive)."""
    options = [JUNK]
    if isinstance(field, fields.Integer):
        options += [NASTY_NUMBERS, st.text(min_size=1, max_size=5), st.just("1"), st.just(True)]
    elif isinstance(field, fields.Number):
        options += [NASTY_NUMBERS, st.just("abc")]
    elif isinstance(field, (fields.DateTime, fields.Date, fields.Time)):
        options += [NASTY_DATES]
    elif isinstance(field, fields.String):
        options += [NASTY_TEXT, st.integers(), st.lists(st.text(max_size=3), max_size=2)]
    elif isinstance(field, fields.List):
        options += [st.just("not a list"), st.lists(JUNK, min_size=1, max_size=3), st.just([None])]
    elif isinstance(field, fields.Nested):
        options += [st.just([]), st.just("x"), st.dictionaries(st.text(max_size=5), JUNK, max_size=3)]
    return st.one_of(options)


def valid_dict(schema_cls, depth: int = 0):
    schema = schema_cls() if isinstance(schema_cls, type) else schema_cls
    loadable = {name: f for name, f in schema.fields.items() if not f.dump_only}
    if not loadable:
        return st.just({})
    return st.fixed_dictionaries(
        {(f.data_key or name): valid_value(f, depth) for name, f in loadable.items() if f.required},
        optional={(f.data_key or name): valid_value(f, depth) for name, f in loadable.items() if not f.required},
    )


@st.composite
def bad_request(draw, method: Method):
    """(args, kwargs) for one call of `method` that is wrong in one to three ways."""
    if method.request is None:
        kwargs = {p: draw(JUNK) for p in method.params}
        return (), kwargs
    schema = method.request()
    loadable = {(f.data_key or n): f for n, f in schema.fields.items() if not f.dump_only}
    kwargs = dict(draw(valid_dict(method.request)))
    kinds = ["wrong", "unknown", "positional"]
    if any(f.required for f in loadable.values()):
        kinds.append("missing")
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        kind = draw(st.sampled_from(kinds if loadable else ["unknown", "positional"]))
        if kind == "wrong":
            name = draw(st.sampled_from(sorted(loadable)))
            wrong = invalid_value(loadable[name])
            if not loadable[name].required:
                # An optional argument given as None is an argument not given (guanyinli.schemas.contract):
                # not wrong, and it may make the whole request a valid one.
                wrong = wrong.filter(lambda value: value is not None)
            kwargs[name] = draw(wrong)
        elif kind == "missing":
            name = draw(st.sampled_from(sorted(n for n, f in loadable.items() if f.required)))
            kwargs.pop(name, None)
        elif kind == "unknown":
            kwargs[draw(st.sampled_from(["admin", "is_superuser", "__class__", "id ", "volunteer_id2"]))] = draw(JUNK)
        elif kind == "positional":
            return tuple(draw(st.lists(JUNK, min_size=1, max_size=len(loadable) + 2))), {}
    return (), kwargs
