"""Fixtures of the volunteers integration tests: the running service, an event recorder, the database."""

from __future__ import annotations

import time

import pytest
from guanyinli.config import normalize_url
from guanyinli.events import EVENTS
from nameko.events import event_handler
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import create_engine, text
from volunteers.models import Base
from volunteers.service import VolunteersService

RECEIVED: list[tuple[str, dict]] = []


def _handler(event_type):
    def handle(self, payload):
        RECEIVED.append((event_type, payload))

    handle.__name__ = f"on_{event_type}"
    return event_handler("volunteers", event_type)(handle)


VolunteersEventRecorder = type(
    "VolunteersEventRecorder",
    (),
    {"name": "volunteers_event_recorder", **{f"on_{t}": _handler(t) for t in EVENTS["volunteers"]}},
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

    def settle(self, seconds: float = 0.3) -> list[tuple[str, dict]]:
        """Everything received after a short wait (to check that nothing more arrives)."""
        time.sleep(seconds)
        return list(RECEIVED)


@pytest.fixture
def db_urls(test_databases, db_backend) -> dict[str, str]:
    """Only the volunteers database (another service's migration in progress cannot break these tests)."""
    url = test_databases.url(db_backend, "volunteers")
    test_databases.empty(db_backend, "volunteers")
    return {"volunteers": url}


@pytest.fixture
def events():
    RECEIVED.clear()
    return Events()


@pytest.fixture
def container(container_factory, service_config, events):
    """The volunteers service and an event recorder, running on a fresh vhost."""
    service = container_factory(VolunteersService, service_config)
    service.start()
    container_factory(VolunteersEventRecorder, service_config).start()
    return service


@pytest.fixture
def rpc(container, service_config):
    with ServiceRpcProxy("volunteers", service_config, timeout=30) as proxy:
        yield proxy


class Tables:
    """Direct reads of the service's database, to check what a call wrote (or did not)."""

    def __init__(self, url: str):
        self.engine = create_engine(normalize_url(url))

    def snapshot(self) -> dict[str, list[tuple]]:
        with self.engine.connect() as conn:
            return {
                t.name: sorted(tuple(map(str, row)) for row in conn.execute(t.select()))
                for t in Base.metadata.sorted_tables
            }

    def count(self, table: str) -> int:
        with self.engine.connect() as conn:
            return conn.execute(text(f'SELECT COUNT(*) FROM "{table}"')).scalar_one()


@pytest.fixture
def tables(db_urls):
    t = Tables(db_urls["volunteers"])
    yield t
    t.engine.dispose()


@pytest.fixture
def unchanged(tables):
    """``with unchanged(): <rejected call>`` asserts the database is exactly as before."""
    import contextlib

    @contextlib.contextmanager
    def check():
        before = tables.snapshot()
        yield
        assert tables.snapshot() == before

    return check
