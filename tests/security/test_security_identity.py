"""Every RPC method of every service, called as every kind of caller: what its declared access
refuses is refused (``Forbidden``) before anything runs, whatever the arguments; and events not
signed by the service they name are dropped."""

from __future__ import annotations

import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nameko.standalone.events import event_dispatcher as plain_dispatcher
from nameko.testing.services import entrypoint_waiter

from guanyinli import identity
from guanyinli.errors import Forbidden
from guanyinli.events import make_payload
from guanyinli.identity import Identity, Issuer, load_signing_key, signing_key_path
from guanyinli.rpc import ServiceRpcProxy
from guanyinli.testing import event_dispatcher, signed

pytestmark = [pytest.mark.integration, pytest.mark.security]

SERVICES = ("volunteers", "activities", "notifications", "organiser", "appeals")


def _claims(roles, sub="account:mallory", iss="organiser", **extra) -> dict:
    now = int(time.time())
    return {
        "iss": iss,
        "sub": sub,
        "aud": identity.AUDIENCE,
        "roles": roles,
        "iat": now,
        "exp": now + 600,
        "jti": uuid.uuid4().hex,
        **extra,
    }


def forged_token() -> str:
    """An organiser token of the right shape, signed with a key nobody trusts."""
    return jwt.encode(_claims(["organiser"]), Ed25519PrivateKey.generate(), algorithm=identity.ALGORITHM)


def expired_token() -> str:
    issuer = Issuer.from_config("tools")
    issuer.clock = lambda: time.time() - 7200
    return issuer.issue("account:old", ["organiser"], seconds=600)


def wrong_issuer_token() -> str:
    """A service's own key claiming a person's organiser role (a service signs system for itself only)."""
    key = load_signing_key(signing_key_path("activities"))
    return jwt.encode(
        _claims(["organiser"], sub="account:mallory", iss="activities"), key, algorithm=identity.ALGORITHM
    )


def none_alg_token() -> str:
    return jwt.encode(_claims(["organiser"]), None, algorithm="none")


# (caller, context data, the identity the services must see)
CALLERS = {
    "anonymous": lambda: ({}, Identity()),
    "unsigned 'user' context": lambda: ({"user": {"roles": ["organiser", "system"], "volunteer_id": 1}}, Identity()),
    "forged signature": lambda: ({"identity": forged_token()}, Identity()),
    "expired token": lambda: ({"identity": expired_token()}, Identity()),
    "service key claiming organiser": lambda: ({"identity": wrong_issuer_token()}, Identity()),
    "alg none": lambda: ({"identity": none_alg_token()}, Identity()),
    "volunteer": lambda: (signed({"volunteer_id": 424242}), Identity("v", frozenset({"volunteer"}), 424242)),
    "viewer": lambda: (signed({"roles": ["viewer"]}), Identity("x", frozenset({"viewer"}))),
}


@pytest.fixture
def platform(container_factory, service_config):
    from activities.service import ActivitiesService
    from appeals.service import AppealsService
    from notifications.service import NotificationsService
    from organiser.service import OrganiserService
    from volunteers.service import VolunteersService

    started = {}
    for cls in (VolunteersService, ActivitiesService, NotificationsService, OrganiserService, AppealsService):
        started[cls.name] = container_factory(
            cls, {**service_config, "FEED_SECRET": "security-suite-feed-secret-0123456789"}
        )
        started[cls.name].start()
    service_config["containers"] = started
    return service_config


def declared_methods():
    import inspect

    from activities.service import ActivitiesService
    from appeals.service import AppealsService
    from notifications.service import NotificationsService
    from organiser.service import OrganiserService
    from volunteers.service import VolunteersService

    for cls in (VolunteersService, ActivitiesService, NotificationsService, OrganiserService, AppealsService):
        for name, method in inspect.getmembers(cls, inspect.isfunction):
            contract = getattr(method, "__contract__", None)
            if contract is not None:
                yield cls.name, name, contract.access


def test_every_method_refuses_the_callers_its_access_leaves_out(platform, attacks, db_backend):
    if db_backend != "sqlite":
        pytest.skip("access is checked before the database is touched: one backend is enough")
    methods = list(declared_methods())
    assert len(methods) > 60
    leaks = []
    for caller_name, make in CALLERS.items():
        context, seen_as = make()
        proxies = {s: ServiceRpcProxy(s, platform, context_data=context, timeout=30) for s in SERVICES}
        opened = {s: p.start() for s, p in proxies.items()}
        try:
            for service, method, access in methods:
                if access.allows(seen_as):
                    continue
                try:
                    getattr(opened[service], method)()
                    refused = False
                except Forbidden:
                    refused = True
                except Exception as exc:  # any other answer means the method ran past its gate
                    refused = False
                    exc_name = type(exc).__name__
                    leaks.append(f"{caller_name}: {service}.{method} -> {exc_name}: {exc}")
                else:
                    leaks.append(f"{caller_name}: {service}.{method} answered")
                attacks(f"rpc as {caller_name}", refused)
        finally:
            for p in proxies.values():
                p.stop()
    assert not leaks, "\n".join(leaks)


def test_organisers_and_services_get_past_every_gate(platform, attacks, db_backend):
    if db_backend != "sqlite":
        pytest.skip("one backend is enough")
    wrongly = []
    for caller_name, context in (
        ("organiser", signed({"roles": ["organiser"]})),
        ("system", signed({"roles": ["system"]})),
    ):
        with ServiceRpcProxy("volunteers", platform, context_data=context, timeout=30) as volunteers:
            for method in ("list_teams", "list_volunteers", "list_grids"):
                try:
                    getattr(volunteers, method)()
                except Forbidden as exc:
                    wrongly.append(f"{caller_name}: volunteers.{method}: {exc}")
    assert not wrongly


def test_a_volunteer_sees_no_one_elses_phone_and_changes_no_one_elses_record(platform, attacks, db_backend):
    organiser = signed({"roles": ["organiser"]})
    with ServiceRpcProxy("volunteers", platform, context_data=organiser, timeout=30) as rpc:
        a = rpc.create_volunteer(
            name="张三", phone="13800000001", email="a@example.com", teams=["voluntary_patrol"], grid_id=5
        )
        b = rpc.create_volunteer(
            name="李四", phone="13800000002", email="b@example.com", teams=["voluntary_patrol"], grid_id=6
        )
        leader = rpc.create_volunteer(name="王芳", phone="13800000003", teams=["voluntary_patrol"], grid_id=5)
        rpc.assign_grid_leader(5, leader["id"])
    as_a = signed({"volunteer_id": a["id"]})
    with ServiceRpcProxy("volunteers", platform, context_data=as_a, timeout=30) as rpc:
        assert rpc.get_volunteer(a["id"])["phone"] == "13800000001"
        other = rpc.get_volunteer(b["id"])
        attacks("another volunteer's phone and e-mail", other["phone"] is None and other["email"] is None)
        for attempt in (
            lambda: rpc.update_volunteer(volunteer_id=b["id"], email="evil@example.com"),
            lambda: rpc.update_volunteer(volunteer_id=a["id"], teams=["convenient_service"]),
            lambda: rpc.add_ledger_entry(volunteer_id=a["id"], hours=100, points=9999, reason="self"),
            lambda: rpc.list_volunteers(),
            lambda: rpc.set_availability(volunteer_id=b["id"], weekly=[]),
        ):
            try:
                attempt()
                refused = False
            except Forbidden:
                refused = True
            attacks("a volunteer writing beyond their own record", refused)
            assert refused
        assert rpc.update_volunteer(volunteer_id=a["id"], email="new@example.com")["email"] == "new@example.com"
    as_leader = signed({"volunteer_id": leader["id"]})
    with ServiceRpcProxy("volunteers", platform, context_data=as_leader, timeout=30) as rpc:
        seen = rpc.get_volunteer(a["id"])
        assert seen["phone"] == "13800000001", "the grid leader sees their grid's volunteers' phones"
        assert rpc.get_volunteer(b["id"])["phone"] is None
    as_grid_leader = signed({"volunteer_id": leader["id"], "roles": ["grid_leader", "volunteer"], "grid_ids": [5]})
    with ServiceRpcProxy("volunteers", platform, context_data=as_grid_leader, timeout=30) as rpc:
        page = rpc.list_volunteers()
        assert {v["grid_id"] for v in page["items"]} == {5}
        try:
            rpc.list_volunteers(grid_id=6)
            refused = False
        except Forbidden:
            refused = True
        attacks("a grid leader listing another grid", refused)
        assert refused
    assert other["phone"] is None and other["email"] is None


def test_events_not_signed_by_their_source_are_dropped(platform, attacks):
    with ServiceRpcProxy("volunteers", platform, context_data=signed({"roles": ["organiser"]}), timeout=30) as rpc:
        v = rpc.create_volunteer(name="赵六", phone="13800000009", teams=["voluntary_patrol"], grid_id=3)

        def payload(signup_id):
            return make_payload(
                "attendance_recorded",
                {
                    "occurrence_id": 10,
                    "activity_id": 3,
                    "title": "观音里夜间巡逻",
                    "kind": "patrol",
                    "start": "2026-03-07T19:00:00+08:00",
                    "end": "2026-03-07T21:00:00+08:00",
                    "place": "观音里1号院",
                    "signup_id": signup_id,
                    "volunteer_id": v["id"],
                    "team": "voluntary_patrol",
                    "role": "patroller",
                    "status": "attended",
                    "hours": 2.0,
                    "weekend": False,
                    "late_notice": False,
                },
            )

        forgeries = {
            "event with no token": {},
            "event signed by another service": {"nameko.identity": identity.service_token("notifications")},
            "event with a forged token": {"nameko.identity": forged_token()},
        }
        for n, headers in enumerate(forgeries.values(), start=1):
            plain_dispatcher(platform, headers=headers)("activities", "attendance_recorded", payload(9000 + n))
        # a genuine event after them, on the same queue: once it is handled, the forgeries were too
        with entrypoint_waiter(platform["containers"]["volunteers"], "on_attendance_recorded", timeout=20):
            event_dispatcher(platform)("activities", "attendance_recorded", payload(1))
        keys = {e["source_key"] for e in rpc.get_ledger(v["id"])["entries"]}
        for n, attack in enumerate(forgeries, start=1):
            refused = f"attendance:{9000 + n}" not in keys
            attacks(attack, refused)
            assert refused, attack
        assert "attendance:1" in keys


def test_a_revoked_identity_is_refused_everywhere_and_a_deactivated_account_can_no_longer_sign_in(platform, attacks):
    from guanyinli.identity import tools_token

    subject = f"account:mallory-{uuid.uuid4().hex[:8]}"
    stolen = {"identity": tools_token(["organiser"], subject=subject)}
    organiser = signed({"roles": ["organiser"], "name": "网格长 王芳"})
    containers = platform["containers"]
    with ServiceRpcProxy("volunteers", platform, context_data=stolen, timeout=30) as as_stolen:
        assert as_stolen.list_teams()
        with (
            ServiceRpcProxy("organiser", platform, context_data=organiser, timeout=30) as rpc,
            entrypoint_waiter(containers["volunteers"], "on_identity_revoked", timeout=20),
        ):
            rpc.revoke_identity(subject=subject, reason="token given away")
        for service in SERVICES:
            with ServiceRpcProxy(service, platform, context_data=stolen, timeout=30) as proxy:
                try:
                    proxy.list_teams() if service == "volunteers" else proxy.health()
                    refused = service != "volunteers"  # health answers anyone: only volunteers can tell
                except Forbidden:
                    refused = True
                attacks("a revoked token", refused)
                assert refused
    later = Issuer.from_config("tools")
    later.clock = lambda: time.time() + 5  # issued after the revocation
    with ServiceRpcProxy(
        "volunteers", platform, context_data={"identity": later.issue(subject, ["organiser"], seconds=600)}, timeout=30
    ) as fresh:
        assert fresh.list_teams(), "a token issued after the revocation counts"

    username = f"leaver{uuid.uuid4().hex[:6]}"
    with ServiceRpcProxy("organiser", platform, context_data=organiser, timeout=30) as rpc:
        rpc.create_account(username=username, password="a-long-password-1", display_name="离任", role="organiser")
    with ServiceRpcProxy("organiser", platform, timeout=30) as anonymous:
        login = anonymous.issue_token(username=username, password="a-long-password-1")
    with ServiceRpcProxy("volunteers", platform, context_data={"identity": login["token"]}, timeout=30) as as_leaver:
        assert as_leaver.list_teams()
        with (
            ServiceRpcProxy("organiser", platform, context_data=organiser, timeout=30) as rpc,
            entrypoint_waiter(containers["volunteers"], "on_identity_revoked", timeout=20),
        ):
            rpc.deactivate_account(username=username)
    with (
        ServiceRpcProxy("organiser", platform, timeout=30) as anonymous,
        ServiceRpcProxy("volunteers", platform, context_data={"identity": login["token"]}, timeout=30) as as_leaver,
    ):
        for attempt in (
            lambda: as_leaver.list_teams(),
            lambda: anonymous.issue_token(username=username, password="a-long-password-1"),
        ):
            try:
                attempt()
                refused = False
            except Forbidden:
                refused = True
            attacks("a deactivated account's token or sign-in", refused)
            assert refused


def test_idempotency_keys_reused_across_callers_never_answer_with_anothers_data(platform, attacks):
    from datetime import timedelta

    from guanyinli.errors import KeyReused
    from guanyinli.timeutil import iso, now

    organiser = signed({"roles": ["organiser"]})
    start = (now() + timedelta(days=3)).replace(hour=14, minute=0, second=0, microsecond=0)
    with ServiceRpcProxy("activities", platform, context_data=organiser, timeout=30) as rpc:
        talks = []
        for n, title in enumerate(("老年人防诈骗", "健康讲座")):
            at = start + timedelta(days=n)
            rpc.create_activity(
                title=title, kind="lecture", room="立德树人讲堂", capacity=30, start=iso(at), duration_minutes=90
            )
            talks.append(rpc.list_occurrences(start=iso(at - timedelta(hours=1)), end=iso(at + timedelta(hours=3)))[0])
    key = f"k-{uuid.uuid4().hex[:6]}"
    with ServiceRpcProxy("activities", platform, timeout=30) as resident:
        first = resident.register_attendee(
            occurrence_id=talks[0]["id"], name="李阿姨", phone="13912345678", request_id=key
        )
        try:
            answer = resident.register_attendee(
                occurrence_id=talks[1]["id"], name="张大爷", phone="13800000000", request_id=key
            )
            refused = "李阿姨" not in str(answer) and "13912345678" not in str(answer)
        except KeyReused as exc:
            refused = "李阿姨" not in str(exc.args) and "13912345678" not in str(exc.args)
        attacks("a key reused by another resident", refused)
        assert refused
    for n, volunteer in enumerate((signed({"volunteer_id": 801}), signed({"volunteer_id": 802}))):
        with ServiceRpcProxy("activities", platform, context_data=volunteer, timeout=30) as caller:
            got = caller.register_attendee(occurrence_id=talks[1]["id"], name=f"志愿者{n}", request_id=key)
            refused = got["name"] == f"志愿者{n}" and got["id"] != first["id"]
            attacks("another caller's key answered with their data", refused)
            assert refused
