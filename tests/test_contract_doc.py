"""docs/CONTRACT.md is what the schemas say: regenerate it with `make contract` after a change."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_contract_document_matches_the_schemas():
    spec = importlib.util.spec_from_file_location("gen_contract", ROOT / "scripts" / "gen_contract.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (ROOT / "docs" / "CONTRACT.md").read_text(encoding="utf-8") == module.render(), (
        "docs/CONTRACT.md is stale: run `make contract`"
    )


def _rpc_methods():
    import inspect

    from guanyinli.migrate import SERVICES

    spec = importlib.util.spec_from_file_location("gen_contract", ROOT / "scripts" / "gen_contract.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for service in SERVICES:
        cls = module.service_class(service)
        for name, method in inspect.getmembers(cls, inspect.isfunction):
            if getattr(method, "nameko_entrypoints", None) and any(
                type(e).__name__ in ("Rpc", "RequestRpc") for e in method.nameko_entrypoints
            ):
                yield cls, service, name, method


def test_every_rpc_method_says_who_may_call_it():
    undeclared = [
        f"{service}.{name}"
        for _, service, name, method in _rpc_methods()
        if getattr(getattr(method, "__contract__", None), "access", None) is None
    ]
    assert not undeclared, f"RPC methods without access=... in @contract: {undeclared}"


def test_every_service_reads_its_callers_identity():
    from guanyinli.identity import CallerIdentity

    classes = {service: cls for cls, service, _, _ in _rpc_methods()}
    assert set(classes) == {"volunteers", "activities", "notifications", "organiser", "appeals"}
    for service, cls in classes.items():
        assert isinstance(getattr(cls, "caller", None), CallerIdentity), f"{service} has no caller = CallerIdentity()"


# What a method that creates something must take: the caller's idempotency key (guanyinli.keys).
CREATING = {
    "volunteers": {"create_volunteer": "request_id", "add_ledger_entry": "source_key"},
    "activities": {
        "create_activity": "request_id",
        "sign_up": "request_id",
        "register_attendee": "request_id",
        "request_swap": "request_id",
        "cant_come": "request_id",
        "accept_standin": "request_id",
        "add_visited_person": "request_id",
        "register_pupil": "request_id",
    },
    "notifications": {"send_sign_in_code": "request_id", "send_resident_text": "request_id"},
    "organiser": {"create_account": "request_id"},
    "appeals": {
        "receive_appeal": "request_id",
        "receive_public_appeal": "request_id",
        "add_partner": "request_id",
        "add_offer": "request_id",
        "add_need": "request_id",
        "turn_match_into_activity": "request_id",
    },
}
# Facts of the record a keyed method made that it may hand back besides what it was sent.
OWN_FACTS = {"id", "status", "waitlist_position", "created_at"}


def test_every_method_that_creates_something_takes_a_key():
    keyed = {
        (service, name): method.__contract__.key
        for _, service, name, method in _rpc_methods()
        if getattr(method, "__contract__", None) is not None and method.__contract__.key
    }
    expected = {(service, name): key for service, methods in CREATING.items() for name, key in methods.items()}
    assert keyed == expected


def test_a_keyed_method_open_to_anonymous_callers_answers_only_what_it_was_sent():
    """Anonymous callers share one scope of keys: the same key and arguments get the first answer,
    so that answer must hold nothing but the arguments and facts of the record made."""
    from guanyinli.identity import Identity

    for _, service, name, method in _rpc_methods():
        c = getattr(method, "__contract__", None)
        if c is None or not c.key or not c.access.allows(Identity()):
            continue
        sent = set(c.request._declared_fields)
        answered = set(c.response.fields)
        assert answered <= sent | OWN_FACTS, f"{service}.{name} answers {answered - sent - OWN_FACTS}"
