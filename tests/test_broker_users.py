"""The broker accounts of guanyinli.broker_users against the real RabbitMQ: a service publishes only
its own events, nobody reads the RPC traffic of others, and every service runs under its own account."""

from __future__ import annotations

import socket
import time
from datetime import timedelta

import amqp
import eventlet
import kombu
import pytest
from amqp.exceptions import AccessRefused
from nameko.events import EventDispatcher
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR
from nameko.standalone.events import event_dispatcher

from guanyinli.broker_users import ROLES
from guanyinli.client import Client
from guanyinli.testing import signed
from tests.broker_testkit import refused

ORGANISER = signed({"roles": ["organiser"]})
SERVICES = ("volunteers", "activities", "notifications", "organiser")


def service_class(name: str) -> type:
    if name == "volunteers":
        from volunteers.service import VolunteersService as cls
    elif name == "activities":
        from activities.service import ActivitiesService as cls
    elif name == "notifications":
        from notifications.service import NotificationsService as cls
    else:
        from organiser.service import OrganiserService as cls
    return cls


def test_the_roles_match_what_each_service_emits_and_handles():
    """A service that gains an event dispatcher or a handler of another source needs its role updated."""
    roles = {r.name: r for r in ROLES}
    for name in SERVICES:
        cls = service_class(name)
        emits = any(isinstance(getattr(cls, attr, None), EventDispatcher) for attr in dir(cls))
        sources = {
            entrypoint.source_service
            for attr in dir(cls)
            for entrypoint in getattr(getattr(cls, attr, None), ENTRYPOINT_EXTENSIONS_ATTR, ())
            if hasattr(entrypoint, "source_service")
        }
        assert (roles[name].emits, set(roles[name].listens)) == (emits, sources), name
    assert not roles["tools"].emits and not roles["tools"].service


# --- against the broker ----------------------------------------------------------------------


@pytest.mark.integration
def test_a_forged_event_from_another_account_is_refused(rabbit_config, accounts):
    received = []
    with kombu.Connection(rabbit_config["AMQP_URI"]) as watcher:  # guest: sees what reaches the exchanges
        channel = watcher.channel()
        for source in ("activities", "volunteers"):
            kombu.Exchange(f"{source}.events", "topic", durable=True)(channel).declare()
        queue = kombu.Queue("watch", durable=False, auto_delete=True)(channel)
        queue.declare()
        queue.bind_to("activities.events", "#")
        queue.bind_to("volunteers.events", "#")

        event = {"event_id": "e1", "volunteer_id": 7}
        for role, uri in accounts.items():
            for source in ("activities", "volunteers"):
                dispatch = event_dispatcher({"AMQP_URI": uri})
                if role == source:
                    dispatch(source, "signup_confirmed", event)
                else:
                    with pytest.raises(AccessRefused, match="ACCESS_REFUSED"):
                        dispatch(source, "signup_confirmed", event)

        deadline = time.monotonic() + 10
        while len(received) < 2 and time.monotonic() < deadline:
            message = queue.get(no_ack=True)
            if message is None:
                time.sleep(0.05)
            else:
                received.append(message.delivery_info["exchange"])
    assert sorted(received) == ["activities.events", "volunteers.events"]  # the owners' two, nothing else


@pytest.mark.integration
def test_no_account_drops_a_message_into_another_queue_or_reads_all_rpc(accounts):
    handler_queue = "evt-activities-signup_confirmed--notifications.on_signup_confirmed"
    for role, uri in accounts.items():
        # the default exchange routes by queue name: nobody may publish to it
        assert refused(uri, lambda ch: ch.basic_publish(amqp.Message(b"{}"), "", handler_queue)), role
    volunteers = accounts["volunteers"]

    def bind(key):
        def act(channel):
            channel.exchange_declare("nameko-rpc", "topic", durable=True, auto_delete=False)
            channel.queue_declare("rpc-volunteers", durable=True, auto_delete=False)
            channel.queue_bind("rpc-volunteers", "nameko-rpc", key)

        return act

    assert not refused(volunteers, bind("volunteers.*"))  # what nameko binds
    assert refused(volunteers, bind("#"))  # every request and reply of the platform
    assert refused(volunteers, bind("activities.*"))  # another service's requests
    # nor routed there through a dead-letter or alternate exchange of its own
    dead_letters = {"x-dead-letter-exchange": "activities.events", "x-dead-letter-routing-key": "signup_confirmed"}
    own_queue = "evt-activities-signup_confirmed--volunteers.on_it"
    assert refused(volunteers, lambda ch: ch.queue_declare(own_queue, durable=True, arguments=dead_letters))
    alternate = {"alternate-exchange": "activities.events"}
    assert refused(volunteers, lambda ch: ch.exchange_declare("volunteers.events", "topic", arguments=alternate))
    # another service's queues: not even declared by another account
    assert refused(volunteers, lambda ch: ch.queue_declare("rpc-activities", durable=True, auto_delete=False))


def own_port(config: dict) -> dict:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return dict(config, WEB_SERVER_ADDRESS=f"127.0.0.1:{port}")


@pytest.mark.integration
def test_every_service_runs_under_its_own_account(container_factory, service_config, accounts):
    """Each service declares, consumes, calls others, answers and handles others' events with only
    its own account's rights; the organisers' tools call every service."""
    from guanyinli.timeutil import iso, now

    for name in SERVICES:
        config = dict(service_config, AMQP_URI=accounts[name], FEED_SECRET="broker-users-test-feed-secret")
        container = container_factory(service_class(name), own_port(config) if name == "activities" else config)
        # a refused declaration or binding makes nameko reconnect for ever: fail with the reason instead
        with eventlet.Timeout(60, AssertionError(f"{name} did not start under its own account (see the log)")):
            container.start()

    for name in SERVICES:
        with Client(accounts[name], timeout=30) as own:  # the compose healthcheck's call
            assert own[name].health()
    with Client(accounts["tools"], context_data=ORGANISER, timeout=30) as rpc:
        for name in SERVICES:
            assert rpc[name].health()
        # volunteers emits volunteer_created (notifications handles it); activities calls volunteers
        # over RPC for the sign-up and emits signup_confirmed (notifications handles it)
        volunteer = rpc.volunteers.create_volunteer(
            name="李梅", phone="13800000000", email="limei@example.com", teams=["convenient_service"]
        )
        start = now().replace(second=0, microsecond=0) + timedelta(days=2)
        window = {"kind": "extra", "start": iso(start - timedelta(hours=1)), "end": iso(start + timedelta(hours=3))}
        rpc.volunteers.set_availability(volunteer_id=volunteer["id"], dated=[window])
        activity = rpc.activities.create_activity(
            title="便民服务站值班", kind="convenience", room="服务站", start=iso(start), duration_minutes=120
        )
        occurrence = rpc.activities.list_occurrences(
            start=iso(start), end=iso(start + timedelta(minutes=120)), activity_id=activity["id"]
        )[0]
        signup = rpc.activities.sign_up(occurrence_id=occurrence["id"], volunteer_id=volunteer["id"])
        assert signup["status"] == "confirmed"

        deadline = time.monotonic() + 30
        notified = []
        while not notified and time.monotonic() < deadline:
            notified = rpc.notifications.list_notifications(volunteer_id=volunteer["id"])
            time.sleep(0.1)
        assert notified, "notifications handled no signup_confirmed event under its own account"

        with pytest.raises(AccessRefused):  # the tools publish no event
            event_dispatcher({"AMQP_URI": accounts["tools"]})("activities", "signup_confirmed", {"event_id": "x"})


@pytest.mark.integration
def test_the_tools_follow_roster_progress(accounts):
    """`guanyinli roster build` follows activities' roster_progress events under the tools' account."""
    from organiser.cli import progress_events

    with progress_events(accounts["tools"]) as received:
        event_dispatcher({"AMQP_URI": accounts["activities"]})("activities", "roster_progress", {"job_id": "j1"})
        deadline = time.monotonic() + 10
        while not received and time.monotonic() < deadline:
            time.sleep(0.05)
    assert received == [{"job_id": "j1"}]
