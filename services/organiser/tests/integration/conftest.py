"""Fixtures of the organiser integration tests: the real services running, the command line, accounts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from organiser_testkit import MovableClock, evening_patrols, start_platform

from guanyinli.rpc import ServiceRpcProxy
from guanyinli.testing import signed

ROOT = Path(__file__).resolve().parents[4]
PYTHONPATH = os.pathsep.join(
    str(ROOT / p)
    for p in (
        "common",
        "services/volunteers",
        "services/activities",
        "services/notifications",
        "services/organiser",
        "services/appeals",
    )
)


@pytest.fixture
def web_clock():
    """The organiser's clock (the login throttle's): move it with ``web_clock.offset``."""
    return MovableClock()


@pytest.fixture
def platform(container_factory, service_config, web_clock):
    """volunteers, activities and organiser running against fresh databases and a fresh vhost."""
    config = dict(service_config)
    config["ORGANISER_SECURE_COOKIES"] = False  # plain http on 127.0.0.1 in tests; see test_web_security
    start_platform(container_factory, config, web_clock)
    return config


@pytest.fixture
def rpc(platform):
    proxies = {}

    def open_proxy(service: str):
        if service not in proxies:
            proxy = ServiceRpcProxy(service, platform, context_data=signed({"roles": ["organiser"]}), timeout=30)
            proxies[service] = (proxy, proxy.start())
        return proxies[service][1]

    yield open_proxy
    for proxy, _ in proxies.values():
        proxy.stop()


@pytest.fixture
def run_cli(platform):
    """Run the real `guanyinli` command in a process of its own: returns the CompletedProcess."""

    def run(*args: str, input: str | None = None, timeout: float = 90) -> subprocess.CompletedProcess:
        env = dict(os.environ, PYTHONPATH=PYTHONPATH, AMQP_URI=platform["AMQP_URI"], COLUMNS="200")
        return subprocess.run(
            [sys.executable, "-m", "organiser", *args],
            input=input,
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
            cwd=ROOT,
        )

    return run


@pytest.fixture
def patrol_team(rpc):
    """Twelve patrollers (three leaders each side) in grids 6 and 7, free every evening, and the
    daily evening patrols of both grids for the fortnight from next Monday (organiser_testkit.MONDAY)."""
    volunteers = rpc("volunteers")
    evenings = [{"weekday": d, "start": "18:00", "end": "22:00"} for d in range(7)]
    made = []
    for i in range(12):
        person = volunteers.create_volunteer(
            name=f"巡逻员{i + 1}",
            phone=f"1391234{5600 + i}",
            teams=["voluntary_patrol"],
            grid_id=6 + i % 2,
            skills=["patrol_leader"] if i < 6 else [],
        )
        volunteers.set_availability(volunteer_id=person["id"], weekly=evenings)
        made.append(person)
    evening_patrols(rpc("activities"), (6, 7))
    return made
