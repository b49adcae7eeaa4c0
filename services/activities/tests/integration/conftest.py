"""Fixtures of the activities integration tests: the service, a volunteers stand-in, events, callers."""

from __future__ import annotations

import contextlib
import time

import pytest
import standin_volunteers
from activities.service import ActivitiesService
from activities_testkit import ORGANISER
from guanyinli.events import EVENTS
from nameko.events import event_handler
from nameko.standalone.rpc import ServiceRpcProxy

RECEIVED: list[tuple[str, dict]] = []


def _handler(event_type):
    def handle(self, payload):
        RECEIVED.append((event_type, payload))

    handle.__name__ = f"on_{event_type}"
    return event_handler("activities", event_type)(handle)


EventRecorder = type(
    "EventRecorder",
    (),
    {"name": "activities_event_recorder", **{f"on_{t}": _handler(t) for t in EVENTS["activities"]}},
)


class Events:
    def of(self, event_type: str) -> list[dict]:
        return [p for t, p in RECEIVED if t == event_type]

    def wait(self, event_type: str, count: int = 1, timeout: float = 10.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.of(event_type)
            if len(found) >= count:
                return found
            time.sleep(0.02)
        raise AssertionError(f"expected {count} {event_type} events, got {self.of(event_type)}")


@pytest.fixture
def events():
    RECEIVED.clear()
    return Events()


@pytest.fixture
def db_urls(test_databases, db_backend) -> dict[str, str]:
    """Only the activities database: the volunteers side is the stand-in, which has none.

    (Overrides the shared fixture so another service's migration in progress cannot break these tests.)
    """
    url = test_databases.url(db_backend, "activities")
    test_databases.empty(db_backend, "activities")
    return {"activities": url}


@pytest.fixture
def services(container_factory, service_config, events):
    """The activities service, the volunteers stand-in and an event recorder, all running."""
    standin_volunteers.reset()
    config = dict(service_config)
    config["VOLUNTEERS_RPC_TIMEOUT"] = 5
    for cls in (ActivitiesService, standin_volunteers.StandInVolunteersService, EventRecorder):
        container_factory(cls, config).start()
    return config


@pytest.fixture
def call(services):
    """``call(user)`` opens an RPC proxy to activities with that caller identity (None: anonymous)."""
    stack = contextlib.ExitStack()

    def open_proxy(user=ORGANISER, service="activities"):
        context = {"user": user} if user is not None else {}
        return stack.enter_context(ServiceRpcProxy(service, services, context_data=context, timeout=30))

    yield open_proxy
    stack.close()


@pytest.fixture
def organiser(call):
    return call(ORGANISER)


@pytest.fixture
def volunteers(call):
    """RPC proxy to the volunteers stand-in (to register volunteers and their unavailability)."""
    proxy = call(None, service="volunteers")

    def add(volunteer_id: int, **fields):
        return proxy.put_volunteer({"id": volunteer_id, "name": f"志愿者{volunteer_id}", **fields})

    proxy.add = add
    return proxy
