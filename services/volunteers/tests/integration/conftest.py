"""Fixtures of the volunteers integration tests: the running service, an event recorder, the database."""

from __future__ import annotations

import contextlib
import time

import pytest
from sqlalchemy import create_engine, text

from guanyinli.config import normalize_url
from guanyinli.rpc import ServiceRpcProxy
from guanyinli.testing import EventLog, event_recorder, signed
from volunteers.models import Base
from volunteers.service import VolunteersService

ORGANISER = signed({"roles": ["organiser"], "name": "网格长 王芳"})


class Events(EventLog):
    def settle(self, seconds: float = 0.3) -> list[tuple[str, dict]]:
        """Everything received after a short wait (to check that nothing more arrives)."""
        time.sleep(seconds)
        return list(self.received)


@pytest.fixture
def db_urls(test_databases, db_backend) -> dict[str, str]:
    """Only the volunteers database (another service's migration in progress cannot break these tests)."""
    url = test_databases.url(db_backend, "volunteers")
    test_databases.empty(db_backend, "volunteers")
    return {"volunteers": url}


@pytest.fixture
def events():
    return Events()


@pytest.fixture
def container(container_factory, service_config, events, request):
    """The volunteers service and an event recorder, running on a fresh vhost. A test marked
    ``service_config(KEY=value)`` runs them with those config values."""
    config = dict(service_config)
    marker = request.node.get_closest_marker("service_config")
    if marker is not None:
        config.update(marker.kwargs)
    service = container_factory(VolunteersService, config)
    service.start()
    container_factory(event_recorder("volunteers", events), config).start()
    return service


@pytest.fixture
def rpc(container, service_config):
    with ServiceRpcProxy("volunteers", service_config, context_data=ORGANISER, timeout=30) as proxy:
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

    @contextlib.contextmanager
    def check():
        before = tables.snapshot()
        yield
        assert tables.snapshot() == before

    return check
