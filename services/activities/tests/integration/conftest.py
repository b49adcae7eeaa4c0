"""Fixtures of the activities integration tests: the service, the volunteers directory, events, callers.

The volunteers directory is the real ``volunteers`` service when it can be imported, else the
labelled stand-in in ``standin_volunteers.py``; ``ACTIVITIES_TEST_VOLUNTEERS=standin`` forces the
stand-in. Tests register volunteers in order (ids 1, 2, 3... on the emptied database) through the
``volunteers`` fixture, which speaks to either.
"""

from __future__ import annotations

import contextlib
import os
from datetime import timedelta

import pytest
import standin_volunteers
from activities_testkit import ORGANISER, TestClock
from nameko.testing.services import replace_dependencies

from activities.service import ActivitiesService
from guanyinli.rpc import ServiceRpcProxy
from guanyinli.testing import EventLog, event_recorder
from guanyinli.timeutil import now

EVENT_LOG = EventLog()
EventRecorder = event_recorder("activities", EVENT_LOG)


@pytest.fixture
def events() -> EventLog:
    """Every event the activities service dispatches during the test."""
    EVENT_LOG.clear()
    return EVENT_LOG


def _volunteers_service():
    if os.environ.get("ACTIVITIES_TEST_VOLUNTEERS", "real") == "standin":
        return None
    try:
        from volunteers.service import VolunteersService
    except ImportError:
        return None
    return VolunteersService


REAL_VOLUNTEERS = _volunteers_service()


@pytest.fixture
def db_urls(test_databases, db_backend) -> dict[str, str]:
    """The activities database (and the volunteers one when the real service runs), emptied.

    Overrides the shared fixture so that a third service's migration in progress cannot break these tests.
    """
    urls = {}
    for service in ("activities", "volunteers") if REAL_VOLUNTEERS else ("activities",):
        urls[service] = test_databases.url(db_backend, service)
        test_databases.empty(db_backend, service)
    return urls


@pytest.fixture
def clock() -> TestClock:
    """The activities service's clock: real time unless the test sets it."""
    return TestClock()


@pytest.fixture
def services(container_factory, service_config, events, request, clock):
    """The activities service, the volunteers directory and an event recorder, all running.
    A test marked ``service_config(KEY=value)`` runs them with those config values."""
    standin_volunteers.reset()
    config = dict(service_config)
    config["VOLUNTEERS_RPC_TIMEOUT"] = 5
    marker = request.node.get_closest_marker("service_config")
    if marker is not None:
        config.update(marker.kwargs)
    directory = REAL_VOLUNTEERS or standin_volunteers.StandInVolunteersService
    for cls in (ActivitiesService, directory, EventRecorder):
        container = container_factory(cls, config)
        if cls is ActivitiesService:
            replace_dependencies(container, clock=clock)
        container.start()
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


ALL_WEEK = [{"weekday": d, "start": "00:00", "end": "23:59"} for d in range(7)]


class Directory:
    """Registers volunteers and their time off in whichever volunteers service runs."""

    def __init__(self, proxy):
        self.proxy = proxy

    def add(self, volunteer_id: int, skills=(), active: bool = True) -> dict:
        if not REAL_VOLUNTEERS:
            return self.proxy.put_volunteer(
                {"id": volunteer_id, "name": f"志愿者{volunteer_id}", "skills": list(skills), "active": active}
            )
        record = self.proxy.create_volunteer(
            name=f"志愿者{volunteer_id}", phone=f"139{volunteer_id:08d}", skills=list(skills)
        )
        assert record["id"] == volunteer_id, "register volunteers in id order"
        # Always available: every day, and around midnight over the next weeks.
        extra = {
            "kind": "extra",
            "start": (now() - timedelta(days=1)).isoformat(),
            "end": (now() + timedelta(days=30)).isoformat(),
        }
        self.proxy.set_availability(volunteer_id=volunteer_id, weekly=ALL_WEEK, dated=[extra])
        if not active:
            self.proxy.deactivate_volunteer(volunteer_id=volunteer_id, reason="moved away")
        return record

    def set_unavailable(self, volunteer_id: int, start: str, end: str, reason: str) -> None:
        if not REAL_VOLUNTEERS:
            return self.proxy.set_unavailable(volunteer_id, start, end, reason)
        off = {"kind": "off", "start": start, "end": end, "note": reason}
        self.proxy.set_availability(volunteer_id=volunteer_id, weekly=ALL_WEEK, dated=[off])


@pytest.fixture
def volunteers(call):
    """The volunteers directory (see ``Directory``)."""
    return Directory(call({"roles": ["organiser"]}, service="volunteers"))
